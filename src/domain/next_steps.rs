//! The opt-in `nextSteps` (`?include=nextSteps`): for each setup step that
//! still needs something, why, since when, and what the dashboard needs to
//! say about it. The rules read the status document and two facts it does not
//! show: when the program was created, and Stripe's requirements.

use serde::Serialize;

use super::{StatusDocument, Timestamp};

/// Stripe's `requirements` on the advertiser's account, as stored; missing
/// fields read as none. The Stripe block shows them as they are, in this order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StripeRequirements {
    /// `requirements.disabled_reason`; an empty one is none.
    pub disabled_reason: Option<String>,
    /// `requirements.currently_due`, in stored order.
    pub currently_due: Vec<String>,
    /// `requirements.past_due`, in stored order.
    pub past_due: Vec<String>,
    /// `requirements.current_deadline`.
    pub deadline: Option<Timestamp>,
}

/// One step that needs something. Field order is the contract's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextStep {
    pub step: Step,
    pub code: NextStepCode,
    pub waiting_since: Option<Timestamp>,
    pub details: NextStepDetails,
}

/// The setup steps, in the order their items appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Pageview,
    Referrals,
    Payments,
    Partners,
}

/// What the advertiser has to do; a dashboard maps each to its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NextStepCode {
    SendTestClick,
    SendTestLead,
    ConnectStripe,
    FinishStripeOnboarding,
    ResolveStripeRequirements,
    ApproveAPartner,
}

/// An item's `details`: `{}`, the connection status, or the Stripe block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum NextStepDetails {
    Empty {},
    #[serde(rename_all = "camelCase")]
    ConnectionStatus {
        stripe_connection_status: String,
    },
    Stripe(StripeBlock),
}

/// What Stripe holds back on a connected account, in the contract's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StripeBlock {
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    #[serde(flatten)]
    pub requirements: StripeRequirements,
}

