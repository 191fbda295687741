#!/usr/bin/env bash
# The benchmark (issue: performance). Not a test, and not run by CI: it prints
# medians and ratios measured side by side in one run on this machine.
#
# Builds the release binaries (tracking-status and examples/hello), starts
# DynamoDB Local, reports binary and zip sizes, then runs examples/bench.rs,
# which loads a realistic fixture (the example program with 5,000 live events
# and a few test ones) and plays the Lambda Runtime API.
#
#   BENCH_COLD_RUNS (20)  BENCH_WARM_RUNS (1000)  BENCH_DELAY_MS (25)
#   BENCH_COLD_ONLY=1     only the cold starts, over plain HTTP and TLS, and the store's floor (experiments on init)
#   BENCH_STORE_WARMUP (10000) invocations that warm DynamoDB Local's JVM up before anything is measured
#   BENCH_ARM64=1         also build the arm64 deployment binary with cargo lambda and report its size
#   BENCH_CPU_SHARE (1)   the table under each memory size's CPU share (cgroup v1 quota, needs root):
#                         1 adds it to the run, only runs it alone, 0 leaves it out
#   BENCH_SIZES (128,256,384,512,768,1024,1769)  BENCH_CFS_PERIOD_US (20000)
#   BENCH_SHARE_COLD_RUNS (10)  BENCH_SHARE_WARM_RUNS (500)  BENCH_P99_BOUND_MS (20)
#   BENCH_FUNCTION_B=path another build of the function, run beside it in the table (levers)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_dynamodb_local
# CARGO_TARGET_DIR is honoured, so builds with other profile settings can sit side by side:
#   CARGO_TARGET_DIR=target/opt-3 CARGO_PROFILE_RELEASE_OPT_LEVEL=3 scripts/bench.sh
TARGET="${CARGO_TARGET_DIR:-target}"
export TARGET
# Two builds: the function exactly as it deploys, then the examples (which
# bring the dev-dependencies' features with them).
log "cargo build --release (tracking-status)"
cargo build --release --locked --bin tracking-status
cp "$TARGET/release/tracking-status" "$LOCAL/tracking-status"
log "cargo build --release (examples: hello, bench)"
cargo build --release --locked --example hello --example bench

port="$(free_port)"
trap 'rc=$?; stop_dynamodb_local; exit $rc' EXIT
start_dynamodb_local "$port"

# The deployment zip holds one deflate-compressed file, `bootstrap`: its size is
# the deflate -9 stream (gzip -9 less gzip's 18-byte frame) plus the zip's own
# headers (about 120 bytes for one file), reported as is.
mb() { awk -v bytes="$1" 'BEGIN { printf "%.2f", bytes / 1e6 }'; }
zip_mb() { mb "$(($(gzip -9 -c "$1" | wc -c) - 18 + 120))"; }
size_mb() { mb "$(stat -c %s "$1")"; }
line() { printf '%-62s %s\n' "$1" "$2"; }
line "binary / deployment zip, tracking-status (host, MB)" \
  "$(size_mb "$LOCAL/tracking-status") / $(zip_mb "$LOCAL/tracking-status")"
line "binary / deployment zip, hello (host, MB)" \
  "$(size_mb "$TARGET/release/examples/hello") / $(zip_mb "$TARGET/release/examples/hello")"
if [ "${BENCH_ARM64:-0}" = 1 ]; then
  ensure_cargo_lambda
  cargo lambda build --release --locked --arm64 --bin tracking-status >/dev/null
  arm64="$TARGET/lambda/tracking-status/bootstrap"
  line "binary / deployment zip, arm64 (cargo lambda, MB)" "$(size_mb "$arm64") / $(zip_mb "$arm64")"
fi

# The benchmark loads its own fixture (5,000 live events) into DynamoDB Local.
BENCH_FUNCTION="$LOCAL/tracking-status" BENCH_HELLO="$(realpath "$TARGET/release/examples/hello")" \
  BENCH_DYNAMODB="http://127.0.0.1:$port" "$TARGET/release/examples/bench"
