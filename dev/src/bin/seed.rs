//! `cargo run --quiet --bin seed -- FIXTURE.json`: creates any missing table and
//! writes the fixture into them, with the same environment as the function.

use std::process::ExitCode;

use tracking_status::config::TableNames;
use tracking_status::sdk::sdk_config_loader;
use tracking_status_dev::fixture;
use tracking_status_dev::load::{ensure_tables, write_fixture};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: seed FIXTURE.json");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
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
    let client = aws_sdk_dynamodb::Client::new(&loader.load().await);
    let tables = TableNames::from_env();
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
