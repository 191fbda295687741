//! The test-event view: what an event of the events table becomes in the view
//! table (`TableNames::test_events`), as one pure function of the item. The key's format is
//! the reader's (`tracking_status::store::dynamodb::view_key`); the order key is written here.
//!
//! `seed` writes a fixture's view entries through it and `test-event-indexer`
//! keeps the view from the events table's stream through it, so a fixture and a
//! deployed table are indexed by the same rules. The events' writers write only
//! the event's own attributes; nothing here asks anything of them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use tracking_status::domain::{EventKind, ProgramId, Timestamp};
use tracking_status::store::dynamodb::{VIEW_ORDER, VIEW_PROGRAM_TYPE, view_key};

/// A DynamoDB item, as the SDK and (converted) a stream record's image hold it.
pub type Item = HashMap<String, AttributeValue>;

/// One test event in the view: its key and what the status reads of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewEntry {
    /// `{programId}#{type}`: the partition the status queries.
    pub program_type: String,
    /// `{createdAt}#{id, 20 digits}`: newest first is descending order.
    pub order: String,
    pub id: u64,
    pub timestamp: Timestamp,
    pub created_at: Timestamp,
}

impl ViewEntry {
    /// The entry's key in the view table.
    pub fn key(&self) -> Item {
        HashMap::from([
            (
                VIEW_PROGRAM_TYPE.to_string(),
                AttributeValue::S(self.program_type.clone()),
            ),
            (
                VIEW_ORDER.to_string(),
                AttributeValue::S(self.order.clone()),
            ),
        ])
    }

    /// The whole entry: the key and the attributes the status reads
    /// (`id`, `timestamp`, `createdAt`), timestamps in the one format the status writes.
    pub fn item(&self) -> Item {
        let mut item = self.key();
        item.insert("id".into(), AttributeValue::N(self.id.to_string()));
        item.insert(
            "timestamp".into(),
            AttributeValue::S(self.timestamp.to_string()),
        );
        item.insert(
            "createdAt".into(),
            AttributeValue::S(self.created_at.to_string()),
        );
        item
    }
}

/// A test click or lead whose attributes cannot be read: it cannot be placed in
/// the view. `key` names the event (its `id` as stored), `field` the attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("test event {key}: {field} {problem}")]
pub struct Unreadable {
    pub key: String,
    pub field: &'static str,
    pub problem: String,
}

/// The view entry of an event item: `Some` for a test click or lead, `None` for
/// every other item (a live event, another type, an item without `test: true`),
/// and `Unreadable` for a test click or lead whose `id`, `programId`,
/// `createdAt` or `timestamp` cannot be read.
///
/// `test` must be the boolean `true` and `type` exactly `click` or `lead`, as the
/// status counted them when it read the events table.
pub fn view_entry(item: &Item) -> Result<Option<ViewEntry>, Unreadable> {
    if item.get("test") != Some(&AttributeValue::Bool(true)) {
        return Ok(None);
    }
    let kind = match item.get("type") {
        Some(AttributeValue::S(kind)) if kind == EventKind::Click.as_str() => EventKind::Click,
        Some(AttributeValue::S(kind)) if kind == EventKind::Lead.as_str() => EventKind::Lead,
        _ => return Ok(None),
    };
    let key = event_key(item);
    let unreadable = |field: &'static str, problem: String| Unreadable {
        key: key.clone(),
        field,
        problem,
    };
    let number = |field: &'static str| match item.get(field) {
        Some(AttributeValue::N(raw)) => raw
            .parse::<u64>()
            .map_err(|_| unreadable(field, format!("{raw:?} is not an integer of 0..2^64"))),
        other => Err(unreadable(field, describe(other, "a number"))),
    };
    let timestamp = |field: &'static str| match item.get(field) {
        Some(AttributeValue::S(raw)) => {
            Timestamp::parse(raw).map_err(|error| unreadable(field, error.to_string()))
        }
        other => Err(unreadable(field, describe(other, "a string"))),
    };
    let id = number("id")?;
    let program_id = ProgramId::new(number("programId")?).map_err(|error| {
        unreadable(
            "programId",
            format!("is not a program id ({})", error.rule()),
        )
    })?;
    let created_at = timestamp("createdAt")?;
    let timestamp = timestamp("timestamp")?;
    Ok(Some(ViewEntry {
        program_type: view_key(program_id, kind),
        order: test_event_order(created_at, id),
        id,
        timestamp,
        created_at,
    }))
}

