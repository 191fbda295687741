//! What every subcommand starts from: the tables it acts on (each one required,
//! from the environment variable the functions read or from a samconfig.toml
//! profile, and printed with where it came from), the region, and the SDK's
//! configuration for a workstation.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use tracking_status::config::TABLE_VARIABLES;

/// Opening a connection from a workstation (a VPN, a proxy) may take seconds.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One attempt: a Scan page of 1 MB over a slow link.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// One call, its retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);
/// Attempts per call, with the SDK's standard backoff: a long run outlasts a throttled minute.
pub const MAX_ATTEMPTS: u32 = 6;

/// The samconfig.toml parameter that names each table variable's table, where the
/// stack has one (the view is the stack's own: its name is the output `TestEventsTableName`).
pub const TABLE_PARAMETERS: [(&str, Option<&str>); 6] = [
    ("PROGRAMS_TABLE", Some("ExistingProgramsTable")),
    ("ADVERTISERS_TABLE", Some("ExistingAdvertisersTable")),
    ("MEMBERSHIPS_TABLE", Some("ExistingMembershipsTable")),
    ("EVENTS_TABLE", Some("ExistingEventsTable")),
    (
        "PARTNER_PROGRAMS_TABLE",
        Some("ExistingPartnerProgramsTable"),
    ),
    ("TEST_EVENTS_TABLE", None),
];

/// One `[<env>.deploy.parameters]` section of samconfig.toml.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// `samconfig.toml [prod]`: how a value from it is named in the output.
    pub label: String,
    pub region: Option<String>,
    /// `parameter_overrides`, as `Name=value`.
    pub parameters: BTreeMap<String, String>,
}

impl Profile {
    pub fn load(path: &Path, env: &str) -> Result<Profile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        Profile::parse(&text, env, &path.display().to_string())
    }

    pub fn parse(text: &str, env: &str, file: &str) -> Result<Profile, String> {
        let document: toml::Table = text
            .parse()
            .map_err(|error| format!("{file} is not TOML: {error}"))?;
        let deploy = document
            .get(env)
            .and_then(|section| section.get("deploy"))
            .and_then(|deploy| deploy.get("parameters"))
            .ok_or_else(|| format!("{file} has no [{env}.deploy.parameters] section"))?;
        let region = deploy
            .get("region")
            .and_then(toml::Value::as_str)
            .map(str::to_string);
        // SAM takes a list of "Name=value" or one string of them separated by spaces.
        let overrides: Vec<String> = match deploy.get("parameter_overrides") {
            None => vec![],
            Some(toml::Value::Array(list)) => list
                .iter()
                .filter_map(toml::Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(toml::Value::String(line)) => {
                line.split_whitespace().map(str::to_string).collect()
            }
            Some(other) => {
                return Err(format!(
                    "{file} [{env}.deploy.parameters] parameter_overrides is a {}, not a list",
                    other.type_str()
                ));
            }
        };
        let mut parameters = BTreeMap::new();
        for pair in overrides {
            let (name, value) = pair.split_once('=').ok_or_else(|| {
                format!("{file} [{env}]: parameter override {pair:?} is not Name=value")
            })?;
            parameters.insert(name.to_string(), value.trim_matches('"').to_string());
        }
        Ok(Profile {
            label: format!("{file} [{env}]"),
            region,
            parameters,
        })
    }

    /// A parameter's value; empty counts as not given.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }
}

/// How `table_names`' error for a name neither source gives begins.
pub const NO_TABLE_NAME: &str = "no table name for";

/// A table a subcommand acts on: its variable, its name, and where the name came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub variable: &'static str,
    pub name: String,
    pub source: String,
}

