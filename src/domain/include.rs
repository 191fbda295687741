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

/// Of every value of `include`, the items that decide the answer, in order:
/// each known value once and the first unknown item (which makes the request a
/// 400); empty items and repeats are dropped. `Include::parse` reads the result
/// as it reads the values. The edge keeps only this of a query, so a query of
/// a million `include=` repeats costs a scan, not a million strings.
pub fn decisive_items<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for value in values {
        for item in value.as_ref().split(',') {
            if item.is_empty() || items.iter().any(|kept| kept == item) {
                continue;
            }
            items.push(item.to_string());
            if item != NEXT_STEPS {
                return items;
            }
        }
    }
    items
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
            // what the edge keeps decides the same
            let kept = decisive_items(values.iter());
            assert_eq!(
                Include::parse(kept.iter().map(String::as_str)),
                *expected,
                "{values:?} -> {kept:?}"
            );
            assert!(kept.len() <= 2, "{kept:?}");
        }
        assert_eq!(IncludeError.rule(), "unknown_value");
    }

    #[test]
    fn a_million_repeats_keep_at_most_two_items() {
        let empties = vec![""; 1_000_000];
        assert!(decisive_items(&empties).is_empty());
        let repeats = vec!["nextSteps,,nextSteps"; 1_000_000];
        assert_eq!(decisive_items(&repeats), ["nextSteps"]);
        let mut then_unknown = repeats.clone();
        then_unknown.push("bogus");
        then_unknown.push("worse");
        assert_eq!(decisive_items(&then_unknown), ["nextSteps", "bogus"]);
    }
}
