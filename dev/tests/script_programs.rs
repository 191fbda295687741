//! The programs the scripts call instead of restating the project's rules
//! (`events`, `table-env`), run as the scripts run them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tracking_status::config::{TABLE_VARIABLES, TableNames};
use tracking_status_dev::kit::TableList;

fn run(program: &str, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the program runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn events(args: &[&str], stdin: &str) -> Output {
    run(env!("CARGO_BIN_EXE_events"), args, stdin)
}

fn table_env(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_table-env"), args, "")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A fresh directory holding empty files named `files`.
fn dir_with(name: &str, files: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("script-programs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for file in files {
        std::fs::write(dir.join(file), "{}").unwrap();
    }
    dir
}

#[test]
fn events_lists_the_json_files_in_name_order_with_their_status() {
    let dir = dir_with("list", &["rest-404-b.json", "http-200-a.json", "notes.txt"]);
    let dir = dir.to_str().unwrap();
    let output = events(&[dir], "");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!("{dir}/http-200-a.json 200\n{dir}/rest-404-b.json 404\n")
    );
}

#[test]
fn events_refuses_a_file_whose_name_says_no_status() {
    let dir = dir_with("unnamed", &["http-200-a.json", "http-ok-b.json"]);
    let output = events(&[dir.to_str().unwrap()], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("http-ok-b.json is not named {api}-{status}-{case}"),
        "{}",
        stderr(&output)
    );
    assert_eq!(stdout(&output), "", "nothing listed, not a partial list");
}

#[test]
fn events_refuses_a_directory_without_event_files() {
    let dir = dir_with("empty", &["notes.txt"]);
    let output = events(&[dir.to_str().unwrap()], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("holds no *.json event file"));
}

#[test]
fn events_status_code_reads_the_response_sam_and_cargo_lambda_print() {
    // The line `sam local invoke` prints (docs/development.md, "Three ways to call it").
    let sam = r#"{"statusCode": 403, "headers": {"cache-control": "no-store"}, "body": "{}", "isBase64Encoded": false}"#;
    let output = events(&["status-code"], sam);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "403\n");

    // cargo lambda invoke prints it over several lines.
    let output = events(
        &["status-code"],
        "{\n  \"statusCode\": 200,\n  \"body\": \"\"\n}\n",
    );
    assert_eq!(stdout(&output), "200\n");

    for not_a_response in ["Error: connection refused", r#"{"statusCode": "200"}"#, ""] {
        let output = events(&["status-code"], not_a_response);
        assert_eq!(output.status.code(), Some(2), "{not_a_response}");
        assert_eq!(stdout(&output), "", "{not_a_response}");
    }
}

/// What the function reads from the variables `table-env` gives.
fn tables_read_from(variables: &HashMap<String, String>) -> TableNames {
    TableNames::from_lookup(|name| variables.get(name).cloned())
}

#[test]
fn table_env_names_the_tables_the_function_reads() {
    let output = table_env(&["e2e-7-"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let variables: HashMap<String, String> = text
        .lines()
        .map(|line| {
            let (name, value) = line.split_once('=').unwrap();
            (name.to_string(), value.to_string())
        })
        .collect();
    assert_eq!(variables.len(), TABLE_VARIABLES.len(), "{text}");
    assert_eq!(
        tables_read_from(&variables),
        TableNames::with_prefix("e2e-7-")
    );
    // No default was used: each table carries the prefix.
    assert!(
        tables_read_from(&variables)
            .all()
            .iter()
            .all(|table| table.starts_with("e2e-7-"))
    );
}

#[test]
fn table_env_writes_sam_s_env_vars_file_for_both_functions() {
    let output = table_env(&["--sam-env-vars", "", "http://172.17.0.1:8000"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let file: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(file.as_object().unwrap().len(), 2, "{file}");
    for name in ["TrackingStatusFunction", "TestEventIndexerFunction"] {
        let function = file[name].as_object().unwrap();
        let mut variables: HashMap<String, String> = function
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            variables.remove("AWS_ENDPOINT_URL_DYNAMODB").as_deref(),
            Some("http://172.17.0.1:8000")
        );
        assert_eq!(variables.len(), TABLE_VARIABLES.len(), "{name}: {file}");
        assert_eq!(tables_read_from(&variables), TableNames::with_prefix(""));
    }
}

#[test]
fn table_env_refuses_a_prefix_no_table_name_may_hold() {
    let long = "p".repeat(240);
    for prefix in ["two words-", "x$(id)-", "a/b-", long.as_str()] {
        let output = table_env(&[prefix]);
        assert_eq!(output.status.code(), Some(2), "{prefix}");
        assert_eq!(stdout(&output), "", "{prefix}");
    }
    assert!(table_env(&["ok_1.2-"]).status.success());
}
