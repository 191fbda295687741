//! The fixture format, which the tests, `seed` and the bench share: one JSON
//! document with five optional arrays, each item exactly the fields other
//! services write.
//!
//! `parse` checks the whole document before anything is written, and
//! names the first bad record, so a loader never stores half a fixture.

use std::collections::HashSet;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use tracking_status::domain::{Advertiser, Program};
use tracking_status::store::records::Dataset;

/// Why a fixture was refused: which record, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureError {
    /// `events[3]`, or `fixture` for the document itself.
    pub record: String,
    pub problem: String,
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.record, self.problem)
    }
}

impl std::error::Error for FixtureError {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Document {
    #[serde(default)]
    programs: Vec<Value>,
    #[serde(default)]
    advertisers: Vec<Value>,
    #[serde(default)]
    memberships: Vec<Value>,
    #[serde(default)]
    events: Vec<Value>,
    #[serde(default)]
    partner_programs: Vec<Value>,
}

/// Reads a fixture document: every record has exactly its fields, of their
/// types (ids in range, timestamps readable), and no key is used twice.
pub fn parse(text: &str) -> Result<Dataset, FixtureError> {
    let not_a_fixture = |problem: String| FixtureError {
        record: "fixture".into(),
        problem: format!("not a fixture document: {problem}"),
    };
    let value: Value = serde_json::from_str(text).map_err(|e| not_a_fixture(e.to_string()))?;
    if !value.is_object() {
        return Err(not_a_fixture("expected a JSON object".into()));
    }
    let document: Document =
        serde_json::from_value(value).map_err(|e| not_a_fixture(e.to_string()))?;
    let dataset = Dataset {
        programs: records("programs", document.programs)?,
        advertisers: records("advertisers", document.advertisers)?,
        memberships: records("memberships", document.memberships)?,
        events: records("events", document.events)?,
        partner_programs: records("partnerPrograms", document.partner_programs)?,
    };
    validate(&dataset)?;
    Ok(dataset)
}

/// What the types cannot say: keys present, non-empty and unique, and the
/// fields the records read leniently (those only `nextSteps` reads) readable.
fn validate(dataset: &Dataset) -> Result<(), FixtureError> {
    let mut seen = HashSet::new();
    for (i, p) in dataset.programs.iter().enumerate() {
        let at = || format!("programs[{i}] (id {})", p.id);
        non_empty(&p.workspace_id, "workspaceId").map_err(|e| bad(at(), e))?;
        non_empty(&p.advertiser_id, "advertiserId").map_err(|e| bad(at(), e))?;
        Program::from(p.clone())
            .created_at
            .map_err(|e| bad(at(), e.to_string()))?;
        unique(&mut seen, ("program", p.id.to_string())).map_err(|e| bad(at(), e))?;
    }
    for (i, a) in dataset.advertisers.iter().enumerate() {
        let at = || format!("advertisers[{i}] (id {:?})", a.id);
        non_empty(&a.id, "id").map_err(|e| bad(at(), e))?;
        Advertiser::from(a.clone())
            .requirements
            .map_err(|e| bad(at(), e.to_string()))?;
        unique(&mut seen, ("advertiser", a.id.clone())).map_err(|e| bad(at(), e))?;
    }
    for (i, m) in dataset.memberships.iter().enumerate() {
        let at = || format!("memberships[{i}] ({:?}, {:?})", m.workspace_id, m.user_id);
        non_empty(&m.workspace_id, "workspaceId").map_err(|e| bad(at(), e))?;
        non_empty(&m.user_id, "userId").map_err(|e| bad(at(), e))?;
        let key = format!("{}\u{0}{}", m.workspace_id, m.user_id);
        unique(&mut seen, ("membership", key)).map_err(|e| bad(at(), e))?;
    }
    for (i, e) in dataset.events.iter().enumerate() {
        let at = || format!("events[{i}] (id {})", e.id);
        non_empty(&e.kind, "type").map_err(|err| bad(at(), err))?;
        unique(&mut seen, ("event", e.id.to_string())).map_err(|err| bad(at(), err))?;
    }
    for (i, p) in dataset.partner_programs.iter().enumerate() {
        let at = || format!("partnerPrograms[{i}] (id {})", p.id);
        non_empty(&p.status, "status").map_err(|e| bad(at(), e))?;
        unique(&mut seen, ("partnerProgram", p.id.to_string())).map_err(|e| bad(at(), e))?;
    }
    Ok(())
}

/// Each item of one array, held to its record's fields, then read as that record.
fn records<T: DeserializeOwned + Serialize>(
    kind: &str,
    items: Vec<Value>,
) -> Result<Vec<T>, FixtureError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let at = || match item.get("id") {
                Some(Value::Number(id)) => format!("{kind}[{i}] (id {id})"),
                Some(Value::String(id)) => format!("{kind}[{i}] (id {id:?})"),
                _ => format!("{kind}[{i}]"),
            };
            // The error names the field: "createdAt: \"soon\" is not an RFC 3339 …".
            let record: T =
                serde_path_to_error::deserialize(&item).map_err(|e| bad(at(), e.to_string()))?;
            exact_fields(&item, &record).map_err(|e| bad(at(), e))?;
            Ok(record)
        })
        .collect()
}

