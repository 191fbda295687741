//! The records other services write, one serde type per stored entity, with
//! the contract's field names: the DynamoDB adapter reads items into them, the
//! in-memory store is built from them, and a fixture file is a `Dataset` of
//! them. Each converts once into its domain type, so a new stored field is a
//! change to its record, its domain type and the conversion between the two.
//!
//! The types read leniently, as the adapter must: attributes they do not know
//! are ignored, and a membership without `role` or `permissions` reads as
//! empty (it can only deny). The fields that only `nextSteps` reads are
//! `Lenient`: a value that cannot be read is kept as such, so it fails only
//! the requests that ask for `nextSteps`. A fixture is held to more: the loader
//! refuses unknown, missing and unreadable fields.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::{
    Advertiser, Membership, Program, ProgramId, StripeRequirements, TestEvent, Timestamp,
    Unreadable,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramRecord {
    pub id: ProgramId,
    pub workspace_id: String,
    pub advertiser_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Lenient<Timestamp>>,
}

impl From<ProgramRecord> for Program {
    fn from(record: ProgramRecord) -> Self {
        Program {
            id: record.id,
            workspace_id: record.workspace_id,
            advertiser_id: record.advertiser_id,
            created_at: Lenient::read(record.created_at, "createdAt"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvertiserRecord {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_connection_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charges_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payouts_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_submitted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_connected_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_disabled_reason: Option<Lenient<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_currently_due: Option<Lenient<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_past_due: Option<Lenient<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_requirements_deadline: Option<Lenient<Timestamp>>,
}

impl From<AdvertiserRecord> for Advertiser {
    fn from(record: AdvertiserRecord) -> Self {
        let requirements = (|| {
            Ok(StripeRequirements {
                disabled_reason: Lenient::read(
                    record.stripe_disabled_reason,
                    "stripeDisabledReason",
                )?
                .filter(|reason| !reason.is_empty()),
                currently_due: Lenient::read(record.stripe_currently_due, "stripeCurrentlyDue")?
                    .unwrap_or_default(),
                past_due: Lenient::read(record.stripe_past_due, "stripePastDue")?
                    .unwrap_or_default(),
                deadline: Lenient::read(
                    record.stripe_requirements_deadline,
                    "stripeRequirementsDeadline",
                )?,
            })
        })();
        Advertiser {
            stripe_connection_status: record.stripe_connection_status,
            stripe_account_id: record.stripe_account_id,
            charges_enabled: record.charges_enabled,
            payouts_enabled: record.payouts_enabled,
            details_submitted: record.details_submitted,
            stripe_connected_at: record.stripe_connected_at,
            requirements,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipRecord {
    pub workspace_id: String,
    pub user_id: String,
    // Missing fields can only deny access, so they read as empty.
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub permissions: Vec<String>,
}

impl From<MembershipRecord> for Membership {
    fn from(record: MembershipRecord) -> Self {
        Membership {
            role: record.role,
            permissions: record.permissions,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    pub id: u64,
    pub program_id: ProgramId,
    #[serde(rename = "type")]
    pub kind: String,
    pub test: bool,
    pub timestamp: Timestamp,
    pub created_at: Timestamp,
}

impl From<EventRecord> for TestEvent {
    fn from(record: EventRecord) -> Self {
        TestEvent {
            id: record.id,
            timestamp: record.timestamp,
            created_at: record.created_at,
        }
    }
}

/// The partner-program status that counts for `hasPartners` (case-sensitive).
pub const APPROVED: &str = "approved";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerProgramRecord {
    pub id: u64,
    pub program_id: ProgramId,
    pub partner_id: String,
    pub status: String,
}

impl PartnerProgramRecord {
    pub fn is_approved(&self) -> bool {
        self.status == APPROVED
    }
}

/// A stored value of type `T`, or why it cannot be read as one. Reading it
/// does not fail on a value of the wrong type (any DynamoDB attribute type, any
/// JSON value serde_json can parse), so a bad value reaches the domain as
/// `Unreadable` instead of failing the whole record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lenient<T>(pub Result<T, String>);

impl<T> Lenient<T> {
    /// The value of an optional field named `field`: missing is `None`.
    pub fn read(value: Option<Lenient<T>>, field: &'static str) -> Result<Option<T>, Unreadable> {
        value
            .map(|Lenient(value)| value.map_err(|cause| Unreadable { field, cause }))
            .transpose()
    }
}

impl<T> From<T> for Lenient<T> {
    fn from(value: T) -> Self {
        Lenient(Ok(value))
    }
}

/// Read as any value (a DynamoDB attribute of any type, any JSON value), then as `T`: a
/// value of the wrong type is kept as the reason it cannot be read.
impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Value(serde_json::Value),
            /// What has no JSON value: a binary attribute.
            Other(serde::de::IgnoredAny),
        }
        Ok(Lenient(match Stored::deserialize(deserializer)? {
            Stored::Value(value) => serde_json::from_value(value).map_err(|e| e.to_string()),
            Stored::Other(_) => Err("a value of no JSON type (binary)".into()),
        }))
    }
}

/// Writes the value; an unreadable one cannot be written back (a fixture
/// never holds one: the loader refuses it).
impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Ok(value) => value.serialize(serializer),
            Err(cause) => Err(serde::ser::Error::custom(format_args!(
                "an unreadable value cannot be written: {cause}"
            ))),
        }
    }
}

/// Records of the five kinds, as a fixture file holds them (each array optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    #[serde(default)]
    pub programs: Vec<ProgramRecord>,
    #[serde(default)]
    pub advertisers: Vec<AdvertiserRecord>,
    #[serde(default)]
    pub memberships: Vec<MembershipRecord>,
    #[serde(default)]
    pub events: Vec<EventRecord>,
    #[serde(default)]
    pub partner_programs: Vec<PartnerProgramRecord>,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn stored_values_are_read_into_domain_values() {
        let record: AdvertiserRecord = serde_json::from_value(json!({
            "id": "a", "stripeConnectedAt": "2026-05-01T10:00:00+02:00", "somethingElse": 1
        }))
        .unwrap();
        assert_eq!(
            Advertiser::from(record)
                .stripe_connected_at
                .unwrap()
                .to_string(),
            "2026-05-01T08:00:00.000Z"
        );
        for bad in [
            json!({"id": "a", "stripeConnectedAt": "May 1st"}),
            json!({"id": "a", "chargesEnabled": "yes"}),
        ] {
            assert!(serde_json::from_value::<AdvertiserRecord>(bad).is_err());
        }
        for bad in [
            json!({"id": 0, "workspaceId": "w", "advertiserId": "a"}),
            json!({"id": 9_007_199_254_740_992u64, "workspaceId": "w", "advertiserId": "a"}),
        ] {
            assert!(serde_json::from_value::<ProgramRecord>(bad).is_err());
        }
    }

    #[test]
    fn a_membership_without_role_or_permissions_can_only_deny() {
        let record: MembershipRecord =
            serde_json::from_value(json!({"workspaceId": "w", "userId": "u"})).unwrap();
        assert_eq!(Membership::from(record), Membership::default());
    }

    #[test]
    fn approved_is_case_sensitive() {
        let partner = |status: &str| PartnerProgramRecord {
            id: 1,
            program_id: ProgramId::new(42).unwrap(),
            partner_id: "p".into(),
            status: status.into(),
        };
        assert!(partner("approved").is_approved());
        assert!(!partner("Approved").is_approved());
        assert!(!partner("pending").is_approved());
    }

    #[test]
    fn the_example_fixture_is_a_dataset() {
        let dataset: Dataset =
            serde_json::from_str(include_str!("../../fixtures/example.json")).unwrap();
        assert_eq!(dataset.programs.len(), 1);
        assert_eq!(dataset.events.len(), 5);
        // and writes back as what it read (what `seed` writes)
        let written = serde_json::to_value(&dataset).unwrap();
        assert_eq!(serde_json::from_value::<Dataset>(written).unwrap(), dataset);
    }

    /// The fields only `nextSteps` reads, as JSON (the fixture) and as
    /// DynamoDB items (the adapter) hold them: the record always reads, and a
    /// bad value reaches the domain as `Unreadable`, naming the field.
    #[test]
    fn next_steps_fields_read_leniently() {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        use serde_dynamo::aws_sdk_dynamodb_1::from_item;
        use std::collections::HashMap;

        let s = |text: &str| A::S(text.into());
        let advertiser_item = |field: &str, value: A| {
            HashMap::from([("id".to_string(), s("a")), (field.to_string(), value)])
        };
        let requirements = |field: &str, value: A| {
            Advertiser::from(from_item::<AdvertiserRecord>(advertiser_item(field, value)).unwrap())
                .requirements
        };
        let deadline = Timestamp::parse("2026-07-01T00:00:00Z").unwrap();
        let readable: Vec<(&str, A, StripeRequirements)> = vec![
            (
                "stripeDisabledReason",
                s("listed"),
                StripeRequirements {
                    disabled_reason: Some("listed".into()),
                    ..Default::default()
                },
            ),
            ("stripeDisabledReason", s(""), StripeRequirements::default()),
            (
                "stripeDisabledReason",
                A::Null(true),
                StripeRequirements::default(),
            ),
            (
                "stripeCurrentlyDue",
                A::L(vec![s("b"), s("a")]),
                StripeRequirements {
                    currently_due: vec!["b".into(), "a".into()],
                    ..Default::default()
                },
            ),
            (
                "stripeCurrentlyDue",
                A::L(vec![]),
                StripeRequirements::default(),
            ),
            (
                "stripeCurrentlyDue",
                A::Ss(vec!["x".into()]),
                StripeRequirements {
                    currently_due: vec!["x".into()],
                    ..Default::default()
                },
            ),
            (
                "stripePastDue",
                A::L(vec![s("p")]),
                StripeRequirements {
                    past_due: vec!["p".into()],
                    ..Default::default()
                },
            ),
            (
                "stripeRequirementsDeadline",
                s("2026-07-01T02:00:00+02:00"),
                StripeRequirements {
                    deadline: Some(deadline),
                    ..Default::default()
                },
            ),
            (
                "somethingElse",
                A::N("1".into()),
                StripeRequirements::default(),
            ),
        ];
        for (field, value, expected) in readable {
            assert_eq!(
                requirements(field, value.clone()),
                Ok(expected),
                "{field} {value:?}"
            );
        }
        let unreadable: Vec<(&str, A, &str)> = vec![
            (
                "stripeDisabledReason",
                A::N("3".into()),
                "invalid type: integer `3`",
            ),
            (
                "stripeDisabledReason",
                A::Bool(true),
                "invalid type: boolean",
            ),
            (
                "stripeCurrentlyDue",
                s("external_account"),
                "invalid type: string",
            ),
            (
                "stripeCurrentlyDue",
                A::L(vec![s("a"), A::N("1".into())]),
                "invalid type: integer",
            ),
            (
                "stripeCurrentlyDue",
                A::Ns(vec!["1".into()]),
                "invalid type: integer",
            ),
            (
                "stripePastDue",
                A::M(HashMap::from([("a".to_string(), s("b"))])),
                "invalid type: map",
            ),
            (
                "stripePastDue",
                A::L(vec![A::Null(true)]),
                "invalid type: null",
            ),
            ("stripePastDue", A::B(vec![1, 2].into()), "binary"),
            (
                "stripeRequirementsDeadline",
                s("soon"),
                "\"soon\" is not an RFC 3339 timestamp",
            ),
            (
                "stripeRequirementsDeadline",
                A::N("1767225600".into()),
                "invalid type: integer",
            ),
        ];
        for (field, value, cause) in unreadable {
            let error = requirements(field, value.clone()).unwrap_err();
            assert_eq!(error.field, field, "{value:?}");
            assert!(error.cause.contains(cause), "{field} {value:?}: {error}");
        }

        // The program's createdAt, from JSON as the fixture and the in-memory store read it.
        let program = |created_at: Value| {
            let mut record = json!({"id": 42, "workspaceId": "w", "advertiserId": "a"});
            if !created_at.is_null() {
                record["createdAt"] = created_at;
            }
            Program::from(serde_json::from_value::<ProgramRecord>(record).unwrap()).created_at
        };
        assert_eq!(program(Value::Null), Ok(None));
        assert_eq!(
            program(json!("2026-05-20T10:00:00+02:00")).map(|at| at.map(|at| at.to_string())),
            Ok(Some("2026-05-20T08:00:00.000Z".into()))
        );
        for bad in [
            json!("yesterday"),
            json!(1),
            json!(["2026-05-20T08:00:00Z"]),
            json!({}),
            json!(true),
        ] {
            let error = program(bad.clone()).unwrap_err();
            assert_eq!(error.field, "createdAt", "{bad}");
        }
        // The seed's fields around them still read strictly.
        assert!(
            from_item::<AdvertiserRecord>(advertiser_item("chargesEnabled", s("yes"))).is_err()
        );
        // An unreadable value is never written back.
        let record = AdvertiserRecord {
            id: "a".into(),
            stripe_past_due: Some(Lenient(Err("bad".into()))),
            ..AdvertiserRecord::default()
        };
        assert!(serde_json::to_value(&record).is_err());
    }
}
