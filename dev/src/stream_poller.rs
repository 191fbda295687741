//! A stand-in for Lambda's event source mapping on DynamoDB Local's stream: it
//! reads the events table's stream (DescribeStream, GetShardIterator,
//! GetRecords) and hands the records, as the Lambda stream event, to the real
//! `test-event-indexer` binary through the Runtime API stand-in
//! (`runtime_api`).
//!
//! Two ways: `poll` (and `deliver`) retry a batch's `batchItemFailures` from the first
//! one, in order, forever, with every record; `poll_strictly` (and `deliver_strictly`)
//! do what the template's mapping does (`Mapping::from_template`): per shard in order,
//! a parent shard before its children, at most `BatchSize` records, the
//! `FilterCriteria` applied, a failing batch bisected, retries bounded by
//! `MaximumRetryAttempts` and `MaximumRecordAgeInSeconds`, and a batch given up on
//! described to an on-failure callback (the failure queue's stand-in) and skipped.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{Value, json};

use crate::runtime_api::Function;

pub type PollError = Box<dyn std::error::Error + Send + Sync>;

/// How often an idle stream is asked again: a test click shows in the status within
/// about this long plus one invocation.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// GetRecords' page; also the mapping's batch size in template.yaml.
const BATCH_SIZE: i32 = 100;

/// Reads one table's stream, shard by shard, from its oldest record.
pub struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    /// Each shard seen: its next iterator, or None once it is closed and read.
    shards: BTreeMap<String, Option<String>>,
    /// Each shard's parent, when it has one.
    parents: BTreeMap<String, String>,
}

impl StreamReader {
    /// The reader of `table`'s latest stream (the table must have one).
    pub async fn of_table(
        dynamodb: &aws_sdk_dynamodb::Client,
        streams: aws_sdk_dynamodbstreams::Client,
        table: &str,
    ) -> Result<Self, PollError> {
        let described = dynamodb.describe_table().table_name(table).send().await?;
        let stream_arn = described
            .table
            .and_then(|t| t.latest_stream_arn)
            .ok_or_else(|| format!("table {table} has no stream"))?;
        Ok(StreamReader {
            client: streams,
            stream_arn,
            shards: BTreeMap::new(),
            parents: BTreeMap::new(),
        })
    }

    /// The records written since the last call, in stream order within each shard
    /// (as Lambda's event JSON), all shards together.
    pub async fn next_records(&mut self) -> Result<Vec<Value>, PollError> {
        Ok(self
            .next_by_shard()
            .await?
            .into_iter()
            .flat_map(|(_, records)| records)
            .collect())
    }

    /// The records written since the last call, per shard, in stream order; a shard is
    /// read only once its parent is closed and read to its end, as the mapping reads them.
    pub async fn next_by_shard(&mut self) -> Result<Vec<(String, Vec<Value>)>, PollError> {
        let described = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await?;
        for shard in described
            .stream_description
            .and_then(|d| d.shards)
            .unwrap_or_default()
        {
            let Some(id) = shard.shard_id else { continue };
            if let Some(parent) = shard.parent_shard_id {
                self.parents.insert(id.clone(), parent);
            }
            if self.shards.contains_key(&id) {
                continue;
            }
            let iterator = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(&id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await?
                .shard_iterator;
            self.shards.insert(id, iterator);
        }
        let mut batches = Vec::new();
        let ids: Vec<String> = self.shards.keys().cloned().collect();
        for id in ids {
            // A parent still open (seen, with an iterator left) goes first.
            let parent_open = self
                .parents
                .get(&id)
                .and_then(|parent| self.shards.get(parent))
                .is_some_and(Option::is_some);
            if parent_open {
                continue;
            }
            let Some(current) = self.shards.get_mut(&id).and_then(Option::take) else {
                continue;
            };
            let output = self
                .client
                .get_records()
                .shard_iterator(current)
                .limit(BATCH_SIZE)
                .send()
                .await?;
            self.shards.insert(id.clone(), output.next_shard_iterator);
            let records: Vec<Value> = output
                .records
                .unwrap_or_default()
                .iter()
                .map(|record| lambda_record(record, &self.stream_arn))
                .collect();
            if !records.is_empty() {
                batches.push((id, records));
            }
        }
        Ok(batches)
    }
}

/// What the template's event source mapping does with the stream (its properties).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub batch_size: usize,
    /// `FilterCriteria.Filters[].Pattern`: a record reaches the function if one matches.
    pub filters: Vec<Value>,
    pub bisect: bool,
    /// `MaximumRetryAttempts`; None for -1 (no limit).
    pub max_retry_attempts: Option<u32>,
    /// `MaximumRecordAgeInSeconds`; None for -1 (the stream's 24 hours). Measured here from
    /// when the poller first read the batch.
    pub max_record_age: Option<Duration>,
}

