#!/usr/bin/env bash
# Runs the service locally with the example data (fixtures/example.json, docs/api.md's sample, and
# fixtures/next-steps.json, programs 7-9 for ?include=nextSteps; loaded by `seed` into
# DynamoDB Local). Installs what it needs; Ctrl-C stops everything it started.
#
#   scripts/run-local.sh         cargo lambda watch on 127.0.0.1:9000: a debug build, rebuilt on
#                                every change; invoke it with the files in events/
#   scripts/run-local.sh --api   sam local start-api on 127.0.0.1:3000: the HTTP API route of
#                                local/template.yaml behind a local session authorizer
#                                (cookie session=<userId>), the release build in a container;
#                                checks its requests, then serves (scripts/start-api-check.sh).
#                                Needs Docker: installed (Debian, root) and started if missing.
#   Both run the stream poller, so a test click or lead written into the events table shows in
#   the status a moment later: in another shell,
#     AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 cargo run --quiet --bin test-event -- lead 42
#
#   DYNAMODB_PORT (default 8000)  where DynamoDB Local listens
#   LAMBDA_PORT   (default 9000)  where cargo lambda watch listens
#   API_PORT      (default 3000)  where sam local start-api listens (--api)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

dynamodb_port="${DYNAMODB_PORT:-8000}"
lambda_port="${LAMBDA_PORT:-9000}"

case "${1:-}" in
  "") ;;
  --api)
    # The default table names (TABLE_PREFIX empty), so `seed` and the tests' PROPTEST
    # examples in docs/testing.md work against this DynamoDB Local as against the default mode's.
    export API_PORT="${API_PORT:-3000}" DYNAMODB_PORT="$dynamodb_port" TABLE_PREFIX="" SERVE=1
    exec bash scripts/start-api-check.sh
    ;;
  *)
    echo "usage: scripts/run-local.sh [--api]" >&2
    exit 2
    ;;
esac

ensure_port_free "$dynamodb_port" "DynamoDB Local" DYNAMODB_PORT
ensure_port_free "$lambda_port" "cargo lambda watch" LAMBDA_PORT
ensure_dynamodb_local
ensure_cargo_lambda

cleanup() {
  trap - INT TERM EXIT
  [ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null
  [ -n "${POLLER_PID:-}" ] && kill "$POLLER_PID" 2>/dev/null && wait "$POLLER_PID" 2>/dev/null
  stop_dynamodb_local
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_dynamodb_local "$dynamodb_port"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$dynamodb_port"

log "loading fixtures/example.json (the sample of docs/api.md) and fixtures/next-steps.json"
cargo run --locked --quiet --bin seed -- fixtures/example.json
cargo run --locked --quiet --bin seed -- fixtures/next-steps.json
# The event source mapping's stand-in: the events table's stream, through test-event-indexer,
# into the test-event view, so an event written straight into the events table shows in the
# status a moment later (docs/development.md, "The test-event view locally").
cargo build --locked --quiet -p test-event-indexer
poller="$(dev_program stream-poller)"
"$poller" "${CARGO_TARGET_DIR:-$ROOT/target}/debug/test-event-indexer" "$LOCAL/test-event-indexer.log" &
POLLER_PID=$!

log "serving the function on 127.0.0.1:$lambda_port; in another shell:"
log "  .local/venv/bin/cargo-lambda lambda invoke tracking-status -A 127.0.0.1 -P $lambda_port --data-file events/http-200-member.json"
log "a test click or lead, as the tracker writes it (the status shows it within a second):"
log "  AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$dynamodb_port cargo run --quiet --bin test-event -- lead 42"
cargo lambda watch --locked --invoke-address 127.0.0.1 --invoke-port "$lambda_port" &
WATCH_PID=$!
wait "$WATCH_PID"
