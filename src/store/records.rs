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
//! the requests that ask for `nextSteps`. A fixture is held to more (`FIELDS`,
//! `REQUIRED`, readable values): the loader refuses unknown, missing and
//! unreadable fields.

use std::fmt;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::{
    Advertiser, Membership, Program, ProgramId, StripeRequirements, TestEvent, Timestamp,
    Unreadable,
};

/// The field names of a record as stored: those it may have, and those a
/// fixture must give.
pub trait Record {
    const FIELDS: &'static [&'static str];
    const REQUIRED: &'static [&'static str];
}

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

impl Record for ProgramRecord {
    const FIELDS: &'static [&'static str] =
        &["id", "workspaceId", "advertiserId", "name", "createdAt"];
    const REQUIRED: &'static [&'static str] = &["id", "workspaceId", "advertiserId"];
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

impl Record for AdvertiserRecord {
    const FIELDS: &'static [&'static str] = &[
        "id",
        "stripeConnectionStatus",
        "stripeAccountId",
        "chargesEnabled",
        "payoutsEnabled",
        "detailsSubmitted",
        "stripeConnectedAt",
        "stripeDisabledReason",
        "stripeCurrentlyDue",
        "stripePastDue",
        "stripeRequirementsDeadline",
    ];
    const REQUIRED: &'static [&'static str] = &["id"];
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

impl Record for MembershipRecord {
    const FIELDS: &'static [&'static str] = &["workspaceId", "userId", "role", "permissions"];
    const REQUIRED: &'static [&'static str] = Self::FIELDS;
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

impl Record for EventRecord {
    const FIELDS: &'static [&'static str] =
        &["id", "programId", "type", "test", "timestamp", "createdAt"];
    const REQUIRED: &'static [&'static str] = Self::FIELDS;
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

impl Record for PartnerProgramRecord {
    const FIELDS: &'static [&'static str] = &["id", "programId", "partnerId", "status"];
    const REQUIRED: &'static [&'static str] = Self::FIELDS;
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

/// A value as stored, reduced to what a lenient field can be: text, a list,
/// or something else (named, for the log).
pub enum StoredValue {
    Text(String),
    List(Vec<StoredValue>),
    Other(&'static str),
}

/// The types a `Lenient` field holds.
pub trait FromStored: Sized {
    fn from_stored(value: StoredValue) -> Result<Self, String>;
}

impl FromStored for String {
    fn from_stored(value: StoredValue) -> Result<Self, String> {
        match value {
            StoredValue::Text(text) => Ok(text),
            other => Err(format!("expected a string, found {}", other.kind())),
        }
    }
}

impl FromStored for Timestamp {
    fn from_stored(value: StoredValue) -> Result<Self, String> {
        Timestamp::parse(&String::from_stored(value)?).map_err(|e| e.to_string())
    }
}

impl FromStored for Vec<String> {
    fn from_stored(value: StoredValue) -> Result<Self, String> {
        match value {
            StoredValue::List(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| String::from_stored(item).map_err(|e| format!("[{i}]: {e}")))
                .collect(),
            other => Err(format!(
                "expected a list of strings, found {}",
                other.kind()
            )),
        }
    }
}

impl StoredValue {
    fn kind(&self) -> &'static str {
        match self {
            StoredValue::Text(_) => "a string",
            StoredValue::List(_) => "a list",
            StoredValue::Other(kind) => kind,
        }
    }
}

impl<'de> Deserialize<'de> for StoredValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StoredValueVisitor)
    }
}

struct StoredValueVisitor;

