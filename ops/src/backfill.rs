//! The backfill: the view entries of the events already in the table (those
//! written before its stream was on), by the indexer's rule (`view_entry`).
//!
//! A parallel Scan (one task per segment) reads only the attributes the rule
//! needs. For each page with entries to write: the entries go into the
//! checkpoint's `pending` list first; then they are written (BatchWriteItem,
//! unprocessed items retried); then their sources are read again, consistently,
//! and each entry is made what its source maps to now (`reconcile::settle`:
//! deleted if the event is gone or live, moved, or put whole if its content
//! changed, and read again until settled), with no pause between a read and
//! its writes (the read budget is spent after them); then the segment's
//! position is saved and its `pending` list cleared. A run killed or failed
//! anywhere in between resumes by settling its `pending` entries first, then
//! scans from the saved position (the page is done again: the same entries).
//! A change a writer makes after a re-read comes later in the stream than the
//! backfill's write, and the indexer applies it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, PutRequest, ReturnConsumedCapacity, WriteRequest,
};
use serde_json::{Value, json};
use test_event_indexer::view::{Item, ViewEntry, view_entry};

use crate::reconcile::{ROUNDS, decide_held, settle};
use tokio::sync::Mutex;

use crate::{OpsError, Tables};

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
    /// Of `scanned`, those of earlier runs of the same checkpoint (a resumed run).
    pub scanned_before: AtomicU64,
    pub indexed: AtomicU64,
    pub unreadable: AtomicU64,
    /// Entries written and then fixed (deleted, moved or put again) because their
    /// source changed meanwhile.
    pub changed_meanwhile: AtomicU64,
    /// Entries still differing from their events after `ROUNDS` rounds (each printed).
    pub unsettled: AtomicU64,
    /// Sources read again, consistently (a read unit each, for items up to 4 KB).
    pub reread: AtomicU64,
}

/// BatchWriteItem takes at most 25 requests; BatchGetItem 100 keys.
pub(crate) const WRITE_BATCH: usize = 25;
pub(crate) const GET_BATCH: usize = 100;
/// The attributes `view_entry` reads, under placeholders (`type` and `timestamp` are reserved).
pub(crate) const PROJECTION: &str = "id, programId, #type, test, #timestamp, createdAt";

pub(crate) fn projection_names() -> HashMap<String, String> {
    HashMap::from([
        ("#type".to_string(), "type".to_string()),
        ("#timestamp".to_string(), "timestamp".to_string()),
    ])
}

/// The estimate printed before anything is read: an eventually consistent Scan
/// consumes half a read unit per 4 KB, whatever the projection keeps.
pub async fn estimate(client: &Client, table: &str) -> Result<(i64, i64, f64), OpsError> {
    let described = client.describe_table().table_name(table).send().await?;
    let table = described.table.ok_or("DescribeTable returned no table")?;
    let bytes = table.table_size_bytes.unwrap_or_default();
    let items = table.item_count.unwrap_or_default();
    let read_units = (bytes as f64 / 4096.0).ceil() / 2.0;
    Ok((items, bytes, read_units))
}

/// The checkpoint: per segment, the key to resume from (`null` before the first
/// page, `"done"` after the last), and the entries of the page being written
/// (`pending`: `{"id", "entry"}`), which a resumed run settles first.
#[derive(Debug, Clone)]
struct Checkpoint {
    path: PathBuf,
    /// The events table scanned and the view written: a checkpoint is of one pair.
    tables: Tables,
    segments: Vec<Value>,
    pending: Vec<Vec<Value>>,
    /// Items scanned by the runs of this checkpoint so far.
    scanned: u64,
}

impl Checkpoint {
    fn new(path: &Path, tables: &Tables, segments: u32) -> Self {
        Checkpoint {
            path: path.to_path_buf(),
            tables: tables.clone(),
            segments: vec![Value::Null; segments as usize],
            pending: vec![Vec::new(); segments as usize],
            scanned: 0,
        }
    }

