//! The event files and their expected statuses, for the scripts that invoke them
//! (scripts/e2e.sh, scripts/sam-local.sh), by the test kit's one naming rule
//! (`tracking_status_dev::kit::status_in_name`):
//!
//!   `events [DIR]`         every `*.json` file of DIR (default: `events`), in name order,
//!                          one `PATH STATUS` line each: STATUS is the status its name says
//!   `events status-code`   the `statusCode` of the Lambda proxy response (JSON) on stdin
//!
//! A file whose name carries no status, or a directory without event files, is an
//! error (exit 2), so a loop over the list cannot quietly check nothing.

use std::io::Read;
use std::process::ExitCode;

use tracking_status_dev::kit::status_in_name;

const USAGE: &str = "usage: events [DIR] | events status-code";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args[..] {
        [] => list("events"),
        ["status-code"] => status_code(),
        [dir] if !dir.starts_with('-') => list(dir),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("events: {message}");
            ExitCode::from(2)
        }
    }
}

fn list(dir: &str) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|error| format!("cannot read {dir}: {error}"))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| format!("cannot read {dir}: {error}"))?;
        if let Some(name) = entry
            .file_name()
            .to_str()
            .and_then(|file| file.strip_suffix(".json"))
        {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        return Err(format!("{dir} holds no *.json event file"));
    }
    names.sort();
    let mut lines = String::new();
    for name in names {
        let status = status_in_name(&name)
            .ok_or_else(|| format!("{dir}/{name}.json is not named {{api}}-{{status}}-{{case}}"))?;
        lines.push_str(&format!("{dir}/{name}.json {status}\n"));
    }
    print!("{lines}");
    Ok(())
}

fn status_code() -> Result<(), String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|error| format!("cannot read stdin: {error}"))?;
    let response: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| format!("not a JSON response ({error}): {}", excerpt(&text)))?;
    let status = response["statusCode"]
        .as_u64()
        .ok_or_else(|| format!("no numeric statusCode in: {}", excerpt(&text)))?;
    println!("{status}");
    Ok(())
}

fn excerpt(text: &str) -> String {
    text.chars().take(300).collect()
}
