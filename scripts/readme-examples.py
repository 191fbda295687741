#!/usr/bin/env python3
"""Runs the README's console examples against a running local server and compares their output.

    scripts/readme-examples.py PORT ACTUAL_PORT

Every `$ command` in a ```console block of README.md whose text contains 127.0.0.1:PORT (or
`-A 127.0.0.1 ... -P PORT`, as `cargo lambda invoke` takes it) is run from the project root,
with ACTUAL_PORT instead, and its stdout compared with the lines under it in the README, up to
the next `$ ` line, blank line or the end of the block. The only differences allowed are the
value of `lastUpdated` (the time of the response) and blank lines. Exits 1 on any difference,
or when the README has no such example (so they cannot quietly disappear). scripts/e2e.sh runs
it for cargo lambda watch (9000), scripts/start-api-check.sh for sam local start-api (3000).
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# "lastUpdated":"2026-11-25T17:00:05.482Z", also inside a JSON string (\"lastUpdated\":\"...\").
LAST_UPDATED = re.compile(r'(lastUpdated\\?"\s*:\s*\\?")[0-9T:.+-]+Z')


def examples(readme):
    """(line number, command, expected output) of every console example."""
    found, block, command = [], False, None
    for number, line in enumerate(readme.splitlines(), 1):
        if line.startswith("```"):
            block = line.strip() == "```console"
            command = None
            continue
        if not block:
            continue
        if line.startswith("$ "):
            command = [number, line[2:], []]
            found.append(command)
        elif not line.strip():
            command = None
        elif command is not None:
            command[2].append(line)
    return [(number, text, "\n".join(output)) for number, text, output in found]


def normalize(text):
    """Blank lines and trailing spaces aside (a README example ends at a blank line)."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return LAST_UPDATED.sub(r"\1<time>", "\n".join(lines))


def main():
    port, actual = sys.argv[1], sys.argv[2]
    address = f"127.0.0.1:{port}"
    # `cargo lambda invoke -A 127.0.0.1 -P 9000` names the same address in two options.
    option = re.compile(rf"(-A 127\.0\.0\.1 .*-P ){port}\b")
    with open(os.path.join(ROOT, "README.md")) as f:
        chosen = [e for e in examples(f.read()) if address in e[1] or option.search(e[1])]
    if not chosen:
        print(f"README.md has no console example against {address}")
        return 1
    failed = 0
    for number, command, expected in chosen:
        run = option.sub(rf"\g<1>{actual}", command.replace(address, f"127.0.0.1:{actual}"))
        result = subprocess.run(["bash", "-c", run], cwd=ROOT, capture_output=True, text=True, timeout=120)
        if normalize(result.stdout) == normalize(expected):
            print(f"ok    README.md:{number}: {command}")
        else:
            failed += 1
            print(f"FAIL  README.md:{number}: {command}")
            print(f"      the README shows: {expected}")
            print(f"      the command gave: {result.stdout.strip()}")
            if result.stderr.strip():
                print(f"      stderr: {result.stderr.strip()[:500]}")
    print(f"README examples against {address}: {len(chosen) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