    fn load_or_new(path: &Path, tables: &Tables, segments: u32) -> Result<Self, OpsError> {
        let fresh = Checkpoint::new(path, tables, segments);
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(fresh);
        };
        let saved: Value = serde_json::from_str(&text)?;
        let saved_table = |role: &str| {
            saved
                .get("tables")
                .and_then(|t| t.get(role))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (saved_events, saved_view) = (saved_table("events"), saved_table("view"));
        let saved_segments = saved
            .get("segments")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if saved_events != tables.events
            || saved_view != tables.test_events
            || saved_segments.len() != segments as usize
        {
            return Err(format!(
                "{} is the checkpoint of another run (events {saved_events:?}, view \
                 {saved_view:?}, {} segments): remove it, or run with its tables and --segments",
                path.display(),
                saved_segments.len()
            )
            .into());
        }
        let pending = (0..segments as usize)
            .map(|i| {
                saved
                    .get("pending")
                    .and_then(|p| p.get(i))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        Ok(Checkpoint {
            segments: saved_segments,
            pending,
            scanned: saved.get("scanned").and_then(Value::as_u64).unwrap_or(0),
            ..fresh
        })
    }

    /// Every segment scanned to its end, nothing pending.
    fn finished(&self) -> bool {
        self.segments.iter().all(|s| s == "done") && self.pending.iter().all(Vec::is_empty)
    }

    /// Written to a temporary file and renamed: a kill never leaves half a checkpoint.
    fn save(&self) -> Result<(), OpsError> {
        let text = json!({
            "tables": {"events": self.tables.events, "view": self.tables.test_events},
            "segments": self.segments,
            "pending": self.pending,
            "scanned": self.scanned,
        })
        .to_string();
        let temporary = self.path.with_extension("tmp");
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, &self.path)?;
        Ok(())
    }
}

/// Whether the checkpoint at `path` (of these tables and segment count) says the
/// backfill is finished.
pub fn finished(path: &Path, tables: &Tables, segments: u32) -> Result<bool, OpsError> {
    Ok(Checkpoint::load_or_new(path, tables, segments)?.finished())
}

fn item_to_json(item: &Item) -> Value {
    serde_json::to_value(serde_dynamo::Item::from(item.clone())).unwrap_or(Value::Null)
}

fn item_from_json(value: &Value) -> Option<Item> {
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

    pub(crate) async fn spend(&self, units: f64) {
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
    tables: &Tables,
    options: &Options,
    counts: Arc<Counts>,
) -> Result<(), OpsError> {
    // A dry run writes nothing, so it starts from nothing too: not from a real run's checkpoint.
    let checkpoint = if options.dry_run {
        Checkpoint::new(&options.checkpoint, tables, options.segments)
    } else {
        Checkpoint::load_or_new(&options.checkpoint, tables, options.segments)?
    };
    counts
        .scanned_before
        .store(checkpoint.scanned, Ordering::Relaxed);
    counts
        .scanned
        .fetch_add(checkpoint.scanned, Ordering::Relaxed);
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
    tables: &Tables,
    options: &Options,
    segment: u32,
    counts: &Counts,
    checkpoint: &Mutex<Checkpoint>,
    budget: &Budget,
) -> Result<(), OpsError> {
    let index = segment as usize;
    let (saved, pending) = {
        let saved = checkpoint.lock().await;
        (
            saved.segments.get(index).cloned().unwrap_or(Value::Null),
            saved.pending.get(index).cloned().unwrap_or_default(),
        )
    };
    // A run stopped between a page's writes and their settling: settle them first.
    if !pending.is_empty() {
        // An entry that does not parse is a checkpoint edited or damaged: refused, not
        // dropped (its entry may be in the view, unsettled).
        let held = pending
            .iter()
            .map(|p| {
                match (
                    p.get("id").and_then(attribute_from_json),
                    item_from_json(&p["entry"]),
                ) {
                    (Some(id), Some(entry)) => Ok((id, Some(entry))),
                    _ => Err(format!(
                        "the checkpoint's pending entry {p} of segment {segment} is not \
                         {{\"id\", \"entry\"}} in DynamoDB JSON: the checkpoint is damaged"
                    )),
                }
            })
            .collect::<Result<Vec<(AttributeValue, Option<Item>)>, String>>()?;
        settle_written(client, tables, &held, counts, budget).await?;
        let mut saved = checkpoint.lock().await;
        if let Some(slot) = saved.pending.get_mut(index) {
            slot.clear();
        }
        saved.save()?;
    }
    if saved == "done" {
        return Ok(());
    }
    let mut start = item_from_json(&saved);
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
        let mut entries: Vec<(AttributeValue, ViewEntry)> = Vec::new();
        for item in &items {
            match view_entry(item) {
                Ok(Some(entry)) => {
                    let id = item
                        .get("id")
                        .cloned()
                        .unwrap_or(AttributeValue::Null(true));
                    entries.push((id, entry));
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
            // 1. What this page writes is in the checkpoint before it is written.
            {
                let mut saved = checkpoint.lock().await;
                if let Some(slot) = saved.pending.get_mut(index) {
                    *slot = entries
                        .iter()
                        .map(|(id, entry)| {
                            json!({"id": attribute_to_json(id), "entry": item_to_json(&entry.item())})
                        })
                        .collect();
                }
                saved.save()?;
            }
            // 2. The writes.
            let puts = entries
                .iter()
                .map(|(_, entry)| put(entry.item()))
                .collect::<Result<Vec<_>, _>>()?;
            write(client, &tables.test_events, puts).await?;
            // 3. Each entry made what its source maps to now.
            let held: Vec<(AttributeValue, Option<Item>)> = entries
                .iter()
                .map(|(id, entry)| (id.clone(), Some(entry.item())))
                .collect();
            settle_written(client, tables, &held, counts, budget).await?;
        }
        start = page.last_evaluated_key;
        if !options.dry_run {
            let mut saved = checkpoint.lock().await;
            if let Some(slot) = saved.segments.get_mut(index) {
                *slot = start.as_ref().map_or(json!("done"), item_to_json);
            }
            if let Some(slot) = saved.pending.get_mut(index) {
                slot.clear();
            }
            saved.scanned += items.len() as u64;
            saved.save()?;
        }
        if start.is_none() {
            return Ok(());
        }
    }
}

/// The entries written (`held`: source id, entry) made what their sources map to now;
/// the read budget is spent after the writes, never between a read and its writes.
async fn settle_written(
    client: &Client,
    tables: &Tables,
    held: &[(AttributeValue, Option<Item>)],
    counts: &Counts,
    budget: &Budget,
) -> Result<(), OpsError> {
    let reads = crate::reconcile::Counts::default();
    let (fixes, mut units) = decide_held(client, tables, held, &reads).await?;
    counts
        .changed_meanwhile
        .fetch_add(fixes.len() as u64, Ordering::Relaxed);
    let settled = settle(client, tables, fixes, &reads, ROUNDS).await?;
    units += settled.units;
    for (_, fix) in &settled.open {
        eprintln!(
            "\nbackfill: not settled after {ROUNDS} rounds (its event kept changing): {} {}",
            fix.kind(),
            fix.shown_key()
        );
    }
    counts
        .unsettled
        .fetch_add(settled.open.len() as u64, Ordering::Relaxed);
    counts.reread.fetch_add(
        reads.sources_read.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    budget.spend(units).await;
    Ok(())
}

fn attribute_to_json(value: &AttributeValue) -> Value {
    item_to_json(&HashMap::from([("v".to_string(), value.clone())]))["v"].clone()
}

fn attribute_from_json(value: &Value) -> Option<AttributeValue> {
    item_from_json(&json!({ "v": value }))?.remove("v")
}

pub(crate) fn put(item: Item) -> Result<WriteRequest, OpsError> {
    Ok(WriteRequest::builder()
        .put_request(PutRequest::builder().set_item(Some(item)).build()?)
        .build())
}

pub(crate) fn delete(key: Item) -> Result<WriteRequest, OpsError> {
    Ok(WriteRequest::builder()
        .delete_request(DeleteRequest::builder().set_key(Some(key)).build()?)
        .build())
}

/// BatchWriteItem in batches of 25, retrying unprocessed items with exponential backoff.
pub(crate) async fn write(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> Result<(), OpsError> {
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
