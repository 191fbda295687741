#!/usr/bin/env bash
# Every test. Installs what it needs (DynamoDB Local, cargo-lambda, the SAM CLI with cfn-lint,
# an OpenAPI validator, checkov, cargo-deny, playwright-core, the TypeScript client's tools
# (openapi-typescript, typescript), under .local/; Docker, Chromium for
# step 9's browser check, qemu-user and the arm64 glibc, when they are missing, as root with
# apt-get), starts DynamoDB Local on a free loopback port, and runs, failing fast, with
# rust-toolchain.toml's compiler and Cargo.lock as committed (every cargo build has --locked;
# sam build's cargo lambda reads it from Cargo.toml's [package.metadata.lambda.build]), the steps
# below (each `step` line names one).
# What each proves is listed once, in docs/testing.md ("What CI checks"). On an x86_64 host the
# release binary of steps 3 and 4 is the arm64 one, run under qemu-aarch64, and step 6 builds the
# arm64 artifact as it deploys, which steps 8 and 9 run in containers under qemu; ARM64=0 builds
# and runs the host's architecture instead. Steps 3 and 6 (the release builds) run in the
# background, beside steps 1 to 5.
# Docker is checked (installed, started) before step 1, so a machine without it fails at once;
# so is Chromium. SKIP_SAM_LOCAL=1 skips steps 8 and 9 (and Docker and Chromium); SKIP_SAM_BUILD=1
# skips steps 6 to 9.
# Ends with the time each step took; on a failure, names the step.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/docker.sh"
cd "$ROOT"

sam_build=1 sam_local=1 arm64=1
[ "${SKIP_SAM_BUILD:-0}" = 1 ] && sam_build=0 sam_local=0
[ "${SKIP_SAM_LOCAL:-0}" = 1 ] && sam_local=0
[ "${ARM64:-1}" = 0 ] && arm64=0
# On an arm64 host, steps 3 to 7 already build and run the arm64 artifact.
[ "$(uname -m)" = aarch64 ] && arm64=0

step="installing the tools" step_started=$SECONDS timings=""
# step NAME: closes the running step's timing and starts NAME.
step() {
  timings="$timings$(printf '%5d s  %s' "$((SECONDS - step_started))" "$step")"$'\n'
  step="$1" step_started=$SECONDS
  log "$1"
}
# background_step NAME STEP: waits for the background job NAME and lists STEP, its work, in the
# closing timings with the time from its start to its end (it overlapped the steps around it).
background_step() {
  local started=${BACKGROUND_STARTED[$1]}
  log "waiting for: $2"
  wait_background "$1" || { step="$2"; return 1; }
  timings="$timings$(printf '%5d s  (in the background) %s' "$((SECONDS - started))" "$2")"$'\n'
}
finish() {
  local rc=$1
  stop_backgrounds
  stop_dynamodb_local
  stop_docker_if_started
  if [ "$rc" -eq 0 ]; then
    step "done"
    printf 'scripts/test.sh: every step passed in %d s:\n%s' "$SECONDS" "$timings"
  else
    printf '%s' "$timings" >&2
    echo "scripts/test.sh: FAILED (exit $rc) in: $step, after $SECONDS s" >&2
  fi
}
trap 'rc=$?; finish $rc; exit $rc' EXIT
# A run ended by a signal fails: without these, the EXIT trap sees the last command's status, 0,
# and a killed run said "every step passed" (seen once, killed by pkill during step 4).
trap 'exit 143' TERM
trap 'exit 130' INT

ensure_dynamodb_local
ensure_ci_tools
ensure_cargo_deny
# A machine that cannot add the arm64 target or tools (rustup's download, apt-get) still runs
# every other step, on the host's release binary; the warning says so, and step 3's name in
# the timings shows which binary ran.
if [ "$arm64" = 1 ] && ! ensure_arm64_tools; then
  log "WARNING: the arm64 tools could not be installed: steps 3 and 4 use the host's release binary, and sam build and sam local the host's architecture"
  arm64=0
fi
# The release builds (steps 3 and 6) run in the background, in a target directory of their own
# (cargo locks a target directory for the whole of a build): their long single-threaded phases
# (the biggest crates, the fat-LTO link) use the core that the foreground's leave idle.
export LAMBDA_TARGET_DIR="$ROOT/target/release-builds"
probe_flags=()
if [ "$arm64" = 1 ]; then
  # The architecture that deploys: tests/api/release_binary.rs (step 4) runs it under
  # qemu-aarch64, with the arm64 glibc and libgcc_s (-L; the tests clear the environment, so the
  # runner carries it as an argument).
  probe_flags=(--arm64)
  export RELEASE_PROBE_RUNNER="qemu-aarch64 -L $AARCH64_SYSROOT"
fi
step3="3. cargo lambda build --release ${probe_flags[*]} --features panic-probe (step 4 runs it${probe_flags[*]:+ under qemu-aarch64})"
background release-probe env CARGO_TARGET_DIR="$LAMBDA_TARGET_DIR" \
  cargo lambda build --release --locked ${probe_flags[@]+"${probe_flags[@]}"} --features panic-probe --bin tracking-status

# What deploys is the template's default architecture, arm64: step 6 builds it, and on an x86_64
# host steps 8 and 9 run it under qemu (SAM_LOCAL_ARCH, scripts/docker.sh), so no second,
# host-architecture release build is made. ARM64=0 builds and runs the host's architecture.
sam_overrides=()
if [ "$arm64" = 1 ] || [ "$(uname -m)" = aarch64 ]; then
  export SAM_LOCAL_ARCH=arm64
