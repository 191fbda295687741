//! `test-event-indexer`: keeps the test-event view from the events table's
//! DynamoDB stream (`NEW_AND_OLD_IMAGES`), so that the events' writers write
//! only what they write today.
//!
//! A record's effect on the view is a pure function of its two images
//! (`plan`): the old image's entry goes if the new one does not have the same
//! key, the new image's entry is written. Both writes are idempotent (a
//! DeleteItem of a missing key, a PutItem of the same item), so a replayed batch
//! or a record delivered twice leaves the view as it was. Records are applied in
//! stream order, one at a time: a stream shard orders an item's changes, and
//! after a failed write the record and every later one of the batch are reported
//! (`batchItemFailures`), so Lambda retries them in the same order and no later
//! image is ever overtaken by an earlier one.

use std::future::Future;

pub mod view;

use aws_lambda_events::event::dynamodb::{Event, EventRecord, StreamViewType};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use tracking_status::telemetry::Metrics;
use view::{Item, Unreadable, ViewEntry, view_entry};

/// The indexer's metric: the test events left out of the view because they cannot be read.
pub const UNREADABLE_COUNT: &str = "unreadable_test_events";

/// Its EMF record, without dimensions (`UnreadableTestEventsAlarm` in template.yaml reads it):
/// the ERROR line of each unreadable test event.
pub const UNREADABLE_METRICS: Metrics = Metrics {
    target: "test_event_indexer::unreadable",
    dimensions: &[],
    metrics: &[(UNREADABLE_COUNT, "Count")],
};

/// One write to the view.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// DeleteItem of this view key.
    Delete(Item),
    /// PutItem of this view entry.
    Put(Item),
}

/// What one stream record does to the view.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// In order: a delete of the old entry before the put of the new one.
    pub changes: Vec<Change>,
    /// The new image is a test click or lead that cannot be read: skipped.
    pub unreadable: Option<Unreadable>,
}

/// The writes that make the view hold the record's new image instead of its old one.
///
/// An unreadable old image was never in the view, so it has nothing to delete
/// (and was reported when it was written). A REMOVE has no new image.
pub fn plan(record: &EventRecord) -> Plan {
    let old = entry_of(&record.change.old_image).ok().flatten();
    let new = if record.event_name == "REMOVE" {
        Ok(None)
    } else {
        entry_of(&record.change.new_image)
    };
    let mut plan = Plan::default();
    let new = match new {
        Ok(new) => new,
        Err(unreadable) => {
            plan.unreadable = Some(unreadable);
            None
        }
    };
    if let Some(old) = old
        && new.as_ref().is_none_or(|new| new.key() != old.key())
    {
        plan.changes.push(Change::Delete(old.key()));
    }
    if let Some(new) = new {
        plan.changes.push(Change::Put(new.item()));
    }
    plan
}

fn entry_of(image: &serde_dynamo::Item) -> Result<Option<ViewEntry>, Unreadable> {
    if image.is_empty() {
        return Ok(None);
    }
    let item: Item = image.clone().into();
    view_entry(&item)
}

/// Why a batch must not be indexed at all: a record of a stream whose view type is not
/// `NEW_AND_OLD_IMAGES`. With `NEW_IMAGE` the indexer would never delete an entry (no old
/// image), with `KEYS_ONLY` never see an event: the view would go wrong without a word.
/// The function refuses such a batch as an error (an ERROR line, and Lambda's `Errors`
/// metric, which `IndexerErrorsAlarm` watches): the mapping retries it, then gives up to
/// the failure queue, whose alarm fires too.
pub fn refusal(event: &Event) -> Option<String> {
    event
        .records
        .iter()
        .find_map(|record| match &record.change.stream_view_type {
            Some(StreamViewType::NewAndOldImages) => None,
            other => Some(format!(
                "record {} comes from a stream of view type {}, not NEW_AND_OLD_IMAGES ({}): \
                 the view cannot be kept from it; re-create the stream with both images \
                 (docs/operations.md, \"Adopting existing tables\")",
                record.change.sequence_number.as_deref().unwrap_or("?"),
                other
                    .as_ref()
                    .map_or("(none)".to_string(), ToString::to_string),
                record.event_source_arn.as_deref().unwrap_or("?"),
            )),
        })
}

