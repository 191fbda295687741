use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// A UTC instant at millisecond precision.
///
/// Everything the endpoint returns or compares goes through this type, so the
/// output format (`2026-06-07T10:23:45.000Z`) and the ordering of events agree
/// with the sort key the DynamoDB adapter writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 timestamp with a time zone")]
pub struct TimestampError(pub String);

impl Timestamp {
    /// Reads any RFC 3339 timestamp (any offset, any fraction); sub-millisecond
    /// digits are truncated.
    pub fn parse(raw: &str) -> Result<Self, TimestampError> {
        OffsetDateTime::parse(raw, &Rfc3339)
            .ok()
            .and_then(Self::from_datetime)
            .ok_or_else(|| TimestampError(raw.chars().take(64).collect()))
    }

    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Self::from_datetime(now).unwrap_or(Timestamp(now))
    }

    /// None when the instant has no UTC date in years 0..=9999
    /// (`9999-12-31T23:59:59-01:00` is in year 10000 in UTC).
    fn from_datetime(at: OffsetDateTime) -> Option<Self> {
        let at = at.checked_to_offset(UtcOffset::UTC)?;
        at.replace_millisecond(at.millisecond()).ok().map(Timestamp)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        // The year is 0..=9999 (RFC 3339 and OffsetDateTime::now agree), so formatting cannot fail.
        match self.0.format(&format) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Stored timestamps are read with `parse`: a record holding one that is not
/// RFC 3339 fails to deserialize, naming the value.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Timestamp::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_to_utc_milliseconds() {
        let cases = [
            ("2026-06-07T10:23:45.000Z", "2026-06-07T10:23:45.000Z"),
            ("2026-06-07T10:23:45Z", "2026-06-07T10:23:45.000Z"),
            ("2026-06-07T10:23:45.1Z", "2026-06-07T10:23:45.100Z"),
            ("2026-06-07T10:23:45.123456789Z", "2026-06-07T10:23:45.123Z"),
            ("2026-06-07T10:23:45.9999Z", "2026-06-07T10:23:45.999Z"),
            ("2026-06-07T12:23:45.5+02:00", "2026-06-07T10:23:45.500Z"),
            ("2026-06-07T00:30:00-05:30", "2026-06-07T06:00:00.000Z"),
            ("2026-06-07t10:23:45z", "2026-06-07T10:23:45.000Z"),
            ("2026-06-07 10:23:45Z", "2026-06-07T10:23:45.000Z"), // RFC 3339 allows a space
            ("2026-12-31T23:59:59.999-01:00", "2027-01-01T00:59:59.999Z"),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                Timestamp::parse(raw).unwrap().to_string(),
                expected,
                "{raw}"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for raw in [
            "",
            "2026-06-07",
            "2026-06-07T10:23:45",
            "1749291825000",
            "yesterday",
            "2026-13-01T00:00:00Z",
            // valid RFC 3339, but year 10000 in UTC: refused, not a panic
            "9999-12-31T23:59:59-01:00",
        ] {
            assert!(Timestamp::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn orders_by_instant_not_by_text() {
        let earlier = Timestamp::parse("2026-06-07T12:00:00+02:00").unwrap();
        let later = Timestamp::parse("2026-06-07T10:30:00Z").unwrap();
        assert!(earlier < later);
    }

    #[test]
    fn now_has_the_output_shape() {
        let text = Timestamp::now().to_string();
        assert_eq!(text.len(), 24, "{text}");
        assert!(text.ends_with('Z'));
        assert_eq!(Timestamp::parse(&text).unwrap().to_string(), text);
    }

    #[test]
    fn serializes_as_the_display_string() {
        let ts = Timestamp::parse("2026-06-07T10:23:45Z").unwrap();
        assert_eq!(
            serde_json::to_string(&ts).unwrap(),
            "\"2026-06-07T10:23:45.000Z\""
        );
    }
}
