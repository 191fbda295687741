#!/usr/bin/env python3
"""The requests scripts/start-api-check.sh sends through `sam local start-api`, each checked for its
status and body. Standard library only.

    scripts/start-api-requests.py BASE_URL    e.g. http://127.0.0.1:3000

Runs against local/template.yaml's route (the local session authorizer: cookie session=<userId>)
with the example fixture and fixtures/next-steps.json loaded. Prints one `ok` or `FAIL` line per
request, with the curl command that repeats it and the start of the body, then a summary; exits
1 when any failed. API Gateway's own bodies (no cookie, the authorizer's refusal) are compared with
openapi.yaml's examples of them, so the document shows what the emulator really answers. Needs
PyYAML (scripts/start-api-check.sh runs it with .local/venv's Python, where the SAM CLI brings it).
"""

import http.client
import json
import shlex
import sys
import time
import urllib.parse
from pathlib import Path

import yaml

PATH = "/api/tracking/status"
LOCAL_ORIGIN = "http://localhost:5173"  # in local/template.yaml's CorsConfiguration
NEXT_STEPS = ["send_test_click", "send_test_lead", "connect_stripe", "approve_a_partner"]


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


def gateway_example(status, name):
    """openapi.yaml's example NAME of the route's STATUS response (a parsed JSON body)."""
    document = yaml.safe_load((Path(__file__).resolve().parent.parent / "openapi.yaml").read_text())
    response = document["paths"]["/api/tracking/status/{programId}"]["get"]["responses"][str(status)]
    reference = response["$ref"].removeprefix("#/components/responses/")
    return document["components"]["responses"][reference]["content"]["application/json"]["examples"][name]["value"]


def main(args):
    if len(args) != 1:
        print("usage: scripts/start-api-requests.py BASE_URL", file=sys.stderr)
        return 2
    base = args[0].rstrip("/")
    bodies = {}  # name -> raw body of each request made so far
    no_program = "session=user_dev, program 43: the contract's 404"
    no_cookie = gateway_example(401, "noCookie")
    refused = gateway_example(403, "authorizerRefusedSamLocal")
    # sam local answers the authorizer's failure with 502 where API Gateway answers 500.
    authorizer_failed = gateway_example(500, "authorizerFailedSamLocal")

    # (name, expected status, check of (parsed body, raw body, headers), path, cookie, origin)
    # A member of no program gets the very bytes of a program that does not exist.
    cases = [
        ("session=user_owner: the status document", 200,
         lambda body, raw, headers: body["data"]["programId"] == "42"
         and body["data"]["stepStatuses"] == {"pageview": "complete", "referrals": "pending", "payments": "complete"}
         and body["data"]["statistics"]["pageview"]["testEventCount"] == 3
         and body["data"]["hasPartners"] is True
         and "error" not in body
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
         lambda body, raw, headers: body["data"] is None
         and body["error"]["status"] == 403 and body["error"]["name"] == "ForbiddenError",
         f"{PATH}/42", "session=user_billing", None),
        (no_program, 404,
         lambda body, raw, headers: body["data"] is None and body["error"]["status"] == 404,
         f"{PATH}/43", "session=user_dev", None),
        ("session=user_nobody, program 42: the same 404", 404,
         lambda body, raw, headers: raw == bodies.get(no_program),
         f"{PATH}/42", "session=user_nobody", None),
        ("?include=nextSteps, program 7: every step's item", 200,
         lambda body, raw, headers: [i["code"] for i in body["data"]["nextSteps"]] == NEXT_STEPS
         and list(body["data"])[-2:] == ["lastUpdated", "nextSteps"],
         f"{PATH}/7?include=nextSteps", "session=user_owner", None),
        ("a repeated include with an unknown value: 400", 400,
         lambda body, raw, headers: body["error"]["details"] == {
             "field": "include", "rule": "unknown_value",
             "message": "include may contain only: nextSteps (comma-separated)"},
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
    print(f"start-api requests: {len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
