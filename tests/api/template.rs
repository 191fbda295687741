//! `template.yaml` and the code agree: same tables, keys and indexes as `seed`
//! creates, same environment variables as the function reads, and a role that
//! can only read what the function reads.

use serde_norway::Value;
use tracking_status::config::{TABLE_VARIABLES, TableNames};
use tracking_status::store::dynamodb::schema::{IndexProjection, KeyAttribute, KeyKind, tables};

fn template() -> Value {
    let path = format!("{}/template.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).expect("template.yaml is YAML")
}

/// `local/template.yaml`: the function behind a local authorizer, for `sam local start-api`.
fn local_template() -> Value {
    let path = format!("{}/local/template.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap())
        .expect("local/template.yaml is YAML")
}

fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    &template["Resources"][name]
}

fn key_schema(keys: &Value) -> Vec<(String, String)> {
    keys.as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_string(),
                k["KeyType"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expected_keys(partition: KeyAttribute, sort: Option<KeyAttribute>) -> Vec<(String, String)> {
    let mut keys = vec![(partition.name.to_string(), "HASH".to_string())];
    if let Some(sort) = sort {
        keys.push((sort.name.to_string(), "RANGE".to_string()));
    }
    keys
}

fn kind(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::S => "S",
        KeyKind::N => "N",
    }
}

#[test]
fn tables_match_the_schema_seed_creates() {
    let template = template();
    let names = TableNames {
        programs: "ProgramsTable".into(),
        advertisers: "AdvertisersTable".into(),
        memberships: "MembershipsTable".into(),
        events: "EventsTable".into(),
        partner_programs: "PartnerProgramsTable".into(),
    };
    for spec in tables(&names) {
        let table = resource(&template, &spec.name);
        assert_eq!(table["Type"], "AWS::DynamoDB::Table", "{}", spec.name);
        let properties = &table["Properties"];
        assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST");
        assert_eq!(
            properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
            true
        );
        assert_eq!(
            key_schema(&properties["KeySchema"]),
            expected_keys(spec.partition, spec.sort),
            "{}",
            spec.name
        );

        let mut defined: Vec<(String, String)> = properties["AttributeDefinitions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["AttributeName"].as_str().unwrap().to_string(),
                    a["AttributeType"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        defined.sort();
        let mut expected: Vec<(String, String)> = std::iter::once(spec.partition)
            .chain(spec.sort)
            .chain(
                spec.indexes
                    .iter()
                    .flat_map(|i| std::iter::once(i.partition).chain(i.sort)),
            )
            .map(|k| (k.name.to_string(), kind(k.kind).to_string()))
            .collect();
        expected.sort();
        expected.dedup();
        assert_eq!(defined, expected, "{}", spec.name);

        let indexes = properties["GlobalSecondaryIndexes"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        assert_eq!(indexes.len(), spec.indexes.len(), "{}", spec.name);
        for (index, expected) in indexes.iter().zip(&spec.indexes) {
            assert_eq!(index["IndexName"], expected.name);
            assert_eq!(
                key_schema(&index["KeySchema"]),
                expected_keys(expected.partition, expected.sort)
            );
            match expected.projection {
                IndexProjection::KeysOnly => {
                    assert_eq!(index["Projection"]["ProjectionType"], "KEYS_ONLY")
                }
                IndexProjection::Include(attributes) => {
                    assert_eq!(index["Projection"]["ProjectionType"], "INCLUDE");
                    let listed: Vec<&str> = index["Projection"]["NonKeyAttributes"]
                        .as_sequence()
                        .unwrap()
                        .iter()
                        .map(|a| a.as_str().unwrap())
                        .collect();
                    assert_eq!(listed, attributes);
                }
            }
        }
    }
}

#[test]
fn the_function_gets_every_table_variable() {
    let template = template();
    let variables =
        &resource(&template, "TrackingStatusFunction")["Properties"]["Environment"]["Variables"];
    let mut names: Vec<&str> = variables
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    names.sort();
    let mut expected: Vec<&str> = TABLE_VARIABLES.iter().map(|(name, _)| *name).collect();
    expected.sort();
    assert_eq!(names, expected);
}

/// `(tag, value)` of a CloudFormation short-form function such as `!Ref X`.
fn tagged(value: &Value) -> (String, &Value) {
    match value {
        Value::Tagged(tagged) => (tagged.tag.to_string(), &tagged.value),
        other => panic!("expected an intrinsic function, got {other:?}"),
    }
}

/// Checks that `resource` is the ARN of one of the stack's tables (created or
/// existing), or of one of their indexes, and returns the table's logical id.
fn own_table_arn(template: &Value, resource: &Value) -> String {
    let (tag, sub) = tagged(resource);
    assert_eq!(tag, "!Sub", "{resource:?}");
    let arn = sub[0].as_str().unwrap();
    let table_arn = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Name}";
    let suffix = arn
        .strip_prefix(table_arn)
        .unwrap_or_else(|| panic!("not a table ARN: {arn}"));
    assert!(
        ["", "/index/testEvents", "/index/programStatus"].contains(&suffix),
        "not a table or one of its indexes: {arn}"
    );
    // Name: !If [CreateXTable, !Ref XTable, !Ref ExistingXTable]
    let (tag, choice) = tagged(&sub[1]["Name"]);
    assert_eq!(tag, "!If");
    let condition = choice[0].as_str().unwrap();
    let (_, created) = tagged(&choice[1]);
    let (_, existing) = tagged(&choice[2]);
    let created = created.as_str().unwrap();
    assert_eq!(resource_type(template, created), "AWS::DynamoDB::Table");
    assert_eq!(template["Resources"][created]["Condition"], condition);
    assert!(template["Parameters"][existing.as_str().unwrap()].is_mapping());
    created.to_string()
}

fn resource_type<'a>(template: &'a Value, name: &str) -> &'a str {
    template["Resources"][name]["Type"]
        .as_str()
        .unwrap_or_default()
}

#[test]
fn the_role_reads_only_its_own_tables() {
    let template = template();
    let function = &resource(&template, "TrackingStatusFunction")["Properties"];
    let policies = function["Policies"].as_sequence().expect("inline policies");
    let mut statements = 0;
    for policy in policies {
        // only inline statements: a named or managed policy would hide its actions
        let list = policy["Statement"]
            .as_sequence()
            .expect("an inline policy document");
        for statement in list {
            statements += 1;
            assert_eq!(statement["Effect"], "Allow");
            let actions: Vec<&str> = match &statement["Action"] {
                Value::String(action) => vec![action.as_str()],
                Value::Sequence(actions) => actions.iter().map(|a| a.as_str().unwrap()).collect(),
                other => panic!("unexpected Action {other:?}"),
            };
            for action in actions {
                assert!(
                    [
                        "dynamodb:GetItem",
                        "dynamodb:Query",
                        "dynamodb:BatchGetItem"
                    ]
                    .contains(&action),
                    "the role may not {action}"
                );
            }
            assert!(statement.get("NotAction").is_none() && statement.get("NotResource").is_none());
            let resources = statement["Resource"]
                .as_sequence()
                .expect("a list of resources");
            assert!(!resources.is_empty());
            for resource in resources {
                assert!(
                    !format!("{resource:?}").contains('*'),
                    "wildcard resource {resource:?}"
                );
                own_table_arn(&template, resource);
            }
        }
    }
    assert!(statements >= 2);
    for key in ["Role", "ManagedPolicyArns"] {
        assert!(
            function.get(key).is_none(),
            "{key} would bypass the inline policy"
        );
    }
}

/// The deployed build is the release profile with default features: the
/// test-only `panic-probe` trigger is never in it, and a panic unwinds into the
/// panic net instead of aborting the process.
#[test]
fn the_deployed_build_has_no_panic_probe_and_unwinds() {
    let template = template();
    let function = resource(&template, "TrackingStatusFunction");
    let build = &function["Metadata"]["BuildProperties"];
    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert_eq!(build["Binary"], "tracking-status");
    // Only the binary is chosen: no Flags (which could pass --features) and no Features.
    let keys: Vec<&str> = build
        .as_mapping()
        .unwrap()
        .keys()
        .map(|key| key.as_str().unwrap())
        .collect();
    assert_eq!(keys, ["Binary"], "{build:?}");

    let manifest: toml_like::Manifest = toml_like::read();
    assert!(
        !manifest.default_features.iter().any(|f| f == "panic-probe"),
        "{:?}",
        manifest.default_features
    );
    assert_eq!(manifest.release_panic.as_deref(), Some("unwind"));
}

/// Just enough of Cargo.toml for the test above, without a TOML parser.
mod toml_like {
    pub struct Manifest {
        pub default_features: Vec<String>,
        pub release_panic: Option<String>,
    }

    pub fn read() -> Manifest {
        let path = format!("{}/Cargo.toml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        let mut section = String::new();
        let mut manifest = Manifest {
            default_features: Vec::new(),
            release_panic: None,
        };
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_string();
            } else if let Some((key, value)) = line.split_once('=') {
                let (key, value) = (key.trim(), value.trim());
                match (section.as_str(), key) {
                    ("[features]", "default") => {
                        manifest.default_features = value
                            .trim_matches(|c| c == '[' || c == ']')
                            .split(',')
                            .map(|f| f.trim().trim_matches('"').to_string())
                            .filter(|f| !f.is_empty())
                            .collect();
                    }
                    ("[profile.release]", "panic") => {
                        manifest.release_panic = Some(value.trim_matches('"').to_string());
                    }
                    _ => {}
                }
            }
        }
        manifest
    }
}

fn variable_names(function: &Value) -> Vec<String> {
    let mut names: Vec<String> = function["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// `sam local start-api` (scripts/start-api-check.sh, `scripts/run-local.sh --api`) serves the
/// deployed function on the deployed route: the same build, runtime, handler, memory, timeout and
/// logging, the same method and path, behind an authorizer configured as the dashboard's.
#[test]
fn the_local_template_serves_the_deployed_function_on_the_deployed_route() {
    let (deployed, local) = (template(), local_template());
    let (function, local_function) = (
        resource(&deployed, "TrackingStatusFunction"),
        resource(&local, "TrackingStatusFunction"),
    );
    assert_eq!(function["Metadata"], local_function["Metadata"]);
    let (properties, local_properties) = (&function["Properties"], &local_function["Properties"]);
    for key in [
        "Handler",
        "Runtime",
        "Architectures",
        "MemorySize",
        "Timeout",
    ] {
        assert_eq!(properties[key], local_properties[key], "{key}");
    }
    for key in ["LogFormat", "ApplicationLogLevel", "SystemLogLevel"] {
        assert_eq!(
            properties["LoggingConfig"][key], local_properties["LoggingConfig"][key],
            "LoggingConfig.{key}"
        );
    }
    // Both build the project root: template.yaml sits in it, local/template.yaml one level down.
    assert_eq!(properties["CodeUri"], ".");
    assert_eq!(local_properties["CodeUri"], "..");

    // The same variables, plus the endpoint that `--env-vars` points at DynamoDB Local (SAM sets
    // only declared variables). The deployed function has no endpoint variable at all
    // (scripts/sam-local.sh invokes a checked copy of the built template that declares it).
    let mut expected = variable_names(function);
    assert!(
        !expected
            .iter()
            .any(|name| name == "AWS_ENDPOINT_URL_DYNAMODB")
    );
    expected.push("AWS_ENDPOINT_URL_DYNAMODB".to_string());
    expected.sort();
    assert_eq!(variable_names(local_function), expected);

    let event = &properties["Events"]["GetTrackingStatus"];
    let local_event = &local_properties["Events"]["GetTrackingStatus"];
    assert_eq!(event["Type"], "HttpApi");
    assert_eq!(local_event["Type"], "HttpApi");
    for key in ["Method", "Path"] {
        assert_eq!(
            event["Properties"][key], local_event["Properties"][key],
            "{key}"
        );
    }
    let authorizer = &resource(&deployed, "DashboardHttpApi")["Properties"]["Auth"]["Authorizers"]
        ["SessionAuthorizer"];
    let local_authorizer = &resource(&local, "LocalHttpApi")["Properties"]["Auth"]["Authorizers"]["LocalSessionAuthorizer"];
    for key in ["AuthorizerPayloadFormatVersion", "EnableSimpleResponses"] {
        assert_eq!(authorizer[key], local_authorizer[key], "{key}");
    }
    assert_eq!(
        authorizer["Identity"]["Headers"],
        local_authorizer["Identity"]["Headers"]
    );
    assert_eq!(
        local_event["Properties"]["Auth"]["Authorizer"],
        "LocalSessionAuthorizer"
    );
}

/// The local template can never become a stack: its rule's assertion is always false.
#[test]
fn the_local_template_cannot_be_deployed() {
    let local = local_template();
    let assertion = &local["Rules"]["NeverDeploy"]["Assertions"][0]["Assert"];
    let (tag, operands) = tagged(assertion);
    assert_eq!(tag, "!Equals");
    assert_ne!(operands[0], operands[1], "{operands:?}");
    assert!(operands[0].is_string() && operands[1].is_string());
}
