// Compile-time checks of the generated types (tsc --noEmit, scripts/test.sh step 1): what a
// dashboard relies on holds, and what the contract forbids does not compile. Each
// `@ts-expect-error` fails the build when the line below it compiles.
import type { components } from "./schema";
import { describeNextStep, type NextStep } from "./status-client";

type Schemas = components["schemas"];

// `nextSteps` narrows by `code`: the Stripe block only on the Stripe codes.
declare const item: NextStep;
if (item.code === "resolve_stripe_requirements") {
  const due: string[] = item.details.pastDue;
  void due;
}
if (item.code === "connect_stripe") {
  const status: string = item.details.stripeConnectionStatus;
  void status;
}
// @ts-expect-error: without narrowing, details may be {} (no pastDue)
void item.details.pastDue;
// @ts-expect-error: a code of another step
const wrongStep: Schemas["SendTestClick"] = { step: "referrals", code: "send_test_click", waitingSince: null, details: {} };
void wrongStep;
// @ts-expect-error: an unknown code
void describeNextStep({ step: "pageview", code: "install_the_tracker", waitingSince: null, details: {} });

// include has one value, and no empty one.
type Include = NonNullable<NonNullable<import("./schema").operations["getTrackingStatus"]["parameters"]["query"]>["include"]>;
const include: Include = ["nextSteps"];
void include;
// @ts-expect-error: the empty value is not in the contract
const empty: Include = [""];
void empty;

// The function's errors are typed: a 400's details name the field and rule.
declare const error: Schemas["ErrorResponse"]["error"];
if (error.name === "ValidationError" && error.details.field === "programId") {
  const rule: "required" | "digits" | "range" | "no_leading_zero" = error.details.rule;
  void rule;
}
// @ts-expect-error: a 404's details are empty
const notFound: Schemas["NotFound"] = { status: 404, name: "NotFoundError", message: "Program not found", details: { field: "programId" } };
void notFound;
// @ts-expect-error: a message the contract does not have
const forbidden: Schemas["Forbidden"] = { status: 403, name: "ForbiddenError", message: "Forbidden", details: {} };
void forbidden;
