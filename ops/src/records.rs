//! The one place that knows which of the function's record types reads each
//! table's items (`tracking_status::store::records`), so that a sample decoded
//! here fails as the function's reads would. Re-point it when the records change.

use serde_dynamo::aws_sdk_dynamodb_1::from_item;
use test_event_indexer::view::{Item, view_entry};
use tracking_status::store::records::{
    APPROVED, AdvertiserRecord, MembershipRecord, ProgramRecord,
};

/// What reading one sampled item of the table behind `variable` would meet, as the
/// function (or, for events, the indexer and its mapping's filter) reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Read as the function reads it.
    Fine,
    /// The function (or the indexer) fails on it or drops it: a blocker.
    Broken(String),
    /// Read, but it will not count as its writer probably means: a warning.
    Doubtful(String),
}

pub fn decode_sample(variable: &str, item: &Item) -> Decoded {
    let fails = |result: Result<(), serde_dynamo::Error>| match result {
        Ok(()) => Decoded::Fine,
        Err(error) => Decoded::Broken(error.to_string()),
    };
    match variable {
        "PROGRAMS_TABLE" => fails(from_item::<ProgramRecord>(item.clone()).map(drop)),
        "ADVERTISERS_TABLE" => fails(from_item::<AdvertiserRecord>(item.clone()).map(drop)),
        "MEMBERSHIPS_TABLE" => fails(from_item::<MembershipRecord>(item.clone()).map(drop)),
        "EVENTS_TABLE" => event(item),
        // The function reads only the programStatus index's keys (their types are the
        // index's key schema); `status` counts when it is exactly "approved".
        "PARTNER_PROGRAMS_TABLE" => match item.get("status").and_then(|s| s.as_s().ok()) {
            Some(status) if status != APPROVED && status.eq_ignore_ascii_case(APPROVED) => {
                Decoded::Doubtful(format!(
                    "status {status:?} is not {APPROVED:?} (compared case-sensitively): such a partner never counts for hasPartners"
                ))
            }
            _ => Decoded::Fine,
        },
        _ => Decoded::Fine,
    }
}

/// An event as the indexer's mapping filters it (`test` a boolean, `type` a string:
/// template.yaml's FilterCriteria) and as `view_entry` reads a test click or lead.
fn event(item: &Item) -> Decoded {
    let kind = |value: &aws_sdk_dynamodb::types::AttributeValue| {
        format!("{value:?}")
            .split('(')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    if let Some(test) = item.get("test")
        && !test.is_bool()
    {
        return Decoded::Broken(format!(
            "`test` is stored as {}, not a boolean: the indexer's filter \
             ({{\"test\":{{\"BOOL\":[true]}}}}) drops the record and the view never shows it",
            kind(test)
        ));
    }
    if let Some(kind_value) = item.get("type")
        && !kind_value.is_s()
    {
        return Decoded::Broken(format!(
            "`type` is stored as {}, not a string: the indexer's filter drops the record",
            kind(kind_value)
        ));
    }
    match view_entry(item) {
        Ok(_) => Decoded::Fine,
        Err(unreadable) => Decoded::Doubtful(format!(
            "{unreadable}: the indexer leaves it out of the view (and its alarm fires)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect()
    }

    #[test]
    fn an_event_whose_test_is_a_number_or_whose_type_is_not_a_string_is_broken() {
        let n = |text: &str| AttributeValue::N(text.into());
        let s = |text: &str| AttributeValue::S(text.into());
        let good = item(&[
            ("id", n("1")),
            ("programId", n("42")),
            ("type", s("click")),
            ("test", AttributeValue::Bool(true)),
            ("timestamp", s("2026-06-07T10:00:00Z")),
            ("createdAt", s("2026-06-07T10:00:00Z")),
        ]);
        assert_eq!(decode_sample("EVENTS_TABLE", &good), Decoded::Fine);
        let mut numeric = good.clone();
        numeric.insert("test".into(), n("1"));
        assert!(
            matches!(decode_sample("EVENTS_TABLE", &numeric), Decoded::Broken(text) if text.contains("`test` is stored as N"))
        );
        let mut listed = good.clone();
        listed.insert("type".into(), AttributeValue::Ss(vec!["click".into()]));
        assert!(
            matches!(decode_sample("EVENTS_TABLE", &listed), Decoded::Broken(text) if text.contains("`type` is stored as Ss"))
        );
        let mut late = good;
        late.insert("createdAt".into(), s("soon"));
        assert!(matches!(
            decode_sample("EVENTS_TABLE", &late),
            Decoded::Doubtful(_)
        ));
    }

    #[test]
    fn a_program_is_read_with_the_function_s_record() {
        let program = item(&[
            ("id", AttributeValue::S("42".into())),
            ("workspaceId", AttributeValue::S("w".into())),
            ("advertiserId", AttributeValue::S("a".into())),
        ]);
        assert!(matches!(
            decode_sample("PROGRAMS_TABLE", &program),
            Decoded::Broken(_)
        ));
    }
}
