//! A stand-in for Lambda's event source mapping on DynamoDB Local's stream: it
//! reads the events table's stream (DescribeStream, GetShardIterator,
//! GetRecords) and hands the records, as the Lambda stream event, to the real
//! `test-event-indexer` binary through the Runtime API stand-in
//! (`runtime_api`). A batch's `batchItemFailures` are retried from the first
//! one, in order, as the mapping does. There is no FilterCriteria here: every
//! record reaches the indexer, which ignores what the filter would drop.

use std::collections::BTreeMap;
use std::time::Duration;

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
        })
    }

    /// The records written since the last call, in stream order within each shard
    /// (as Lambda's event JSON).
    pub async fn next_records(&mut self) -> Result<Vec<Value>, PollError> {
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
        let mut records = Vec::new();
        for iterator in self.shards.values_mut() {
            let Some(current) = iterator.take() else {
                continue;
            };
            let output = self
                .client
                .get_records()
                .shard_iterator(current)
                .limit(BATCH_SIZE)
                .send()
                .await?;
            *iterator = output.next_shard_iterator;
            records.extend(
                output
                    .records
                    .unwrap_or_default()
                    .iter()
                    .map(|record| lambda_record(record, &self.stream_arn)),
            );
        }
        Ok(records)
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
