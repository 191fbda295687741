//! Creating the tables and writing a fixture into them: the `seed` binary and
//! the integration tests share this code path.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, PutRequest, StreamSpecification, StreamViewType,
    TableStatus, WriteRequest,
};
use serde::Serialize;
use serde_dynamo::aws_sdk_dynamodb_1::to_item;

use crate::kit::TableList;
use test_event_indexer::view::view_entry;
use tracking_status::config::TableNames;
use tracking_status::store::records::Dataset;

use crate::schema::{IndexProjection, KeyAttribute, TableSpec, tables};

type Item = HashMap<String, AttributeValue>;
pub type LoadError = Box<dyn std::error::Error + Send + Sync>;

/// BatchWriteItem takes at most 25 requests.
const BATCH_SIZE: usize = 25;

/// Creates every table of the design that does not exist yet, and waits until all are active.
pub async fn ensure_tables(client: &Client, names: &TableNames) -> Result<(), LoadError> {
    for spec in tables(names) {
        match client.describe_table().table_name(&spec.name).send().await {
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                create_table(client, &spec).await?;
            }
            Err(error) => {
                return Err(format!(
                    "describing table {}: {}",
                    spec.name,
                    DisplayErrorContext(error)
                )
                .into());
            }
        }
    }
    for name in names.all() {
        wait_until_active(client, name).await?;
    }
    Ok(())
}

async fn create_table(client: &Client, spec: &TableSpec) -> Result<(), LoadError> {
    let mut attributes: Vec<KeyAttribute> = Vec::new();
    let mut remember = |attribute: KeyAttribute| {
        if !attributes.iter().any(|a| a.name == attribute.name) {
            attributes.push(attribute);
        }
    };
    remember(spec.partition);
    spec.sort.into_iter().for_each(&mut remember);
    for index in &spec.indexes {
        remember(index.partition);
        index.sort.into_iter().for_each(&mut remember);
    }

    let mut request = client
        .create_table()
        .table_name(&spec.name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(spec.partition, spec.sort)?));
    for attribute in attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute.name)
                .attribute_type(attribute.kind.sdk())
                .build()?,
        );
    }
    if spec.stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()?,
        );
    }
    for index in &spec.indexes {
        let projection = match index.projection {
            IndexProjection::KeysOnly => {
                Projection::builder().projection_type(ProjectionType::KeysOnly)
            }
            IndexProjection::Include(names) => Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(names.iter().map(|n| n.to_string()).collect())),
        };
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(index.partition, index.sort)?))
                .projection(projection.build())
                .build()?,
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        // Another loader created it meanwhile.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(format!(
            "creating table {}: {}",
            spec.name,
            DisplayErrorContext(error)
        )
        .into()),
    }
}

fn key_schema(
    partition: KeyAttribute,
    sort: Option<KeyAttribute>,
) -> Result<Vec<KeySchemaElement>, LoadError> {
    let mut schema = vec![
        KeySchemaElement::builder()
            .attribute_name(partition.name)
            .key_type(KeyType::Hash)
            .build()?,
    ];
    if let Some(sort) = sort {
        schema.push(
            KeySchemaElement::builder()
                .attribute_name(sort.name)
                .key_type(KeyType::Range)
                .build()?,
        );
    }
    Ok(schema)
}

async fn wait_until_active(client: &Client, name: &str) -> Result<(), LoadError> {
    for _ in 0..240 {
        let output = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| format!("describing table {name}: {}", DisplayErrorContext(e)))?;
        let table = output.table;
        let table_active =
            table.as_ref().and_then(|t| t.table_status.clone()) == Some(TableStatus::Active);
        let indexes_active = table
            .and_then(|t| t.global_secondary_indexes)
            .unwrap_or_default()
            .iter()
            .all(|index| {
                index
                    .index_status
                    .as_ref()
                    .is_none_or(|s| s.as_str() == "ACTIVE")
            });
        if table_active && indexes_active {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!("table {name} did not become active within a minute").into())
}

/// Writes every record of a validated fixture, and the test-event view's
/// entries of its events, made by the indexer's own rule (`view_entry`): the
/// events as their writers write them, the view as `test-event-indexer` would
/// leave it. Programs go last: until its program exists the function answers
/// 404, so a load cut short is never read as a program with missing data.
/// Returns how many records were written (view entries are derived, not counted).
pub async fn write_fixture(
    client: &Client,
    names: &TableNames,
    fixture: &Dataset,
) -> Result<usize, LoadError> {
    let events = items(&fixture.events)?;
    let view = view_items(&events)?;
    let groups: [(&str, Vec<Item>, bool); 6] = [
        (&names.advertisers, items(&fixture.advertisers)?, true),
        (&names.memberships, items(&fixture.memberships)?, true),
        (&names.events, events, true),
        (&names.test_events, view, false),
        (
            &names.partner_programs,
            items(&fixture.partner_programs)?,
            true,
        ),
        (&names.programs, items(&fixture.programs)?, true),
    ];
    let mut written = 0;
    for (table, items, counted) in groups {
        for chunk in items.chunks(BATCH_SIZE) {
            write_batch(client, table, chunk).await?;
            if counted {
                written += chunk.len();
            }
        }
    }
    Ok(written)
}

/// The view entries of event items, through the indexer's rule.
pub fn view_items(events: &[Item]) -> Result<Vec<Item>, LoadError> {
    let mut view = Vec::new();
    for event in events {
        if let Some(entry) = view_entry(event)? {
            view.push(entry.item());
        }
    }
    Ok(view)
}

fn items<T: Serialize>(records: &[T]) -> Result<Vec<Item>, LoadError> {
    records.iter().map(|r| Ok(to_item(r)?)).collect()
}

async fn write_batch(client: &Client, table: &str, items: &[Item]) -> Result<(), LoadError> {
    let mut pending: Vec<WriteRequest> = items
        .iter()
        .map(|item| {
            Ok(WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item.clone())).build()?)
                .build())
        })
        .collect::<Result<_, LoadError>>()?;
    for attempt in 0..8u32 {
        let output = client
            .batch_write_item()
            .request_items(table, pending)
            .send()
            .await
            .map_err(|e| {
                let code = e.code().unwrap_or("unknown").to_string();
                format!(
                    "writing to table {table} ({code}): {}",
                    DisplayErrorContext(e)
                )
            })?;
        pending = output
            .unprocessed_items
            .and_then(|mut unprocessed| unprocessed.remove(table))
            .unwrap_or_default();
        if pending.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
    }
    Err(format!("table {table} kept {} items unprocessed", pending.len()).into())
}
