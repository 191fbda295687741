//! The sample responses, each held once: a snapshot file in `tests/api/snapshots/`
//! that a test of the real handler writes (`assert_sample`), and that every copy in
//! the documentation is compared with (`assert_documented`), never written from.
//!
//! `lastUpdated` is the time of the request: it is checked to be in the response's
//! timestamp format, then blanked to `[lastUpdated]` (as insta's redactions would,
//! without their parser crates). Objects keep their keys in document order, so a
//! snapshot also fixes the order a client reads the fields in.
//!
//! scripts/test.sh runs with `INSTA_UPDATE=no`: a mismatch fails and nothing is
//! written. How to regenerate after a deliberate change: docs/architecture.md, "One
//! expected response".

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use tracking_status::domain::Timestamp;

/// Where the snapshots live (insta's default, next to this file).
const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/snapshots");

/// What `data.lastUpdated` reads as in a snapshot.
pub const LAST_UPDATED: &str = "[lastUpdated]";

/// A JSON value whose objects keep their keys in document order (serde_json's
/// `Value` sorts them, and this crate does not enable its `preserve_order`).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Result<Json, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The value of `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Object(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Indented two spaces, keys in order: how a mismatch is shown.
    pub fn pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a Json serializes")
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => n.serialize(serializer),
            Json::String(s) => serializer.serialize_str(s),
            Json::Array(items) => items.serialize(serializer),
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        struct JsonVisitor;

        impl<'de> Visitor<'de> for JsonVisitor {
            type Value = Json;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json, E> {
                serde_json::Number::from_f64(n)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("a number JSON cannot hold"))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::String(s.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Json::Object(entries))
            }
        }

        deserializer.deserialize_any(JsonVisitor)
    }
}

/// `text` (a response body, or a documented one) parsed, with `data.lastUpdated`
/// checked to be in the format every response uses and then blanked.
pub fn redacted(text: &str) -> Result<Json, String> {
    let mut body = Json::parse(text).map_err(|e| format!("not JSON: {e}"))?;
    let Some(last_updated) = body
        .get_mut("data")
        .and_then(|data| data.get_mut("lastUpdated"))
    else {
        return Err("no data.lastUpdated".into());
    };
    match last_updated {
        Json::String(at) if Timestamp::parse(at).is_ok_and(|t| t.to_string() == *at) => {}
        other => {
            return Err(format!(
                "data.lastUpdated {other:?} is not in the response's timestamp format"
            ));
        }
    }
    *last_updated = Json::String(LAST_UPDATED.into());
    Ok(body)
}

/// The snapshot name of a status document: `program_<id>`, `_next_steps` when it has them.
pub fn sample_name(document: &Json) -> Option<String> {
    let data = document.get("data")?;
    let Some(Json::String(program_id)) = data.get("programId") else {
        return None;
    };
    let suffix = if data.get("nextSteps").is_some() {
        "_next_steps"
    } else {
        ""
    };
    Some(format!("program_{program_id}{suffix}"))
}

/// Asserts that `body`, the text the handler answered, is the snapshot `name`
/// (written by insta when told to: see the module's comment). Only tests that run
/// the real code call this; `description` says which request it answers.
pub fn assert_sample(name: &str, description: &str, body: &str) {
    let document = redacted(body).unwrap_or_else(|e| panic!("{name}: {e}: {body}"));
    let mut settings = insta::Settings::clone_current();
    // One flat folder of samples, whichever test module writes them.
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path(SNAPSHOTS);
    settings.set_omit_expression(true);
    settings.set_description(description);
    settings.bind(|| insta::assert_json_snapshot!(name, document));
}

/// The snapshot `name`, read back (`None` when there is no such file).
pub fn sample(name: &str) -> Option<Json> {
    let path = std::path::PathBuf::from(format!("{SNAPSHOTS}/{name}.snap"));
    if !path.exists() {
        return None;
    }
    let snapshot =
        insta::Snapshot::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = snapshot
        .as_text()
        .unwrap_or_else(|| panic!("{} is not a text snapshot", path.display()))
        .to_string();
    Some(Json::parse(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display())))
}

