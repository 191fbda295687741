#!/usr/bin/env bash
# `sam local invoke` of every file in events/, against DynamoDB Local with the example fixture,
# each checked for the status in its name (events/http-403-no-permission.json must answer 403);
# then, when the build has test-event-indexer, the stream events of events/stream/ through it,
# each checked for what it leaves in the test-event view (scripts/stream-events-check.py).
# The function runs in a Docker container the way Lambda runs it: the `sam build` artifact, on
# AWS's provided.al2023 image or, where it cannot be pulled, a stand-in (scripts/docker.sh,
# ensure_lambda_base_image), behind SAM's Runtime Interface Emulator.
#
#   scripts/sam-local.sh [BUILD_DIR]    default: .aws-sam/build-ci, what scripts/test.sh builds;
#                                       built here first when it has no template.yaml
#
# Installs and starts Docker when needed (root + apt-get); DYNAMODB_PORT picks DynamoDB Local's
# port (default: a free one). Each response is kept in .aws-sam/sam-local/<event>.out, SAM's and
# the function's log in <event>.log. Exits non-zero on any failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/docker.sh"
cd "$ROOT"

build_dir="${1:-.aws-sam/build-ci}"
work="$ROOT/.aws-sam/sam-local"
mkdir -p "$work" "$LOCAL"

cleanup() {
  stop_dynamodb_local
  [ -n "${SAM_BEFORE+x}" ] && remove_new_sam_containers "$SAM_BEFORE"
  stop_docker_if_started
}
trap 'rc=$?; cleanup; exit $rc' EXIT
trap 'exit 130' INT TERM

[ -n "${DYNAMODB_PORT:-}" ] && ensure_port_free "$DYNAMODB_PORT" "DynamoDB Local" DYNAMODB_PORT
ensure_ci_tools
ensure_docker
ensure_lambda_base_image
SAM_BEFORE="$(sam_containers)"
arch="$(sam_local_arch)"

if [ ! -f "$build_dir/template.yaml" ]; then
  log "no sam build in $build_dir: building (release; takes minutes the first time)"
  CARGO_TARGET_DIR="${LAMBDA_TARGET_DIR:-$ROOT/target}" sam build --no-cached \
    --parameter-overrides "Architecture=$arch" --build-dir "$build_dir"
fi
bash scripts/glibc-check.sh "$build_dir/TrackingStatusFunction/bootstrap" >&2 ||
  log "WARNING: the bootstrap needs a newer glibc than provided.al2023 has: it runs here, not on Lambda"

# SAM's --env-vars only sets variables the template declares, and template.yaml does not
# declare AWS_ENDPOINT_URL_DYNAMODB (docs/development.md, "Why a copy of the built template"). So this invokes
# a copy of the built template that declares it, with CodeUri pointing at the same built
# artifact, and checks that nothing else differs.
template="$build_dir/template.yaml"
if ! grep -q 'AWS_ENDPOINT_URL_DYNAMODB' "$template"; then
  "$LOCAL/venv/bin/python" scripts/sam-local-template.py "$template" "$work/template.yaml"
  template="$work/template.yaml"
  log "invoking $template: $build_dir/template.yaml + a declared AWS_ENDPOINT_URL_DYNAMODB (checked: nothing else differs)"
fi

start_dynamodb_for_containers "$work/env.json"

now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000)); }
passed=0 failed=0 total_ms=0
events="$(dev_program events)"
list="$("$events")"
while read -r file expected <&3; do
  name="$(basename "$file" .json)"
  t0="$(now_ms)"
  # stdout: the function's response; stderr: SAM's and the function's logs.
  output="$(sam_local invoke TrackingStatusFunction $(sam_image_options) -t "$template" -e "$file" \
    --env-vars "$work/env.json" --parameter-overrides "Architecture=$arch" \
    2>"$work/$name.log")" || true
  printf '%s\n' "$output" >"$work/$name.out"
  ms=$(($(now_ms) - t0))
  total_ms=$((total_ms + ms))
  actual="$(printf '%s' "$output" | tail -n 1 | "$events" status-code 2>/dev/null || echo "no response")"
  if [ "$actual" = "$expected" ]; then
    passed=$((passed + 1)); printf 'ok    %-32s -> %s  (%d ms)\n' "$name" "$actual" "$ms"
  else
    failed=$((failed + 1)); printf 'FAIL  %-32s -> %s (expected %s, %d ms): %s\n' "$name" "$actual" "$expected" "$ms" "$output"
    sed 's/^/      | /' "$work/$name.log" | tail -n 20
  fi
done 3<<<"$list"

# The indexer, when the build has it: events/stream/ in the order a stream delivers them, each
# checked for what it leaves in the view (scripts/stream-events-check.py).
if [ -f "$build_dir/TestEventIndexerFunction/bootstrap" ]; then
  stream_list="$("$LOCAL/venv/bin/python" scripts/stream-events-check.py list)" || failed=$((failed + 1))
  step_number=0
  while read -r file <&3; do
    [ -n "$file" ] || continue
    step_number=$((step_number + 1))
    name="$(basename "$file" .json)"
    t0="$(now_ms)"
    sam_local invoke TestEventIndexerFunction $(sam_image_options) -t "$template" -e "$file" \
      --env-vars "$work/env.json" --parameter-overrides "Architecture=$arch" \
      >"$work/stream-$step_number.out" 2>"$work/stream-$step_number.log" || true
    ms=$(($(now_ms) - t0))
    total_ms=$((total_ms + ms))
    if AWS_ENDPOINT_URL_DYNAMODB="$DYNAMODB_HOST_ENDPOINT" "$LOCAL/venv/bin/python" scripts/stream-events-check.py \
      check "$name" "$work/stream-$step_number.out" "$work/stream-$step_number.log"; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      sed 's/^/      | /' "$work/stream-$step_number.log" | tail -n 20
    fi
  done 3<<<"$stream_list"
else
  log "no TestEventIndexerFunction in $build_dir: the stream events are not invoked"
fi
echo "sam local invoke: $passed passed, $failed failed ($((total_ms / (passed + failed))) ms per invoke)"
[ "$failed" -eq 0 ]