/// The mapping's logical id in template.yaml.
pub const MAPPING_RESOURCE: &str = "TestEventIndexerMapping";

impl Mapping {
    /// The mapping of `template` (template.yaml).
    pub fn from_template(template: &Path) -> Result<Self, PollError> {
        let text = std::fs::read_to_string(template)
            .map_err(|error| format!("{}: {error}", template.display()))?;
        let document: serde_norway::Value = serde_norway::from_str(&text)?;
        let properties = &document["Resources"][MAPPING_RESOURCE]["Properties"];
        let number = |name: &str| properties[name].as_i64();
        let limit = |name: &str| number(name).filter(|n| *n >= 0);
        let mut filters = Vec::new();
        for filter in properties["FilterCriteria"]["Filters"]
            .as_sequence()
            .cloned()
            .unwrap_or_default()
        {
            let pattern = filter["Pattern"]
                .as_str()
                .ok_or("a filter without a Pattern string")?;
            let pattern: Value = serde_json::from_str(pattern)?;
            check_pattern(&pattern)?;
            filters.push(pattern);
        }
        Ok(Mapping {
            batch_size: number("BatchSize").ok_or("no BatchSize")? as usize,
            filters,
            bisect: properties["BisectBatchOnFunctionError"].as_bool() == Some(true),
            max_retry_attempts: limit("MaximumRetryAttempts").map(|n| n as u32),
            max_record_age: limit("MaximumRecordAgeInSeconds")
                .map(|n| Duration::from_secs(n as u64)),
        })
    }

    /// Whether the filter lets the record through (no filter: every record).
    pub fn passes(&self, record: &Value) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|p| matches(p, record))
    }

    fn given_up(&self, attempts: u32, first_read: Instant) -> bool {
        self.max_retry_attempts
            .is_some_and(|limit| attempts > limit)
            || self
                .max_record_age
                .is_some_and(|age| first_read.elapsed() > age)
    }
}

/// The pattern syntax this stand-in applies: objects of fields, each ending in a list of
/// exact values. Anything else (prefix, numeric, exists…) is refused, not guessed at.
fn check_pattern(pattern: &Value) -> Result<(), PollError> {
    match pattern {
        Value::Object(fields) => fields.values().try_for_each(check_pattern),
        Value::Array(options) if options.iter().all(|o| !o.is_object() && !o.is_array()) => Ok(()),
        other => Err(format!("a filter pattern this stand-in does not apply: {other}").into()),
    }
}

/// EventBridge-style matching of exact values: every field of the pattern is in the
/// record, and each list's field equals one of its values.
fn matches(pattern: &Value, value: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields
            .iter()
            .all(|(name, inner)| value.get(name).is_some_and(|v| matches(inner, v))),
        Value::Array(options) => options.contains(value),
        other => other == value,
    }
}

