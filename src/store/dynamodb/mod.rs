//! The DynamoDB adapter of `StatusStore`: one GetItem or Query per read (the
//! membership and the advertiser together in one BatchGetItem),
//! eventually consistent (a status page polled every few seconds tolerates a
//! read that is a moment old, and it halves the read cost).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Select};
use serde::de::DeserializeOwned;
use serde_dynamo::aws_sdk_dynamodb_1::from_item;

use super::records::{APPROVED, AdvertiserRecord, MembershipRecord, ProgramRecord};
use super::{StatusStore, StoreError, StoreResult};
use crate::config::TableNames;
use crate::domain::{Advertiser, EventKind, Membership, Program, ProgramId, TestEvent};
use crate::sdk::OPERATION_TIMEOUT;

/// The test-event view's key attributes: the partition `programType` (`view_key`), the sort
/// key `order`, whose text sorts newest last. Its writer, `test_event_indexer::view`, shares them.
pub const VIEW_PROGRAM_TYPE: &str = "programType";
pub const VIEW_ORDER: &str = "order";
/// The partner-programs index (`programId`, `status`) the approved-partner query reads.
pub const PROGRAM_STATUS_INDEX: &str = "programStatus";

/// The view's partition of a program's test events of one kind: `{programId}#{type}`. The
/// whole value is matched with `=`, so program 7001's key never selects program 70010's items.
pub fn view_key(program_id: ProgramId, kind: EventKind) -> String {
    format!("{program_id}#{}", kind.as_str())
}

/// The largest sort key DynamoDB accepts, in bytes. A longer user id cannot name
/// a stored membership, so it is answered without a call (DynamoDB would reject it).
const MAX_SORT_KEY_BYTES: usize = 1024;

/// An item's primary key, as the SDK takes it.
type Key = HashMap<String, AttributeValue>;

/// The advertisers table's key of an advertiser (GetItem or the batch).
fn advertiser_key(advertiser_id: &str) -> Key {
    HashMap::from([("id".to_string(), AttributeValue::S(advertiser_id.into()))])
}

/// The memberships table's key of a user's membership in a workspace.
fn membership_key(workspace_id: &str, user_id: &str) -> Key {
    HashMap::from([
        (
            "workspaceId".to_string(),
            AttributeValue::S(workspace_id.into()),
        ),
        ("userId".to_string(), AttributeValue::S(user_id.into())),
    ])
}

/// Calls a BatchGetItem may take to have every key processed, and the pause
/// before the first repeat (doubled before each next one), as DynamoDB's
/// guide asks of a caller that gets UnprocessedKeys back.
pub const BATCH_ATTEMPTS: u32 = 3;
const BATCH_FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(25);

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
    /// Calls started, for the request's metrics (`StatusStore::calls_made`).
    calls: Arc<AtomicU64>,
}

impl DynamoStore {
    pub fn new(client: Client, tables: TableNames) -> Self {
        DynamoStore {
            client,
            tables,
            calls: Arc::default(),
        }
    }

    /// Counts a call about to be sent.
    fn start_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// One counted GetItem of the record `R` under `key`, eventually
    /// consistent: `None` when no item has the key.
    async fn get_item<R, T>(
        &self,
        operation: &'static str,
        table: &str,
        key: Key,
    ) -> StoreResult<Option<T>>
    where
        R: DeserializeOwned,
        T: From<R>,
    {
        self.start_call();
        let output = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .send()
            .await
            .map_err(unavailable(operation))?;
        output
            .item
            .map(|item| from_item::<R>(item).map(T::from))
            .transpose()
            .map_err(corrupt(operation))
    }

