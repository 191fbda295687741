#!/usr/bin/env python3
"""The requests scripts/start-api-check.sh sends through `sam local start-api`, each checked for its
status and body. Standard library only.

    scripts/start-api-requests.py BASE_URL    e.g. http://127.0.0.1:3000

Runs against local/template.yaml's route (the local session authorizer: cookie session=<userId>)
with the example fixture and fixtures/next-steps.json loaded. Prints one `ok` or `FAIL` line per
request, with the curl command that repeats it and the start of the body, then a summary; exits
1 when any failed. The bodies it expects come from their one source: the function's errors and
API Gateway's 401 from openapi.yaml's examples, the 200s from tests/api/snapshots/; only what
sam local alone answers (the authorizer's refusal and failure, which a deployed API words
otherwise) is written here. With TEST_EVENT_PROGRAM (dev/'s `test-event`, which
scripts/start-api-check.sh builds and points at the run's DynamoDB Local), the last check writes
a test lead into the events table, as the tracker does, and waits for the route to count it (the
stream poller and the indexer put it in the view). Needs PyYAML (scripts/start-api-check.sh runs
it with .local/venv's Python, where the SAM CLI brings it).
"""

import http.client
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PATH = "/api/tracking/status"
LOCAL_ORIGIN = "http://localhost:5173"  # in local/template.yaml's CorsConfiguration
# sam local's own answers where a deployed HTTP API words them otherwise (docs/api.md,
# "Responses of the route"): not part of the contract, so not in openapi.yaml.
SAM_LOCAL_AUTHORIZER_REFUSED = {"message": "User is not authorized to access this resource"}
SAM_LOCAL_AUTHORIZER_FAILED = {"message": "Internal server error"}  # with the status 502


def request(base, path, cookie=None, origin=None):
    """GET base+path: (status, raw body, lower-cased headers, milliseconds)."""
    url = urllib.parse.urlsplit(base)
    headers = {}
    if cookie:
        headers["Cookie"] = cookie
    if origin:
        headers["Origin"] = origin
    started = time.perf_counter()
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        received = {key.lower(): value for key, value in response.getheaders()}
        return response.status, raw, received, (time.perf_counter() - started) * 1000
    finally:
        connection.close()


def curl(base, path, cookie=None, origin=None):
    """The same request as a curl command line, for a reader to repeat it."""
    words = ["curl"]
    if origin:
        words += ["-H", f"Origin: {origin}"]
    if cookie:
        words += ["-b", cookie]
    return shlex.join(words + [base + path])


def example(status, name):
    """openapi.yaml's example NAME of the route's STATUS response (a parsed JSON body)."""
    document = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    response = document["paths"]["/api/tracking/status/{programId}"]["get"]["responses"][str(status)]
    reference = response["$ref"].removeprefix("#/components/responses/")
    return document["components"]["responses"][reference]["content"]["application/json"]["examples"][name]["value"]


def snapshot(name):
    """The JSON of tests/api/snapshots/NAME.snap (after insta's header), lastUpdated redacted."""
    text = (ROOT / "tests/api/snapshots" / f"{name}.snap").read_text()
    return json.loads(text[text.index("\n---\n") + 5:])


def redacted(body):
    """BODY with the time of the response as the snapshots redact it."""
    body["data"]["lastUpdated"] = "[lastUpdated]"
    return body


def referrals_count(base):
    """Program 8's test-lead count as user_owner sees it (None if it cannot be read)."""
    try:
        status, raw, _, _ = request(base, f"{PATH}/8", "session=user_owner")
        return json.loads(raw)["data"]["statistics"]["referrals"]["testEventCount"] if status == 200 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def test_lead_shows(base, program):
    """Writes a test lead of program 8 with PROGRAM (dev/'s test-event) and polls the route until
    the count grows: (fine, what was seen, milliseconds)."""
    before = referrals_count(base)
    if before is None or before >= 10:
        # testEventCount stops at 10: a count that cannot grow would pass without the lead showing.
        return False, f"program 8's test-lead count is {before}: it cannot grow (fresh tables needed)", 0
    written = subprocess.run([program, "lead", "8"], capture_output=True, text=True, timeout=30)
    if written.returncode != 0:
        return False, f"test-event failed: {written.stderr.strip()}", 0
    started = time.perf_counter()
    count = before
    while time.perf_counter() - started < 20:
        count = referrals_count(base)
        if count == before + 1:
            return True, written.stdout.strip(), (time.perf_counter() - started) * 1000
        time.sleep(0.2)
    return False, f"{written.stdout.strip()}; the count stayed {count} (was {before}) for 20 s", 0


