#!/usr/bin/env bash
# The contract as a client generator reads it: generates TypeScript types from openapi.yaml with
# openapi-typescript (pinned: clients/typescript/package-lock.json), fails when they differ from
# the committed clients/typescript/schema.d.ts, then type-checks the typed client and its
# compile-time checks (clients/typescript/tsconfig.json: tsc --noEmit).
#
#   scripts/typescript-check.sh           check (scripts/test.sh, step 1)
#   scripts/typescript-check.sh --write   regenerate clients/typescript/schema.d.ts after changing openapi.yaml
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_typescript_tools

committed=clients/typescript/schema.d.ts
if [ "${1:-}" = --write ]; then
  openapi-typescript openapi.yaml -o "$committed" --silent
  log "wrote $committed"
else
  mkdir -p target/typescript
  openapi-typescript openapi.yaml -o target/typescript/schema.d.ts --silent
  if ! diff -u "$committed" target/typescript/schema.d.ts >target/typescript/schema.diff; then
    head -n 60 target/typescript/schema.diff >&2
    fail "$committed is not what openapi-typescript generates from openapi.yaml (the diff above, in" \
      "full in target/typescript/schema.diff). Run scripts/typescript-check.sh --write and commit it."
    exit 1
  fi
  log "$committed is openapi.yaml's, as generated"
fi
tsc -p clients/typescript/tsconfig.json
log "clients/typescript type-checks against it"
