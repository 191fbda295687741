#!/usr/bin/env bash
# Every test. Installs what it needs (DynamoDB Local, cargo-lambda, the SAM CLI,
# an OpenAPI validator, under .local/), starts DynamoDB Local on a free loopback
# port, and runs, failing fast:
#   1. the template and API document checks: cfn-lint, sam validate --lint, openapi-spec-validator;
#   2. cargo fmt --check and cargo clippy -D warnings (the function and the fuzzing crate);
#   3. the release binary with the test-only panic-probe feature (cargo lambda, as sam build builds it);
#   4. cargo test: unit, handler and integration tests (against DynamoDB Local), the
#      release binary under a Runtime API stand-in, and the replay of the fuzzing corpus;
#   5. scripts/e2e.sh: cargo lambda watch + every file in events/;
#   6. sam build, for the host architecture (SKIP_SAM_BUILD=1 skips it). It shares the
#      release dependencies that step 3 compiled: only this crate is built again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_dynamodb_local
ensure_ci_tools
port="$(free_port)"
trap 'rc=$?; stop_dynamodb_local; exit $rc' EXIT
start_dynamodb_local "$port"
export TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"

log "cfn-lint template.yaml"
cfn-lint template.yaml
log "sam validate --lint"
sam validate --lint
log "openapi-spec-validator openapi.yaml"
openapi-spec-validator openapi.yaml

log "cargo fmt --check"
cargo fmt --all -- --check
# --no-default-features: the fuzzing crate's default links libFuzzer, which only
# `cargo fuzz` needs; its corpus replay runs without it (fuzz/README.md).
log "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --no-default-features --locked -- -D warnings

log "cargo lambda build --release --features panic-probe (for tests/api/release_binary.rs)"
cargo lambda build --release --locked --features panic-probe --bin tracking-status
mkdir -p "$LOCAL/release-probe"
cp target/lambda/tracking-status/bootstrap "$LOCAL/release-probe/bootstrap"
export RELEASE_PROBE_BINARY="$LOCAL/release-probe/bootstrap"

log "cargo test (the function and the fuzzing corpus replay)"
cargo test --workspace --all-targets --no-default-features --locked

log "end to end: cargo lambda watch + events/"
AWS_ENDPOINT_URL_DYNAMODB="$TEST_DYNAMODB_ENDPOINT" bash scripts/e2e.sh

if [ "${SKIP_SAM_BUILD:-0}" != 1 ]; then
  # arm64 is what deploys; CI builds for the host so nothing needs a download
  # outside the package registries (a cross target or toolchain).
  arch="$(uname -m | sed 's/aarch64/arm64/')"
  log "sam build (Architecture=$arch)"
  sam build --parameter-overrides "Architecture=$arch" --build-dir .aws-sam/build-ci
  test -s .aws-sam/build-ci/TrackingStatusFunction/bootstrap
  log "sam build produced .aws-sam/build-ci/TrackingStatusFunction/bootstrap ($(du -h .aws-sam/build-ci/TrackingStatusFunction/bootstrap | cut -f1))"
fi
