#!/usr/bin/env node
// The route as a dashboard's page reads it, in a real browser: headless Chromium (Debian's
// `chromium`), driven over CDP by playwright-core (npm, pinned in scripts/lib.sh), loads a
// minimal page served on an origin that local/template.yaml's CorsConfiguration allows
// (http://localhost:5173, a Vite dev server's) and calls `sam local start-api`'s route with
// fetch(url, {credentials: "include"}) and a `session` cookie, as docs/api.md's dashboard guide
// says. It asserts only what a page script can read, because a browser enforces CORS and cookie
// rules that curl (scripts/start-api-requests.py) does not:
//
//   - session=user_owner: the 200 body, equal to tests/api/snapshots/program_42.snap;
//   - session=user_billing: the contract's 403 body;
//   - the same credentialed call from a page on an origin the API does not allow: a TypeError;
//   - no session cookie: a TypeError (API Gateway's 401 carries no CORS headers), and the
//     guide's probe: fetch(url, {mode: "no-cors"}) resolves (an opaque answer: the API is
//     reachable), where against an address that does not answer it rejects (network down).
//
//   NODE_PATH=.local/browser/node_modules scripts/browser-check.js API_BASE_URL SCREENSHOT.png
//
// API_BASE_URL is http://127.0.0.1:<port> or http://localhost:<port>; the page calls it as
// http://localhost:<port>, the same site as the page (ports do not make a site), so the browser
// sends the cookie (SameSite=Lax, Chromium's default) as it does from app.example.com to
// api.example.com. PAGE_PORT (default 5173) chooses the allowed page's port: any other port is
// an origin the template does not allow, and the check fails (how to see it fail once).
// Prints one `ok`/`FAIL` line per check and "N passed, N failed"; exits 1 when any failed.
// Leaves a screenshot of the page, which shows every check's outcome, at SCREENSHOT.png.
"use strict";

const fs = require("fs");
const http = require("http");
const net = require("net");
const path = require("path");
const { chromium } = require("playwright-core");

const ROOT = path.resolve(__dirname, "..");
const SNAPSHOT = path.join(ROOT, "tests/api/snapshots/program_42.snap");
const ROUTE = "/api/tracking/status";
// Beyond Playwright's own flags: no sandbox (CI runs as root), and none of Chromium's own
// background connections, which a network that reaches only package registries refuses.
const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// The page: a dashboard's two calls, as the guide in docs/api.md writes them, and a table the
// test fills with each outcome (what the screenshot shows).
const PAGE = `<!doctype html>
<meta charset="utf-8"><title>tracking-status in a browser</title>
<style>body{font:14px sans-serif;margin:16px}td{border:1px solid #999;padding:4px 8px;vertical-align:top}
td:last-child{font-family:monospace;font-size:12px;max-width:640px;word-break:break-all}.FAIL{background:#fcc}.ok{background:#cfc}</style>
<h1>GET ${ROUTE}/{programId} from <span id="origin"></span></h1>
<table id="results"></table>
<script>
document.getElementById("origin").textContent = location.origin;
// The status call: credentials so the session cookie goes along; what a script can read.
async function callRoute(url) {
  try {
    const response = await fetch(url, { credentials: "include" });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { error: error.name + ": " + error.message };
  }
}
// The guide's probe when callRoute threw: does the API answer at all (an opaque response)?
async function probe(url) {
  try {
    const response = await fetch(url, { mode: "no-cors", credentials: "include" });
    return { type: response.type, status: response.status };
  } catch (error) {
    return { error: error.name + ": " + error.message };
  }
}
function setSession(user) {
  document.cookie = user ? "session=" + user + "; path=/" : "session=; path=/; max-age=0";
}
function show(verdict, name, seen) {
  const row = document.getElementById("results").insertRow();
  row.className = verdict;
  for (const text of [verdict, name, seen]) row.insertCell().textContent = text;
}
</script>`;

