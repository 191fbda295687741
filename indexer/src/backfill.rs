//! The backfill: the view entries of the events already in the table (those
//! written before its stream was on), by the indexer's rule (`view_entry`).
//!
//! A parallel Scan (one task per segment) reads only the attributes the rule
//! needs; each page's entries are written with BatchWriteItem (unprocessed items
//! retried with backoff); then the page's sources are read again, consistently,
//! and every entry written whose source no longer maps to it is deleted. That
//! closes the race with the writers: if a writer flips an event to live after
//! the Scan read it as a test event, either the flip happened before the re-read
//! (which sees it, and the stale entry goes) or after it (and its stream record,
//! later than the backfill's write, makes the indexer delete the entry). After
//! each page a segment's position is saved to the checkpoint file, so a killed
//! run resumes where it was; a page done twice writes the same entries.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::view::{Item, ViewEntry, view_entry};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, PutRequest, ReturnConsumedCapacity,
    WriteRequest,
};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tracking_status::config::TableNames;

pub type BackfillError = Box<dyn std::error::Error + Send + Sync>;

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub segments: u32,
    /// Items per Scan page (Scan's `Limit`).
    pub page_size: i32,
    /// The most read units per second the Scan and the re-reads may consume, all segments together.
    pub max_read_units_per_second: f64,
    pub dry_run: bool,
    pub checkpoint: PathBuf,
}

/// The counts a run ends with (and its progress line shows).
#[derive(Debug, Default)]
pub struct Counts {
    pub scanned: AtomicU64,
    pub indexed: AtomicU64,
    pub unreadable: AtomicU64,
    /// Entries written and then deleted because their source changed meanwhile.
    pub raced: AtomicU64,
}

/// BatchWriteItem takes at most 25 requests; BatchGetItem 100 keys.
const WRITE_BATCH: usize = 25;
const GET_BATCH: usize = 100;
/// The attributes `view_entry` reads, under placeholders (`type` and `timestamp` are reserved).
const PROJECTION: &str = "id, programId, #type, test, #timestamp, createdAt";

fn projection_names() -> HashMap<String, String> {
    HashMap::from([
        ("#type".to_string(), "type".to_string()),
        ("#timestamp".to_string(), "timestamp".to_string()),
    ])
}

/// The estimate printed before anything is read: an eventually consistent Scan
/// consumes half a read unit per 4 KB, whatever the projection keeps.
pub async fn estimate(client: &Client, table: &str) -> Result<(i64, i64, f64), BackfillError> {
    let described = client.describe_table().table_name(table).send().await?;
    let table = described.table.ok_or("DescribeTable returned no table")?;
    let bytes = table.table_size_bytes.unwrap_or_default();
    let items = table.item_count.unwrap_or_default();
    let read_units = (bytes as f64 / 4096.0).ceil() / 2.0;
    Ok((items, bytes, read_units))
}

/// The checkpoint: per segment, the key to resume from (`null` before the first
/// page, `"done"` after the last).
#[derive(Debug, Clone)]
struct Checkpoint {
    path: PathBuf,
    table: String,
    segments: Vec<Value>,
}

impl Checkpoint {
    fn load_or_new(path: &Path, table: &str, segments: u32) -> Result<Self, BackfillError> {
        let fresh = Checkpoint {
            path: path.to_path_buf(),
            table: table.to_string(),
            segments: vec![Value::Null; segments as usize],
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(fresh);
        };
        let saved: Value = serde_json::from_str(&text)?;
        let saved_table = saved
            .get("table")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let saved_segments = saved
            .get("segments")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if saved_table != table || saved_segments.len() != segments as usize {
            return Err(format!(
                "{} is the checkpoint of another run (table {saved_table}, {} segments): \
                 remove it or pass the same --segments",
                path.display(),
                saved_segments.len()
            )
            .into());
        }
        Ok(Checkpoint {
            segments: saved_segments,
            ..fresh
        })
    }