/// Hands one shard's new records to the indexer as the mapping does (`Mapping`); a
/// batch given up on is described to `on_failure` (as the failure queue receives it)
/// and skipped. Returns how many invocations it took.
pub async fn deliver_strictly(
    indexer: &mut Function,
    shard: &str,
    records: Vec<Value>,
    mapping: &Mapping,
    retry_delay: Duration,
    on_failure: &mut (dyn FnMut(Value) + Send),
) -> Result<u32, PollError> {
    let passed: Vec<Value> = records.into_iter().filter(|r| mapping.passes(r)).collect();
    let first_read = Instant::now();
    let mut queue: VecDeque<(Vec<Value>, u32)> = passed
        .chunks(mapping.batch_size.max(1))
        .map(|chunk| (chunk.to_vec(), 0))
        .collect();
    let mut invocations = 0;
    while let Some((batch, attempts)) = queue.pop_front() {
        invocations += 1;
        let answer = indexer
            .invoke(&json!({ "Records": batch }).to_string())
            .await;
        let retry: Vec<Vec<Value>> = if answer.error {
            if mapping.bisect && batch.len() > 1 {
                let (first, second) = batch.split_at(batch.len() / 2);
                vec![first.to_vec(), second.to_vec()]
            } else {
                vec![batch]
            }
        } else {
            let response: Value = serde_json::from_str(&answer.body)?;
            let first_failed = response["batchItemFailures"]
                .as_array()
                .and_then(|failures| failures.first())
                .and_then(|failure| failure["itemIdentifier"].as_str())
                .map(str::to_string);
            match first_failed {
                None => vec![],
                Some(first_failed) => {
                    let from = batch
                        .iter()
                        .position(|r| r["dynamodb"]["SequenceNumber"] == first_failed.as_str())
                        .ok_or_else(|| {
                            format!("the indexer reported an unknown record {first_failed}")
                        })?;
                    vec![batch[from..].to_vec()]
                }
            }
        };
        if retry.is_empty() {
            continue;
        }
        if mapping.given_up(attempts + 1, first_read) {
            for batch in retry {
                on_failure(failure_record(shard, &batch, attempts + 1));
            }
            continue;
        }
        for batch in retry.into_iter().rev() {
            queue.push_front((batch, attempts + 1));
        }
        tokio::time::sleep(retry_delay).await;
    }
    Ok(invocations)
}

/// What Lambda sends the on-failure destination of a stream mapping: the batch's range.
fn failure_record(shard: &str, batch: &[Value], attempts: u32) -> Value {
    let sequence = |record: Option<&Value>| {
        record.map_or(Value::Null, |r| r["dynamodb"]["SequenceNumber"].clone())
    };
    json!({
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts},
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": sequence(batch.first()),
            "endSequenceNumber": sequence(batch.last()),
            "batchSize": batch.len(),
            "streamArn": batch.first().map_or(Value::Null, |r| r["eventSourceARN"].clone()),
        },
    })
}

/// Reads the stream and hands each shard's batches to the indexer as the mapping does,
/// forever (or until a call fails).
pub async fn poll_strictly(
    reader: &mut StreamReader,
    indexer: &mut Function,
    mapping: &Mapping,
    interval: Duration,
    on_failure: &mut (dyn FnMut(Value) + Send),
) -> Result<(), PollError> {
    loop {
        let shards = reader.next_by_shard().await?;
        if shards.is_empty() {
            tokio::time::sleep(interval).await;
            continue;
        }
        for (shard, records) in shards {
            deliver_strictly(indexer, &shard, records, mapping, interval, on_failure).await?;
        }
    }
}

/// A stream record as Lambda's DynamoDB event carries it.
pub fn lambda_record(record: &Record, stream_arn: &str) -> Value {
    let image = |image: Option<&std::collections::HashMap<String, _>>| {
        image.map(|image| serde_json::to_value(serde_dynamo::Item::from(image.clone())))
    };
    let change = record.dynamodb.as_ref();
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": change
            .and_then(|c| c.approximate_creation_date_time)
            .map_or(0, |at| at.secs()),
        "SequenceNumber": change.and_then(|c| c.sequence_number.clone()),
        "SizeBytes": change.and_then(|c| c.size_bytes).unwrap_or_default(),
        "StreamViewType": change
            .and_then(|c| c.stream_view_type.as_ref())
            .map(|v| v.as_str().to_string()),
    });
    for (name, value) in [
        ("Keys", image(change.and_then(|c| c.keys.as_ref()))),
        ("NewImage", image(change.and_then(|c| c.new_image.as_ref()))),
        ("OldImage", image(change.and_then(|c| c.old_image.as_ref()))),
    ] {
        if let Some(Ok(value)) = value {
            dynamodb[name] = value;
        }
    }
    json!({
        "eventID": record.event_id,
        "eventName": record.event_name.as_ref().map(|n| n.as_str().to_string()),
        "eventVersion": record.event_version,
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    })
}