def main(args):
    if len(args) != 1:
        print("usage: scripts/start-api-requests.py BASE_URL", file=sys.stderr)
        return 2
    base = args[0].rstrip("/")
    bodies = {}  # name -> raw body of each request made so far
    no_program = "session=user_dev, program 43: the contract's 404"
    no_cookie = example(401, "noCookie")
    refused = SAM_LOCAL_AUTHORIZER_REFUSED
    # sam local answers the authorizer's failure with 502 where API Gateway answers 500.
    authorizer_failed = SAM_LOCAL_AUTHORIZER_FAILED

    # (name, expected status, check of (parsed body, raw body, headers), path, cookie, origin)
    # A member of no program gets the very bytes of a program that does not exist.
    cases = [
        ("session=user_owner: the status document", 200,
         lambda body, raw, headers: redacted(body) == snapshot("program_42")
         and headers.get("content-type") == "application/json"
         and headers.get("cache-control") == "no-store",
         f"{PATH}/42", "session=user_owner", None),
        ("no cookie: refused before the authorizer", 401,
         lambda body, raw, headers: body == no_cookie,
         f"{PATH}/42", None, None),
        # What the browser cannot read: API Gateway's own answers carry no CORS headers, even
        # for an allowed origin (docs/api.md, "Responses of the route").
        ("no cookie, a local dashboard's origin: no CORS headers", 401,
         lambda body, raw, headers: body == no_cookie and "access-control-allow-origin" not in headers,
         f"{PATH}/42", None, LOCAL_ORIGIN),
        ("cookie without session: refused by the authorizer", 403,
         lambda body, raw, headers: body == refused,
         f"{PATH}/42", "theme=dark", None),
        ("the authorizer's refusal, a local dashboard's origin: no CORS headers", 403,
         lambda body, raw, headers: body == refused and "access-control-allow-origin" not in headers,
         f"{PATH}/42", "theme=dark", LOCAL_ORIGIN),
        ("the authorizer fails (session=authorizer-failure)", 502,
         lambda body, raw, headers: body == authorizer_failed and "access-control-allow-origin" not in headers,
         f"{PATH}/42", "session=authorizer-failure", LOCAL_ORIGIN),
        ("session=user_billing: the contract's 403", 403,
         lambda body, raw, headers: body == example(403, "function"),
         f"{PATH}/42", "session=user_billing", None),
        (no_program, 404,
         lambda body, raw, headers: body == example(404, "function"),
         f"{PATH}/43", "session=user_dev", None),
        ("session=user_nobody, program 42: the same 404", 404,
         lambda body, raw, headers: raw == bodies.get(no_program),
         f"{PATH}/42", "session=user_nobody", None),
        ("?include=nextSteps, program 7: every step's item", 200,
         lambda body, raw, headers: redacted(body) == snapshot("program_7_next_steps"),
         f"{PATH}/7?include=nextSteps", "session=user_owner", None),
        ("a repeated include with an unknown value: 400", 400,
         lambda body, raw, headers: body == example(400, "function"),
         f"{PATH}/7?include=nextSteps&include=everything", "session=user_owner", None),
        ("a local dashboard's origin may read it", 200,
         lambda body, raw, headers: body["data"]["programId"] == "42"
         and headers.get("access-control-allow-origin") == LOCAL_ORIGIN
         and headers.get("access-control-allow-credentials") == "true",
         f"{PATH}/42", "session=user_owner", LOCAL_ORIGIN),
        ("another origin may not", 200,
         lambda body, raw, headers: body["data"]["programId"] == "42"
         and "access-control-allow-origin" not in headers,
         f"{PATH}/42", "session=user_owner", "https://evil.example"),
    ]

    failed = 0
    for name, expected, check, path, cookie, origin in cases:
        try:
            status, raw, headers, ms = request(base, path, cookie, origin)
        except OSError as error:
            status, raw, headers, ms = f"no answer ({error})", b"", {}, 0
        bodies[name] = raw
        try:
            fine = status == expected and check(json.loads(raw), raw, headers)
        except (ValueError, KeyError, TypeError, IndexError):
            fine = False
        text = raw.decode("utf-8", "replace")
        if fine:
            print(f"ok    {name:<44} -> {status}  ({ms:.0f} ms)")
        else:
            failed += 1
            print(f"FAIL  {name:<44} -> {status} (expected {expected}): {text[:600]}")
        print(f"      {curl(base, path, cookie, origin)}\n      {text[:300].rstrip()}")
    checks = len(cases)
    program = os.environ.get("TEST_EVENT_PROGRAM")
    if program:
        checks += 1
        name = "a test lead written into the events table shows"
        fine, seen, ms = test_lead_shows(base, program)
        failed += 0 if fine else 1
        print(f"{'ok  ' if fine else 'FAIL'}  {name:<44} -> {'after %.0f ms' % ms if fine else 'not seen'}\n      {seen}")
    print(f"start-api requests: {checks - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
