#!/usr/bin/env bash
# Every test. Installs what it needs (DynamoDB Local, cargo-lambda, the SAM CLI,
# an OpenAPI validator, under .local/), starts DynamoDB Local on a free loopback
# port, and runs, failing fast:
#   1. the template and API document checks: cfn-lint, sam validate --lint, openapi-spec-validator;
#   2. cargo fmt --check and cargo clippy -D warnings;
#   3. cargo test: unit, handler and integration tests (against DynamoDB Local);
#   4. scripts/e2e.sh: cargo lambda watch + every file in events/;
#   5. sam build, for the host architecture (SKIP_SAM_BUILD=1 skips it: it is a release build).
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
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
log "cargo test"
cargo test --all-targets --locked

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
