#!/usr/bin/env bash
# The dashboard's route through SAM's API Gateway emulation: `sam local start-api` serving
# GET /api/tracking/status/{programId} from local/template.yaml — the same function, built the
# same way, behind a LOCAL-ONLY session authorizer (local/authorizer/: cookie session=<userId>
# becomes the authorizer context {userId}, as the dashboard's real authorizer gives) — against
# DynamoDB Local with the example fixture. Starts everything on free ports, checks the status
# and body of each request below, and stops everything.
#
#   scripts/start-api-check.sh
#
# Then runs the console examples of README.md and docs/*.md against 127.0.0.1:3000 and compares
# their output (scripts/readme-examples.py).
#
# API_PORT / DYNAMODB_PORT choose the ports; WARM_CONTAINERS=EAGER|LAZY is passed to
# start-api (default: none, a fresh container per invocation, as `sam local invoke`);
# SKIP_LOCAL_BUILD=1 reuses .aws-sam/build-local; TABLE_PREFIX names the tables (default: a
# prefix of this run's own); SERVE=1 keeps it running after the checks (what
# `scripts/run-local.sh --api` does, on port 3000; Ctrl-C stops all).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/docker.sh"
cd "$ROOT"

build_dir=".aws-sam/build-local"
work="$ROOT/.aws-sam/start-api"
mkdir -p "$work" "$LOCAL"

cleanup() {
  if [ -n "${API_PID:-}" ] && kill -0 "$API_PID" 2>/dev/null; then
    # SIGTERM: a command started with & by a script ignores SIGINT, and SAM (Python) keeps it
    # ignored. The containers SAM leaves behind are removed just below, by id.
    kill "$API_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$API_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
  fi
  [ -n "${SAM_BEFORE+x}" ] && remove_new_sam_containers "$SAM_BEFORE"
  stop_dynamodb_local
  stop_docker_if_started
}
trap 'rc=$?; cleanup; exit $rc' EXIT
trap 'exit 130' INT TERM

api_port="${API_PORT:-$(free_port)}"
ensure_port_free "$api_port" "sam local start-api" API_PORT
[ -n "${DYNAMODB_PORT:-}" ] && ensure_port_free "$DYNAMODB_PORT" "DynamoDB Local" DYNAMODB_PORT
ensure_ci_tools
ensure_docker
ensure_lambda_base_image
arch="$(lambda_arch)"

if [ "${SKIP_LOCAL_BUILD:-0}" != 1 ] || [ ! -f "$build_dir/template.yaml" ]; then
  log "sam build -t local/template.yaml (the function and the local authorizer, release)"
  t0=$SECONDS
  sam build -t local/template.yaml --no-cached --parameter-overrides "Architecture=$arch" \
    --build-dir "$build_dir" >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; exit 1; }
  log "built in $((SECONDS - t0)) s ($build_dir)"
fi
for function in TrackingStatusFunction LocalSessionAuthorizerFunction; do
  bash scripts/glibc-check.sh "$build_dir/$function/bootstrap" >&2 ||
    log "WARNING: $function needs a newer glibc than provided.al2023 has: it runs here, not on Lambda"
done

start_dynamodb_for_containers "$work/env.json"
SAM_BEFORE="$(sam_containers)"

now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000)); }
warm=()
[ -n "${WARM_CONTAINERS:-}" ] && warm=(--warm-containers "$WARM_CONTAINERS")
log "sam local start-api on 127.0.0.1:$api_port (log: $work/start-api.log)"
t0="$(now_ms)"
env $(sam_local_env) sam local start-api -t "$build_dir/template.yaml" --skip-pull-image \
  --host 127.0.0.1 --port "$api_port" --env-vars "$work/env.json" \
  --parameter-overrides "Architecture=$arch" ${warm[@]+"${warm[@]}"} >"$work/start-api.log" 2>&1 &
API_PID=$!
base="http://127.0.0.1:$api_port"
for _ in $(seq 1 1200); do
  # Any HTTP answer means it listens (an unknown path gets API Gateway's 403).
  curl -s -o /dev/null "$base/" && break
  if ! kill -0 "$API_PID" 2>/dev/null; then
    echo "sam local start-api exited; its log:" >&2
    cat "$work/start-api.log" >&2
    exit 1
  fi
  sleep 0.1
done
curl -s -o /dev/null "$base/" || { echo "sam local start-api did not answer within 120 s" >&2; exit 1; }
log "start-api answers after $(($(now_ms) - t0)) ms"