/// A view write that failed; the record is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError(pub String);

/// The view table's two writes.
pub trait View {
    fn apply(&self, change: &Change) -> impl Future<Output = Result<(), WriteError>>;
}

/// The view table through the SDK, with the SDK's retries: what still fails is
/// reported to Lambda, which retries the record. The function's (`main.rs`) and
/// the adoption rehearsal's (`tracking-ops`'s tests) one writer.
pub struct DynamoView {
    pub client: Client,
    pub table: String,
}

impl View for DynamoView {
    async fn apply(&self, change: &Change) -> Result<(), WriteError> {
        let operation = match change {
            Change::Delete(_) => "DeleteItem",
            Change::Put(_) => "PutItem",
        };
        let failed = |cause: String| WriteError(format!("{operation} {}: {cause}", self.table));
        match change {
            Change::Delete(key) => self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .send()
                .await
                .map(|_| ())
                .map_err(|error| failed(DisplayErrorContext(error).to_string())),
            Change::Put(item) => self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .send()
                .await
                .map(|_| ())
                .map_err(|error| failed(DisplayErrorContext(error).to_string())),
        }
    }
}

/// Applies a batch in order and answers which records Lambda must retry: the
/// first one whose write failed and every one after it (their writes are not
/// attempted, so that an item's changes are never applied out of order).
pub async fn index_batch(event: &Event, view: &impl View) -> DynamoDbEventResponse {
    index_batch_until(event, view, || false).await
}

