//! The DynamoDB adapter of `StatusStore`: one GetItem or Query per read,
//! eventually consistent (a status page polled every few seconds tolerates a
//! read that is a moment old, and it halves the read cost).

use std::error::Error as StdError;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use serde::Deserialize;
use serde_dynamo::aws_sdk_dynamodb_1::from_item;

use super::{StatusStore, StoreError, StoreResult};
use crate::config::TableNames;
use crate::domain::{Advertiser, EventKind, Membership, Program, ProgramId, TestEvent, Timestamp};

pub mod load;
pub mod schema;

use schema::{PROGRAM_STATUS_INDEX, TEST_EVENT_KEY, TEST_EVENTS_INDEX, test_event_key};

/// The largest sort key DynamoDB accepts, in bytes. A longer user id cannot name
/// a stored membership, so it is answered without a call (DynamoDB would reject it).
const MAX_SORT_KEY_BYTES: usize = 1024;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

impl DynamoStore {
    pub fn new(client: Client, tables: TableNames) -> Self {
        DynamoStore { client, tables }
    }

    /// Opens the connections to DynamoDB during init — DNS, TCP, TLS and
    /// credentials — so the first request does not pay for them. A request's
    /// first round makes four calls at once, each on its own HTTP/1.1
    /// connection, so four are opened: one warm connection would leave three
    /// handshakes on the critical path. Each is a read the role already
    /// allows: a GetItem of program id 0, which cannot exist.
    pub async fn warm_up(&self) -> StoreResult<()> {
        let get_nothing = || async {
            self.client
                .get_item()
                .table_name(&self.tables.programs)
                .key("id", AttributeValue::N("0".into()))
                .projection_expression("id")
                .send()
                .await
                .map(|_| ())
                .map_err(unavailable("GetItem warm-up"))
        };
        tokio::try_join!(get_nothing(), get_nothing(), get_nothing(), get_nothing()).map(|_| ())
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn tables(&self) -> &TableNames {
        &self.tables
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProgramItem {
    workspace_id: String,
    advertiser_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdvertiserItem {
    stripe_connection_status: Option<String>,
    stripe_account_id: Option<String>,
    charges_enabled: Option<bool>,
    payouts_enabled: Option<bool>,
    details_submitted: Option<bool>,
    stripe_connected_at: Option<String>,
}

#[derive(Deserialize)]
struct MembershipItem {
    // Missing fields can only deny access, so they read as empty.
    #[serde(default)]
    role: String,
    #[serde(default)]
    permissions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestEventItem {
    id: u64,
    timestamp: String,
    created_at: String,
}

impl StatusStore for DynamoStore {
    async fn program(&self, id: ProgramId) -> StoreResult<Option<Program>> {
        const OPERATION: &str = "GetItem program";
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.programs)
            .key("id", AttributeValue::N(id.to_string()))
            .projection_expression("workspaceId, advertiserId")
            .send()
            .await
            .map_err(unavailable(OPERATION))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let record: ProgramItem = from_item(item).map_err(corrupt(OPERATION))?;
        Ok(Some(Program {
            id,
            workspace_id: record.workspace_id,
            advertiser_id: record.advertiser_id,
        }))
    }

    async fn advertiser(&self, advertiser_id: &str) -> StoreResult<Option<Advertiser>> {
        const OPERATION: &str = "GetItem advertiser";
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.advertisers)
            .key("id", AttributeValue::S(advertiser_id.to_string()))
            .projection_expression(
                "stripeConnectionStatus, stripeAccountId, chargesEnabled, payoutsEnabled, detailsSubmitted, stripeConnectedAt",
            )
            .send()
            .await
            .map_err(unavailable(OPERATION))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let record: AdvertiserItem = from_item(item).map_err(corrupt(OPERATION))?;
        let stripe_connected_at = record
            .stripe_connected_at
            .as_deref()
            .map(Timestamp::parse)
            .transpose()
            .map_err(corrupt(OPERATION))?;
        Ok(Some(Advertiser {
            stripe_connection_status: record.stripe_connection_status,
            stripe_account_id: record.stripe_account_id,
            charges_enabled: record.charges_enabled,
            payouts_enabled: record.payouts_enabled,
            details_submitted: record.details_submitted,
            stripe_connected_at,
        }))
    }

    async fn membership(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<Membership>> {
        const OPERATION: &str = "GetItem membership";
        if user_id.len() > MAX_SORT_KEY_BYTES {
            return Ok(None);
        }
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.memberships)
            .key("workspaceId", AttributeValue::S(workspace_id.to_string()))
            .key("userId", AttributeValue::S(user_id.to_string()))
            .projection_expression("#role, #permissions")
            .expression_attribute_names("#role", "role")
            .expression_attribute_names("#permissions", "permissions")
            .send()
            .await
            .map_err(unavailable(OPERATION))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let record: MembershipItem = from_item(item).map_err(corrupt(OPERATION))?;
        Ok(Some(Membership {
            role: record.role,
            permissions: record.permissions,
        }))
    }

    async fn recent_test_events(
        &self,
        program_id: ProgramId,
        kind: EventKind,
        limit: usize,
    ) -> StoreResult<Vec<TestEvent>> {
        const OPERATION: &str = "Query test events";
        // Newest first on the sparse index: the key selects exactly this
        // program's test events of this type, and Limit stops at what is counted.
        let output = self
            .client
            .query()
            .table_name(&self.tables.events)
            .index_name(TEST_EVENTS_INDEX)
            .key_condition_expression("#key = :key")
            .expression_attribute_names("#key", TEST_EVENT_KEY)
            .expression_attribute_names("#timestamp", "timestamp")
            .expression_attribute_values(
                ":key",
                AttributeValue::S(test_event_key(program_id.get(), kind.as_str())),
            )
            .projection_expression("id, #timestamp, createdAt")
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable(OPERATION))?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let record: TestEventItem = from_item(item).map_err(corrupt(OPERATION))?;
                Ok(TestEvent {
                    id: record.id,
                    timestamp: Timestamp::parse(&record.timestamp).map_err(corrupt(OPERATION))?,
                    created_at: Timestamp::parse(&record.created_at).map_err(corrupt(OPERATION))?,
                })
            })
            .collect()
    }

    async fn has_approved_partner(&self, program_id: ProgramId) -> StoreResult<bool> {
        const OPERATION: &str = "Query approved partners";
        let output = self
            .client
            .query()
            .table_name(&self.tables.partner_programs)
            .index_name(PROGRAM_STATUS_INDEX)
            .key_condition_expression("programId = :program AND #status = :approved")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":program", AttributeValue::N(program_id.to_string()))
            .expression_attribute_values(":approved", AttributeValue::S("approved".into()))
            .select(Select::Count)
            .limit(1)
            .send()
            .await
            .map_err(unavailable(OPERATION))?;
        Ok(output.count > 0)
    }
}

fn unavailable<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> StoreError
where
    E: StdError + 'static,
    R: std::fmt::Debug,
{
    move |error| StoreError::Unavailable {
        operation,
        cause: DisplayErrorContext(error).to_string(),
    }
}

fn corrupt<E: std::fmt::Display>(operation: &'static str) -> impl Fn(E) -> StoreError {
    move |error| StoreError::Corrupt {
        operation,
        cause: error.to_string(),
    }
}
