#!/usr/bin/env node
// The route as a dashboard's page reads it, in a real browser, in the deployed shape: headless
// Chromium (Debian's `chromium`), driven over CDP by playwright-core (npm, pinned in
// scripts/lib.sh), with every host name below mapped to 127.0.0.1 by Chromium's own resolver
// (--host-resolver-rules), so its cookie, SameSite and CORS rules are Chromium's, applied to real
// host names:
//
//   the dashboard   http://app.example.test:5173   (an origin local/template.yaml allows)
//   the API         http://api.example.test:<port> (`sam local start-api`, a sibling host)
//   off-site API    http://abc.execute-api.test:<port> (the same API under a host outside the
//                   dashboard's site, as the execute-api URL is)
//   another page    http://other.example.test:5173 (same site, an origin the API does not allow)
//
// The dashboard's server signs the user in as a dashboard does: `Set-Cookie: session=<user>;
// Domain=example.test; Path=/; HttpOnly; SameSite=Lax` (docs/dashboard.md, "The cookie"). The
// page runs clients/typescript/status-client.ts (transpiled here; CI type-checks it against the
// types generated from openapi.yaml) and the check asserts only what a page script can read:
//
//   - the parent-domain cookie, the API on the sibling host: the 200 body (equal to
//     tests/api/snapshots/program_42.snap), and ?include=nextSteps for program 9 (its snapshot; its
//     payments step `complete` with a next step);
//   - the same with each request header template.yaml's CORS AllowHeaders lists (a preflight
//     each): the 200; with a header it does not list: a TypeError (the preflight fails);
//   - session=user_billing: the function's 403 body, equal to openapi.yaml's example;
//   - a host-only cookie (what `document.cookie = "session=…"` on the page makes): a TypeError,
//     the API on its sibling host received no cookie (API Gateway's 401 has no CORS headers);
//   - the parent-domain cookie, the API on the off-site host: a TypeError, no cookie sent;
//   - the parent-domain cookie, a page on an origin the API does not allow: a TypeError;
//   - signed out: a TypeError, and the guide's probe: fetch(url, {mode: "no-cors"}) resolves (the
//     API answers), where against an address that does not answer it rejects (network down).
//
//   NODE_PATH=.local/browser/node_modules:.local/typescript/node_modules \
//     scripts/browser-check.js API_BASE_URL SCREENSHOT.png
//
// API_BASE_URL is http://127.0.0.1:<port>; the page calls it by API_HOST (default
// api.example.test) on that port. To see the check fail as a dashboard would: COOKIE_DOMAIN=""
// signs in with a host-only cookie, API_HOST=abc.execute-api.test puts the API off-site; either
// turns the checks that need the cookie into TypeErrors. PAGE_PORT (default 5173) chooses the
// page's port: any other is an origin the template does not allow.
// Prints one `ok`/`FAIL` line per check and "N passed, N failed"; exits 1 when any failed.
// Leaves a screenshot of the page, which shows every check's outcome, at SCREENSHOT.png.
"use strict";

const fs = require("fs");
const http = require("http");
const net = require("net");
const path = require("path");
const { chromium } = require("playwright-core");
const ts = require("typescript");
const yaml = require("js-yaml");

const ROOT = path.resolve(__dirname, "..");
const SITE = "example.test";
const PAGE_HOST = `app.${SITE}`;
const OTHER_PAGE_HOST = `other.${SITE}`;
const OFF_SITE_API_HOST = "abc.execute-api.test";
const API_HOST = process.env.API_HOST || `api.${SITE}`;
const COOKIE_DOMAIN = process.env.COOKIE_DOMAIN ?? SITE;
// Beyond Playwright's own flags: no sandbox (CI runs as root), none of Chromium's own background
// connections (a network that reaches only package registries refuses them), and the host names
// above resolved to loopback by Chromium itself (ports are kept).
const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--host-resolver-rules=MAP *.example.test 127.0.0.1, MAP *.execute-api.test 127.0.0.1",
];

// The typed client, as the page's module: TypeScript's own transpiler (the type-check is
// scripts/typescript-check.sh's, step 1).
function clientModule() {
  const source = fs.readFileSync(path.join(ROOT, "clients/typescript/status-client.ts"), "utf8");
  return ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
  }).outputText;
}

