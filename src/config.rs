//! The settings read once at init, from the environment: table names, the
//! connection warm-up and the trusted roots. Building the SDK client from them
//! is `sdk`'s.

use aws_smithy_http_client::HttpClientError;

/// The DynamoDB tables the endpoint reads. Each name comes from an environment
/// variable that `template.yaml` sets; with none set, the function and `seed`
/// agree on the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub programs: String,
    pub advertisers: String,
    pub memberships: String,
    pub events: String,
    pub partner_programs: String,
}

/// (environment variable, default name) of each table, in `TableNames` order.
pub const TABLE_VARIABLES: [(&str, &str); 5] = [
    ("PROGRAMS_TABLE", "tracking-programs"),
    ("ADVERTISERS_TABLE", "tracking-advertisers"),
    ("MEMBERSHIPS_TABLE", "tracking-memberships"),
    ("EVENTS_TABLE", "tracking-events"),
    ("PARTNER_PROGRAMS_TABLE", "tracking-partner-programs"),
];

impl TableNames {
    /// Reads the table names from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the table names through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let [programs, advertisers, memberships, events, partner_programs] =
            TABLE_VARIABLES.map(|(variable, default)| {
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
        }
    }

    /// The default names behind a prefix: how tests give each case its own tables.
    pub fn with_prefix(prefix: &str) -> Self {
        Self::from_lookup(|_| None).map(|name| format!("{prefix}{name}"))
    }

    fn map(self, f: impl Fn(String) -> String) -> Self {
        TableNames {
            programs: f(self.programs),
            advertisers: f(self.advertisers),
            memberships: f(self.memberships),
            events: f(self.events),
            partner_programs: f(self.partner_programs),
        }
    }

    pub fn all(&self) -> [&str; 5] {
        [
            &self.programs,
            &self.advertisers,
            &self.memberships,
            &self.events,
            &self.partner_programs,
        ]
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

/// Which root certificates the SDK's HTTPS client trusts (`TLS_TRUST_STORE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustedRoots {
    /// Only the roots AWS endpoints chain to (`aws`, the default). Nothing to
    /// read from disk at init, and no other certificate authority to trust.
    AwsOnly,
    /// The platform's store (`system`), read from disk when the client is built:
    /// the escape hatch should an AWS endpoint ever chain to another root.
    System,
}

impl TrustedRoots {
    /// Reads `TLS_TRUST_STORE`; unset means `aws`. Any other value, one that is
    /// not UTF-8 included, is a configuration error, reported rather than guessed at.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_os_value(std::env::var_os("TLS_TRUST_STORE"))
    }

    pub fn from_os_value(value: Option<std::ffi::OsString>) -> Result<Self, ConfigError> {
        match value.map(std::ffi::OsString::into_string) {
            None => Ok(TrustedRoots::AwsOnly),
            Some(Ok(value)) => Self::from_value(Some(&value)),
            Some(Err(value)) => Err(ConfigError::UnknownTrustStore(
                value.to_string_lossy().into_owned(),
            )),
        }
    }

    pub fn from_value(value: Option<&str>) -> Result<Self, ConfigError> {
        match value.map(str::trim) {
            None | Some("" | "aws") => Ok(TrustedRoots::AwsOnly),
            Some("system") => Ok(TrustedRoots::System),
            Some(other) => Err(ConfigError::UnknownTrustStore(other.to_string())),
        }
    }
}

/// What can be wrong with the configuration at init.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("TLS_TRUST_STORE must be `aws` or `system`, not `{0}`")]
    UnknownTrustStore(String),
    #[error("cannot build the HTTPS client: {0}")]
    HttpClient(#[from] HttpClientError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        let names =
            TableNames::from_lookup(|name| (name == "EVENTS_TABLE").then(|| " ".to_string()));
        assert_eq!(names, TableNames::with_prefix(""));
        assert_eq!(names.events, "tracking-events");
    }

    #[test]
    fn variables_override_each_table() {
        let names = TableNames::from_lookup(|name| Some(format!("prod-{name}")));
        assert_eq!(names.programs, "prod-PROGRAMS_TABLE");
        assert_eq!(names.partner_programs, "prod-PARTNER_PROGRAMS_TABLE");
    }

    #[test]
    fn trust_store_defaults_to_the_aws_roots() {
        assert_eq!(
            TrustedRoots::from_value(None).unwrap(),
            TrustedRoots::AwsOnly
        );
        assert_eq!(
            TrustedRoots::from_value(Some("aws")).unwrap(),
            TrustedRoots::AwsOnly
        );
        assert_eq!(
            TrustedRoots::from_value(Some(" ")).unwrap(),
            TrustedRoots::AwsOnly
        );
        assert_eq!(
            TrustedRoots::from_value(Some("system")).unwrap(),
            TrustedRoots::System
        );
    }

    #[test]
    fn a_trust_store_value_that_is_not_utf8_is_an_error_not_the_default() {
        use std::os::unix::ffi::OsStringExt;
        let value = std::ffi::OsString::from_vec(vec![b's', 0xff]);
        assert!(matches!(
            TrustedRoots::from_os_value(Some(value)),
            Err(ConfigError::UnknownTrustStore(_))
        ));
        assert_eq!(
            TrustedRoots::from_os_value(None).unwrap(),
            TrustedRoots::AwsOnly
        );
    }

    #[test]
    fn an_unknown_trust_store_is_an_error_that_names_the_value() {
        let error = TrustedRoots::from_value(Some("System ")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TLS_TRUST_STORE must be `aws` or `system`, not `System`"
        );
    }
}