impl<'de> Visitor<'de> for StoredValueVisitor {
    type Value = StoredValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<StoredValue, E> {
        Ok(StoredValue::Other("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<StoredValue, E> {
        Ok(StoredValue::Other("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<StoredValue, E> {
        Ok(StoredValue::Other("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<StoredValue, E> {
        Ok(StoredValue::Other("a number"))
    }
    fn visit_str<E>(self, text: &str) -> Result<StoredValue, E> {
        Ok(StoredValue::Text(text.to_string()))
    }
    fn visit_string<E>(self, text: String) -> Result<StoredValue, E> {
        Ok(StoredValue::Text(text))
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<StoredValue, E> {
        Ok(StoredValue::Other("binary"))
    }
    fn visit_none<E>(self) -> Result<StoredValue, E> {
        Ok(StoredValue::Other("null"))
    }
    fn visit_unit<E>(self) -> Result<StoredValue, E> {
        Ok(StoredValue::Other("null"))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<StoredValue, D::Error> {
        StoredValue::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StoredValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(StoredValue::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StoredValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(StoredValue::Other("a map"))
    }
}

impl<'de, T: FromStored> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = StoredValue::deserialize(deserializer)?;
        Ok(Lenient(T::from_stored(value)))
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

    /// `FIELDS` lists exactly what the type writes when every field is set.
    fn fields_of<T: Serialize + Record>(full: &T) {
        let value = serde_json::to_value(full).unwrap();
        let mut written: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut listed = T::FIELDS.to_vec();
        written.sort();
        listed.sort();
        assert_eq!(written, listed);
        assert!(T::REQUIRED.iter().all(|field| T::FIELDS.contains(field)));
    }

    #[test]
    fn field_lists_match_the_types() {
        let at = Timestamp::parse("2026-06-07T10:23:45Z").unwrap();
        let id = ProgramId::new(42).unwrap();
        fields_of(&ProgramRecord {
            id,
            workspace_id: "w".into(),
            advertiser_id: "a".into(),
            name: Some("n".into()),
            created_at: Some(at.into()),
        });
        fields_of(&AdvertiserRecord {
            id: "a".into(),
            stripe_connection_status: Some("connected".into()),
            stripe_account_id: Some("acct".into()),
            charges_enabled: Some(true),
            payouts_enabled: Some(true),
            details_submitted: Some(true),
            stripe_connected_at: Some(at),
            stripe_disabled_reason: Some(String::from("r").into()),
            stripe_currently_due: Some(vec![String::from("d")].into()),
            stripe_past_due: Some(vec![].into()),
            stripe_requirements_deadline: Some(at.into()),
        });
        fields_of(&MembershipRecord {
            workspace_id: "w".into(),
            user_id: "u".into(),
            role: "owner".into(),
            permissions: vec![],
        });
        fields_of(&EventRecord {
            id: 1,
            program_id: id,
            kind: "click".into(),
            test: true,
            timestamp: at,
            created_at: at,
        });
        fields_of(&PartnerProgramRecord {
            id: 1,
            program_id: id,
            partner_id: "p".into(),
            status: APPROVED.into(),
        });
    }

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
        let _: Value = serde_json::to_value(&dataset).unwrap();
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
                "expected a string, found a number",
            ),
            (
                "stripeDisabledReason",
                A::Bool(true),
                "expected a string, found a boolean",
            ),
            (
                "stripeCurrentlyDue",
                s("external_account"),
                "expected a list of strings, found a string",
            ),
            (
                "stripeCurrentlyDue",
                A::L(vec![s("a"), A::N("1".into())]),
                "[1]: expected a string, found a number",
            ),
            (
                "stripeCurrentlyDue",
                A::Ns(vec!["1".into()]),
                "[0]: expected a string, found a number",
            ),
            (
                "stripePastDue",
                A::M(HashMap::from([("a".to_string(), s("b"))])),
                "expected a list of strings, found a map",
            ),
            (
                "stripePastDue",
                A::L(vec![A::Null(true)]),
                "[0]: expected a string, found null",
            ),
            (
                "stripePastDue",
                A::B(vec![1, 2].into()),
                "expected a list of strings, found binary",
            ),
            (
                "stripeRequirementsDeadline",
                s("soon"),
                "\"soon\" is not an RFC 3339 timestamp with a time zone",
            ),
            (
                "stripeRequirementsDeadline",
                A::N("1767225600".into()),
                "expected a string, found a number",
            ),
        ];
        for (field, value, cause) in unreadable {
            assert_eq!(
                requirements(field, value.clone()),
                Err(Unreadable {
                    field,
                    cause: cause.into()
                }),
                "{field} {value:?}"
            );
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
