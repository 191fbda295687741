#!/usr/bin/env python3
"""Runs the documentation's console examples against a running local server and compares their output.

    scripts/readme-examples.py PORT ACTUAL_PORT
    scripts/readme-examples.py --list PORT      # only print what it would run, from which file

Every `$ command` in a ```console block of README.md or docs/*.md whose text contains
127.0.0.1:PORT (or `-A 127.0.0.1 ... -P PORT`, as `cargo lambda invoke` takes it) is run from
the project root, with ACTUAL_PORT instead, and its stdout compared with the lines under it in
its file, up to the next `$ ` line, blank line or the end of the block. The only differences
allowed are the value of `lastUpdated` (the time of the response) and blank lines. Exits 1 on
any difference, when no file has such an example (so they cannot quietly disappear), or when a
console example names neither port (no checker would ever run it). scripts/e2e.sh runs it for
cargo lambda watch (9000), scripts/start-api-check.sh for sam local start-api (3000).
"""

import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# "lastUpdated":"2026-11-25T17:00:05.482Z", also inside a JSON string (\"lastUpdated\":\"...\").
LAST_UPDATED = re.compile(r'(lastUpdated\\?"\s*:\s*\\?")[0-9T:.+-]+Z')
# The servers the examples are written against: cargo lambda watch, sam local start-api.
PORTS = ("9000", "3000")


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


def documents():
    """README.md and docs/*.md, relative to the project root."""
    docs = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    return ["README.md"] + docs


def against(port):
    """A predicate: does a command call the server on PORT?"""
    address = f"127.0.0.1:{port}"
    # `cargo lambda invoke -A 127.0.0.1 -P 9000` names the same address in two options.
    option = re.compile(rf"(-A 127\.0\.0\.1 .*-P ){port}\b")
    return lambda command: address in command or bool(option.search(command))


def every_example():
    """(file, line number, command, expected output) of every console example of every document."""
    found = []
    for name in documents():
        with open(os.path.join(ROOT, name)) as f:
            found += [(name, *example) for example in examples(f.read())]
    return found


def normalize(text):
    """Blank lines and trailing spaces aside (an example ends at a blank line)."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return LAST_UPDATED.sub(r"\1<time>", "\n".join(lines))


def main():
    listing = sys.argv[1] == "--list"
    port = sys.argv[2] if listing else sys.argv[1]
    address = f"127.0.0.1:{port}"
    found = every_example()
    orphans = [e for e in found if not any(against(p)(e[2]) for p in PORTS)]
    for name, number, command, _ in orphans:
        print(f"FAIL  {name}:{number}: names neither 127.0.0.1:9000 nor :3000, so nothing runs it: {command}")
    chosen = [e for e in found if against(port)(e[2])]
    if not chosen:
        print(f"no console example against {address} in {', '.join(documents())}")
        return 1
    if listing:
        for name, number, command, expected in chosen:
            print(f"{name}:{number}: {command}  ({len(expected.splitlines())} lines of output)")
        print(f"console examples against {address}: {len(chosen)}")
        return 1 if orphans else 0
    actual = sys.argv[2]
    option = re.compile(rf"(-A 127\.0\.0\.1 .*-P ){port}\b")
    failed = 0
    for name, number, command, expected in chosen:
        run = option.sub(rf"\g<1>{actual}", command.replace(address, f"127.0.0.1:{actual}"))
        result = subprocess.run(["bash", "-c", run], cwd=ROOT, capture_output=True, text=True, timeout=120)
        if normalize(result.stdout) == normalize(expected):
            print(f"ok    {name}:{number}: {command}")
        else:
            failed += 1
            print(f"FAIL  {name}:{number}: {command}")
            print(f"      {name} shows: {expected}")
            print(f"      the command gave: {result.stdout.strip()}")
            if result.stderr.strip():
                print(f"      stderr: {result.stderr.strip()[:500]}")
    print(f"console examples against {address}: {len(chosen) - failed} passed, {failed} failed")
    return 1 if failed or orphans else 0


if __name__ == "__main__":
    sys.exit(main())
