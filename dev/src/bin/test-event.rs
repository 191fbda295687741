//! `test-event click|lead PROGRAM_ID`: writes one test event into the events table
//! (`EVENTS_TABLE` at `AWS_ENDPOINT_URL_DYNAMODB`, which must be on this machine:
//! `tracking_status_dev::seed_guard`) with only the attributes the tracker writes, as
//! a test click or lead arrives: the id is the current time in milliseconds,
//! `timestamp` and `createdAt` the current time. The view is not written: the stream
//! poller and `test-event-indexer` put it there (`scripts/run-local.sh`, with or
//! without `--api`), so the status shows it a moment later. Prints the event.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use tracking_status::config::TableNames;
use tracking_status::domain::Timestamp;
use tracking_status::sdk::sdk_config_loader;
use tracking_status_dev::seed_guard;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (event_type, program_id) = match &args[..] {
        [kind, program] if (kind == "click" || kind == "lead") => match program.parse::<u64>() {
            Ok(program_id) if program_id > 0 => (kind.clone(), program_id),
            _ => return usage(),
        },
        _ => return usage(),
    };
    let endpoint = seed_guard::endpoint_from(|name| std::env::var(name).ok());
    let url = match (&endpoint, seed_guard::check(endpoint.as_ref())) {
        (Some(endpoint), Ok(_)) => endpoint.url.clone(),
        (_, Err(refusal)) => {
            eprintln!("test-event: {refusal}");
            return ExitCode::from(2);
        }
        (None, Ok(_)) => {
            eprintln!("test-event: AWS_ENDPOINT_URL_DYNAMODB is not set");
            return ExitCode::from(2);
        }
    };
    let loader = match sdk_config_loader() {
        Ok(loader) => loader,
        Err(error) => {
            eprintln!("test-event: {error}");
            return ExitCode::FAILURE;
        }
    };
    let client = aws_sdk_dynamodb::Client::new(&loader.endpoint_url(url).load().await);
    let tables = TableNames::from_env();
    let id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    let now = Timestamp::now().to_string();
    let written = client
        .put_item()
        .table_name(&tables.events)
        .item("id", AttributeValue::N(id.to_string()))
        .item("programId", AttributeValue::N(program_id.to_string()))
        .item("type", AttributeValue::S(event_type.clone()))
        .item("test", AttributeValue::Bool(true))
        .item("timestamp", AttributeValue::S(now.clone()))
        .item("createdAt", AttributeValue::S(now.clone()))
        .send()
        .await;
    match written {
        Ok(_) => {
            println!(
                "test {event_type} {id} of program {program_id}, createdAt {now}, written to {}",
                tables.events
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "test-event: writing to {}: {}",
                tables.events,
                aws_sdk_dynamodb::error::DisplayErrorContext(&error)
            );
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: test-event click|lead PROGRAM_ID");
    ExitCode::from(2)
}
