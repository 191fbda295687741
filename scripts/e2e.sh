#!/usr/bin/env bash
# End to end, the way a developer runs it: DynamoDB Local with the example
# fixture loaded by `seed`, the function served by `cargo lambda watch`, and
#   - every file in events/ invoked with `cargo lambda invoke`, each checked for the
#     status in its name (events/http-403-no-permission.json must answer 403);
#   - plain HTTP requests through watch's function-URL route (/lambda-url/tracking-status/...),
#     checked for status and body: GET is the contract's 401 (watch's event carries no
#     authorizer context), POST the contract's 405;
#   - the console examples of README.md and docs/*.md against 127.0.0.1:9000, run here and
#     compared with the output they show (scripts/readme-examples.py).
#
# Uses the DynamoDB Local at AWS_ENDPOINT_URL_DYNAMODB when set, else starts one.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_cargo_lambda
cleanup() {
  [ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null
  [ -n "${WATCH_PID:-}" ] && wait "$WATCH_PID" 2>/dev/null
  stop_dynamodb_local
}
trap 'rc=$?; cleanup; exit $rc' EXIT

if [ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]; then
  ensure_dynamodb_local
  dynamodb_port="$(free_port)"
  start_dynamodb_local "$dynamodb_port"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$dynamodb_port"
fi
# Tables of its own, so a shared DynamoDB Local keeps other data apart. table-env's lines hold
# nothing a shell would split or expand, so $tables is left unquoted.
tables="$(cargo run --locked --quiet --bin table-env -- "e2e-$$-")"
export $tables

log "loading fixtures/example.json and fixtures/next-steps.json with seed"
cargo run --locked --quiet --bin seed -- fixtures/example.json
cargo run --locked --quiet --bin seed -- fixtures/next-steps.json

lambda_port="$(free_port)"
log "cargo lambda watch on 127.0.0.1:$lambda_port"
cargo lambda watch --locked --quiet --invoke-address 127.0.0.1 --invoke-port "$lambda_port" \
  >"$LOCAL/e2e-watch.log" 2>&1 &
WATCH_PID=$!
for _ in $(seq 1 600); do
  curl -s -o /dev/null "http://127.0.0.1:$lambda_port/" && break
  kill -0 "$WATCH_PID" 2>/dev/null || { cat "$LOCAL/e2e-watch.log" >&2; exit 1; }
  sleep 0.1
done

passed=0 failed=0
events="$(dev_program events)"
list="$("$events")"
while read -r file expected <&3; do
  name="$(basename "$file" .json)"
  # The first invoke waits for watch to build the function.
  output="$(cargo lambda invoke tracking-status --invoke-address 127.0.0.1 --invoke-port "$lambda_port" \
    --data-file "$file" 2>&1)" || true
  actual="$(printf '%s' "$output" | "$events" status-code 2>/dev/null || echo "no response")"
  if [ "$actual" = "$expected" ]; then
    passed=$((passed + 1)); echo "ok    $name -> $actual"
  else
    failed=$((failed + 1)); echo "FAIL  $name -> $actual (expected $expected): $output"
  fi
done 3<<<"$list"

# check_http METHOD EXPECTED_STATUS EXPECTED_BODY: one request through watch's HTTP route.
check_http() {
  local method="$1" expected="$2" body="$3" url result status
  url="http://127.0.0.1:$lambda_port/lambda-url/tracking-status/api/tracking/status/42"
  result="$(curl -s -X "$method" -o "$LOCAL/e2e-http-body" -w '%{http_code}' "$url" 2>&1)" || true
  status="$result"
  if [ "$status" = "$expected" ] && [ "$(cat "$LOCAL/e2e-http-body")" = "$body" ]; then
    passed=$((passed + 1)); echo "ok    $method /lambda-url/tracking-status/api/tracking/status/42 -> $status"
  else
    failed=$((failed + 1))
    echo "FAIL  $method /lambda-url/tracking-status/api/tracking/status/42 -> $status (expected $expected): $(head -c 300 "$LOCAL/e2e-http-body")"
  fi
}
check_http GET 401 '{"data":null,"error":{"status":401,"name":"UnauthorizedError","message":"Authentication required","details":{}}}'
check_http POST 405 '{"data":null,"error":{"status":405,"name":"MethodNotAllowedError","message":"Method not allowed: use GET","details":{"allow":["GET"]}}}'

python3 scripts/readme-examples.py 9000 "$lambda_port" || failed=$((failed + 1))
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
