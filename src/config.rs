//! The settings read once at init, from the environment: table names and the
//! connection warm-up. The SDK client's own (`TLS_TRUST_STORE`) are `sdk`'s.

/// The DynamoDB tables of the stack. Each name comes from an environment
/// variable that `template.yaml` sets; with none set, the functions and `seed`
/// agree on the defaults. The status reads all but `events`, whose test events it
/// reads from `test_events`, the view `test-event-indexer` keeps (docs/architecture.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub programs: String,
    pub advertisers: String,
    pub memberships: String,
    pub events: String,
    pub partner_programs: String,
    pub test_events: String,
}

/// (environment variable, default name) of each table, in `TableNames` order.
pub const TABLE_VARIABLES: [(&str, &str); 6] = [
    ("PROGRAMS_TABLE", "tracking-programs"),
    ("ADVERTISERS_TABLE", "tracking-advertisers"),
    ("MEMBERSHIPS_TABLE", "tracking-memberships"),
    ("EVENTS_TABLE", "tracking-events"),
    ("PARTNER_PROGRAMS_TABLE", "tracking-partner-programs"),
    ("TEST_EVENTS_TABLE", "tracking-test-events"),
];

impl TableNames {
    /// Reads the table names from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the table names through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let [
            programs,
            advertisers,
            memberships,
            events,
            partner_programs,
            test_events,
        ] = TABLE_VARIABLES.map(|(variable, default)| {
            lookup(variable)
                .filter(|value| !value.trim().is_empty())
                .unwrap_or_else(|| default.to_string())
        });
        TableNames {
            programs,
            advertisers,
            memberships,
            events,
            partner_programs,
            test_events,
        }
    }
}

/// Whether init warms the DynamoDB connection (`WARM_UP_CONNECTION`, on unless
/// `0` or `false`; the benchmark turns it off to measure what it saves).
pub fn warm_up_enabled() -> bool {
    !matches!(
        std::env::var("WARM_UP_CONNECTION").as_deref(),
        Ok("0" | "false")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    impl TableNames {
        fn all_defaults(&self) -> [&str; 6] {
            [
                &self.programs,
                &self.advertisers,
                &self.memberships,
                &self.events,
                &self.partner_programs,
                &self.test_events,
            ]
            .map(String::as_str)
        }
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        let names =
            TableNames::from_lookup(|name| (name == "EVENTS_TABLE").then(|| " ".to_string()));
        assert_eq!(names.all_defaults(), TABLE_VARIABLES.map(|(_, name)| name));
    }

    #[test]
    fn variables_override_each_table() {
        let names = TableNames::from_lookup(|name| Some(format!("prod-{name}")));
        assert_eq!(names.programs, "prod-PROGRAMS_TABLE");
        assert_eq!(names.partner_programs, "prod-PARTNER_PROGRAMS_TABLE");
    }
}