    /// Opens the connections to DynamoDB during init — DNS, TCP, TLS and
    /// credentials — so the first request does not pay for them. A request's
    /// first round makes four calls at once, each on its own HTTP/1.1
    /// connection, so four are opened: one warm connection would leave three
    /// handshakes on the critical path. Each is a read the role already
    /// allows: a GetItem of program id 0, which cannot exist.
    pub async fn warm_up(&self) -> StoreResult<()> {
        let get_nothing = || async {
            self.start_call();
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

impl StatusStore for DynamoStore {
    fn calls_made(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    async fn program(&self, id: ProgramId) -> StoreResult<Option<Program>> {
        self.get_item::<ProgramRecord, _>(
            "GetItem program",
            &self.tables.programs,
            HashMap::from([("id".to_string(), AttributeValue::N(id.to_string()))]),
        )
        .await
    }

    async fn advertiser(&self, advertiser_id: &str) -> StoreResult<Option<Advertiser>> {
        self.get_item::<AdvertiserRecord, _>(
            "GetItem advertiser",
            &self.tables.advertisers,
            advertiser_key(advertiser_id),
        )
        .await
    }

    async fn membership(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<Membership>> {
        if user_id.len() > MAX_SORT_KEY_BYTES {
            return Ok(None);
        }
        self.get_item::<MembershipRecord, _>(
            "GetItem membership",
            &self.tables.memberships,
            membership_key(workspace_id, user_id),
        )
        .await
    }

    /// One BatchGetItem of both records (one call instead of two GetItems).
    /// Keys DynamoDB leaves unprocessed (throttling) are asked for again, up to
    /// `BATCH_ATTEMPTS` calls in all with a doubling pause, then it is a failure.
    async fn membership_and_advertiser(
        &self,
        workspace_id: &str,
        user_id: &str,
        advertiser_id: &str,
    ) -> StoreResult<(Option<Membership>, Option<Advertiser>)> {
        const OPERATION: &str = "BatchGetItem membership and advertiser";
        let tables = &self.tables;
        let keys = |key: Key| {
            KeysAndAttributes::builder()
                .keys(key)
                .build()
                .map_err(|error| StoreError::Unavailable {
                    operation: OPERATION,
                    cause: error.to_string(),
                })
        };
        let mut request = HashMap::from([(
            tables.advertisers.clone(),
            keys(advertiser_key(advertiser_id))?,
        )]);
        // A user id longer than a sort key can name no membership (and
        // DynamoDB would reject the key): only the advertiser is read.
        if user_id.len() <= MAX_SORT_KEY_BYTES {
            request.insert(
                tables.memberships.clone(),
                keys(membership_key(workspace_id, user_id))?,
            );
        }
        // The repeats share one deadline with the first call, so the round stays
        // within the operation timeout every other read has (the 6 s function
        // timeout holds two rounds of it).
        let batch = async {
            let (mut membership, mut advertiser) = (None, None);
            let mut pause = BATCH_FIRST_PAUSE;
            let mut attempt = 1;
            loop {
                self.start_call();
                let output = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(request))
                    .send()
                    .await
                    .map_err(unavailable(OPERATION))?;
                for (table, items) in output.responses.unwrap_or_default() {
                    for item in items {
                        if table == tables.memberships {
                            membership = Some(
                                from_item::<MembershipRecord>(item)
                                    .map_err(corrupt(OPERATION))?
                                    .into(),
                            );
                        } else if table == tables.advertisers {
                            advertiser = Some(
                                from_item::<AdvertiserRecord>(item)
                                    .map_err(corrupt(OPERATION))?
                                    .into(),
                            );
                        }
                    }
                }
                match output.unprocessed_keys.filter(|keys| !keys.is_empty()) {
                    None => return Ok((membership, advertiser)),
                    Some(unprocessed) if attempt < BATCH_ATTEMPTS => {
                        request = unprocessed;
                        tokio::time::sleep(pause).await;
                        pause *= 2;
                        attempt += 1;
                    }
                    Some(unprocessed) => {
                        let mut tables: Vec<_> = unprocessed.into_keys().collect();
                        tables.sort();
                        return Err(StoreError::Unavailable {
                            operation: OPERATION,
                            cause: format!(
                                "keys of {} still unprocessed after {BATCH_ATTEMPTS} calls",
                                tables.join(", ")
                            ),
                        });
                    }
                }
            }
        };
        tokio::time::timeout(OPERATION_TIMEOUT, batch)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable {
                    operation: OPERATION,
                    cause: format!(
                        "no answer for every key within {} ms",
                        OPERATION_TIMEOUT.as_millis()
                    ),
                })
            })
    }

    async fn recent_test_events(
        &self,
        program_id: ProgramId,
        kind: EventKind,
        limit: usize,
    ) -> StoreResult<Vec<TestEvent>> {
        const OPERATION: &str = "Query test events";
        // Newest first in the view: the key selects exactly this program's test
        // events of this type, and Limit stops at what is counted. An entry is read
        // straight into the event (its id, timestamp and createdAt).
        self.start_call();
        let output = self
            .client
            .query()
            .table_name(&self.tables.test_events)
            .key_condition_expression("#key = :key")
            .expression_attribute_names("#key", VIEW_PROGRAM_TYPE)
            .expression_attribute_values(":key", AttributeValue::S(view_key(program_id, kind)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable(OPERATION))?;
        (output.items.unwrap_or_default().into_iter())
            .map(from_item::<TestEvent>)
            .collect::<Result<_, _>>()
            .map_err(corrupt(OPERATION))
    }

    async fn has_approved_partner(&self, program_id: ProgramId) -> StoreResult<bool> {
        const OPERATION: &str = "Query approved partners";
        self.start_call();
        let output = self
            .client
            .query()
            .table_name(&self.tables.partner_programs)
            .index_name(PROGRAM_STATUS_INDEX)
            .key_condition_expression("programId = :program AND #status = :approved")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":program", AttributeValue::N(program_id.to_string()))
            .expression_attribute_values(":approved", AttributeValue::S(APPROVED.into()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_keys_do_not_share_prefixes_by_accident() {
        let key = |id| view_key(ProgramId::new(id).unwrap(), EventKind::Click);
        assert_eq!(key(7001), "7001#click");
        assert!(!key(70010).starts_with(&key(7001)));
    }
}