passed=0 failed=0
# check NAME EXPECTED_STATUS PYTHON_BODY_CHECK CURL_ARGS...: one request, its status and body.
# The body check is a Python expression over `body` (the parsed JSON) and `headers` (lower-cased).
check() {
  local name="$1" expected="$2" body_check="$3" result status seconds
  shift 3
  result="$(curl -s -D "$work/headers" -o "$work/body" -w '%{http_code} %{time_total}' "$@")" || true
  status="${result% *}" seconds="${result#* }"
  if [ "$status" = "$expected" ] && python3 - "$work/body" "$work/headers" "$body_check" <<'PY'
import json, sys
body = json.load(open(sys.argv[1]))
headers = {}
for line in open(sys.argv[2]).read().splitlines()[1:]:
    if ":" in line:
        key, value = line.split(":", 1)
        headers[key.strip().lower()] = value.strip()
sys.exit(0 if eval(sys.argv[3]) else 1)
PY
  then
    passed=$((passed + 1))
    printf 'ok    %-44s -> %s  (%s ms)\n' "$name" "$status" "$(awk -v s="$seconds" 'BEGIN { printf "%.0f", s * 1000 }')"
  else
    failed=$((failed + 1))
    printf 'FAIL  %-44s -> %s (expected %s): %s\n' "$name" "$status" "$expected" "$(head -c 600 "$work/body")"
  fi
  printf '      curl %s\n      %s\n' "$*" "$(head -c 300 "$work/body")"
}

url="$base/api/tracking/status"
check "session=user_owner: the status document" 200 \
  'body["data"]["programId"] == "42" and body["data"]["stepStatuses"] == {"pageview": "complete", "referrals": "pending", "payments": "complete"} and body["data"]["statistics"]["pageview"]["testEventCount"] == 3 and body["data"]["hasPartners"] is True and "error" not in body and headers.get("content-type") == "application/json" and headers.get("cache-control") == "no-store"' \
  -b session=user_owner "$url/42"
check "no cookie: refused before the authorizer" 401 \
  'body == {"message": "Unauthorized"}' \
  "$url/42"
check "cookie without session: refused by the authorizer" 403 \
  'body == {"message": "User is not authorized to access this resource"}' \
  -b theme=dark "$url/42"
check "session=user_billing: the contract's 403" 403 \
  'body["data"] is None and body["error"]["status"] == 403 and body["error"]["name"] == "ForbiddenError"' \
  -b session=user_billing "$url/42"
check "session=user_dev, program 43: the contract's 404" 404 \
  'body["data"] is None and body["error"]["status"] == 404' \
  -b session=user_dev "$url/43"
cp "$work/body" "$work/missing-program-body"
check "session=user_nobody, program 42: the same 404" 404 \
  "open(sys.argv[1], 'rb').read() == open('$work/missing-program-body', 'rb').read()" \
  -b session=user_nobody "$url/42"
check "?include=nextSteps, program 7: every step's item" 200 \
  '[i["code"] for i in body["data"]["nextSteps"]] == ["send_test_click", "send_test_lead", "connect_stripe", "approve_a_partner"] and list(body["data"])[-2:] == ["lastUpdated", "nextSteps"]' \
  -b session=user_owner "$url/7?include=nextSteps"
check "a repeated include with an unknown value: 400" 400 \
  'body["error"]["details"] == {"field": "include", "rule": "unknown_value", "message": "include may contain only: nextSteps (comma-separated)"}' \
  -b session=user_owner "$url/7?include=nextSteps&include=everything"
check "a local dashboard's origin may read it" 200 \
  'body["data"]["programId"] == "42" and headers.get("access-control-allow-origin") == "http://localhost:5173" and headers.get("access-control-allow-credentials") == "true"' \
  -H "Origin: http://localhost:5173" -b session=user_owner "$url/42"
check "another origin may not" 200 \
  'body["data"]["programId"] == "42" and "access-control-allow-origin" not in headers' \
  -H "Origin: https://evil.example" -b session=user_owner "$url/42"

python3 scripts/readme-examples.py 3000 "$api_port" || failed=$((failed + 1))
echo "start-api: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
  echo "the end of the start-api log ($work/start-api.log):" >&2
  tail -n 40 "$work/start-api.log" >&2
fi
[ "$failed" -eq 0 ] || exit 1
if [ "${SERVE:-0}" = 1 ]; then
  log "serving GET $url/{programId} (cookie session=<userId>); Ctrl-C stops everything. Try:"
  log "  curl -s -b session=user_owner $url/42"
  log "a change to the code needs a restart (sam build); scripts/run-local.sh without --api rebuilds on every change"
  wait "$API_PID"
fi
