//! The function's table variables (`tracking_status::config::TABLE_VARIABLES`) for the
//! scripts, so that no script lists them:
//!
//!   `table-env PREFIX`                           `NAME=PREFIX<default table name>`, one a
//!                                                line, for the shell's `export`
//!   `table-env --sam-env-vars PREFIX ENDPOINT`   the same as a `sam local --env-vars` file
//!                                                for both functions of template.yaml, with
//!                                                `AWS_ENDPOINT_URL_DYNAMODB=ENDPOINT`
//!
//! PREFIX may be empty (the default names). It may hold only what a DynamoDB table
//! name may (letters, digits, `_`, `-`, `.`), so the lines split into words safely.

use std::process::ExitCode;

use tracking_status::config::TableNames;
use tracking_status_dev::kit::TableList;
use tracking_status_dev::kit::table_env;

const USAGE: &str = "usage: table-env PREFIX | table-env --sam-env-vars PREFIX ENDPOINT";

/// The functions' logical ids in template.yaml (local/template.yaml has the first): SAM
/// applies an `--env-vars` entry to the function of that name, and both read the same
/// table variables (config.rs).
const FUNCTIONS: [&str; 2] = ["TrackingStatusFunction", "TestEventIndexerFunction"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args[..] {
        ["--sam-env-vars", prefix, endpoint] => variables(prefix).map(|variables| {
            let mut function = serde_json::Map::new();
            for (name, value) in variables {
                function.insert(name, value.into());
            }
            function.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.into());
            let file: serde_json::Map<String, serde_json::Value> = FUNCTIONS
                .iter()
                .map(|name| (name.to_string(), function.clone().into()))
                .collect();
            format!("{:#}\n", serde_json::Value::Object(file))
        }),
        [prefix] if !prefix.starts_with("--") => variables(prefix).map(|variables| {
            variables
                .into_iter()
                .map(|(name, value)| format!("{name}={value}\n"))
                .collect()
        }),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("table-env: {message}");
            ExitCode::from(2)
        }
    }
}

fn variables(prefix: &str) -> Result<Vec<(String, String)>, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if let Some(bad) = prefix.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "the prefix {prefix:?} holds {bad:?}: a DynamoDB table name may hold only \
             letters, digits, '_', '-' and '.'"
        ));
    }
    let tables = TableNames::with_prefix(prefix);
    if let Some(long) = tables.all().into_iter().find(|name| name.len() > 255) {
        return Err(format!(
            "the table name {long} is longer than DynamoDB's 255 characters"
        ));
    }
    Ok(table_env(&tables))
}
