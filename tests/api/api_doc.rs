//! What docs/api.md still says that openapi.yaml (the field-level specification)
//! also holds: the next-step codes of its rules table, with their steps, and the
//! programId rules with their messages. Everything else field-level is only in
//! openapi.yaml; docs/api.md links to it.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::openapi::openapi;

fn api_md() -> String {
    let path = format!("{}/docs/api.md", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

/// The text under `## {heading}`, up to the next `## ` heading.
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("docs/api.md has no section {heading:?}"));
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// The data rows of the first table in `text` whose header row starts with
/// `header`, each as its trimmed cells.
fn table(text: &str, header: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.starts_with(header))
        .unwrap_or_else(|| panic!("no table with the header {header:?}"));
    let rows: Vec<Vec<String>> = lines[at + 2..]
        .iter()
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect();
    assert!(!rows.is_empty(), "the table {header:?} has no rows");
    rows
}

/// The `backticked` names in a cell.
fn names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn strings(values: &Value) -> BTreeSet<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_rules_table_names_the_contracts_next_steps() {
    let document = openapi();
    let doc = api_md();
    let rows = table(
        section(&doc, "Next steps (`include=nextSteps`)"),
        "| step | code |",
    );
    let documented: BTreeSet<(String, String)> = rows
        .iter()
        .map(|row| (row[0].clone(), names(&row[1]).concat()))
        .collect();
    let schemas = &document["components"]["schemas"];
    let contract: BTreeSet<(String, String)> = schemas["NextStep"]["discriminator"]["mapping"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(code, reference)| {
            let name = reference.as_str().unwrap().rsplit('/').next().unwrap();
            let step = &schemas[name]["properties"]["step"]["const"];
            (step.as_str().unwrap().to_string(), code.clone())
        })
        .collect();
    assert_eq!(
        documented, contract,
        "(step, code) of docs/api.md and openapi.yaml"
    );
}

#[test]
fn the_program_id_rules_are_the_contracts() {
    let document = openapi();
    let doc = api_md();
    let rows = table(section(&doc, "programId"), "| rule |");
    let rules: BTreeSet<String> = rows.iter().flat_map(|row| names(&row[0])).collect();
    let messages: BTreeSet<String> = rows.iter().flat_map(|row| names(&row[2])).collect();
    let details = &document["components"]["schemas"]["ProgramIdNotValid"]["properties"]["details"]
        ["properties"];
    assert_eq!(rules, strings(&details["rule"]["enum"]), "the rules");
    assert_eq!(
        messages,
        strings(&details["message"]["enum"]),
        "the messages"
    );
}
