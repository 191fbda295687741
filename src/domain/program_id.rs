use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest integer a JavaScript dashboard holds exactly (2^53 - 1).
pub const MAX_PROGRAM_ID: u64 = 9_007_199_254_740_991;

/// A program id that passed the contract's rules: ASCII decimal digits, no sign,
/// no leading zero, 1 ..= 2^53 - 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProgramId(u64);

/// Which rule a programId broke; `rule()` is what the 400's details carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProgramIdError {
    #[error("programId is required")]
    Missing,
    #[error("programId must contain only the ASCII digits 0-9")]
    NotDigits,
    #[error("programId must not have a leading zero")]
    LeadingZero,
    #[error("programId must be between 1 and 9007199254740991")]
    OutOfRange,
}

impl ProgramIdError {
    /// A stable, machine-readable name of the broken rule.
    pub fn rule(self) -> &'static str {
        match self {
            ProgramIdError::Missing => "required",
            ProgramIdError::NotDigits => "digits",
            ProgramIdError::LeadingZero => "no_leading_zero",
            ProgramIdError::OutOfRange => "range",
        }
    }
}

impl ProgramId {
    /// Parses the path parameter exactly as the contract defines it.
    pub fn parse(raw: &str) -> Result<Self, ProgramIdError> {
        if raw.is_empty() {
            return Err(ProgramIdError::Missing);
        }
        if !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProgramIdError::NotDigits);
        }
        if raw == "0" {
            return Err(ProgramIdError::OutOfRange);
        }
        if raw.starts_with('0') {
            return Err(ProgramIdError::LeadingZero);
        }
        // 2^53 - 1 has 16 digits; checking the length first keeps `parse` from overflowing.
        if raw.len() > 16 {
            return Err(ProgramIdError::OutOfRange);
        }
        let value: u64 = raw.parse().map_err(|_| ProgramIdError::OutOfRange)?;
        Self::new(value)
    }

    /// Accepts a number already read from storage or a fixture.
    pub fn new(value: u64) -> Result<Self, ProgramIdError> {
        if (1..=MAX_PROGRAM_ID).contains(&value) {
            Ok(ProgramId(value))
        } else {
            Err(ProgramIdError::OutOfRange)
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// Stored as the number itself; a stored number out of range fails to deserialize.
impl Serialize for ProgramId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ProgramId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ProgramId::new(u64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ProgramId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_ids() {
        for (raw, value) in [
            ("1", 1),
            ("42", 42),
            ("7001", 7001),
            ("9007199254740991", MAX_PROGRAM_ID),
        ] {
            assert_eq!(
                ProgramId::parse(raw).map(ProgramId::get),
                Ok(value),
                "{raw}"
            );
        }
    }

    #[test]
    fn rejects_every_rule() {
        use ProgramIdError::*;
        let cases = [
            ("", Missing),
            ("abc", NotDigits),
            ("4a", NotDigits),
            ("-1", NotDigits),
            ("+1", NotDigits),
            (" 42", NotDigits),
            ("42 ", NotDigits),
            ("4.2", NotDigits),
            ("1e3", NotDigits),
            ("0x2A", NotDigits),
            ("%34%32", NotDigits),
            ("٤٢", NotDigits), // Arabic-Indic digits are digits, but not ASCII ones
            ("４２", NotDigits), // full-width digits
            ("42\u{0}", NotDigits),
            ("0", OutOfRange),
            ("00", LeadingZero),
            ("042", LeadingZero),
            ("9007199254740992", OutOfRange),
            ("99999999999999999999999999", OutOfRange),
            ("18446744073709551616", OutOfRange),
        ];
        for (raw, expected) in cases {
            assert_eq!(ProgramId::parse(raw), Err(expected), "{raw:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        let id = ProgramId::parse("9007199254740991").unwrap();
        assert_eq!(id.to_string(), "9007199254740991");
    }

    #[test]
    fn new_checks_the_range() {
        assert_eq!(ProgramId::new(0), Err(ProgramIdError::OutOfRange));
        assert_eq!(
            ProgramId::new(MAX_PROGRAM_ID + 1),
            Err(ProgramIdError::OutOfRange)
        );
        assert!(ProgramId::new(MAX_PROGRAM_ID).is_ok());
    }
}
