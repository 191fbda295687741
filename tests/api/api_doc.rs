//! docs/api.md (the specification people read) and openapi.yaml (its
//! machine-readable twin) say the same where both say it: the error statuses and
//! their names, every field of the status document and of its parts, and the
//! next-step codes. The handler's answers are held to openapi.yaml by
//! `openapi.rs`, so a field or status added to one side only fails here.

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

fn schema<'a>(document: &'a Value, name: &str) -> &'a Value {
    let schema = &document["components"]["schemas"][name];
    assert!(schema.is_object(), "openapi.yaml has no schema {name}");
    schema
}

fn property_names(schema: &Value) -> BTreeSet<String> {
    schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// The dotted paths of an object schema's fields, down through inline objects
/// and stopping at a `$ref` or a non-object: the way docs/api.md lists them.
fn field_paths(schema: &Value, prefix: &str, paths: &mut BTreeSet<String>) {
    for (name, property) in schema["properties"].as_object().unwrap() {
        let path = format!("{prefix}{name}");
        if property.get("properties").is_some() {
            field_paths(property, &format!("{path}."), paths);
        } else {
            paths.insert(path);
        }
    }
}

#[test]
fn the_documented_errors_are_the_documents_error_responses() {
    let document = openapi();
    let doc = api_md();
    let rows = table(section(&doc, "Statuses and errors"), "| status |");
    let documented: BTreeSet<(u64, String)> = rows
        .iter()
        .map(|row| (row[0].parse().unwrap(), names(&row[1]).concat()))
        .collect();

    let responses = &document["paths"]["/api/tracking/status/{programId}"]["get"]["responses"];
    for (status, name) in &documented {
        assert_eq!(
            responses[status.to_string()]["$ref"],
            format!("#/components/responses/{name}"),
            "docs/api.md's {status} {name} is not openapi.yaml's response for {status}"
        );
    }
    let error = &schema(&document, "ErrorResponse")["properties"]["error"]["properties"];
    let statuses: BTreeSet<u64> = documented.iter().map(|(status, _)| *status).collect();
    let schema_statuses: BTreeSet<u64> = error["status"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|status| status.as_u64().unwrap())
        .collect();
    assert_eq!(statuses, schema_statuses, "the error statuses");
    let names: BTreeSet<String> = documented.into_iter().map(|(_, name)| name).collect();
    let schema_names: BTreeSet<String> = error["name"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, schema_names, "the error names");
}

#[test]
fn the_documented_fields_are_the_schemas_fields() {
    let document = openapi();
    let doc = api_md();
    let part = section(&doc, "The status document");

    let documented: BTreeSet<String> = table(part, "| field | type | value |")
        .iter()
        .flat_map(|row| names(&row[0]))
        .collect();
    let mut paths = BTreeSet::new();
    field_paths(schema(&document, "StatusDocument"), "", &mut paths);
    assert_eq!(documented, paths, "the status document's fields");

    let payments: BTreeSet<String> = table(part, "| field | type | value | default")
        .iter()
        .flat_map(|row| names(&row[0]))
        .collect();
    assert_eq!(
        payments,
        property_names(schema(&document, "PaymentStatistics")),
        "payment statistics"
    );

    // The event statistics are a list: "- `testEventCount` (integer, …): …".
    let events: BTreeSet<String> = part
        .lines()
        .filter(|line| line.starts_with("- `"))
        .flat_map(|line| names(line).into_iter().take(1))
        .collect();
    assert_eq!(
        events,
        property_names(schema(&document, "EventStatistics")),
        "event statistics"
    );
}

#[test]
fn the_documented_next_steps_are_the_schemas() {
    let document = openapi();
    let doc = api_md();
    let part = section(&doc, "Next steps (`include=nextSteps`)");

    let codes: BTreeSet<String> = table(part, "| step | code |")
        .iter()
        .flat_map(|row| names(&row[1]))
        .collect();
    let schema_codes: BTreeSet<String> = schema(&document, "NextStepCode")["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, schema_codes, "the next-step codes");

    let block: BTreeSet<String> = table(part, "| field | type | source |")
        .iter()
        .flat_map(|row| names(&row[0]))
        .collect();
    assert_eq!(
        block,
        property_names(schema(&document, "StripeBlock")),
        "the Stripe block"
    );
}
