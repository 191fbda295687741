#!/usr/bin/env bash
# The dashboard's route through SAM's API Gateway emulation: `sam local start-api` serving
# GET /api/tracking/status/{programId} from local/template.yaml — the same function, built the
# same way, behind a LOCAL-ONLY session authorizer (local/authorizer/: cookie session=<userId>
# becomes the authorizer context {userId}, as the dashboard's real authorizer gives) — against
# DynamoDB Local with the example fixture, and the stream poller that feeds the test-event view
# (as scripts/run-local.sh runs it). Starts everything on free ports, checks the status and body
# of each request of scripts/start-api-requests.py (the last one: a test lead written into the
# events table with dev/'s `test-event`, as the tracker writes it, shows in the route), and stops
# everything.
#
#   scripts/start-api-check.sh
#
# Then runs the console examples of README.md and docs/*.md against 127.0.0.1:3000 and compares
# their output (scripts/readme-examples.py), and the browser check (scripts/browser-check.js:
# headless Chromium, a page on http://app.example.test:5173 calling the route on
# http://api.example.test:<port> with fetch, both names mapped to loopback; its screenshot:
# target/browser/route.png; 5173 must be free; not with SERVE=1).
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
  [ -n "${POLLER_PID:-}" ] && kill "$POLLER_PID" 2>/dev/null && wait "$POLLER_PID" 2>/dev/null
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
# Not with SERVE=1 (scripts/run-local.sh --api): a developer's own dev server may hold 5173.
browser=1
[ "${SERVE:-0}" = 1 ] && browser=0
if [ "$browser" = 1 ]; then
  ensure_browser
  ensure_typescript_tools
  ensure_port_free "${PAGE_PORT:-5173}" "the browser check's page (an origin local/template.yaml allows)" PAGE_PORT
fi
ensure_docker
ensure_lambda_base_image
arch="$(sam_local_arch)"

if [ "${SKIP_LOCAL_BUILD:-0}" != 1 ] || [ ! -f "$build_dir/template.yaml" ]; then
  log "sam build -t local/template.yaml (the function and the local authorizer, release)"
  t0=$SECONDS
  # LAMBDA_TARGET_DIR: where scripts/test.sh's release builds go, so cargo finds the function built.
  CARGO_TARGET_DIR="${LAMBDA_TARGET_DIR:-$ROOT/target}" sam build -t local/template.yaml --no-cached \
    --parameter-overrides "Architecture=$arch" --build-dir "$build_dir" >"$work/build.log" 2>&1 ||
    { tail -n 30 "$work/build.log" >&2; exit 1; }
  log "built in $((SECONDS - t0)) s ($build_dir)"
fi
for function in TrackingStatusFunction LocalSessionAuthorizerFunction; do
  bash scripts/glibc-check.sh "$build_dir/$function/bootstrap" >&2 ||
    log "WARNING: $function needs a newer glibc than provided.al2023 has: it runs here, not on Lambda"
done

start_dynamodb_for_containers "$work/env.json"
# The event source mapping's stand-in, on the events table's stream (docs/development.md, "The
# test-event view locally"): the indexer runs on the host, against the same DynamoDB Local.
cargo build --locked --quiet -p test-event-indexer
poller="$(dev_program stream-poller)"
TEST_EVENT_PROGRAM="$(dev_program test-event)"
export TEST_EVENT_PROGRAM AWS_ENDPOINT_URL_DYNAMODB="$DYNAMODB_HOST_ENDPOINT"
"$poller" "${CARGO_TARGET_DIR:-$ROOT/target}/debug/test-event-indexer" "$work/test-event-indexer.log" &
POLLER_PID=$!
SAM_BEFORE="$(sam_containers)"

now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000)); }
warm=()
[ -n "${WARM_CONTAINERS:-}" ] && warm=(--warm-containers "$WARM_CONTAINERS")
log "sam local start-api on 127.0.0.1:$api_port (log: $work/start-api.log)"
t0="$(now_ms)"
env $(sam_local_env) sam local start-api -t "$build_dir/template.yaml" $(sam_image_options) \
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

failed=0
"$LOCAL/venv/bin/python" scripts/start-api-requests.py "$base" || failed=$((failed + 1))
python3 scripts/readme-examples.py 3000 "$api_port" || failed=$((failed + 1))
checks=2
if [ "$browser" = 1 ]; then
  checks=3
  t0=$SECONDS
  node scripts/browser-check.js "$base" target/browser/route.png || failed=$((failed + 1))
  log "the browser check took $((SECONDS - t0)) s"
fi
echo "start-api: $((checks - failed)) of $checks passed (the requests, the README's examples$([ "$browser" = 1 ] && echo ', the browser'))"
if [ "$failed" -ne 0 ]; then
  echo "the end of the start-api log ($work/start-api.log):" >&2
  tail -n 40 "$work/start-api.log" >&2
fi
[ "$failed" -eq 0 ] || exit 1
if [ "${SERVE:-0}" = 1 ]; then
  url="$base/api/tracking/status"
  log "serving GET $url/{programId} (cookie session=<userId>); Ctrl-C stops everything. Try:"
  log "  curl -s -b session=user_owner $url/42"
  log "a test click or lead, as the tracker writes it (the status shows it within a second):"
  log "  AWS_ENDPOINT_URL_DYNAMODB=$DYNAMODB_HOST_ENDPOINT cargo run --quiet --bin test-event -- lead 42"
  log "a change to the code needs a restart (sam build); scripts/run-local.sh without --api rebuilds on every change"
  wait "$API_PID"
fi
