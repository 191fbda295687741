//! `cargo run --quiet --bin seed -- [--allow-remote-endpoint] FIXTURE.json`: creates
//! any missing table and writes the fixture into them, with the same environment as
//! the function. It writes only to DynamoDB Local on this machine unless told
//! otherwise (`tracking_status_dev::seed_guard`).

use std::process::ExitCode;

use tracking_status::config::TableNames;
use tracking_status::sdk::sdk_config_loader;
use tracking_status_dev::fixture;
use tracking_status_dev::kit::TableList;
use tracking_status_dev::load::{ensure_tables, write_fixture};
use tracking_status_dev::seed_guard::{self, ALLOW_REMOTE_FLAG};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let allow_remote = args.iter().any(|arg| arg == ALLOW_REMOTE_FLAG);
    let rest: Vec<&String> = args
        .iter()
        .filter(|arg| *arg != ALLOW_REMOTE_FLAG)
        .collect();
    // A misspelt flag is a second argument: a usage error, not a silent default.
    let [path] = rest[..] else {
        eprintln!("usage: seed [{ALLOW_REMOTE_FLAG}] FIXTURE.json");
        return ExitCode::from(2);
    };

    // Decided first, before the configuration is loaded: loading it may already
    // reach the network (the instance metadata service, for the region).
    let endpoint = seed_guard::endpoint_from(|name| std::env::var(name).ok());
    let verdict = seed_guard::check(endpoint.as_ref());
    if let Err(refusal) = &verdict
        && !allow_remote
    {
        eprintln!("seed: {refusal}");
        return ExitCode::from(2);
    }

    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("seed: cannot read {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Validate everything before the first write, so a bad file writes nothing.
    let fixture = match fixture::parse(&text) {
        Ok(fixture) => fixture,
        Err(error) => {
            eprintln!("seed: {path}: {error}; nothing was written");
            return ExitCode::FAILURE;
        }
    };

    let loader = match sdk_config_loader() {
        Ok(loader) => loader,
        Err(error) => {
            eprintln!("seed: {error}; nothing was written");
            return ExitCode::FAILURE;
        }
    };
    let sdk_config = loader.load().await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&sdk_config);
    if let Some(endpoint) = &endpoint {
        // Exactly the endpoint checked above, whatever else the SDK would have read.
        config = config.endpoint_url(&endpoint.url);
    }
    let client = aws_sdk_dynamodb::Client::from_conf(config.build());
    let tables = TableNames::from_env();
    if verdict.is_err() {
        let target = match &endpoint {
            Some(endpoint) => format!("{} ({})", endpoint.url, endpoint.variable),
            None => match sdk_config.endpoint_url() {
                Some(url) => format!("{url} (from the AWS configuration)"),
                None => "the SDK's default DynamoDB endpoint (AWS's own, unless a profile sets endpoint_url)"
                    .to_owned(),
            },
        };
        let region = sdk_config
            .region()
            .map_or("(none)".to_owned(), ToString::to_string);
        eprintln!(
            "seed: WARNING: {ALLOW_REMOTE_FLAG}: writing to {target}, region {region}, tables {}",
            tables.all().join(", ")
        );
    }
    if let Err(error) = ensure_tables(&client, &tables).await {
        eprintln!("seed: {error}");
        return ExitCode::FAILURE;
    }
    match write_fixture(&client, &tables, &fixture).await {
        Ok(count) => {
            eprintln!("seed: wrote {count} records from {path}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("seed: {error}");
            ExitCode::FAILURE
        }
    }
}
