//! The table design, as data: keys, indexes and the view keys that make every
//! read a GetItem, a BatchGetItem or a Query selecting exactly what it needs.
//! `template.yaml` declares the same tables; `seed` creates them from here.
//!
//! | table            | key                           | index (key) → projection                              |
//! |------------------|-------------------------------|-------------------------------------------------------|
//! | programs         | `id` N                        |                                                       |
//! | advertisers      | `id` S                        |                                                       |
//! | memberships      | `workspaceId` S, `userId` S   |                                                       |
//! | events           | `id` N                        |                                                       |
//! | partner-programs | `id` N                        | `programStatus` (`programId` N, `status` S) → KEYS_ONLY |
//! | test-events      | `programType` S, `order` S    |                                                       |
//!
//! The events table is the tracking-ingestion service's, written as it writes it.
//! The test-events view is this stack's: one entry per test click or lead
//! (`view::view_entry`), kept from the events table's stream by
//! `test-event-indexer`, so a program's live events never enter it.

use aws_sdk_dynamodb::types::ScalarAttributeType;

use crate::config::TableNames;
use crate::domain::Timestamp;

/// The view's partition key: `test_event_key` of the event.
pub const VIEW_PROGRAM_TYPE: &str = "programType";
/// The view's sort key: `test_event_order` of the event.
pub const VIEW_ORDER: &str = "order";
pub const PROGRAM_STATUS_INDEX: &str = "programStatus";

/// What a view entry carries besides its key. The rest of the event record
/// (`programId`, `type`, `test`) is what the key selects, so the adapter fills it
/// in from the query instead of storing it twice.
pub const VIEW_ATTRIBUTES: &[&str] = &["id", "timestamp", "createdAt"];

/// The view's partition key of a program's test events of one type. The whole value
/// is matched with `=`, so program 7001's key never selects program 70010's items.
pub fn test_event_key(program_id: u64, event_type: &str) -> String {
    format!("{program_id}#{event_type}")
}

/// The sort key of a test event: newest first is descending order. The
/// timestamp has a fixed width and the id is zero-padded to u64's 20 digits,
/// so text order is (createdAt, id) order.
pub fn test_event_order(created_at: Timestamp, id: u64) -> String {
    format!("{created_at}#{id:020}")
}

/// The DynamoDB type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    S,
    N,
}
use KeyKind::{N, S};

impl KeyKind {
    pub fn sdk(self) -> ScalarAttributeType {
        match self {
            KeyKind::S => ScalarAttributeType::S,
            KeyKind::N => ScalarAttributeType::N,
        }
    }
}

/// One key attribute.
#[derive(Debug, Clone, Copy)]
pub struct KeyAttribute {
    pub name: &'static str,
    pub kind: KeyKind,
}

const fn key(name: &'static str, kind: KeyKind) -> KeyAttribute {
    KeyAttribute { name, kind }
}

#[derive(Debug, Clone, Copy)]
pub enum IndexProjection {
    KeysOnly,
    Include(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct IndexSpec {
    pub name: &'static str,
    pub partition: KeyAttribute,
    pub sort: Option<KeyAttribute>,
    pub projection: IndexProjection,
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    pub name: String,
    pub partition: KeyAttribute,
    pub sort: Option<KeyAttribute>,
    pub indexes: Vec<IndexSpec>,
    /// A stream of both images (`NEW_AND_OLD_IMAGES`): the events table's, which
    /// `test-event-indexer` reads.
    pub stream: bool,
}

/// The six tables under the given names.
pub fn tables(names: &TableNames) -> Vec<TableSpec> {
    vec![
        TableSpec {
            name: names.programs.clone(),
            partition: key("id", N),
            sort: None,
            indexes: vec![],
            stream: false,
        },
        TableSpec {
            name: names.advertisers.clone(),
            partition: key("id", S),
            sort: None,
            indexes: vec![],
            stream: false,
        },
        TableSpec {
            name: names.memberships.clone(),
            partition: key("workspaceId", S),
            sort: Some(key("userId", S)),
            indexes: vec![],
            stream: false,
        },
        TableSpec {
            name: names.events.clone(),
            partition: key("id", N),
            sort: None,
            indexes: vec![],
            stream: true,
        },
        TableSpec {
            name: names.partner_programs.clone(),
            partition: key("id", N),
            sort: None,
            indexes: vec![IndexSpec {
                name: PROGRAM_STATUS_INDEX,
                partition: key("programId", N),
                sort: Some(key("status", S)),
                projection: IndexProjection::KeysOnly,
            }],
            stream: false,
        },
        TableSpec {
            name: names.test_events.clone(),
            partition: key(VIEW_PROGRAM_TYPE, S),
            sort: Some(key(VIEW_ORDER, S)),
            indexes: vec![],
            stream: false,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_key_sorts_like_created_at_then_id() {
        let at = |raw| Timestamp::parse(raw).unwrap();
        let mut keys = vec![
            test_event_order(at("2026-06-07T10:00:00Z"), 9),
            test_event_order(at("2026-06-07T10:00:00Z"), 10),
            test_event_order(at("2026-06-07T09:59:59.999Z"), u64::MAX),
            test_event_order(at("2026-06-07T12:00:00+02:00"), 11),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                "2026-06-07T09:59:59.999Z#18446744073709551615",
                "2026-06-07T10:00:00.000Z#00000000000000000009",
                "2026-06-07T10:00:00.000Z#00000000000000000010",
                "2026-06-07T10:00:00.000Z#00000000000000000011",
            ]
        );
    }

    #[test]
    fn a_view_entry_and_its_key_give_the_whole_event_record() {
        use crate::store::records::{EventRecord, Record};
        let mut carried = VIEW_ATTRIBUTES.to_vec();
        carried.extend(["programId", "type", "test"]); // what the view key selects
        carried.sort();
        let mut fields = EventRecord::FIELDS.to_vec();
        fields.sort();
        assert_eq!(carried, fields);
    }

    #[test]
    fn event_keys_do_not_share_prefixes_by_accident() {
        assert_ne!(
            test_event_key(7001, "click"),
            test_event_key(70010, "click")
        );
        assert!(!test_event_key(70010, "click").starts_with(&test_event_key(7001, "click")));
    }
}
