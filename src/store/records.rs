//! The records other services write, one serde type per stored entity, with
//! the contract's field names: the DynamoDB adapter reads items into them, the
//! in-memory store is built from them, and a fixture file is a `Dataset` of
//! them. Each converts once into its domain type, so a new stored field is a
//! change to its record, its domain type and the conversion between the two.
//!
//! The types read leniently, as the adapter must: attributes they do not know
//! are ignored, and a membership without `role` or `permissions` reads as
//! empty (it can only deny). A fixture is held to more (`FIELDS`, `REQUIRED`):
//! the loader refuses unknown and missing fields.

use serde::{Deserialize, Serialize};

use crate::domain::{Advertiser, Membership, Program, ProgramId, TestEvent, Timestamp};

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
}

impl Record for ProgramRecord {
    const FIELDS: &'static [&'static str] = &["id", "workspaceId", "advertiserId", "name"];
    const REQUIRED: &'static [&'static str] = &["id", "workspaceId", "advertiserId"];
}

impl From<ProgramRecord> for Program {
    fn from(record: ProgramRecord) -> Self {
        Program {
            id: record.id,
            workspace_id: record.workspace_id,
            advertiser_id: record.advertiser_id,
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
    ];
    const REQUIRED: &'static [&'static str] = &["id"];
}

impl From<AdvertiserRecord> for Advertiser {
    fn from(record: AdvertiserRecord) -> Self {
        Advertiser {
            stripe_connection_status: record.stripe_connection_status,
            stripe_account_id: record.stripe_account_id,
            charges_enabled: record.charges_enabled,
            payouts_enabled: record.payouts_enabled,
            details_submitted: record.details_submitted,
            stripe_connected_at: record.stripe_connected_at,
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
        });
        fields_of(&AdvertiserRecord {
            id: "a".into(),
            stripe_connection_status: Some("connected".into()),
            stripe_account_id: Some("acct".into()),
            charges_enabled: Some(true),
            payouts_enabled: Some(true),
            details_submitted: Some(true),
            stripe_connected_at: Some(at),
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
}
