/// The opt-in parts of the document a request asks for with `include`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Include {
    /// `nextSteps`: why each pending step is pending, and what to do.
    pub next_steps: bool,
}

/// The name of the query parameter.
pub const INCLUDE_PARAMETER: &str = "include";

/// The values `include` accepts (case-sensitive).
pub const NEXT_STEPS: &str = "nextSteps";

/// An `include` item that is not a known value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("include may contain only: nextSteps (comma-separated)")]
pub struct IncludeError;

impl IncludeError {
    /// A stable, machine-readable name of the broken rule.
    pub fn rule(self) -> &'static str {
        "unknown_value"
    }
}

impl Include {
    /// Reads every value of the `include` parameter (a repeated parameter
    /// gives several): each is a comma-separated list, and empty items are
    /// ignored, so `include=` and `include=,` ask for nothing.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Include, IncludeError> {
        let mut include = Include::default();
        for item in values.into_iter().flat_map(|value| value.split(',')) {
            match item {
                "" => {}
                NEXT_STEPS => include.next_steps = true,
                _ => return Err(IncludeError),
            }
        }
        Ok(include)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_repeats_and_empty_items() {
        let with = Include { next_steps: true };
        let cases: &[(&[&str], Result<Include, IncludeError>)] = &[
            (&[], Ok(Include::default())),
            (&[""], Ok(Include::default())),
            (&[",,"], Ok(Include::default())),
            (&["", ""], Ok(Include::default())),
            (&["nextSteps"], Ok(with)),
            (&[",nextSteps,"], Ok(with)),
            (&["nextSteps,nextSteps"], Ok(with)),
            (&["nextSteps", "nextSteps"], Ok(with)),
            (&["", "nextSteps"], Ok(with)),
            (&["nextSteps", "other"], Err(IncludeError)),
            (&["nextSteps,other"], Err(IncludeError)),
            (&["nextsteps"], Err(IncludeError)),
            (&["NextSteps"], Err(IncludeError)),
            (&[" nextSteps"], Err(IncludeError)),
            (&["nextSteps "], Err(IncludeError)),
            (&["next_steps"], Err(IncludeError)),
            (&["*"], Err(IncludeError)),
        ];
        for (values, expected) in cases {
            assert_eq!(
                Include::parse(values.iter().copied()),
                *expected,
                "{values:?}"
            );
        }
        assert_eq!(IncludeError.rule(), "unknown_value");
    }

    #[test]
    fn a_million_repeats_are_one_answer() {
        let with = Include { next_steps: true };
        assert_eq!(Include::parse(vec![""; 1_000_000]), Ok(Include::default()));
        let mut repeats = vec!["nextSteps,,nextSteps"; 1_000_000];
        assert_eq!(Include::parse(repeats.clone()), Ok(with));
        repeats.push("bogus");
        assert_eq!(Include::parse(repeats), Err(IncludeError));
    }
}