/// The record's fields are the item's: what it writes back holds every key of the item (none
/// unknown) and no key the item lacks (none missing; an optional field unset is not written).
fn exact_fields<T: Serialize>(item: &Value, record: &T) -> Result<(), String> {
    let item = item.as_object().ok_or("expected a JSON object")?;
    // A value that cannot be written back is unreadable: `validate` names it.
    let Ok(Value::Object(written)) = serde_json::to_value(record) else {
        return Ok(());
    };
    if let Some(unknown) = item.keys().find(|key| !written.contains_key(*key)) {
        return Err(format!("unknown field `{unknown}`"));
    }
    if let Some(missing) = written.keys().find(|key| !item.contains_key(*key)) {
        return Err(format!("missing field `{missing}`"));
    }
    Ok(())
}

fn bad(record: String, problem: impl Into<String>) -> FixtureError {
    FixtureError {
        record,
        problem: problem.into(),
    }
}

fn non_empty(value: &str, field: &str) -> Result<(), String> {
    if value.is_empty() {
        Err(format!("{field} must not be empty"))
    } else {
        Ok(())
    }
}

fn unique(
    seen: &mut HashSet<(&'static str, String)>,
    key: (&'static str, String),
) -> Result<(), String> {
    if seen.insert(key) {
        Ok(())
    } else {
        Err("duplicates the key of an earlier record".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../fixtures/example.json");

    #[test]
    fn parses_the_example() {
        let fixture = parse(EXAMPLE).unwrap();
        assert_eq!(fixture.programs.len(), 1);
        assert_eq!(fixture.memberships.len(), 3);
        assert_eq!(fixture.events.len(), 5);
        assert_eq!(fixture.events[0].kind, "click");
    }

    #[test]
    fn an_unreadable_next_steps_field_is_named() {
        let error =
            parse(r#"{"advertisers": [{"id": "a", "stripePastDue": ["ok", 1]}]}"#).unwrap_err();
        let error = error.to_string();
        assert!(
            error.starts_with(
                r#"advertisers[0] (id "a"): stripePastDue: invalid type: integer `1`"#
            ),
            "{error}"
        );
    }

    #[test]
    fn every_array_is_optional() {
        assert_eq!(parse("{}").unwrap(), Dataset::default());
    }

    #[test]
    fn names_the_bad_record() {
        let cases = [
            ("[]", "fixture"),
            (r#"{"program": []}"#, "fixture"),
            (
                r#"{"programs": [{"id": 0, "workspaceId": "w", "advertiserId": "a"}]}"#,
                "programs[0]",
            ),
            (
                r#"{"programs": [{"id": "42", "workspaceId": "w", "advertiserId": "a"}]}"#,
                "programs[0]",
            ),
            (
                r#"{"programs": [{"id": 1, "workspaceId": "w", "advertiserId": ""}]}"#,
                "programs[0]",
            ),
            (
                r#"{"programs": [{"id": 1, "workspaceId": "w", "advertiserId": "a", "extra": 1}]}"#,
                "programs[0]",
            ),
            (
                r#"{"programs": [{"id": 1, "workspaceId": "w", "advertiserId": "a"}, {"id": 1, "workspaceId": "w", "advertiserId": "a"}]}"#,
                "programs[1]",
            ),
            (
                r#"{"advertisers": [{"id": "a", "stripeConnectedAt": "May 1st"}]}"#,
                "advertisers[0]",
            ),
            (
                r#"{"advertisers": [{"id": "a", "chargesEnabled": "yes"}]}"#,
                "advertisers[0]",
            ),
            (
                r#"{"programs": [{"id": 1, "workspaceId": "w", "advertiserId": "a", "createdAt": "soon"}]}"#,
                "programs[0]",
            ),
            (
                r#"{"advertisers": [{"id": "a", "stripeDisabledReason": 3}]}"#,
                "advertisers[0]",
            ),
            (
                r#"{"advertisers": [{"id": "a", "stripeCurrentlyDue": "external_account"}]}"#,
                "advertisers[0]",
            ),
            (
                r#"{"advertisers": [{"id": "a", "stripePastDue": [1]}]}"#,
                "advertisers[0]",
            ),
            (
                r#"{"advertisers": [{"id": "a", "stripeRequirementsDeadline": "next week"}]}"#,
                "advertisers[0]",
            ),
            (
                r#"{"memberships": [{"workspaceId": "w", "userId": "u", "role": "owner"}]}"#,
                "memberships[0]",
            ),
            (
                r#"{"events": [{"id": 1, "programId": 42, "type": "click", "test": true, "timestamp": "2026-06-07T10:00:00Z", "createdAt": "later"}]}"#,
                "events[0]",
            ),
            (
                r#"{"events": [{"id": 1, "programId": 42, "type": "click", "test": "true", "timestamp": "2026-06-07T10:00:00Z", "createdAt": "2026-06-07T10:00:00Z"}]}"#,
                "events[0]",
            ),
            (
                r#"{"partnerPrograms": [{"id": 1, "programId": -1, "partnerId": "p", "status": "approved"}]}"#,
                "partnerPrograms[0]",
            ),
        ];
        for (text, record) in cases {
            let error = parse(text).unwrap_err();
            assert!(error.record.starts_with(record), "{text}: {error}");
            assert!(!error.problem.is_empty());
        }
    }
}