/// The items for `document`, one per step at most, in step order; empty when
/// nothing is left to do.
pub fn next_steps(
    document: &StatusDocument,
    program_created_at: Option<Timestamp>,
    requirements: &StripeRequirements,
) -> Vec<NextStep> {
    let stats = &document.statistics;
    let payments = &stats.payments;
    let item = |step, code, waiting_since, details| NextStep {
        step,
        code,
        waiting_since,
        details,
    };
    let mut items = Vec::with_capacity(4);

    if !stats.pageview.has_test_events {
        items.push(item(
            Step::Pageview,
            NextStepCode::SendTestClick,
            program_created_at,
            NextStepDetails::Empty {},
        ));
    }
    if !stats.referrals.has_test_events {
        // Waiting for a lead since the click arrived, or since the program exists.
        let latest_click = stats.pageview.latest_test_event.as_ref();
        items.push(item(
            Step::Referrals,
            NextStepCode::SendTestLead,
            latest_click.map_or(program_created_at, |click| Some(click.created_at)),
            NextStepDetails::Empty {},
        ));
    }
    let stripe_block = || StripeBlock {
        charges_enabled: payments.charges_enabled,
        payouts_enabled: payments.payouts_enabled,
        requirements: requirements.clone(),
    };
    let held_back = !payments.charges_enabled
        || !payments.payouts_enabled
        || requirements.disabled_reason.is_some()
        || !requirements.currently_due.is_empty()
        || !requirements.past_due.is_empty();
    if !payments.is_stripe_connected {
        items.push(item(
            Step::Payments,
            NextStepCode::ConnectStripe,
            program_created_at,
            NextStepDetails::ConnectionStatus {
                stripe_connection_status: payments.stripe_connection_status.clone(),
            },
        ));
    } else if !payments.details_submitted {
        items.push(item(
            Step::Payments,
            NextStepCode::FinishStripeOnboarding,
            payments.connection_date,
            NextStepDetails::Stripe(stripe_block()),
        ));
    } else if held_back {
        items.push(item(
            Step::Payments,
            NextStepCode::ResolveStripeRequirements,
            payments.connection_date,
            NextStepDetails::Stripe(stripe_block()),
        ));
    }
    if !document.has_partners {
        items.push(item(
            Step::Partners,
            NextStepCode::ApproveAPartner,
            program_created_at,
            NextStepDetails::Empty {},
        ));
    }
    items
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::{Advertiser, ProgramId, StatusInputs, TestEvent, build_status};

    const CREATED: &str = "2026-05-20T08:00:00.000Z";
    const CONNECTED_AT: &str = "2026-05-01T08:00:00.000Z";
    const CLICK_AT: &str = "2026-06-07T10:23:45.000Z";

    fn ts(raw: &str) -> Timestamp {
        Timestamp::parse(raw).unwrap()
    }

    /// A program's state, as the rules see it.
    #[derive(Clone)]
    struct Case {
        clicks: Vec<TestEvent>,
        leads: Vec<TestEvent>,
        advertiser: Option<Advertiser>,
        partners: bool,
        created_at: Option<Timestamp>,
        requirements: StripeRequirements,
    }

    /// Every step done: nothing is left to do.
    fn done() -> Case {
        let click = TestEvent {
            id: 101,
            timestamp: ts(CLICK_AT),
            created_at: ts(CLICK_AT),
        };
        Case {
            clicks: vec![click.clone()],
            leads: vec![click],
            advertiser: Some(Advertiser {
                stripe_connection_status: Some("connected".into()),
                charges_enabled: Some(true),
                payouts_enabled: Some(true),
                details_submitted: Some(true),
                stripe_connected_at: Some(ts(CONNECTED_AT)),
                ..Advertiser::default()
            }),
            partners: true,
            created_at: Some(ts(CREATED)),
            requirements: StripeRequirements::default(),
        }
    }

    fn items(case: &Case) -> Value {
        let document = build_status(
            ProgramId::new(42).unwrap(),
            StatusInputs {
                test_clicks: &case.clicks,
                test_leads: &case.leads,
                advertiser: case.advertiser.as_ref(),
                has_approved_partner: case.partners,
            },
            ts("2026-06-08T12:00:00Z"),
        );
        serde_json::to_value(next_steps(&document, case.created_at, &case.requirements)).unwrap()
    }

    /// The one item of `step` in the case's items.
    fn item_of(case: &Case, step: &str) -> Value {
        let all = items(case);
        let mut of_step = all.as_array().unwrap().iter().filter(|i| i["step"] == step);
        let item = of_step.next().cloned().unwrap_or(Value::Null);
        assert!(of_step.next().is_none(), "two items for {step}: {all}");
        item
    }

    fn advertiser(case: &mut Case) -> &mut Advertiser {
        case.advertiser.as_mut().unwrap()
    }

    #[test]
    fn nothing_left_to_do_is_an_empty_list() {
        assert_eq!(items(&done()), json!([]));
    }

    #[test]
    fn a_program_that_needs_every_step_gets_four_items_in_step_order() {
        let case = Case {
            clicks: vec![],
            leads: vec![],
            advertiser: None,
            partners: false,
            ..done()
        };
        assert_eq!(
            items(&case),
            json!([
                {"step": "pageview", "code": "send_test_click", "waitingSince": CREATED, "details": {}},
                {"step": "referrals", "code": "send_test_lead", "waitingSince": CREATED, "details": {}},
                {"step": "payments", "code": "connect_stripe", "waitingSince": CREATED,
                 "details": {"stripeConnectionStatus": "not_connected"}},
                {"step": "partners", "code": "approve_a_partner", "waitingSince": CREATED, "details": {}},
            ])
        );
        // Field order is the contract's.
        let item = NextStep {
            step: Step::Pageview,
            code: NextStepCode::SendTestClick,
            waiting_since: Some(ts(CREATED)),
            details: NextStepDetails::Empty {},
        };
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            format!(
                r#"{{"step":"pageview","code":"send_test_click","waitingSince":"{CREATED}","details":{{}}}}"#
            )
        );
    }

    #[test]
    fn pageview_waits_for_a_test_click_since_the_program_exists() {
        let cases: Vec<(Case, Value)> = vec![
            (done(), Value::Null),
            (
                Case {
                    clicks: vec![],
                    ..done()
                },
                json!({"step": "pageview", "code": "send_test_click", "waitingSince": CREATED, "details": {}}),
            ),
            (
                Case {
                    clicks: vec![],
                    created_at: None,
                    ..done()
                },
                json!({"step": "pageview", "code": "send_test_click", "waitingSince": null, "details": {}}),
            ),
        ];
        for (case, expected) in cases {
            assert_eq!(item_of(&case, "pageview"), expected);
        }
    }

    #[test]
    fn referrals_wait_since_the_latest_test_click_or_else_since_the_program_exists() {
        let later = TestEvent {
            id: 7,
            timestamp: ts("2026-06-09T00:00:00Z"),
            created_at: ts("2026-06-09T00:00:00.250Z"),
        };
        let mut two_clicks = done();
        two_clicks.leads.clear();
        two_clicks.clicks.push(later);
        let cases: Vec<(Case, Value)> = vec![
            (done(), Value::Null),
            (
                Case {
                    leads: vec![],
                    ..done()
                },
                json!({"step": "referrals", "code": "send_test_lead", "waitingSince": CLICK_AT, "details": {}}),
            ),
            (
                two_clicks,
                json!({"step": "referrals", "code": "send_test_lead", "waitingSince": "2026-06-09T00:00:00.250Z", "details": {}}),
            ),
            (
                Case {
                    leads: vec![],
                    clicks: vec![],
                    ..done()
                },
                json!({"step": "referrals", "code": "send_test_lead", "waitingSince": CREATED, "details": {}}),
            ),
            (
                Case {
                    leads: vec![],
                    clicks: vec![],
                    created_at: None,
                    ..done()
                },
                json!({"step": "referrals", "code": "send_test_lead", "waitingSince": null, "details": {}}),
            ),
        ];
        for (case, expected) in cases {
            assert_eq!(item_of(&case, "referrals"), expected);
        }
    }

    #[test]
    fn payments_rules_in_order_connect_then_finish_then_resolve() {
        let block = |charges: bool,
                     payouts: bool,
                     reason: Value,
                     due: Value,
                     past: Value,
                     deadline: Value| {
            // over the block's defaults, so that a new field needs no site here
            let mut block = serde_json::to_value(StripeBlock::default()).unwrap();
            let given = json!({"chargesEnabled": charges, "payoutsEnabled": payouts, "disabledReason": reason,
                   "currentlyDue": due, "pastDue": past, "deadline": deadline});
            block
                .as_object_mut()
                .unwrap()
                .extend(given.as_object().unwrap().clone());
            block
        };
        let resolve = |details: Value| json!({"step": "payments", "code": "resolve_stripe_requirements", "waitingSince": CONNECTED_AT, "details": details});
        let with = |edit: &dyn Fn(&mut Case)| {
            let mut case = done();
            edit(&mut case);
            case
        };
        let cases: Vec<(&str, Case, Value)> = vec![
            ("connected, all enabled, nothing due", done(), Value::Null),
            (
                "no advertiser record",
                with(&|c| c.advertiser = None),
                json!({"step": "payments", "code": "connect_stripe", "waitingSince": CREATED,
                       "details": {"stripeConnectionStatus": "not_connected"}}),
            ),
            (
                "a status that is not `connected`, as stored",
                with(&|c| advertiser(c).stripe_connection_status = Some("Connected".into())),
                json!({"step": "payments", "code": "connect_stripe", "waitingSince": CREATED,
                       "details": {"stripeConnectionStatus": "Connected"}}),
            ),
            (
                "connect_stripe with no program createdAt",
                with(&|c| {
                    advertiser(c).stripe_connection_status = Some("pending".into());
                    c.created_at = None;
                }),
                json!({"step": "payments", "code": "connect_stripe", "waitingSince": null,
                       "details": {"stripeConnectionStatus": "pending"}}),
            ),
            (
                "connected, details not submitted (even with requirements due)",
                with(&|c| {
                    advertiser(c).details_submitted = Some(false);
                    advertiser(c).charges_enabled = Some(false);
                    c.requirements.currently_due = vec!["external_account".into()];
                }),
                json!({"step": "payments", "code": "finish_stripe_onboarding", "waitingSince": CONNECTED_AT,
                       "details": block(false, true, Value::Null, json!(["external_account"]), json!([]), Value::Null)}),
            ),
            (
                "connected, detailsSubmitted missing, no connection date",
                with(&|c| {
                    advertiser(c).details_submitted = None;
                    advertiser(c).stripe_connected_at = None;
                }),
                json!({"step": "payments", "code": "finish_stripe_onboarding", "waitingSince": null,
                       "details": block(true, true, Value::Null, json!([]), json!([]), Value::Null)}),
            ),
            (
                "charges disabled",
                with(&|c| advertiser(c).charges_enabled = Some(false)),
                resolve(block(
                    false,
                    true,
                    Value::Null,
                    json!([]),
                    json!([]),
                    Value::Null,
                )),
            ),
            (
                "payouts missing",
                with(&|c| advertiser(c).payouts_enabled = None),
                resolve(block(
                    true,
                    false,
                    Value::Null,
                    json!([]),
                    json!([]),
                    Value::Null,
                )),
            ),
            (
                "a disabled reason",
                with(&|c| c.requirements.disabled_reason = Some("requirements.past_due".into())),
                resolve(block(
                    true,
                    true,
                    json!("requirements.past_due"),
                    json!([]),
                    json!([]),
                    Value::Null,
                )),
            ),
            (
                "currently due, in stored order, with a deadline",
                with(&|c| {
                    c.requirements.currently_due =
                        vec!["individual.id_number".into(), "external_account".into()];
                    c.requirements.deadline = Some(ts("2026-07-01T00:00:00+02:00"));
                }),
                resolve(block(
                    true,
                    true,
                    Value::Null,
                    json!(["individual.id_number", "external_account"]),
                    json!([]),
                    json!("2026-06-30T22:00:00.000Z"),
                )),
            ),
            (
                "past due",
                with(&|c| c.requirements.past_due = vec!["tos_acceptance.date".into()]),
                resolve(block(
                    true,
                    true,
                    Value::Null,
                    json!([]),
                    json!(["tos_acceptance.date"]),
                    Value::Null,
                )),
            ),
            (
                "a deadline alone holds nothing back",
                with(&|c| c.requirements.deadline = Some(ts("2026-07-01T00:00:00Z"))),
                Value::Null,
            ),
        ];
        for (name, case, expected) in cases {
            assert_eq!(item_of(&case, "payments"), expected, "{name}");
        }
    }

    #[test]
    fn partners_wait_for_an_approved_partner_since_the_program_exists() {
        let cases: Vec<(Case, Value)> = vec![
            (done(), Value::Null),
            (
                Case {
                    partners: false,
                    ..done()
                },
                json!({"step": "partners", "code": "approve_a_partner", "waitingSince": CREATED, "details": {}}),
            ),
            (
                Case {
                    partners: false,
                    created_at: None,
                    ..done()
                },
                json!({"step": "partners", "code": "approve_a_partner", "waitingSince": null, "details": {}}),
            ),
        ];
        for (case, expected) in cases {
            assert_eq!(item_of(&case, "partners"), expected);
        }
    }

    #[test]
    fn the_stripe_block_is_in_the_contracts_order() {
        let block = NextStepDetails::Stripe(StripeBlock {
            payouts_enabled: true,
            ..StripeBlock::default()
        });
        let text = serde_json::to_string(&block).unwrap();
        // The contract's order: openapi.yaml's `required` list of the block, and nothing else.
        let openapi: Value = serde_norway::from_str(include_str!("../../openapi.yaml")).unwrap();
        let required = &openapi["components"]["schemas"]["StripeBlock"]["required"];
        let contract: Vec<String> = serde_json::from_value(required.clone()).unwrap();
        let at: Vec<usize> = (contract.iter())
            .map(|key| text.find(&format!("\"{key}\":")).unwrap_or(usize::MAX))
            .collect();
        assert!(
            at.windows(2).all(|pair| pair[0] < pair[1]),
            "{text} {contract:?}"
        );
        assert_eq!(text.matches("\":").count(), contract.len(), "{text}");
        assert!(text.contains(r#""payoutsEnabled":true"#), "{text}");
        let status = NextStepDetails::ConnectionStatus {
            stripe_connection_status: "pending".into(),
        };
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            r#"{"stripeConnectionStatus":"pending"}"#
        );
    }

    #[test]
    fn codes_are_the_contracts() {
        for (code, name) in [
            (NextStepCode::SendTestClick, "send_test_click"),
            (NextStepCode::SendTestLead, "send_test_lead"),
            (NextStepCode::ConnectStripe, "connect_stripe"),
            (
                NextStepCode::FinishStripeOnboarding,
                "finish_stripe_onboarding",
            ),
            (
                NextStepCode::ResolveStripeRequirements,
                "resolve_stripe_requirements",
            ),
            (NextStepCode::ApproveAPartner, "approve_a_partner"),
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), name);
        }
    }
}