    /// Written to a temporary file and renamed: a kill never leaves half a checkpoint.
    fn save(&self) -> Result<(), BackfillError> {
        let text = json!({"table": self.table, "segments": self.segments}).to_string();
        let temporary = self.path.with_extension("tmp");
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, &self.path)?;
        Ok(())
    }
}

fn key_to_json(key: &Item) -> Value {
    serde_json::to_value(serde_dynamo::Item::from(key.clone())).unwrap_or(Value::Null)
}

fn key_from_json(value: &Value) -> Option<Item> {
    let item: serde_dynamo::Item = serde_json::from_value(value.clone()).ok()?;
    Some(item.into())
}

/// Read units spent so far, shared by the segments, to stay under the limit.
pub struct Budget {
    started: Instant,
    per_second: f64,
    spent: Mutex<f64>,
}

impl Budget {
    pub fn new(per_second: f64) -> Self {
        Budget {
            started: Instant::now(),
            per_second,
            spent: Mutex::new(0.0),
        }
    }

    async fn spend(&self, units: f64) {
        let wait = {
            let mut spent = self.spent.lock().await;
            *spent += units;
            let due = Duration::from_secs_f64(*spent / self.per_second);
            due.saturating_sub(self.started.elapsed())
        };
        tokio::time::sleep(wait).await;
    }
}

