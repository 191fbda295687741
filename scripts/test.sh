#!/usr/bin/env bash
# Every test: formatting, lints, unit tests, and the integration tests against a
# DynamoDB Local that this script installs and starts on loopback.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_dynamodb_local
port="$(free_port)"
trap 'rc=$?; stop_dynamodb_local; exit $rc' EXIT
start_dynamodb_local "$port"
export TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
log "cargo test"
cargo test --all-targets --locked