/// The event's key as the log names it: `id=<number>`, or the stored value when
/// it is not a number.
pub fn event_key(item: &Item) -> String {
    match item.get("id") {
        Some(AttributeValue::N(raw)) => format!("id={raw}"),
        other => format!("id={other:?}"),
    }
}

/// `{createdAt}#{id, 20 digits}`: text that sorts as `TestEvent::recency` orders, so the
/// reader's descending query is newest first.
pub fn test_event_order(created_at: Timestamp, id: u64) -> String {
    format!("{created_at}#{id:020}")
}

fn describe(value: Option<&AttributeValue>, expected: &str) -> String {
    match value {
        None => format!("is missing (expected {expected})"),
        Some(value) => format!("is {value:?} (expected {expected})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, program: &str, kind: &str, test: bool, created_at: &str) -> Item {
        HashMap::from([
            ("id".into(), AttributeValue::N(id.into())),
            ("programId".into(), AttributeValue::N(program.into())),
            ("type".into(), AttributeValue::S(kind.into())),
            ("test".into(), AttributeValue::Bool(test)),
            (
                "timestamp".into(),
                AttributeValue::S("2026-06-07T10:00:00Z".into()),
            ),
            ("createdAt".into(), AttributeValue::S(created_at.into())),
        ])
    }

    #[test]
    fn a_test_click_or_lead_has_an_entry_keyed_as_the_status_reads_it() {
        let entry = view_entry(&event(
            "101",
            "42",
            "lead",
            true,
            "2026-06-07T12:00:00+02:00",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(entry.program_type, "42#lead");
        assert_eq!(entry.order, "2026-06-07T10:00:00.000Z#00000000000000000101");
        let item = entry.item();
        assert_eq!(item["id"], AttributeValue::N("101".into()));
        assert_eq!(
            item["createdAt"],
            AttributeValue::S("2026-06-07T10:00:00.000Z".into())
        );
        assert_eq!(item.len(), 5, "{item:?}");
    }

    #[test]
    fn live_events_other_types_and_untyped_tests_have_none() {
        let at = "2026-06-07T10:00:00Z";
        assert_eq!(view_entry(&event("1", "42", "click", false, at)), Ok(None));
        assert_eq!(view_entry(&event("1", "42", "sale", true, at)), Ok(None));
        assert_eq!(view_entry(&event("1", "42", "Click", true, at)), Ok(None));
        let mut text_test = event("1", "42", "click", true, at);
        text_test.insert("test".into(), AttributeValue::S("true".into()));
        assert_eq!(view_entry(&text_test), Ok(None));
        text_test.remove("test");
        assert_eq!(view_entry(&text_test), Ok(None));
    }

    #[test]
    fn order_key_sorts_like_created_at_then_id() {
        let at = |raw| Timestamp::parse(raw).unwrap();
        let mut keys = vec![
            test_event_order(at("2026-06-07T10:00:00Z"), 9),
            test_event_order(at("2026-06-07T10:00:00Z"), 10),
            test_event_order(at("2026-06-07T09:59:59.999Z"), u64::MAX),
            test_event_order(at("2026-06-07T12:00:00+02:00"), 11),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                "2026-06-07T09:59:59.999Z#18446744073709551615",
                "2026-06-07T10:00:00.000Z#00000000000000000009",
                "2026-06-07T10:00:00.000Z#00000000000000000010",
                "2026-06-07T10:00:00.000Z#00000000000000000011",
            ]
        );
    }

    #[test]
    fn an_unreadable_test_event_names_its_key_and_field() {
        let at = "2026-06-07T10:00:00Z";
        let error = view_entry(&event("7", "42", "click", true, "yesterday")).unwrap_err();
        assert_eq!((error.key.as_str(), error.field), ("id=7", "createdAt"));
        let error = view_entry(&event("7.5", "42", "click", true, at)).unwrap_err();
        assert_eq!((error.key.as_str(), error.field), ("id=7.5", "id"));
        let error = view_entry(&event("7", "0", "click", true, at)).unwrap_err();
        assert_eq!(error.field, "programId");
        let mut no_timestamp = event("7", "42", "click", true, at);
        no_timestamp.remove("timestamp");
        assert_eq!(view_entry(&no_timestamp).unwrap_err().field, "timestamp");
        let mut text_id = event("7", "42", "click", true, at);
        text_id.insert("id".into(), AttributeValue::S("7".into()));
        let error = view_entry(&text_id).unwrap_err();
        assert_eq!(error.field, "id");
        assert!(error.to_string().contains("S(\"7\")"), "{error}");
    }
}
