#!/usr/bin/env bash
# Does the built bootstrap run on Lambda's provided.al2023? It is linked against the build
# machine's glibc (cargo lambda builds the host target with plain cargo; the stand-in image of
# scripts/docker.sh carries the same glibc, so `sam local` cannot catch this). Amazon Linux 2023
# has glibc 2.34: a binary that needs a newer GLIBC_x.y symbol version fails there at start with
# "version `GLIBC_2.xx' not found". This reads the binary's version needs (readelf -V) and fails
# when any GLIBC_ version is newer than MAX_GLIBC (default 2.34), or when it links a library
# outside glibc and libgcc_s.
#
#   scripts/glibc-check.sh [BOOTSTRAP]   default: .aws-sam/build-ci/TrackingStatusFunction/bootstrap
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

binary="${1:-.aws-sam/build-ci/TrackingStatusFunction/bootstrap}"
max="${MAX_GLIBC:-2.34}"
[ -f "$binary" ] || { echo "glibc-check: $binary does not exist (run sam build first)" >&2; exit 2; }
command -v readelf >/dev/null 2>&1 || { echo "glibc-check: readelf is missing (Debian: apt-get install binutils)" >&2; exit 2; }

# Version needs: "  0x0010:   Name: GLIBC_2.34  Flags: none  Version: 5" under each "File: libc.so.6".
versions="$(readelf -V -W "$binary" | sed -n 's/.*Name: \(GLIBC_[0-9][0-9.]*\).*/\1/p' | sort -u -V)"
private="$(readelf -V -W "$binary" | grep -c 'Name: GLIBC_PRIVATE' || true)"
needed="$(readelf -d -W "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
highest="$(printf '%s\n' "$versions" | tail -n 1)"

echo "glibc-check: $binary"
echo "  needs libraries: $(echo $needed)"
echo "  needs glibc versions: $(echo $versions)"
echo "  highest: ${highest:-none} (allowed: up to GLIBC_$max; Amazon Linux 2023 has 2.34)"

status=0
too_new="$(printf '%s\n' $versions | awk -v max="$max" -F'GLIBC_' '
  function cmp(a, b,   x, y, i, n) {
    n = split(a, x, "."); split(b, y, ".")
    for (i = 1; i <= 3; i++) { if ((x[i] + 0) != (y[i] + 0)) return (x[i] + 0) - (y[i] + 0) }
    return 0
  }
  NF == 2 && cmp($2, max) > 0 { print "GLIBC_" $2 }')"
if [ -n "$too_new" ]; then
  status=1
  echo "FAIL  needs glibc newer than $max: $(echo $too_new); the symbols:"
  for version in $too_new; do
    objdump -T "$binary" 2>/dev/null | awk -v v="$version" '$0 ~ "\\(?" v "\\)?[ \t]" { print "        " $NF " (" v ")" }'
  done
fi
if [ "$private" != 0 ]; then
  status=1
  echo "FAIL  needs GLIBC_PRIVATE symbols (tied to one exact glibc build)"
fi
for lib in $needed; do
  case "$lib" in
    libc.so.6 | libm.so.6 | libdl.so.2 | librt.so.1 | libpthread.so.0 | libutil.so.1 | libresolv.so.2 | \
      libgcc_s.so.1 | ld-linux-x86-64.so.2 | ld-linux-aarch64.so.1) ;;
    *) status=1; echo "FAIL  links $lib, which provided.al2023 may not have (only glibc and libgcc_s are certain)" ;;
  esac
done
[ "$status" = 0 ] && echo "ok    runs on glibc $max (provided.al2023)"
exit "$status"
