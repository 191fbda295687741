use serde::Serialize;

use super::{Advertiser, NextStep, ProgramId, TEST_EVENT_CAP, TestEvent, Timestamp};

/// The connection status shown when the advertiser record or the field is missing.
pub const NOT_CONNECTED: &str = "not_connected";
const CONNECTED: &str = "connected";

/// The `data` of a 200. Field order is the seed's sample response order:
/// serde writes struct fields in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDocument {
    pub program_id: String,
    pub step_statuses: StepStatuses,
    pub statistics: Statistics,
    pub has_partners: bool,
    pub last_updated: Timestamp,
    /// Only with `include=nextSteps`; without it the document is the seed's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_steps: Option<Vec<NextStep>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Complete,
    Pending,
}

impl StepStatus {
    fn from_done(done: bool) -> Self {
        if done {
            StepStatus::Complete
        } else {
            StepStatus::Pending
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepStatuses {
    pub pageview: StepStatus,
    pub referrals: StepStatus,
    pub payments: StepStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statistics {
    pub pageview: EventStatistics,
    pub referrals: EventStatistics,
    pub payments: PaymentStatistics,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventStatistics {
    pub test_event_count: usize,
    pub has_test_events: bool,
    pub latest_test_event: Option<LatestTestEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestTestEvent {
    pub id: u64,
    pub timestamp: Timestamp,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentStatistics {
    pub stripe_connection_status: String,
    pub is_stripe_connected: bool,
    pub stripe_account_id: Option<String>,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub details_submitted: bool,
    pub connection_date: Option<Timestamp>,
}

impl EventStatistics {
    /// Summarizes the test events of one kind. `events` may hold more than the
    /// cap (the store port allows an adapter to return more); the count stops
    /// at the cap and the latest is the most recent whatever the input order.
    pub fn from_events(events: &[TestEvent]) -> Self {
        let test_event_count = events.len().min(TEST_EVENT_CAP);
        let latest = events.iter().max_by_key(|e| e.recency());
        EventStatistics {
            test_event_count,
            has_test_events: test_event_count >= 1,
            latest_test_event: latest.map(|e| LatestTestEvent {
                id: e.id,
                timestamp: e.timestamp,
                created_at: e.created_at,
            }),
        }
    }
}

impl PaymentStatistics {
    pub fn from_advertiser(advertiser: Option<&Advertiser>) -> Self {
        let advertiser = advertiser.cloned().unwrap_or_default();
        let status = advertiser
            .stripe_connection_status
            .unwrap_or_else(|| NOT_CONNECTED.to_string());
        PaymentStatistics {
            is_stripe_connected: status == CONNECTED,
            stripe_connection_status: status,
            stripe_account_id: advertiser.stripe_account_id.filter(|id| !id.is_empty()),
            charges_enabled: advertiser.charges_enabled.unwrap_or(false),
            payouts_enabled: advertiser.payouts_enabled.unwrap_or(false),
            details_submitted: advertiser.details_submitted.unwrap_or(false),
            connection_date: advertiser.stripe_connected_at,
        }
    }
}

/// Everything the status document is computed from.
#[derive(Debug, Clone, Default)]
pub struct StatusInputs<'a> {
    pub test_clicks: &'a [TestEvent],
    pub test_leads: &'a [TestEvent],
    pub advertiser: Option<&'a Advertiser>,
    pub has_approved_partner: bool,
}

/// Builds the status document of a program the caller may read.
pub fn build_status(
    program_id: ProgramId,
    inputs: StatusInputs<'_>,
    generated_at: Timestamp,
) -> StatusDocument {
    let pageview = EventStatistics::from_events(inputs.test_clicks);
    let referrals = EventStatistics::from_events(inputs.test_leads);
    let payments = PaymentStatistics::from_advertiser(inputs.advertiser);
    StatusDocument {
        program_id: program_id.to_string(),
        step_statuses: StepStatuses {
            pageview: StepStatus::from_done(pageview.has_test_events),
            referrals: StepStatus::from_done(referrals.has_test_events),
            payments: StepStatus::from_done(payments.is_stripe_connected),
        },
        statistics: Statistics {
            pageview,
            referrals,
            payments,
        },
        has_partners: inputs.has_approved_partner,
        last_updated: generated_at,
        next_steps: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(raw: &str) -> Timestamp {
        Timestamp::parse(raw).unwrap()
    }

    fn event(id: u64, created_at: &str) -> TestEvent {
        TestEvent {
            id,
            timestamp: ts(created_at),
            created_at: ts(created_at),
        }
    }

    #[test]
    fn counts_cap_at_ten() {
        let cases = [
            (0, 0, false),
            (1, 1, true),
            (9, 9, true),
            (10, 10, true),
            (11, 10, true),
            (250, 10, true),
        ];
        for (n, expected_count, expected_has) in cases {
            let events: Vec<_> = (1..=n).map(|i| event(i, "2026-06-07T10:00:00Z")).collect();
            let stats = EventStatistics::from_events(&events);
            assert_eq!(stats.test_event_count, expected_count, "n = {n}");
            assert_eq!(stats.has_test_events, expected_has, "n = {n}");
            assert_eq!(stats.latest_test_event.is_some(), expected_has, "n = {n}");
        }
    }

    #[test]
    fn latest_is_greatest_created_at_then_greatest_id() {
        let cases: &[(&[(u64, &str)], u64)] = &[
            (
                &[
                    (1, "2026-06-05T09:00:00Z"),
                    (2, "2026-06-07T10:00:00Z"),
                    (3, "2026-06-06T09:00:00Z"),
                ],
                2,
            ),
            // a tie on createdAt goes to the greater id, whatever the input order
            (
                &[
                    (7, "2026-06-07T10:00:00Z"),
                    (9, "2026-06-07T10:00:00Z"),
                    (8, "2026-06-07T10:00:00Z"),
                ],
                9,
            ),
            // the id does not beat a later createdAt
            (
                &[
                    (500, "2026-06-01T00:00:00Z"),
                    (3, "2026-06-01T00:00:00.001Z"),
                ],
                3,
            ),
            // offsets are compared as instants: 11:00+02:00 is before 10:00Z
            (
                &[
                    (1, "2026-06-07T11:00:00+02:00"),
                    (2, "2026-06-07T10:00:00Z"),
                ],
                2,
            ),
            // sub-millisecond digits are not part of the order: a tie, so the greater id
            (
                &[
                    (5, "2026-06-07T10:00:00.0009Z"),
                    (4, "2026-06-07T10:00:00.0001Z"),
                ],
                5,
            ),
            (
                &[
                    (4, "2026-06-07T10:00:00.0009Z"),
                    (5, "2026-06-07T10:00:00.0001Z"),
                ],
                5,
            ),
        ];
        for (events, expected) in cases {
            let events: Vec<_> = events.iter().map(|(id, at)| event(*id, at)).collect();
            let latest = EventStatistics::from_events(&events)
                .latest_test_event
                .unwrap();
            assert_eq!(latest.id, *expected, "{events:?}");
        }
    }

    #[test]
    fn latest_carries_its_own_timestamp_and_created_at() {
        let events = [TestEvent {
            id: 101,
            timestamp: ts("2026-06-07T10:23:40+00:00"),
            created_at: ts("2026-06-07T10:23:45.5Z"),
        }];
        let latest = EventStatistics::from_events(&events)
            .latest_test_event
            .unwrap();
        assert_eq!(
            serde_json::to_value(latest).unwrap(),
            serde_json::json!({"id": 101, "timestamp": "2026-06-07T10:23:40.000Z", "createdAt": "2026-06-07T10:23:45.500Z"})
        );
    }

    /// What each advertiser answers is the snapshot
    /// `snapshots/tracking_status__domain__status__tests__payments_defaults_and_rules.snap`.
    #[test]
    fn payments_defaults_and_rules() {
        #[derive(Serialize)]
        struct Case {
            advertiser: &'static str,
            payments: PaymentStatistics,
        }
        let full = Advertiser {
            stripe_connection_status: Some("connected".into()),
            stripe_account_id: Some("acct_1".into()),
            charges_enabled: Some(true),
            payouts_enabled: Some(false),
            details_submitted: Some(true),
            stripe_connected_at: Some(ts("2026-05-01T10:00:00+02:00")),
            ..Advertiser::default()
        };
        let cases: Vec<(&str, Option<Advertiser>)> = vec![
            ("none", None),
            ("a record with no field", Some(Advertiser::default())),
            ("connected, every field set", Some(full.clone())),
            (
                "\"Connected\" is not connected; an empty account id is null",
                Some(Advertiser {
                    stripe_connection_status: Some("Connected".into()),
                    stripe_account_id: Some(String::new()),
                    ..full.clone()
                }),
            ),
            (
                "another status is shown as it is",
                Some(Advertiser {
                    stripe_connection_status: Some("restricted".into()),
                    ..Advertiser::default()
                }),
            ),
        ];
        let answers: Vec<Case> = cases
            .into_iter()
            .map(|(advertiser, record)| Case {
                advertiser,
                payments: PaymentStatistics::from_advertiser(record.as_ref()),
            })
            .collect();
        insta::assert_json_snapshot!(answers);
    }

    #[test]
    fn step_statuses_follow_the_statistics() {
        let click = [event(1, "2026-06-07T10:00:00Z")];
        let connected = Advertiser {
            stripe_connection_status: Some("connected".into()),
            ..Advertiser::default()
        };
        let id = ProgramId::new(42).unwrap();
        let now = ts("2026-06-08T12:00:00Z");

        let none = build_status(id, StatusInputs::default(), now);
        assert_eq!(
            none.step_statuses,
            StepStatuses {
                pageview: StepStatus::Pending,
                referrals: StepStatus::Pending,
                payments: StepStatus::Pending
            }
        );

        let all = build_status(
            id,
            StatusInputs {
                test_clicks: &click,
                test_leads: &click,
                advertiser: Some(&connected),
                has_approved_partner: true,
            },
            now,
        );
        assert_eq!(
            all.step_statuses,
            StepStatuses {
                pageview: StepStatus::Complete,
                referrals: StepStatus::Complete,
                payments: StepStatus::Complete
            }
        );
        assert!(all.has_partners);
    }

    /// The document of a program with nothing done, as serde writes it: the
    /// snapshot shows every field, in the seed's order (struct declaration order).
    #[test]
    fn document_serializes_in_the_seed_order() {
        let doc = build_status(
            ProgramId::new(42).unwrap(),
            StatusInputs::default(),
            ts("2026-06-08T12:00:00Z"),
        );
        insta::assert_json_snapshot!(doc);
    }
}