else
  export SAM_LOCAL_ARCH="$(lambda_arch)"
  sam_overrides=(--parameter-overrides "Architecture=$SAM_LOCAL_ARCH")
fi
if [ "$sam_local" = 1 ]; then
  step "Docker, for sam local (steps 8 and 9; SKIP_SAM_LOCAL=1 skips them); the $SAM_LOCAL_ARCH image; Chromium (step 9)"
  ensure_docker
  ensure_lambda_base_image
  ensure_browser
fi

step "start DynamoDB Local"
port="$(free_port)"
start_dynamodb_local "$port"
export TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"

step "1. cfn-lint template.yaml local/template.yaml; sam validate --lint; checkov; transform-check; openapi-spec-validator; typescript-check"
cfn-lint template.yaml local/template.yaml
sam validate --lint
run_checkov
"$LOCAL/venv/bin/python" scripts/transform-check.py
openapi-spec-validator openapi.yaml
bash scripts/typescript-check.sh

step "2. cargo fmt --check; cargo clippy -D warnings; cargo deny (workspace, then local/authorizer)"
cargo fmt --all -- --check
# --no-default-features: the fuzzing crate's default links libFuzzer, which only
# `cargo fuzz` needs; its corpus replay runs without it (fuzz/README.md).
cargo clippy --workspace --all-targets --no-default-features --locked -- -D warnings
# From its own directory, so its .cargo/config.toml puts it in the shared target/.
(cd local/authorizer && cargo fmt -- --check && cargo clippy --all-targets --locked -- -D warnings)
# --frozen: offline (no advisory database; `cargo fetch` first, from crates.io, for the crates
# of other platforms that cargo metadata reads) and Cargo.lock as committed. The authorizer's
# tree is held to the same deny.toml; only the lints about entries its smaller tree does not
# use are allowed.
cargo fetch --locked --quiet
cargo deny --frozen check licenses bans sources
(cd local/authorizer && cargo fetch --locked --quiet && cargo deny --frozen --config ../../deny.toml \
  check -A license-not-encountered -A unmatched-skip -A unnecessary-skip licenses bans sources)

step "4. cargo test (the function and the fuzzing corpus replay; then local/authorizer)"
# Snapshots (insta): a difference fails and nothing is written, in CI and on a developer's machine.
# --lib --bins --tests: every test; the examples (the benchmark) are compiled by step 2's clippy.
test_targets=(--workspace --lib --bins --tests --no-default-features --locked)
cargo test "${test_targets[@]}" --no-run
step "4. (the wait for the background release build)"
background_step release-probe "$step3"
mkdir -p "$LOCAL/release-probe"
cp "$LAMBDA_TARGET_DIR/lambda/tracking-status/bootstrap" "$LOCAL/release-probe/bootstrap"
export RELEASE_PROBE_BINARY="$LOCAL/release-probe/bootstrap"
if [ "$sam_build" = 1 ]; then
  # --no-cached: SAM's cache checksums the source tree, target/ included, while cargo writes
  # there (it crashed on that once). Both functions: step 8 invokes each.
  background sam-build env CARGO_TARGET_DIR="$LAMBDA_TARGET_DIR" \
    sam build --no-cached ${sam_overrides[@]+"${sam_overrides[@]}"} --build-dir .aws-sam/build-ci
fi
step "4. cargo test, the run"
INSTA_UPDATE=no INSTA_FORCE_PASS=0 cargo test "${test_targets[@]}"
(cd local/authorizer && cargo test --locked)

step "5. scripts/e2e.sh: cargo lambda watch + events/, its HTTP route, the docs' examples"
AWS_ENDPOINT_URL_DYNAMODB="$TEST_DYNAMODB_ENDPOINT" bash scripts/e2e.sh

if [ "$sam_build" = 1 ]; then
  built=.aws-sam/build-ci/TrackingStatusFunction/bootstrap
  step "6. (the wait for the background sam build)"
  background_step sam-build "6. sam build (Architecture=$SAM_LOCAL_ARCH, both functions) into .aws-sam/build-ci"
  machine=X86-64
  [ "$SAM_LOCAL_ARCH" = arm64 ] && machine=AArch64
  for function in TrackingStatusFunction TestEventIndexerFunction; do
    readelf -h ".aws-sam/build-ci/$function/bootstrap" | grep -q "Machine: *$machine" ||
      { fail "$function's bootstrap is not an $SAM_LOCAL_ARCH binary"; exit 1; }
  done
  log "sam build produced $built ($(du -h "$built" | cut -f1), $SAM_LOCAL_ARCH)"

  step "7. scripts/glibc-check.sh on both functions"
  bash scripts/glibc-check.sh "$built"
  bash scripts/glibc-check.sh .aws-sam/build-ci/TestEventIndexerFunction/bootstrap

  if [ "$sam_local" = 1 ]; then
    step "8. scripts/sam-local.sh: every event through sam local invoke, in a container ($SAM_LOCAL_ARCH)"
    bash scripts/sam-local.sh .aws-sam/build-ci

    step "9. scripts/start-api-check.sh: the route through sam local start-api ($SAM_LOCAL_ARCH)"
    bash scripts/start-api-check.sh
    # sam build -t local/template.yaml runs the same `cargo lambda build` in the same tree:
    # cargo finds the function built, and SAM copies the same file.
    cmp "$built" .aws-sam/build-local/TrackingStatusFunction/bootstrap
    log "local/template.yaml's function is step 6's bootstrap, byte for byte"
  fi
fi