/// Compares a documented copy of the sample `name`, found at `place`, with its
/// snapshot; the difference, as a diff of the two documents, when they differ.
pub fn compare_documented(name: &str, place: &str, documented: &Json) -> Result<(), String> {
    let Some(expected) = sample(name) else {
        return Err(format!(
            "{place}: shows a response for which there is no snapshot {SNAPSHOTS}/{name}.snap: \
             a test of the real handler must write it (samples::assert_sample)"
        ));
    };
    if *documented == expected {
        return Ok(());
    }
    let (expected, documented) = (expected.pretty(), documented.pretty());
    let diff = similar::TextDiff::from_lines(&expected, &documented);
    Err(format!(
        "{place} differs from the snapshot {name}.snap (-) as shown (+):\n{}",
        diff.unified_diff().context_radius(2)
    ))
}

/// The output lines of every ```console example in `markdown`, with their line numbers:
/// the lines under a `$ ` command up to the next command, a blank line or the block's
/// end (as scripts/readme-examples.py reads them).
fn console_outputs(markdown: &str) -> Vec<(usize, &str)> {
    let (mut in_console, mut in_output, mut found) = (false, false, Vec::new());
    for (number, line) in markdown.lines().enumerate() {
        if line.starts_with("```") {
            in_console = line.trim() == "```console";
            in_output = false;
        } else if in_console && line.starts_with("$ ") {
            in_output = true;
        } else if line.trim().is_empty() {
            in_output = false;
        } else if in_console && in_output {
            found.push((number + 1, line));
        }
    }
    found
}

/// README.md and every docs/*.md, by path relative to the repository.
fn markdown_files() -> Vec<(String, String)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut paths = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(format!("{root}/docs"))
        .expect("docs/")
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(format!("{root}/{path}")).unwrap();
            (path, text)
        })
        .collect()
}

/// Every status document a console example shows (the body of `curl`, or of the
/// Lambda proxy response `cargo lambda invoke` prints) is its snapshot, lastUpdated
/// aside: the examples are run against a live server by scripts/e2e.sh and
/// scripts/start-api-check.sh, and are held to the snapshot here.
#[test]
fn every_status_document_in_a_console_example_is_its_snapshot() {
    let (mut checked, mut failures) = (Vec::new(), Vec::new());
    for (path, text) in markdown_files() {
        for (number, line) in console_outputs(&text) {
            let place = format!("{path}:{number}");
            let Ok(mut shown) = Json::parse(line) else {
                continue;
            };
            // cargo lambda invoke prints the proxy response: the document is its body
            if let Some(Json::String(body)) = shown.get("body") {
                let Ok(body) = Json::parse(body) else {
                    continue;
                };
                shown = body;
            }
            let Some(name) = sample_name(&shown) else {
                continue;
            };
            let result = redacted(&serde_json::to_string(&shown).unwrap())
                .map_err(|e| format!("{place}: {e}"))
                .and_then(|shown| compare_documented(&name, &place, &shown));
            checked.push(format!("{place} ({name})"));
            failures.extend(result.err());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The README's examples of program 42 alone are three: none found means the
    // reading above broke, not that every example is right.
    assert!(checked.len() >= 3, "{checked:?}");
}

#[test]
fn console_outputs_are_read_as_readme_examples_reads_them() {
    let markdown =
        "```console\n$ a\none\ntwo\n\nnot output\n$ b\nthree\n```\nafter\n```sh\n$ c\nfour\n```\n";
    assert_eq!(
        console_outputs(markdown),
        vec![(3, "one"), (4, "two"), (8, "three")]
    );
}

#[test]
fn a_document_keeps_its_key_order_and_redaction_checks_the_format() {
    let a = Json::parse(r#"{"data":{"b":1,"a":[true,null,"x",-2.5]}}"#).unwrap();
    let b = Json::parse(r#"{"data":{"a":[true,null,"x",-2.5],"b":1}}"#).unwrap();
    assert_ne!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        r#"{"data":{"b":1,"a":[true,null,"x",-2.5]}}"#
    );

    let ok = redacted(r#"{"data":{"lastUpdated":"2026-06-08T12:00:00.000Z"}}"#).unwrap();
    assert_eq!(
        ok.pretty(),
        "{\n  \"data\": {\n    \"lastUpdated\": \"[lastUpdated]\"\n  }\n}"
    );
    for bad in [
        r#"{"data":{"lastUpdated":"2026-06-08T12:00:00Z"}}"#,
        r#"{"data":{"lastUpdated":null}}"#,
        r#"{"data":{}}"#,
    ] {
        assert!(redacted(bad).is_err(), "{bad}");
    }
}