/// The names of `variables` (among `TABLE_VARIABLES`), each from its environment
/// variable (`lookup`) or the profile's `Existing…Table` parameter. When both give a
/// name and the names differ, that is an error: neither an exported variable left over
/// from another session nor an explicit `--config-env` silently wins over the other.
/// There is no default: a missing name is an error that says how to give it.
pub fn table_names(
    variables: &[&'static str],
    lookup: impl Fn(&str) -> Option<String>,
    profile: Option<&Profile>,
) -> Result<Vec<TableName>, String> {
    let mut names = Vec::new();
    let mut missing = Vec::new();
    let mut conflicts = Vec::new();
    for &variable in variables {
        let parameter = TABLE_PARAMETERS
            .iter()
            .find(|(v, _)| *v == variable)
            .and_then(|(_, parameter)| *parameter);
        let from_env = lookup(variable).filter(|value| !value.trim().is_empty());
        let from_profile = profile.and_then(|profile| {
            let parameter = parameter?;
            let value = profile.parameter(parameter)?;
            Some((value.to_string(), format!("{} {parameter}", profile.label)))
        });
        match (from_env, from_profile) {
            (Some(name), Some((other, source))) if name.trim() != other => {
                conflicts.push(format!(
                    "{variable} is {:?} in the environment and {other:?} in {source} (unset \
                     {variable}, or drop --config-env)",
                    name.trim()
                ));
            }
            (Some(name), _) => names.push(TableName {
                variable,
                name: name.trim().to_string(),
                source: format!("${variable}"),
            }),
            (None, Some((name, source))) => names.push(TableName {
                variable,
                name,
                source,
            }),
            (None, None) => missing.push(match parameter {
                Some(parameter) => format!(
                    "{variable} (export it, or give --config-env with {parameter} in samconfig.toml)"
                ),
                None => format!("{variable} (export it: the stack's output TestEventsTableName)"),
            }),
        }
    }
    if !conflicts.is_empty() {
        Err(format!("two names for one table: {}", conflicts.join("; ")))
    } else if missing.is_empty() {
        Ok(names)
    } else {
        Err(format!("{NO_TABLE_NAME} {}", missing.join("; ")))
    }
}

/// Every table variable the functions read, in `TableNames` order.
pub fn all_variables() -> [&'static str; 6] {
    TABLE_VARIABLES.map(|(variable, _)| variable)
}

/// The lines that say what a run acts on, before it reads anything.
pub fn describe_target(region: &str, region_source: &str, tables: &[TableName]) -> String {
    let mut text = format!("region {region} ({region_source})\n");
    for table in tables {
        text.push_str(&format!(
            "{:<23} {} ({})\n",
            table.variable, table.name, table.source
        ));
    }
    text
}

/// The SDK configuration for a workstation: aws-config's default chain (environment,
/// profiles, SSO, `credential_process`, container and instance roles), the system's
/// trusted roots, and timeouts and retries for a long run over any network. The
/// region is `region` when given, else the chain's.
pub async fn sdk_config(region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMCONFIG: &str = r#"
[prod.deploy.parameters]
region = "eu-west-1"
parameter_overrides = ["Environment=prod", "ExistingEventsTable=tracking-events", "ExistingProgramsTable="]
[dev.deploy.parameters]
parameter_overrides = "Environment=dev ExistingEventsTable=\"dev-events\""
"#;

    #[test]
    fn a_profile_gives_its_region_and_parameters_in_either_form() {
        let prod = Profile::parse(SAMCONFIG, "prod", "samconfig.toml").unwrap();
        assert_eq!(prod.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            prod.parameter("ExistingEventsTable"),
            Some("tracking-events")
        );
        assert_eq!(prod.parameter("ExistingProgramsTable"), None);
        let dev = Profile::parse(SAMCONFIG, "dev", "samconfig.toml").unwrap();
        assert_eq!(dev.parameter("ExistingEventsTable"), Some("dev-events"));
        let error = Profile::parse(SAMCONFIG, "staging", "samconfig.toml").unwrap_err();
        assert!(error.contains("[staging.deploy.parameters]"), "{error}");
    }

    #[test]
    fn either_source_gives_a_name_two_different_names_are_refused_and_nothing_defaults() {
        let prod = Profile::parse(SAMCONFIG, "prod", "samconfig.toml").unwrap();
        // Both give EVENTS_TABLE: the same name is that name, another is an error naming both.
        let same = |name: &str| (name == "EVENTS_TABLE").then(|| "tracking-events".to_string());
        let names = table_names(&["EVENTS_TABLE"], same, Some(&prod)).unwrap();
        assert_eq!(names[0].name, "tracking-events");
        let other = |name: &str| (name == "EVENTS_TABLE").then(|| "dev-events".to_string());
        let error = table_names(&["EVENTS_TABLE"], other, Some(&prod)).unwrap_err();
        assert!(
            error.contains("\"dev-events\" in the environment")
                && error
                    .contains("\"tracking-events\" in samconfig.toml [prod] ExistingEventsTable"),
            "{error}"
        );

        let env = |name: &str| (name == "TEST_EVENTS_TABLE").then(|| "view".to_string());
        let names = table_names(&["EVENTS_TABLE", "TEST_EVENTS_TABLE"], env, Some(&prod)).unwrap();
        assert_eq!(names[0].name, "tracking-events");
        assert_eq!(names[0].source, "samconfig.toml [prod] ExistingEventsTable");
        assert_eq!(names[1].name, "view");
        assert_eq!(names[1].source, "$TEST_EVENTS_TABLE");

        let error = table_names(
            &["PROGRAMS_TABLE", "TEST_EVENTS_TABLE"],
            |_| None,
            Some(&prod),
        )
        .unwrap_err();
        assert!(error.contains("PROGRAMS_TABLE (export it"), "{error}");
        assert!(error.contains("TEST_EVENTS_TABLE (export it"), "{error}");
        let blank = |_: &str| Some(" ".to_string());
        assert!(table_names(&["EVENTS_TABLE"], blank, None).is_err());
    }
}
