#!/usr/bin/env bash
# Runs the service locally: installs what it needs, starts DynamoDB Local,
# loads the example fixture, and serves the function with `cargo lambda watch`
# on 127.0.0.1. Ctrl-C stops everything it started.
#
#   DYNAMODB_PORT (default 8000)  where DynamoDB Local listens
#   LAMBDA_PORT   (default 9000)  where cargo lambda watch listens
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

dynamodb_port="${DYNAMODB_PORT:-8000}"
lambda_port="${LAMBDA_PORT:-9000}"

ensure_dynamodb_local
ensure_cargo_lambda

cleanup() {
  trap - INT TERM EXIT
  [ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null
  stop_dynamodb_local
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_dynamodb_local "$dynamodb_port"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$dynamodb_port"

log "loading fixtures/example.json (the shared example fixture)"
cargo run --quiet --bin seed -- fixtures/example.json

log "serving the function on 127.0.0.1:$lambda_port; in another shell:"
log "  .local/venv/bin/cargo-lambda lambda invoke tracking-status -A 127.0.0.1 -P $lambda_port --data-file events/http-200-member.json"
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$lambda_port" &
WATCH_PID=$!
wait "$WATCH_PID"