/// Runs the backfill to the end (or the first error), resuming from the checkpoint.
pub async fn run(
    client: &Client,
    tables: &TableNames,
    options: &Options,
    counts: Arc<Counts>,
) -> Result<(), BackfillError> {
    let checkpoint =
        Checkpoint::load_or_new(&options.checkpoint, &tables.events, options.segments)?;
    let checkpoint = Arc::new(Mutex::new(checkpoint));
    let budget = Arc::new(Budget::new(options.max_read_units_per_second));
    let mut tasks = Vec::new();
    for segment in 0..options.segments {
        let client = client.clone();
        let tables = tables.clone();
        let options = options.clone();
        let counts = counts.clone();
        let checkpoint = checkpoint.clone();
        let budget = budget.clone();
        tasks.push(tokio::spawn(async move {
            scan_segment(
                &client,
                &tables,
                &options,
                segment,
                &counts,
                &checkpoint,
                &budget,
            )
            .await
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn scan_segment(
    client: &Client,
    tables: &TableNames,
    options: &Options,
    segment: u32,
    counts: &Counts,
    checkpoint: &Mutex<Checkpoint>,
    budget: &Budget,
) -> Result<(), BackfillError> {
    let index = segment as usize;
    let mut start = {
        let saved = checkpoint
            .lock()
            .await
            .segments
            .get(index)
            .cloned()
            .unwrap_or(Value::Null);
        if saved == "done" {
            return Ok(());
        }
        key_from_json(&saved)
    };
    loop {
        let page = client
            .scan()
            .table_name(&tables.events)
            .segment(segment as i32)
            .total_segments(options.segments as i32)
            .limit(options.page_size)
            .projection_expression(PROJECTION)
            .set_expression_attribute_names(Some(projection_names()))
            .set_exclusive_start_key(start.clone())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| format!("Scan segment {segment}: {}", DisplayErrorContext(e)))?;
        budget
            .spend(
                page.consumed_capacity
                    .and_then(|c| c.capacity_units)
                    .unwrap_or(0.5),
            )
            .await;
        let items = page.items.unwrap_or_default();
        counts
            .scanned
            .fetch_add(items.len() as u64, Ordering::Relaxed);
        let mut entries: Vec<(Item, ViewEntry)> = Vec::new();
        for item in &items {
            match view_entry(item) {
                Ok(Some(entry)) => {
                    let id = item
                        .get("id")
                        .cloned()
                        .unwrap_or(AttributeValue::Null(true));
                    entries.push((HashMap::from([("id".to_string(), id)]), entry));
                }
                Ok(None) => {}
                Err(unreadable) => {
                    counts.unreadable.fetch_add(1, Ordering::Relaxed);
                    eprintln!("\nbackfill: skipped: {unreadable}");
                }
            }
        }
        counts
            .indexed
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        if !options.dry_run && !entries.is_empty() {
            let puts = entries
                .iter()
                .map(|(_, entry)| put(entry.item()))
                .collect::<Result<Vec<_>, _>>()?;
            write(client, &tables.test_events, puts).await?;
            let raced = stale_entries(client, &tables.events, &entries, budget).await?;
            counts
                .raced
                .fetch_add(raced.len() as u64, Ordering::Relaxed);
            let deletes = raced
                .into_iter()
                .map(|entry| delete(entry.key()))
                .collect::<Result<Vec<_>, _>>()?;
            write(client, &tables.test_events, deletes).await?;
        }
        start = page.last_evaluated_key;
        if !options.dry_run {
            let mut saved = checkpoint.lock().await;
            if let Some(slot) = saved.segments.get_mut(index) {
                *slot = start.as_ref().map_or(json!("done"), key_to_json);
            }
            saved.save()?;
        }
        if start.is_none() {
            return Ok(());
        }
    }
}

/// The entries just written whose source, read again consistently, no longer
/// maps to them (flipped to live, changed, or deleted meanwhile).
pub async fn stale_entries(
    client: &Client,
    events_table: &str,
    written: &[(Item, ViewEntry)],
    budget: &Budget,
) -> Result<Vec<ViewEntry>, BackfillError> {
    let mut current: HashMap<String, Option<ViewEntry>> = HashMap::new();
    for chunk in written.chunks(GET_BATCH) {
        let mut keys: Vec<Item> = chunk.iter().map(|(key, _)| key.clone()).collect();
        for attempt in 0..8u32 {
            let output = client
                .batch_get_item()
                .request_items(
                    events_table,
                    KeysAndAttributes::builder()
                        .set_keys(Some(keys.clone()))
                        .consistent_read(true)
                        .projection_expression(PROJECTION)
                        .set_expression_attribute_names(Some(projection_names()))
                        .build()?,
                )
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| format!("BatchGetItem: {}", DisplayErrorContext(e)))?;
            let units: f64 = output
                .consumed_capacity
                .unwrap_or_default()
                .iter()
                .filter_map(|c| c.capacity_units)
                .sum();
            budget.spend(units).await;
            for item in output
                .responses
                .unwrap_or_default()
                .remove(events_table)
                .unwrap_or_default()
            {
                current.insert(id_of(&item), view_entry(&item).ok().flatten());
            }
            keys = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(events_table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if keys.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        if !keys.is_empty() {
            return Err(format!("BatchGetItem kept {} keys unprocessed", keys.len()).into());
        }
    }
    Ok(written
        .iter()
        .filter(|(key, entry)| {
            current
                .get(&id_of(key))
                .and_then(Option::as_ref)
                .is_none_or(|now| now.key() != entry.key())
        })
        .map(|(_, entry)| entry.clone())
        .collect())
}

fn id_of(item: &Item) -> String {
    format!("{:?}", item.get("id"))
}

fn put(item: Item) -> Result<WriteRequest, BackfillError> {
    Ok(WriteRequest::builder()
        .put_request(PutRequest::builder().set_item(Some(item)).build()?)
        .build())
}

fn delete(key: Item) -> Result<WriteRequest, BackfillError> {
    Ok(WriteRequest::builder()
        .delete_request(DeleteRequest::builder().set_key(Some(key)).build()?)
        .build())
}

/// BatchWriteItem in batches of 25, retrying unprocessed items with exponential backoff.
async fn write(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> Result<(), BackfillError> {
    for chunk in requests.chunks(WRITE_BATCH) {
        let mut pending = chunk.to_vec();
        for attempt in 0..10u32 {
            let output = client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| format!("BatchWriteItem {table}: {}", DisplayErrorContext(e)))?;
            pending = output
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
        }
        if !pending.is_empty() {
            return Err(format!("{table} kept {} items unprocessed", pending.len()).into());
        }
    }
    Ok(())
}