/// A stream record in the JSON `lambda_record` gives, built from its images: what the
/// indexer's tests and benchmark hand it. The key is the image's `id`.
pub fn stream_record(sequence: u64, name: &str, old: Option<Value>, new: Option<Value>) -> Value {
    let id = old
        .as_ref()
        .or(new.as_ref())
        .map_or_else(|| json!({"N": "0"}), |image| image["id"].clone());
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": 1_780_000_000,
        "Keys": {"id": id},
        "SequenceNumber": sequence.to_string(),
        "SizeBytes": 120,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if let Some(old) = old {
        dynamodb["OldImage"] = old;
    }
    if let Some(new) = new {
        dynamodb["NewImage"] = new;
    }
    json!({
        "eventID": format!("e{sequence}"), "eventName": name, "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": dynamodb,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/tracking-events/stream/2026-01-01T00:00:00.000",
    })
}

/// Hands `records` to the indexer until none fails: after a failure, the
/// records from the first failed one on are sent again, after `retry_delay`.
/// Returns how many invocations it took.
pub async fn deliver(
    indexer: &mut Function,
    mut records: Vec<Value>,
    retry_delay: Duration,
) -> Result<u32, PollError> {
    let mut invocations = 0;
    while !records.is_empty() {
        invocations += 1;
        let answer = indexer
            .invoke(&json!({ "Records": records }).to_string())
            .await;
        if answer.error {
            return Err(format!("the indexer failed: {}", answer.body).into());
        }
        let response: Value = serde_json::from_str(&answer.body)?;
        let first_failed = response["batchItemFailures"]
            .as_array()
            .and_then(|failures| failures.first())
            .and_then(|failure| failure["itemIdentifier"].as_str())
            .map(str::to_string);
        let Some(first_failed) = first_failed else {
            return Ok(invocations);
        };
        let from = records
            .iter()
            .position(|r| r["dynamodb"]["SequenceNumber"] == first_failed.as_str())
            .ok_or_else(|| format!("the indexer reported an unknown record {first_failed}"))?;
        records.drain(..from);
        tokio::time::sleep(retry_delay).await;
    }
    Ok(invocations)
}

/// Reads the stream and hands each batch to the indexer, forever (or until a call
/// fails); `indexed(records, invocations)` after each batch.
pub async fn poll(
    reader: &mut StreamReader,
    indexer: &mut Function,
    interval: Duration,
    mut indexed: impl FnMut(usize, u32),
) -> Result<(), PollError> {
    loop {
        let records = reader.next_records().await?;
        if records.is_empty() {
            tokio::time::sleep(interval).await;
            continue;
        }
        let count = records.len();
        let invocations = deliver(indexer, records, interval).await?;
        indexed(count, invocations);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")
    }

    #[test]
    fn the_mapping_is_read_from_the_template_and_its_filter_applied() {
        let mapping = Mapping::from_template(&template()).unwrap();
        assert_eq!(mapping.batch_size, 100);
        assert!(mapping.bisect);
        let image = |test: bool, kind: &str| json!({"test": {"BOOL": test}, "type": {"S": kind}, "id": {"N": "1"}});
        let passes = |old: Option<Value>, new: Option<Value>| {
            mapping.passes(&stream_record(1, "MODIFY", old, new))
        };
        assert!(passes(None, Some(image(true, "click"))));
        assert!(passes(
            Some(image(true, "lead")),
            Some(image(false, "lead"))
        ));
        assert!(!passes(None, Some(image(false, "click"))));
        assert!(!passes(
            Some(image(true, "sale")),
            Some(image(true, "sale"))
        ));
        let numeric = json!({"test": {"N": "1"}, "type": {"S": "click"}});
        assert!(!passes(None, Some(numeric)));
    }

    #[test]
    fn a_pattern_it_cannot_apply_is_refused() {
        let pattern: Value =
            serde_json::from_str(r#"{"dynamodb":{"NewImage":{"type":{"S":[{"prefix":"cl"}]}}}}"#)
                .unwrap();
        assert!(check_pattern(&pattern).is_err());
    }
}
