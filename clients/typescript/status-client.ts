// A small typed client of GET /api/tracking/status/{programId}, written against the types that
// openapi-typescript generates from openapi.yaml (schema.d.ts, beside it). It is what a dashboard
// page does with the route (docs/dashboard.md), and it is the browser check's page script
// (scripts/browser-check.js transpiles it), so a change of openapi.yaml that breaks a dashboard's
// use of the document fails CI's type-check (scripts/test.sh, step 1).
import type { components, operations } from "./schema";

type Schemas = components["schemas"];
type Responses = operations["getTrackingStatus"]["responses"];

export type StatusDocument = Schemas["StatusDocument"];
export type NextStep = Schemas["NextStep"];
/** The function's error: `status`, `name`, `message`, `details` (typed per error). */
export type FunctionError = Schemas["ErrorResponse"]["error"];
/** Any body the route documents, for any status. */
type AnyBody = Responses[keyof Responses]["content"]["application/json"];

/** What one poll gives a page, by what it can read. */
export type Poll =
  /** 200: the status document. */
  | { kind: "document"; status: 200; document: StatusDocument }
  /** The function's error (400, 403, 404, 500; 401 behind an authorizer that lets it through). */
  | { kind: "error"; status: number; error: FunctionError }
  /** API Gateway's own `{"message"}`, when it carries CORS headers (not documented by AWS). */
  | { kind: "gateway"; status: number; message: string }
  /** Nothing readable: a TypeError (network down, or API Gateway's answer without CORS
   *  headers: signed out, throttled, its 5xx). `probe` or the dashboard's session tells which. */
  | { kind: "unreadable"; reason: string };

export interface StatusRequest {
  /** `["nextSteps"]` adds `document.nextSteps`. */
  include?: "nextSteps"[];
  /** Extra request headers (a tracing library's); each must be in the API's CORS AllowHeaders. */
  headers?: Record<string, string>;
}

/** One poll of the route on `apiBase` (the API's custom domain, or the dashboard's own origin
 *  when its CDN routes /api/tracking/*), with the session cookie. */
export async function getStatus(apiBase: string, programId: string, request: StatusRequest = {}): Promise<Poll> {
  const url = new URL(`/api/tracking/status/${encodeURIComponent(programId)}`, apiBase);
  if (request.include?.length) url.searchParams.set("include", request.include.join(","));
  let response: Response;
  let body: AnyBody;
  try {
    response = await fetch(url, { credentials: "include", headers: request.headers });
    body = (await response.json()) as AnyBody;
  } catch (error) {
    return { kind: "unreadable", reason: String(error) };
  }
  if ("error" in body) return { kind: "error", status: response.status, error: body.error };
  if ("data" in body) return { kind: "document", status: 200, document: body.data };
  return { kind: "gateway", status: response.status, message: body.message };
}

/** After an `unreadable` poll, where there is no session endpoint to ask: does the API answer at
 *  all? An opaque answer means it does (most likely API Gateway's 401 or 403: signed out); a
 *  rejection means nothing answered (network down). */
export async function probe(apiBase: string, programId: string): Promise<"answered" | "no answer"> {
  const url = new URL(`/api/tracking/status/${encodeURIComponent(programId)}`, apiBase);
  try {
    await fetch(url, { mode: "no-cors", credentials: "include" });
    return "answered";
  } catch {
    return "no answer";
  }
}

/** One row of the setup page: the three steps with a status, then partners, which has none. */
export interface SetupRow {
  step: NextStep["step"];
  /** `stepStatuses`' value; partners has no status (its state is `hasPartners`). */
  status: "complete" | "pending" | null;
  /** What to do next on this step, if anything. A `complete` step can have one: payments is
   *  complete once Stripe is connected, and Stripe may still hold back charges or payouts. */
  next: string | null;
}

export function setupRows(document: StatusDocument): SetupRow[] {
  const next = (step: NextStep["step"]) => {
    const item = document.nextSteps?.find((candidate) => candidate.step === step);
    return item ? describeNextStep(item) : null;
  };
  return [
    { step: "pageview", status: document.stepStatuses.pageview, next: next("pageview") },
    { step: "referrals", status: document.stepStatuses.referrals, next: next("referrals") },
    { step: "payments", status: document.stepStatuses.payments, next: next("payments") },
    { step: "partners", status: null, next: next("partners") },
  ];
}

/** A next step in words. The switch narrows each item by `code`: `details` is the Stripe block
 *  only where the contract says so, and a code the contract adds fails to compile here. */
export function describeNextStep(item: NextStep): string {
  switch (item.code) {
    case "send_test_click":
      return "Send a test click.";
    case "send_test_lead":
      return "Send a test lead.";
    case "connect_stripe":
      return `Connect Stripe (now ${item.details.stripeConnectionStatus}).`;
    case "finish_stripe_onboarding":
      return `Finish your Stripe setup${item.details.deadline ? ` before ${item.details.deadline}` : ""}.`;
    case "resolve_stripe_requirements": {
      const { chargesEnabled, payoutsEnabled, pastDue, currentlyDue } = item.details;
      const paused = [chargesEnabled ? null : "charges", payoutsEnabled ? null : "payouts"].filter(Boolean);
      const pausedText = paused.length ? `Stripe has paused ${paused.join(" and ")}. ` : "";
      return `${pausedText}Stripe needs: ${[...pastDue, ...currentlyDue].join(", ") || "more information"}.`;
    }
    case "approve_a_partner":
      return "Approve your first partner.";
    default: {
      // Exhaustive: every code of the contract is handled above. A newer server's code still
      // shows something at run time.
      const unknown: never = item;
      return `Next step: ${(unknown as { code: string }).code}`;
    }
  }
}
