#!/usr/bin/env bash
# The benchmark (issue: performance). Not a test, and not run by CI: it prints
# medians and ratios measured side by side in one run on this machine.
#
# Builds the release binaries (tracking-status and examples/hello), starts
# DynamoDB Local, loads a realistic fixture (the example program with 5,000 live
# events and a few test ones), reports binary and zip sizes, then runs
# examples/bench.rs, which plays the Lambda Runtime API.
#
#   BENCH_COLD_RUNS (20)  BENCH_WARM_RUNS (1000)  BENCH_DELAY_MS (25)
#   BENCH_COLD_ONLY=1     only the cold starts, over plain HTTP and TLS, and the store's floor (experiments on init)
#   BENCH_STORE_WARMUP (10000) invocations that warm DynamoDB Local's JVM up before anything is measured
#   BENCH_ARM64=1         also build the arm64 deployment binary with cargo lambda and report its size
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_dynamodb_local
# CARGO_TARGET_DIR is honoured, so builds with other profile settings can sit side by side:
#   CARGO_TARGET_DIR=target/opt-3 CARGO_PROFILE_RELEASE_OPT_LEVEL=3 scripts/bench.sh
TARGET="${CARGO_TARGET_DIR:-target}"
export TARGET
# Two builds: the function and seed exactly as they deploy, then the examples
# (which bring the dev-dependencies' features with them).
log "cargo build --release (tracking-status, seed)"
cargo build --release --locked --bin tracking-status --bin seed
cp "$TARGET/release/tracking-status" "$LOCAL/tracking-status"
log "cargo build --release (examples: hello, bench)"
cargo build --release --locked --example hello --example bench

port="$(free_port)"
trap 'rc=$?; stop_dynamodb_local; exit $rc' EXIT
start_dynamodb_local "$port"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
export BENCH_TABLE_PREFIX="bench-"
for pair in PROGRAMS_TABLE:tracking-programs ADVERTISERS_TABLE:tracking-advertisers \
  MEMBERSHIPS_TABLE:tracking-memberships EVENTS_TABLE:tracking-events \
  PARTNER_PROGRAMS_TABLE:tracking-partner-programs; do
  export "${pair%%:*}=$BENCH_TABLE_PREFIX${pair#*:}"
done

fixture="$LOCAL/bench-fixture.json"
python3 - "$fixture" <<'PY'
import json, sys
fixture = json.load(open("fixtures/example.json"))
events = fixture["events"]
for i in range(5000):  # live traffic: never read by the function
    kind = ("click", "lead", "sale")[i % 3]
    minute = i % 1440
    at = f"2026-06-08T{minute // 60:02d}:{minute % 60:02d}:00.000Z"
    events.append({"id": 10_000 + i, "programId": 42, "type": kind, "test": False, "timestamp": at, "createdAt": at})
for i in range(4):  # a few more test leads
    at = f"2026-06-07T12:0{i}:00.000Z"
    events.append({"id": 200 + i, "programId": 42, "type": "lead", "test": True, "timestamp": at, "createdAt": at})
json.dump(fixture, open(sys.argv[1], "w"))
PY
log "loading the bench fixture (5,000 live events)"
"$TARGET/release/seed" "$fixture"

python3 - <<'PY'
import os, zipfile
for name, path in [("tracking-status", ".local/tracking-status"), ("hello", os.environ["TARGET"] + "/release/examples/hello")]:
    zipped = f".local/{name}.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(path, "bootstrap")
    print(f"{'binary / deployment zip, ' + name + ' (host, MB)':<62} {os.path.getsize(path) / 1e6:.2f} / {os.path.getsize(zipped) / 1e6:.2f}")
PY
if [ "${BENCH_ARM64:-0}" = 1 ]; then
  ensure_cargo_lambda
  cargo lambda build --release --arm64 --bin tracking-status >/dev/null
  python3 - <<'PY'
import os, zipfile
path = os.environ["TARGET"] + "/lambda/tracking-status/bootstrap"
with zipfile.ZipFile(".local/tracking-status-arm64.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(path, "bootstrap")
print(f"{'binary / deployment zip, arm64 (cargo lambda, MB)':<62} {os.path.getsize(path) / 1e6:.2f} / {os.path.getsize('.local/tracking-status-arm64.zip') / 1e6:.2f}")
PY
fi

BENCH_FUNCTION="$LOCAL/tracking-status" BENCH_HELLO="$(realpath "$TARGET/release/examples/hello")" \
  BENCH_DYNAMODB="$AWS_ENDPOINT_URL_DYNAMODB" "$TARGET/release/examples/bench"
