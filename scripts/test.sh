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
# release binary of steps 3 and 4 is the arm64 one, run under qemu-aarch64, and step 10 builds the
# arm64 artifact as it deploys; ARM64=0 builds and runs the host's release binary instead and
# skips step 10.
# Docker is checked (installed, started) before step 1, so a machine without it fails at once;
# so is Chromium. SKIP_SAM_LOCAL=1 skips steps 8 and 9 (and Docker and Chromium); SKIP_SAM_BUILD=1
# skips steps 6 to 10.
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
finish() {
  local rc=$1
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

ensure_dynamodb_local
ensure_ci_tools
ensure_cargo_deny
# A machine that cannot add the arm64 target or tools (rustup's download, apt-get) still runs
# every other step, on the host's release binary; the warning says so, and step 3's name in
# the timings shows which binary ran.
if [ "$arm64" = 1 ] && ! ensure_arm64_tools; then
  log "WARNING: the arm64 tools could not be installed: steps 3 and 4 use the host's release binary, step 10 is skipped"
  arm64=0
fi
if [ "$sam_local" = 1 ]; then
  step "Docker, for sam local (steps 8 and 9; SKIP_SAM_LOCAL=1 skips them); Chromium (step 9)"
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

if [ "$arm64" = 1 ]; then
  # The architecture that deploys: tests/api/release_binary.rs (step 4) runs it under
  # qemu-aarch64, with the arm64 glibc and libgcc_s (-L; the tests clear the environment, so the
  # runner carries it as an argument).
  step "3. cargo lambda build --release --arm64 --features panic-probe (run by step 4 under qemu-aarch64)"
  cargo lambda build --release --locked --arm64 --features panic-probe --bin tracking-status
  export RELEASE_PROBE_RUNNER="qemu-aarch64 -L $AARCH64_SYSROOT"
else
  step "3. cargo lambda build --release --features panic-probe (for tests/api/release_binary.rs)"
  cargo lambda build --release --locked --features panic-probe --bin tracking-status
fi
mkdir -p "$LOCAL/release-probe"
cp target/lambda/tracking-status/bootstrap "$LOCAL/release-probe/bootstrap"
export RELEASE_PROBE_BINARY="$LOCAL/release-probe/bootstrap"

step "4. cargo test (the function and the fuzzing corpus replay; then local/authorizer)"
# Snapshots (insta): a difference fails and nothing is written, in CI and on a developer's machine.
INSTA_UPDATE=no INSTA_FORCE_PASS=0 cargo test --workspace --all-targets --no-default-features --locked
(cd local/authorizer && cargo test --locked)

step "5. scripts/e2e.sh: cargo lambda watch + events/, its HTTP route, the docs' examples"
AWS_ENDPOINT_URL_DYNAMODB="$TEST_DYNAMODB_ENDPOINT" bash scripts/e2e.sh

if [ "$sam_build" = 1 ]; then
  # For the host's architecture: the containers of steps 8 and 9 run it. arm64, what
  # deploys, is step 10's.
  arch="$(lambda_arch)"
  built=.aws-sam/build-ci/TrackingStatusFunction/bootstrap
  step "6. sam build (Architecture=$arch) into .aws-sam/build-ci"
  # --no-cached: SAM's cache checksums the source tree, target/ included, while cargo writes
  # there (it crashed on that once). Both functions: step 8 invokes each.
  sam build --no-cached --parameter-overrides "Architecture=$arch" --build-dir .aws-sam/build-ci
  test -s "$built"
  log "sam build produced $built ($(du -h "$built" | cut -f1))"

  step "7. scripts/glibc-check.sh $built"
  bash scripts/glibc-check.sh "$built"

  if [ "$sam_local" = 1 ]; then
    step "8. scripts/sam-local.sh: every event through sam local invoke, in a container"
    bash scripts/sam-local.sh .aws-sam/build-ci

    step "9. scripts/start-api-check.sh: the route through sam local start-api"
    bash scripts/start-api-check.sh
    # sam build -t local/template.yaml runs the same `cargo lambda build` in the same tree:
    # cargo finds the function built, and SAM copies the same file.
    cmp "$built" .aws-sam/build-local/TrackingStatusFunction/bootstrap
    log "local/template.yaml's function is step 6's bootstrap, byte for byte"
  fi
fi

if [ "$arm64" = 1 ] && [ "$sam_build" = 1 ]; then
  built_arm64=.aws-sam/build-arm64/TrackingStatusFunction/bootstrap
  step "10. sam build as it deploys (Architecture=arm64) into .aws-sam/build-arm64; scripts/glibc-check.sh"
  # No --parameter-overrides: the template's default architecture, what `sam deploy` ships.
  sam build --no-cached --build-dir .aws-sam/build-arm64
  readelf -h "$built_arm64" | grep -q 'Machine: *AArch64' || { fail "$built_arm64 is not an arm64 binary"; exit 1; }
  log "sam build produced $built_arm64 ($(du -h "$built_arm64" | cut -f1))"
  bash scripts/glibc-check.sh "$built_arm64"
fi