// The snapshot's JSON (after insta's header), with the time of the response as insta redacts it.
function snapshotBody() {
  const text = fs.readFileSync(SNAPSHOT, "utf8");
  const json = text.slice(text.indexOf("\n---\n") + 5);
  return JSON.stringify(JSON.parse(json));
}

function serve(port, host) {
  return new Promise((resolve, reject) => {
    const server = http.createServer((request, response) => {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      response.end(PAGE);
    });
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
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

async function main(args) {
  if (args.length !== 2) {
    console.error("usage: scripts/browser-check.js API_BASE_URL SCREENSHOT.png");
    return 2;
  }
  const started = Date.now();
  const api = new URL(args[0]);
  api.hostname = "localhost";
  const base = api.origin;
  const pagePort = Number(process.env.PAGE_PORT || 5173);
  const servers = [];
  let browser;
  const results = [];
  try {
    servers.push(await serve(pagePort, "127.0.0.1"));
    const foreign = await serve(0, "127.0.0.1");
    servers.push(foreign);
    const down = `http://localhost:${await closedPort()}`;
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_ARGS });
    // One browser context (its own cookie jar) per session, so the checks run at once: each
    // call through sam local starts a container (~3 s), which would otherwise add up.
    const opened = async (user, port) => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 620 } });
      const page = await context.newPage();
      await page.goto(`http://localhost:${port}/`);
      // The cookie is the page's own, host-only for localhost: sent to the API's port too.
      await page.evaluate((name) => window.setSession(name), user);
      return page;
    };
    const [owner, billing, signedOut, foreignOwner] = await Promise.all([
      opened("user_owner", pagePort), opened("user_billing", pagePort), opened(null, pagePort),
      opened("user_owner", foreign.address().port),
    ]);

    const check = async (name, on, url, how, verdict) => {
      const seen = await on.evaluate(([fn, target]) => window[fn](target), [how, url]);
      let fine = false;
      try {
        fine = verdict(seen);
      } catch (error) {
        fine = false;
      }
      return { name, fine, seen: JSON.stringify(seen) };
    };
    const expected200 = snapshotBody();
    const route = `${base}${ROUTE}/42`;
    const checks = await Promise.all([
      check("session=user_owner: the 200 body is tests/api/snapshots/program_42.snap", owner,
        route, "callRoute", (seen) => {
          const body = JSON.parse(seen.body);
          // The time of the response, as the snapshot redacts it; anything else must be equal.
          if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(body.data.lastUpdated)) return false;
          body.data.lastUpdated = "[lastUpdated]";
          return seen.status === 200 && JSON.stringify(body) === expected200;
        }),
      check("session=user_billing: the contract's 403 body", billing, route, "callRoute",
        (seen) => seen.status === 403 && seen.body ===
          '{"data":null,"error":{"status":403,"name":"ForbiddenError",' +
          '"message":"You do not have tracking:read permission on this program","details":{}}}'),
      check("session=user_owner from a foreign origin: blocked (TypeError)", foreignOwner, route,
        "callRoute", (seen) => seen.error.startsWith("TypeError:")),
      check("no session cookie: the gateway's 401 is unreadable (TypeError)", signedOut, route,
        "callRoute", (seen) => seen.error.startsWith("TypeError:")),
      check("no session cookie: the no-cors probe gets an answer (API reachable)", signedOut, route,
        "probe", (seen) => seen.type === "opaque" && seen.status === 0),
      check("API down: the no-cors probe rejects (network down)", signedOut, `${down}${ROUTE}/42`,
        "probe", (seen) => seen.error.startsWith("TypeError:")),
    ]);
    for (const { name, fine, seen } of checks) {
      results.push(fine);
      console.log(`${fine ? "ok  " : "FAIL"}  ${name}\n      ${seen.slice(0, fine ? 160 : 800)}`);
      await owner.evaluate(([v, n, t]) => window.show(v, n, t), [fine ? "ok" : "FAIL", name, seen]);
    }
    const page = owner;

    const screenshot = path.resolve(args[1]);
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
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
