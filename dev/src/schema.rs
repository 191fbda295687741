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
//! (`test_event_indexer::view::view_entry`), kept from the events table's stream by
//! `test-event-indexer`, so a program's live events never enter it.

use aws_sdk_dynamodb::types::ScalarAttributeType;
use tracking_status::config::TableNames;
use tracking_status::store::dynamodb::{PROGRAM_STATUS_INDEX, VIEW_ORDER, VIEW_PROGRAM_TYPE};

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