/// `index_batch`, taking no new record once `out_of_time()` says so: the record it
/// would have started and every later one are reported, as after a failed write, so
/// the invocation ends before its timeout with the progress made kept (a timeout
/// would throw it away, and the mapping would bisect and re-run the batch).
pub async fn index_batch_until(
    event: &Event,
    view: &impl View,
    out_of_time: impl Fn() -> bool,
) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let mut failed = false;
    for record in &event.records {
        if !failed && out_of_time() {
            tracing::warn!(
                sequence_number = record.change.sequence_number.as_deref().unwrap_or(""),
                "out of time: this record and the rest of the batch are retried"
            );
            failed = true;
        }
        if !failed {
            let plan = plan(record);
            if let Some(unreadable) = &plan.unreadable {
                // One line per skipped event: the key and the field, and the metric's count.
                tracing::error!(
                    target: UNREADABLE_METRICS.target,
                    key = %unreadable.key,
                    field = unreadable.field,
                    problem = %unreadable.problem,
                    sequence_number = record.change.sequence_number.as_deref().unwrap_or(""),
                    { UNREADABLE_COUNT } = 1u64,
                    "an unreadable test event is left out of the view"
                );
            }
            for change in &plan.changes {
                if let Err(WriteError(cause)) = view.apply(change).await {
                    tracing::warn!(
                        cause = %cause,
                        sequence_number = record.change.sequence_number.as_deref().unwrap_or(""),
                        "a view write failed: this record and the rest of the batch are retried"
                    );
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use aws_sdk_dynamodb::types::AttributeValue;
    use serde_json::{Value, json};

    use super::*;
    use tracking_status_dev::stream_poller::stream_record as record;

    fn image(id: u64, program: u64, kind: &str, test: bool, created_at: &str) -> Value {
        json!({
            "id": {"N": id.to_string()},
            "programId": {"N": program.to_string()},
            "type": {"S": kind},
            "test": {"BOOL": test},
            "timestamp": {"S": "2026-06-07T10:00:00Z"},
            "createdAt": {"S": created_at},
        })
    }

    const AT: &str = "2026-06-07T10:00:00Z";

    fn parse(record: Value) -> EventRecord {
        serde_json::from_value(record).unwrap()
    }

    fn key_of(change: &Change) -> (String, String) {
        let item = match change {
            Change::Delete(item) | Change::Put(item) => item,
        };
        let text = |name: &str| match &item[name] {
            AttributeValue::S(text) => text.clone(),
            other => panic!("{other:?}"),
        };
        (text("programType"), text("order"))
    }

    fn kinds(plan: &Plan) -> Vec<(&'static str, String)> {
        plan.changes
            .iter()
            .map(|change| {
                let (partition, _) = key_of(change);
                match change {
                    Change::Delete(_) => ("delete", partition),
                    Change::Put(_) => ("put", partition),
                }
            })
            .collect()
    }

    #[test]
    fn every_transition_becomes_the_writes_that_leave_the_view_as_if_written_so() {
        let click = image(1, 42, "click", true, AT);
        let cases = [
            (
                "insert test click",
                "INSERT",
                None,
                Some(click.clone()),
                vec![("put", "42#click")],
            ),
            (
                "insert test lead",
                "INSERT",
                None,
                Some(image(1, 42, "lead", true, AT)),
                vec![("put", "42#lead")],
            ),
            (
                "insert live click",
                "INSERT",
                None,
                Some(image(1, 42, "click", false, AT)),
                vec![],
            ),
            (
                "insert other type",
                "INSERT",
                None,
                Some(image(1, 42, "sale", true, AT)),
                vec![],
            ),
            (
                "test -> live",
                "MODIFY",
                Some(click.clone()),
                Some(image(1, 42, "click", false, AT)),
                vec![("delete", "42#click")],
            ),
            (
                "live -> test",
                "MODIFY",
                Some(image(1, 42, "click", false, AT)),
                Some(click.clone()),
                vec![("put", "42#click")],
            ),
            (
                "type change",
                "MODIFY",
                Some(click.clone()),
                Some(image(1, 42, "lead", true, AT)),
                vec![("delete", "42#click"), ("put", "42#lead")],
            ),
            (
                "programId change",
                "MODIFY",
                Some(click.clone()),
                Some(image(1, 43, "click", true, AT)),
                vec![("delete", "42#click"), ("put", "43#click")],
            ),
            (
                "createdAt change",
                "MODIFY",
                Some(click.clone()),
                Some(image(1, 42, "click", true, "2026-06-08T10:00:00Z")),
                vec![("delete", "42#click"), ("put", "42#click")],
            ),
            (
                "timestamp only",
                "MODIFY",
                Some(click.clone()),
                Some({
                    let mut i = click.clone();
                    i["timestamp"] = json!({"S": "2026-06-09T00:00:00Z"});
                    i
                }),
                vec![("put", "42#click")],
            ),
            (
                "remove",
                "REMOVE",
                Some(click.clone()),
                None,
                vec![("delete", "42#click")],
            ),
            (
                "remove live",
                "REMOVE",
                Some(image(1, 42, "click", false, AT)),
                None,
                vec![],
            ),
        ];
        for (name, event, old, new, expected) in cases {
            let plan = plan(&parse(record(1, event, old, new)));
            let expected: Vec<(&str, String)> = expected
                .into_iter()
                .map(|(k, p)| (k, p.to_string()))
                .collect();
            assert_eq!(kinds(&plan), expected, "{name}");
            assert_eq!(plan.unreadable, None, "{name}");
        }
    }

    #[test]
    fn a_batch_from_a_stream_without_both_images_is_refused() {
        let both = batch(history());
        assert_eq!(refusal(&both), None);
        for view_type in ["NEW_IMAGE", "KEYS_ONLY", "OLD_IMAGE"] {
            let mut records = history();
            records[2]["dynamodb"]["StreamViewType"] = json!(view_type);
            let reason = refusal(&batch(records)).unwrap();
            assert!(
                reason.contains(&format!(
                    "record 300 comes from a stream of view type {view_type}"
                )),
                "{reason}"
            );
        }
    }

    #[test]
    fn a_created_at_change_moves_the_entry_within_its_partition() {
        let plan = plan(&parse(record(
            1,
            "MODIFY",
            Some(image(1, 42, "click", true, AT)),
            Some(image(1, 42, "click", true, "2026-06-08T10:00:00Z")),
        )));
        let orders: Vec<String> = plan.changes.iter().map(|c| key_of(c).1).collect();
        assert_eq!(
            orders,
            [
                "2026-06-07T10:00:00.000Z#00000000000000000001",
                "2026-06-08T10:00:00.000Z#00000000000000000001"
            ]
        );
    }

    #[test]
    fn an_unreadable_new_image_is_skipped_and_named_but_its_old_entry_still_goes() {
        let plan = plan(&parse(record(
            1,
            "MODIFY",
            Some(image(1, 42, "click", true, AT)),
            Some(image(1, 42, "click", true, "not a time")),
        )));
        assert_eq!(kinds(&plan), [("delete", "42#click".to_string())]);
        let unreadable = plan.unreadable.unwrap();
        assert_eq!(
            (unreadable.key.as_str(), unreadable.field),
            ("id=1", "createdAt")
        );
    }

    /// A fake view: the table as a map, and the write that fails (by its position).
    #[derive(Default)]
    struct FakeView {
        table: RefCell<std::collections::BTreeMap<(String, String), Item>>,
        writes: RefCell<usize>,
        fail_at: Option<usize>,
    }

    impl View for FakeView {
        async fn apply(&self, change: &Change) -> Result<(), WriteError> {
            let n = *self.writes.borrow();
            *self.writes.borrow_mut() += 1;
            if self.fail_at == Some(n) {
                return Err(WriteError("ProvisionedThroughputExceededException".into()));
            }
            let key = key_of(change);
            match change {
                Change::Delete(_) => self.table.borrow_mut().remove(&key),
                Change::Put(item) => self.table.borrow_mut().insert(key, item.clone()),
            };
            Ok(())
        }
    }

    fn batch(records: Vec<Value>) -> Event {
        serde_json::from_value(json!({ "Records": records })).unwrap()
    }

    fn history() -> Vec<Value> {
        vec![
            record(100, "INSERT", None, Some(image(1, 42, "click", true, AT))),
            record(200, "INSERT", None, Some(image(2, 42, "lead", true, AT))),
            record(
                300,
                "MODIFY",
                Some(image(1, 42, "click", true, AT)),
                Some(image(1, 42, "click", false, AT)),
            ),
            record(
                400,
                "MODIFY",
                Some(image(2, 42, "lead", true, AT)),
                Some(image(2, 43, "lead", true, AT)),
            ),
        ]
    }

    fn run(view: &FakeView, event: &Event) -> Vec<String> {
        let response = futures_lite(index_batch(event, view));
        response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier.unwrap())
            .collect()
    }

    /// The fake view never waits: one poll of a current-thread runtime is enough.
    fn futures_lite<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_replayed_batch_and_a_record_delivered_twice_leave_the_same_view() {
        let once = FakeView::default();
        assert!(run(&once, &batch(history())).is_empty());
        let keys: Vec<_> = once.table.borrow().keys().cloned().collect();
        assert_eq!(
            keys,
            [(
                "43#lead".to_string(),
                "2026-06-07T10:00:00.000Z#00000000000000000002".to_string()
            )]
        );

        let replayed = FakeView::default();
        run(&replayed, &batch(history()));
        run(&replayed, &batch(history()));
        let mut twice = history();
        twice.insert(3, history()[2].clone());
        run(&replayed, &batch(twice));
        assert_eq!(*replayed.table.borrow(), *once.table.borrow());
    }

    #[test]
    fn out_of_time_it_takes_no_new_record_and_reports_the_rest() {
        let view = FakeView::default();
        let started = std::cell::Cell::new(0);
        let response = futures_lite(index_batch_until(&batch(history()), &view, || {
            started.set(started.get() + 1);
            started.get() > 2
        }));
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier.unwrap())
            .collect();
        assert_eq!(failed, ["300", "400"]);
        assert_eq!(*view.writes.borrow(), 2, "the first two records' puts only");
    }

    #[test]
    fn a_failed_write_reports_its_record_and_every_later_one_and_writes_none_of_them() {
        // Writes: 100 put, 200 put, 300 delete (fails).
        let view = FakeView {
            fail_at: Some(2),
            ..FakeView::default()
        };
        assert_eq!(run(&view, &batch(history())), ["300", "400"]);
        assert_eq!(
            *view.writes.borrow(),
            3,
            "nothing after the failure is attempted"
        );
        // Lambda retries from 300: the view ends as if nothing had failed.
        let retry = FakeView {
            table: RefCell::new(view.table.take()),
            ..FakeView::default()
        };
        assert!(run(&retry, &batch(history().split_off(2))).is_empty());
        let once = FakeView::default();
        run(&once, &batch(history()));
        assert_eq!(*retry.table.borrow(), *once.table.borrow());
    }
}