// The page: the client on window, and a table the check fills with each outcome (what the
// screenshot shows).
const PAGE = `<!doctype html>
<meta charset="utf-8"><title>tracking-status in a browser</title>
<style>body{font:14px sans-serif;margin:16px}td{border:1px solid #999;padding:4px 8px;vertical-align:top}
td:last-child{font-family:monospace;font-size:12px;max-width:640px;word-break:break-all}.FAIL{background:#fcc}.ok{background:#cfc}</style>
<h1>GET /api/tracking/status/{programId} from <span id="origin"></span></h1>
<table id="results"></table>
<script type="module">
import * as client from "/status-client.js";
window.client = client;
document.getElementById("origin").textContent = location.origin;
window.show = (verdict, name, seen) => {
  const row = document.getElementById("results").insertRow();
  row.className = verdict;
  for (const text of [verdict, name, seen]) row.insertCell().textContent = text;
};
window.ready = true;
</script>`;

// The dashboard's server: the page, the client, and a sign-in that sets the session cookie as a
// dashboard's server does (HttpOnly: no page script can read or set it).
function serve(port) {
  const client = clientModule();
  return new Promise((resolve, reject) => {
    const server = http.createServer((request, response) => {
      const url = new URL(request.url, "http://page");
      if (url.pathname === "/sign-in") {
        const user = url.searchParams.get("user");
        const domain = url.searchParams.get("domain");
        response.writeHead(302, {
          location: "/",
          "set-cookie": `session=${user}; Path=/; HttpOnly; SameSite=Lax${domain ? `; Domain=${domain}` : ""}`,
        });
        response.end();
      } else if (url.pathname === "/status-client.js") {
        response.writeHead(200, { "content-type": "text/javascript", "cache-control": "no-store" });
        response.end(client);
      } else {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
        response.end(PAGE);
      }
    });
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

// A port nothing listens on: what "network down" looks like to the page.
function closedPort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// A snapshot's JSON (after insta's header), the time of the response redacted as insta does.
function snapshot(name) {
  const text = fs.readFileSync(path.join(ROOT, "tests/api/snapshots", `${name}.snap`), "utf8");
  return JSON.stringify(JSON.parse(text.slice(text.indexOf("\n---\n") + 5)).data);
}
function redacted(document) {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(document.lastUpdated)) return null;
  return JSON.stringify({ ...document, lastUpdated: "[lastUpdated]" });
}

// openapi.yaml's `function` example of a status: the function's error body, from its one source.
function functionExample(status) {
  const document = yaml.load(fs.readFileSync(path.join(ROOT, "openapi.yaml"), "utf8"));
  const reference = document.paths["/api/tracking/status/{programId}"].get.responses[status].$ref;
  const response = document.components.responses[reference.split("/").pop()];
  return response.content["application/json"].examples.function.value;
}

// template.yaml's list is the decision; local/template.yaml's equals it (tests/api/template.rs).
function allowedHeaders() {
  const text = fs.readFileSync(path.join(ROOT, "local/template.yaml"), "utf8");
  const schema = yaml.DEFAULT_SCHEMA.extend(
    ["!Ref", "!GetAtt", "!Sub", "!Equals", "!If", "!Not"].flatMap((tag) =>
      ["scalar", "sequence"].map((kind) => new yaml.Type(tag, { kind, construct: (data) => data }))),
  );
  return yaml.load(text, { schema }).Resources.LocalHttpApi.Properties.CorsConfiguration.AllowHeaders;
}
// A plausible value of each, as the libraries that add them send it.
const HEADER_VALUES = {
  "content-type": "application/json",
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  tracestate: "vendor=opaque",
  baggage: "userId=alice",
  "sentry-trace": "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
};

async function main(args) {
  if (args.length !== 2) {
    console.error("usage: scripts/browser-check.js API_BASE_URL SCREENSHOT.png");
    return 2;
  }
  const started = Date.now();
  const apiPort = new URL(args[0]).port;
  const api = `http://${API_HOST}:${apiPort}`;
  const offSite = `http://${OFF_SITE_API_HOST}:${apiPort}`;
  const down = `http://${API_HOST}:${await closedPort()}`;
  const pagePort = Number(process.env.PAGE_PORT || 5173);
  const servers = [];
  let browser;
  const results = [];
  try {
    servers.push(await serve(pagePort));
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_ARGS });
    // One browser context (its own cookie jar) per session, so the checks run at once: each
    // call through sam local starts a container (~3 s), which would otherwise add up.
    const opened = async (pageHost, user, domain) => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
      const page = await context.newPage();
      const origin = `http://${pageHost}:${pagePort}`;
      const signIn = user ? `/sign-in?user=${user}&domain=${encodeURIComponent(domain)}` : "/";
      await page.goto(`${origin}${signIn}`);
      await page.waitForFunction(() => window.ready === true);
      return page;
    };
    const [owner, billing, hostOnly, signedOut, otherPage] = await Promise.all([
      opened(PAGE_HOST, "user_owner", COOKIE_DOMAIN),
      opened(PAGE_HOST, "user_billing", COOKIE_DOMAIN),
      opened(PAGE_HOST, "user_owner", ""),
      opened(PAGE_HOST, null, ""),
      opened(OTHER_PAGE_HOST, "user_owner", COOKIE_DOMAIN),
    ]);

    // check(name, page, fn, args, verdict): runs window.client[fn](...args) in the page.
    const check = async (name, on, fn, fnArgs, verdict) => {
      let seen;
      let fine = false;
      try {
        seen = await on.evaluate(async ([f, a]) => {
          const result = await window.client[f](...a);
          // setupRows of a document, for the checks that look at the rows
          if (result && result.kind === "document") result.rows = window.client.setupRows(result.document);
          return result;
        }, [fn, fnArgs]);
        fine = verdict(seen) === true;
      } catch (error) {
        seen = seen || { exception: String(error) };
      }
      return { name, fine, seen: JSON.stringify(seen) };
    };
    const unreadable = (seen) => seen.kind === "unreadable" && seen.reason.startsWith("TypeError");
    const program42 = snapshot("program_42");
    const program9 = snapshot("program_9_next_steps");
    const forbidden = JSON.stringify(functionExample(403).error);
    const headerChecks = allowedHeaders().map((header) =>
      check(`allowed header ${header}: preflighted, then the 200`, owner, "getStatus",
        [api, "42", { headers: { [header]: HEADER_VALUES[header] ?? "1" } }],
        (seen) => seen.kind === "document" && redacted(seen.document) === program42));
    const checks = await Promise.all([
      check(`Domain=${COOKIE_DOMAIN || "(host-only)"} cookie, API on ${API_HOST}: the 200 is program_42.snap`,
        owner, "getStatus", [api, "42"],
        (seen) => seen.kind === "document" && redacted(seen.document) === program42),
      check("?include=nextSteps, program 9: program_9_next_steps.snap; payments complete with a next step",
        owner, "getStatus", [api, "9", { include: ["nextSteps"] }],
        (seen) => seen.kind === "document" && redacted(seen.document) === program9 &&
          seen.rows[2].status === "complete" && seen.rows[2].next !== null && seen.rows[3].status === null),
      ...headerChecks,
      check("a header the API does not allow (x-not-allowed): the preflight fails, a TypeError", owner,
        "getStatus", [api, "42", { headers: { "x-not-allowed": "1" } }], unreadable),
      check("session=user_billing: the function's 403, openapi.yaml's example", billing, "getStatus", [api, "42"],
        (seen) => seen.kind === "error" && seen.status === 403 && JSON.stringify(seen.error) === forbidden),
      // What a page can see of a cookie that did not go along: the gateway's 401 without CORS
      // headers, a TypeError, where the same call with the parent-domain cookie gets the 200 above.
      check(`host-only cookie on ${PAGE_HOST}, API on ${API_HOST}: a TypeError`, hostOnly, "getStatus",
        [api, "42"], unreadable),
      check(`API off-site on ${OFF_SITE_API_HOST}, the Domain=${COOKIE_DOMAIN} cookie: a TypeError`, owner, "getStatus",
        [offSite, "42"], unreadable),
      check(`a page on ${OTHER_PAGE_HOST}, an origin the API does not allow: a TypeError`, otherPage,
        "getStatus", [api, "42"], unreadable),
      check("signed out: the gateway's 401 is unreadable (a TypeError)", signedOut, "getStatus", [api, "42"],
        unreadable),
      check("signed out: the no-cors probe gets an answer (API reachable)", signedOut, "probe", [api, "42"],
        (seen) => seen === "answered"),
      check("API down: the no-cors probe rejects (network down)", signedOut, "probe", [down, "42"],
        (seen) => seen === "no answer"),
    ]);
    for (const { name, fine, seen } of checks) {
      results.push(fine);
      console.log(`${fine ? "ok  " : "FAIL"}  ${name}\n      ${seen.slice(0, fine ? 160 : 800)}`);
      await owner.evaluate(([v, n, t]) => window.show(v, n, t), [fine ? "ok" : "FAIL", name, seen.slice(0, 400)]);
    }

    const screenshot = path.resolve(args[1]);
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await owner.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${path.relative(process.cwd(), screenshot)}`);
  } catch (error) {
    console.log(`FAIL  the browser check could not run: ${error.stack || error}`);
    results.push(false);
  } finally {
    if (browser) await browser.close();
    for (const server of servers) server.close();
  }
  const failed = results.filter((fine) => !fine).length;
  console.log(`browser check: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`browser: ${results.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
