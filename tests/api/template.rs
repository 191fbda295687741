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
        // Kept when the stack goes, and no DeleteTable from anyone until protection is turned off.
        assert_eq!(table["DeletionPolicy"], "Retain", "{}", spec.name);
        assert_eq!(
            properties["DeletionProtectionEnabled"], true,
            "{}",
            spec.name
        );
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
                    let listed: Vec<&str> = strings(&index["Projection"]["NonKeyAttributes"]);
                    assert_eq!(listed, attributes);
                }
            }
        }
    }
}

#[test]
fn the_function_gets_every_table_variable_and_its_metrics_namespace() {
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
    expected.push("METRICS_NAMESPACE");
    expected.sort();
    assert_eq!(names, expected);
    // one namespace per stack: dev's and prod's metrics stay apart
    let (tag, value) = tagged(&variables["METRICS_NAMESPACE"]);
    assert_eq!(
        (tag.as_str(), value.as_str()),
        ("!Ref", Some("AWS::StackName"))
    );
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
    let mut kms_statements = 0;
    for policy in policies {
        // only inline statements: a named or managed policy would hide its actions
        let list = policy["Statement"]
            .as_sequence()
            .expect("an inline policy document");
        for statement in list {
            // The one conditional statement: with a customer-managed key (KmsKeyArn), DynamoDB
            // decrypts the tables with it on the reader's behalf, so the role may use that key,
            // and only through DynamoDB. Without the key the statement is not there at all.
            if let Value::Tagged(_) = statement {
                kms_statements += 1;
                the_kms_statement_is_the_tables_key_through_dynamodb(&template, statement);
                continue;
            }
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
    assert_eq!(kms_statements, 1);
    for key in ["Role", "ManagedPolicyArns"] {
        assert!(
            function.get(key).is_none(),
            "{key} would bypass the inline policy"
        );
    }
}

/// `!If [HasKmsKey, {kms:Decrypt and kms:DescribeKey on KmsKeyArn via DynamoDB}, !Ref AWS::NoValue]`.
fn the_kms_statement_is_the_tables_key_through_dynamodb(template: &Value, statement: &Value) {
    let (tag, choice) = tagged(statement);
    assert_eq!(tag, "!If", "{statement:?}");
    assert_eq!(choice[0], "HasKmsKey");
    no_value(&choice[2]);
    let statement = &choice[1];
    assert_eq!(statement["Effect"], "Allow");
    let actions: Vec<&str> = strings(&statement["Action"]);
    assert_eq!(actions, ["kms:Decrypt", "kms:DescribeKey"]);
    assert_eq!(reference(&statement["Resource"]), "KmsKeyArn");
    let (tag, service) = tagged(&statement["Condition"]["StringEquals"]["kms:ViaService"]);
    assert_eq!(tag, "!Sub");
    assert_eq!(
        service.as_str(),
        Some("dynamodb.${AWS::Region}.amazonaws.com")
    );
    has_kms_key_means_a_key_was_given(template);
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
    // The same build. The deployed function's Metadata also holds its checkov skips, which are
    // about the deployed stack only (checkov reads template.yaml alone); the local one has
    // nothing but the build.
    for key in ["BuildMethod", "BuildProperties"] {
        assert_eq!(
            function["Metadata"][key], local_function["Metadata"][key],
            "{key}"
        );
    }
    assert_eq!(local_function["Metadata"].as_mapping().unwrap().len(), 2);
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

// ---- Production operations (issue #13): checkov, deploys, alarms, access logs, throttling ----

fn parameter<'a>(template: &'a Value, name: &str) -> &'a Value {
    let parameter = &template["Parameters"][name];
    assert!(parameter.is_mapping(), "no parameter {name}");
    parameter
}

/// The name in `!Ref Name`.
/// A YAML list of strings.
fn strings(value: &Value) -> Vec<&str> {
    value
        .as_sequence()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap())
        .collect()
}

fn reference(value: &Value) -> &str {
    let (tag, name) = tagged(value);
    assert_eq!(tag, "!Ref", "{value:?}");
    name.as_str().unwrap()
}

/// `!Ref AWS::NoValue`: the property is left out.
fn no_value(value: &Value) {
    assert_eq!(reference(value), "AWS::NoValue");
}

/// An optional parameter: empty by default, and `condition` is "it was given".
fn given_when_not_empty(template: &Value, condition: &str, name: &str) {
    assert_eq!(parameter(template, name)["Default"], "", "{name}");
    let (tag, not) = tagged(&template["Conditions"][condition]);
    assert_eq!(tag, "!Not", "{condition}");
    let (tag, equals) = tagged(&not[0]);
    assert_eq!(tag, "!Equals", "{condition}");
    assert_eq!(reference(&equals[0]), name, "{condition}");
    assert_eq!(equals[1], "", "{condition}");
}

fn has_kms_key_means_a_key_was_given(template: &Value) {
    given_when_not_empty(template, "HasKmsKey", "KmsKeyArn");
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"] == kind)
        .map(|(name, resource)| (name.as_str().unwrap(), resource))
        .collect()
}

/// checkov (scripts/test.sh step 1) passes with zero failed checks. A check that does not fit is
/// skipped on its resource with the reason written down; the real gaps it found (access logs,
/// CKV_AWS_95; a concurrency limit, CKV_AWS_115) are fixed, never skipped.
#[test]
fn checkov_skips_are_written_decisions() {
    let template = template();
    let expected: &[(&str, &[&str])] = &[
        (
            "AWS::Serverless::Function",
            &["CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"],
        ),
        ("AWS::DynamoDB::Table", &["CKV_AWS_119"]),
        ("AWS::Logs::LogGroup", &["CKV_AWS_158"]),
    ];
    let mut skipping = 0;
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let kind = resource["Type"].as_str().unwrap();
        let ids: Vec<&str> = resource["Metadata"]["checkov"]["skip"]
            .as_sequence()
            .map(|skips| {
                skips
                    .iter()
                    .map(|skip| {
                        let id = skip["id"].as_str().expect("a skip names its check");
                        let comment = skip["comment"].as_str().unwrap_or_default();
                        assert!(
                            comment.split_whitespace().count() >= 15,
                            "{name}: skipping {id} needs its reason, got {comment:?}"
                        );
                        // The customer-managed key skips say how to turn the key on.
                        if ["CKV_AWS_119", "CKV_AWS_158"].contains(&id) {
                            assert!(comment.contains("KmsKeyArn"), "{name}: {comment}");
                            assert!(comment.contains("AWS-owned"), "{name}: {comment}");
                        }
                        id
                    })
                    .collect()
            })
            .unwrap_or_default();
        let wanted = expected
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, ids)| ids.to_vec())
            .unwrap_or_default();
        assert_eq!(ids, wanted, "{name} ({kind})");
        if !ids.is_empty() {
            skipping += 1;
        }
    }
    // the function, five tables, two log groups
    assert_eq!(skipping, 8);
}

/// `KmsKeyArn` (empty by default: AWS-owned keys) encrypts the tables the stack creates and both
/// log groups with a customer-managed key when it is given; without it the properties are absent.
#[test]
fn a_customer_managed_key_is_optional_and_off_by_default() {
    let template = template();
    has_kms_key_means_a_key_was_given(&template);
    let tables = resources_of_type(&template, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 5);
    for (name, table) in tables {
        let (tag, choice) = tagged(&table["Properties"]["SSESpecification"]);
        assert_eq!(tag, "!If", "{name}");
        assert_eq!(choice[0], "HasKmsKey", "{name}");
        let sse = &choice[1];
        assert_eq!(sse["SSEEnabled"], true, "{name}");
        assert_eq!(sse["SSEType"], "KMS", "{name}");
        assert_eq!(reference(&sse["KMSMasterKeyId"]), "KmsKeyArn", "{name}");
        no_value(&choice[2]);
    }
    let log_groups = resources_of_type(&template, "AWS::Logs::LogGroup");
    assert_eq!(log_groups.len(), 2);
    for (name, group) in log_groups {
        let (tag, choice) = tagged(&group["Properties"]["KmsKeyId"]);
        assert_eq!(tag, "!If", "{name}");
        assert_eq!(choice[0], "HasKmsKey", "{name}");
        assert_eq!(reference(&choice[1]), "KmsKeyArn", "{name}");
        no_value(&choice[2]);
        assert_eq!(
            reference(&group["Properties"]["RetentionInDays"]),
            "LogRetentionInDays"
        );
    }
}

/// Every deploy publishes a version behind the `live` alias and CodeDeploy moves the alias, as
/// `DeploymentType` says, rolling back when the errors or the 5xx alarm fires. The route is the
/// function's HttpApi event, which SAM points at the alias (scripts/transform-check.py checks
/// SAM's output).
#[test]
fn deploys_move_the_live_alias_and_roll_back_on_alarms() {
    let template = template();
    let function = &resource(&template, "TrackingStatusFunction")["Properties"];
    assert_eq!(function["AutoPublishAlias"], "live");
    let preference = &function["DeploymentPreference"];
    assert_eq!(reference(&preference["Type"]), "DeploymentType");
    // Nothing that switches it off or lets a hook decide.
    for key in ["Enabled", "Hooks", "PassthroughCondition"] {
        assert!(preference.get(key).is_none(), "DeploymentPreference.{key}");
    }
    let deployment_type = parameter(&template, "DeploymentType");
    assert_eq!(deployment_type["Default"], "AllAtOnce");
    let allowed: Vec<&str> = strings(&deployment_type["AllowedValues"]);
    assert!(allowed.contains(&"AllAtOnce") && allowed.contains(&"Canary10Percent5Minutes"));
    let alarms: Vec<&str> = preference["Alarms"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(reference)
        .collect();
    // Neither names the API: its route invokes the alias, which waits for the deployment group,
    // which waits for these alarms (scripts/transform-check.py finds no dependency loop).
    assert_eq!(alarms, ["FunctionErrorsAlarm", "Function5xxRateAlarm"]);
    for name in alarms {
        let properties = alarm(&template, name);
        // They fire within the prod canary's 5 minutes.
        let period = properties["Period"].as_f64().unwrap_or_else(|| {
            properties["Metrics"][0]["MetricStat"]["Period"]
                .as_f64()
                .unwrap()
        });
        let datapoints = properties["DatapointsToAlarm"]
            .as_f64()
            .or(properties["EvaluationPeriods"].as_f64())
            .unwrap();
        assert!(
            period * datapoints <= 300.0,
            "{name}: {period} s x {datapoints}"
        );
    }
    let event = &function["Events"]["GetTrackingStatus"];
    assert_eq!(event["Type"], "HttpApi");
    assert_eq!(reference(&event["Properties"]["ApiId"]), "DashboardHttpApi");
}

/// `[<env>.deploy.parameters] parameter_overrides` of samconfig.toml as (name, value) pairs:
/// just enough TOML for the test below (one quoted `Name=value` per line).
fn samconfig_overrides(env: &str) -> Vec<(String, String)> {
    let path = format!("{}/samconfig.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let header = format!("[{env}.deploy.parameters]");
    let (mut section, mut in_list) = ("", false);
    let mut overrides = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if in_list {
            if line.starts_with(']') {
                in_list = false;
            } else if section == header {
                let entry = line.trim_end_matches(',').trim_matches('"');
                let (name, value) = entry.split_once('=').expect("Name=value");
                overrides.push((name.to_string(), value.to_string()));
            }
        } else if line.starts_with('[') {
            section = line;
        } else if line.starts_with("parameter_overrides") && line.ends_with('[') {
            in_list = true;
        }
    }
    assert!(!overrides.is_empty(), "no parameter_overrides in {header}");
    overrides
}

#[test]
fn samconfig_deploys_dev_all_at_once_and_prod_as_a_canary() {
    let template = template();
    let (dev, prod) = (samconfig_overrides("default"), samconfig_overrides("prod"));
    let value = |overrides: &[(String, String)], name: &str| {
        overrides
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        value(dev.as_slice(), "DeploymentType").as_deref(),
        Some("AllAtOnce")
    );
    assert_eq!(
        value(prod.as_slice(), "DeploymentType").as_deref(),
        Some("Canary10Percent5Minutes")
    );
    // Every override names a parameter of the template, with a value it allows.
    for (name, value) in dev.iter().chain(&prod) {
        let parameter = parameter(&template, name);
        if let Some(allowed) = parameter["AllowedValues"].as_sequence() {
            assert!(
                allowed.iter().any(|a| a.as_str() == Some(value.as_str())
                    || a.as_u64().map(|n| n.to_string()).as_deref() == Some(value.as_str())),
                "{name}={value} is not allowed"
            );
        }
        if let Some(pattern) = parameter["AllowedPattern"].as_str() {
            assert!(
                allowed_pattern(pattern).is_match(value),
                "{name}={value} does not match {pattern}"
            );
        }
    }
}

/// A parameter's `AllowedPattern` as CloudFormation applies it: Java regex syntax, matched against
/// the whole value. The patterns here use only syntax that Java and the regex crate read alike
/// (classes, groups, `?`, `+`, `*`, `{m,n}`, `^`, `$`, `|`).
fn allowed_pattern(pattern: &str) -> regex::Regex {
    regex::Regex::new(&format!("^(?:{pattern})$")).expect("AllowedPattern is a regex")
}

/// The deployed API's CORS origin is `DashboardOrigin`, sent with credentials: the parameter's
/// pattern lets through one exact https origin and nothing that HTTP API CORS reads as a wildcard
/// (`*` is any origin, `https://*` any https origin). http://localhost origins are the local
/// template's own list, for a dashboard's dev server.
#[test]
fn the_dashboard_origin_is_one_https_origin_without_wildcards() {
    let template = template();
    let cors = &resource(&template, "DashboardHttpApi")["Properties"]["CorsConfiguration"];
    let origins = cors["AllowOrigins"].as_sequence().unwrap();
    assert_eq!(origins.len(), 1, "{origins:?}");
    assert_eq!(reference(&origins[0]), "DashboardOrigin");
    assert_eq!(cors["AllowCredentials"], true);

    let parameter = parameter(&template, "DashboardOrigin");
    let pattern = allowed_pattern(parameter["AllowedPattern"].as_str().expect("a pattern"));
    assert!(pattern.is_match(parameter["Default"].as_str().unwrap()));
    for accepted in [
        "https://dashboard.example.com",
        "https://dashboard.dev.example.com",
        "https://app-1.example.co.uk",
        "https://dashboard.example.com:8443",
    ] {
        assert!(pattern.is_match(accepted), "{accepted} is refused");
    }
    for refused in [
        "*",
        "https://*",
        "http://*",
        "https://*.example.com",
        "https://dashboard.*",
        "http://x",
        "http://dashboard.example.com",
        "http://localhost:5173",
        "https://localhost:5173",
        "https://dashboard.example.com/",
        "https://dashboard.example.com/app",
        "https://Dashboard.example.com",
        "https://user@dashboard.example.com",
        "https://dashboard.example.com,https://evil.example",
        "https://dashboard.example.com\nhttps://evil.example",
        "https://-dashboard.example.com",
        "https://",
        "",
    ] {
        assert!(!pattern.is_match(refused), "{refused:?} is accepted");
    }

    // The local list: plain http on loopback only, which the deployed pattern refuses.
    let local = local_template();
    let local_origins = strings(
        &resource(&local, "LocalHttpApi")["Properties"]["CorsConfiguration"]["AllowOrigins"],
    );
    assert!(!local_origins.is_empty());
    let loopback = regex::Regex::new(r"^http://(localhost|127\.0\.0\.1):[0-9]{1,5}$").unwrap();
    for origin in local_origins {
        assert!(loopback.is_match(origin), "local origin {origin}");
        assert!(!pattern.is_match(origin), "{origin}");
    }
}

/// The prod profile cannot deploy without a topic to page: the `ProdPagesSomeone` rule, which
/// CloudFormation checks before any change, asserts `AlarmTopicArn` is not empty when
/// `Environment` is prod. `Environment` has no default, so every deploy says which it is, and the
/// two samconfig.toml profiles say dev and prod (the values the rule and the parameter name).
/// scripts/transform-check.py evaluates the rule with each profile's values on SAM's output.
#[test]
fn the_prod_profile_cannot_deploy_without_an_alarm_topic() {
    let template = template();
    let environment = parameter(&template, "Environment");
    assert!(environment.get("Default").is_none(), "{environment:?}");
    assert_eq!(strings(&environment["AllowedValues"]), ["dev", "prod"]);
    // dev may deploy without a topic: the parameter stays optional.
    given_when_not_empty(&template, "HasAlarmTopic", "AlarmTopicArn");

    let value = |profile: &str| {
        samconfig_overrides(profile)
            .into_iter()
            .find(|(name, _)| name == "Environment")
            .map(|(_, value)| value)
            .unwrap_or_else(|| panic!("the {profile} profile names no Environment"))
    };
    let (dev, prod) = (value("default"), value("prod"));
    assert_eq!((dev.as_str(), prod.as_str()), ("dev", "prod"));

    let rules = template["Rules"].as_mapping().expect("a Rules section");
    assert_eq!(rules.len(), 1);
    let rule = &template["Rules"]["ProdPagesSomeone"];
    // RuleCondition: !Equals [!Ref Environment, prod]
    let (tag, operands) = tagged(&rule["RuleCondition"]);
    assert_eq!(tag, "!Equals");
    assert_eq!(reference(&operands[0]), "Environment");
    assert_eq!(operands[1].as_str(), Some(prod.as_str()));
    // Assert: !Not [!Equals [!Ref AlarmTopicArn, ""]]
    let assertions = rule["Assertions"].as_sequence().unwrap();
    assert_eq!(assertions.len(), 1);
    let (tag, not) = tagged(&assertions[0]["Assert"]);
    assert_eq!(tag, "!Not");
    let (tag, equals) = tagged(&not[0]);
    assert_eq!(tag, "!Equals");
    assert_eq!(reference(&equals[0]), "AlarmTopicArn");
    assert_eq!(equals[1], "");
    let message = assertions[0]["AssertDescription"].as_str().unwrap();
    assert!(
        message.contains("AlarmTopicArn") && message.contains("samconfig.toml"),
        "{message}"
    );
}

/// An alarm of the stack: sent to the optional `AlarmTopicArn` topic when it fires and when it
/// clears, and quiet without traffic (no data is not breaching). Returns its properties.
fn alarm<'a>(template: &'a Value, name: &str) -> &'a Value {
    let alarm = resource(template, name);
    assert_eq!(alarm["Type"], "AWS::CloudWatch::Alarm", "{name}");
    let properties = &alarm["Properties"];
    for key in ["AlarmActions", "OKActions"] {
        let (tag, choice) = tagged(&properties[key]);
        assert_eq!(tag, "!If", "{name}.{key}");
        assert_eq!(choice[0], "HasAlarmTopic", "{name}.{key}");
        let topics = choice[1].as_sequence().unwrap();
        assert_eq!(topics.len(), 1, "{name}.{key}");
        assert_eq!(reference(&topics[0]), "AlarmTopicArn", "{name}.{key}");
        no_value(&choice[2]);
    }
    assert_eq!(properties["TreatMissingData"], "notBreaching", "{name}");
    assert!(
        !properties["AlarmDescription"].is_null(),
        "{name}: says what it means"
    );
    properties
}

fn dimension<'a>(properties: &'a Value, name: &str) -> Option<&'a Value> {
    properties["Dimensions"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|d| d["Name"] == name)
        .map(|d| &d["Value"])
}

fn function_name_dimension(properties: &Value) {
    assert_eq!(
        reference(dimension(properties, "FunctionName").expect("FunctionName")),
        "TrackingStatusFunction"
    );
}

/// (namespace, metric, statistic, comparison, threshold) of a single-metric alarm.
fn metric(properties: &Value) -> (&str, &str, &str, &str, f64) {
    let statistic = properties["Statistic"]
        .as_str()
        .or(properties["ExtendedStatistic"].as_str())
        .unwrap();
    (
        properties["Namespace"].as_str().unwrap(),
        properties["MetricName"].as_str().unwrap(),
        statistic,
        properties["ComparisonOperator"].as_str().unwrap(),
        properties["Threshold"].as_f64().unwrap(),
    )
}

#[test]
fn alarms_watch_the_function_the_api_and_the_tables() {
    let template = template();
    given_when_not_empty(&template, "HasAlarmTopic", "AlarmTopicArn");
    let function = &resource(&template, "TrackingStatusFunction")["Properties"];

    // Errors through the live alias: a crash or a timeout, never expected.
    let errors = alarm(&template, "FunctionErrorsAlarm");
    assert_eq!(
        metric(errors),
        ("AWS/Lambda", "Errors", "Sum", "GreaterThanThreshold", 0.0)
    );
    function_name_dimension(errors);
    let (tag, alias) = tagged(dimension(errors, "Resource").expect("Resource"));
    assert_eq!(tag, "!Sub");
    assert_eq!(
        alias.as_str().unwrap(),
        format!(
            "${{TrackingStatusFunction}}:{}",
            function["AutoPublishAlias"].as_str().unwrap()
        )
    );

    // Any throttle at the reserved concurrency.
    let throttles = alarm(&template, "FunctionThrottlesAlarm");
    assert_eq!(
        metric(throttles),
        (
            "AWS/Lambda",
            "Throttles",
            "Sum",
            "GreaterThanThreshold",
            0.0
        )
    );
    function_name_dimension(throttles);

    // p99 duration above one DynamoDB call's cap: calls time out before requests do.
    let duration = alarm(&template, "FunctionDurationAlarm");
    let call_cap_ms = tracking_status::sdk::OPERATION_TIMEOUT.as_millis() as f64;
    assert_eq!(
        metric(duration),
        (
            "AWS/Lambda",
            "Duration",
            "p99",
            "GreaterThanThreshold",
            call_cap_ms
        )
    );
    let timeout_ms = function["Timeout"].as_f64().unwrap() * 1000.0;
    assert!(
        2.0 * call_cap_ms < timeout_ms,
        "two rounds of capped calls fit in the timeout"
    );
    function_name_dimension(duration);

    // The function's own 5xx rate, from its EMF metrics: the namespace it is given, the metric
    // and dimension its request line carries (src/telemetry.rs).
    let rate_alarm = alarm(&template, "Function5xxRateAlarm");
    assert_eq!(
        rate_alarm["ComparisonOperator"],
        "GreaterThanOrEqualToThreshold"
    );
    assert_eq!(rate_alarm["Threshold"].as_f64(), Some(2.0));
    let rate_metrics = rate_alarm["Metrics"].as_sequence().unwrap();
    let namespace = &function["Environment"]["Variables"]["METRICS_NAMESPACE"];
    let mut classes = Vec::new();
    for metric in rate_metrics.iter().filter(|m| !m["MetricStat"].is_null()) {
        let stat = &metric["MetricStat"];
        assert_eq!(&stat["Metric"]["Namespace"], namespace);
        assert_eq!(
            stat["Metric"]["MetricName"],
            tracking_status::telemetry::METRICS[0].0
        );
        assert_eq!(stat["Stat"], "SampleCount");
        let class = dimension(&stat["Metric"], tracking_status::telemetry::STATUS_CLASS)
            .expect("status_class");
        classes.push(class.as_str().unwrap().to_string());
    }
    classes.sort();
    assert_eq!(classes, ["2xx", "4xx", "5xx"]);
    let rate_expression = rate_metrics
        .iter()
        .find(|m| m["ReturnData"] == true)
        .unwrap()["Expression"]
        .as_str()
        .unwrap();
    assert!(
        rate_expression.contains("100 * FILL(failed, 0) / answered"),
        "{rate_expression}"
    );

    // The share of 5xx among the API's responses, in percent, at most a fifth of the canary's
    // 10 % share, so that a canary failing one request in five trips it.
    let api = alarm(&template, "Api5xxAlarm");
    assert_eq!(api["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
    let threshold = api["Threshold"].as_f64().unwrap();
    assert!(threshold > 0.0 && threshold <= 2.0, "{threshold}");
    let metrics = api["Metrics"].as_sequence().unwrap();
    let by_id = |id: &str| {
        metrics
            .iter()
            .find(|m| m["Id"] == id)
            .unwrap_or_else(|| panic!("metric {id}"))
    };
    for (id, name) in [("errors", "5xx"), ("requests", "Count")] {
        let stat = &by_id(id)["MetricStat"];
        assert_eq!(stat["Metric"]["Namespace"], "AWS/ApiGateway");
        assert_eq!(stat["Metric"]["MetricName"], name);
        assert_eq!(stat["Stat"], "Sum");
        assert_eq!(
            reference(dimension(&stat["Metric"], "ApiId").expect("ApiId")),
            "DashboardHttpApi"
        );
        assert_eq!(by_id(id)["ReturnData"], false);
    }
    let rate = by_id("rate");
    assert_eq!(rate["ReturnData"], true);
    let expression = rate["Expression"].as_str().unwrap();
    assert!(
        expression.contains("100 * FILL(errors, 0) / requests"),
        "{expression}"
    );

    // The share of 4xx among the API's responses: HTTP APIs count the stage's throttling (429)
    // there, as no metric of its own. Over minutes with a share of the rate limit's requests.
    let api4xx = alarm(&template, "Api4xxAlarm");
    assert_eq!(
        api4xx["ComparisonOperator"],
        "GreaterThanOrEqualToThreshold"
    );
    let threshold = api4xx["Threshold"].as_f64().unwrap();
    let metrics = api4xx["Metrics"].as_sequence().unwrap();
    let by_id = |id: &str| {
        metrics
            .iter()
            .find(|m| m["Id"] == id)
            .unwrap_or_else(|| panic!("metric {id}"))
    };
    for (id, name) in [("refused", "4xx"), ("requests", "Count")] {
        let stat = &by_id(id)["MetricStat"];
        assert_eq!(stat["Metric"]["Namespace"], "AWS/ApiGateway");
        assert_eq!(stat["Metric"]["MetricName"], name);
        assert_eq!(stat["Stat"], "Sum");
        assert_eq!(stat["Period"].as_f64(), Some(60.0));
        assert_eq!(
            reference(dimension(&stat["Metric"], "ApiId").expect("ApiId")),
            "DashboardHttpApi"
        );
        assert_eq!(by_id(id)["ReturnData"], false);
    }
    let rate = by_id("rate");
    assert_eq!(rate["ReturnData"], true);
    // !Sub "IF(requests >= (${ApiThrottlingRateLimit} * N), 100 * FILL(refused, 0) / requests, 0)"
    let (tag, expression) = tagged(&rate["Expression"]);
    assert_eq!(tag, "!Sub");
    let expression = expression.as_str().unwrap();
    let shape = regex::Regex::new(
        r"^IF\(requests >= \(\$\{ApiThrottlingRateLimit\} \* ([0-9]+)\), 100 \* FILL\(refused, 0\) / requests, 0\)$",
    )
    .unwrap();
    let per_minute: f64 = shape
        .captures(expression)
        .unwrap_or_else(|| panic!("{expression}"))[1]
        .parse()
        .unwrap();
    // A flood at the rate limit sends (limit x 60) requests a minute: it must be counted.
    assert!(
        per_minute < 60.0,
        "the floor (limit x {per_minute} a minute) hides a flood at the limit"
    );
    // A flood offering twice the limit gets half its answers as 429: that must trip it.
    assert!(threshold > 0.0 && threshold <= 50.0, "{threshold}");
    // Sustained, and within 5 minutes.
    let (periods, datapoints) = (
        api4xx["EvaluationPeriods"].as_f64().unwrap(),
        api4xx["DatapointsToAlarm"].as_f64().unwrap(),
    );
    assert!(datapoints >= 2.0 && datapoints <= periods && periods <= 5.0);

    // DynamoDB read throttling on each table the function reads, under the name it is given (an
    // existing table's in prod), and on the index it queries where it queries one.
    let variables = &function["Environment"]["Variables"];
    let names = TableNames {
        programs: "ProgramsTable".into(),
        advertisers: "AdvertisersTable".into(),
        memberships: "MembershipsTable".into(),
        events: "EventsTable".into(),
        partner_programs: "PartnerProgramsTable".into(),
    };
    let throttle_alarms: Vec<&str> = resources_of_type(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, a)| a["Properties"]["MetricName"] == "ReadThrottleEvents")
        .map(|(name, _)| name)
        .collect();
    assert_eq!(throttle_alarms.len(), TABLE_VARIABLES.len());
    for ((variable, _), spec) in TABLE_VARIABLES.iter().zip(tables(&names)) {
        let table_name = &variables[*variable];
        let matching: Vec<&str> = throttle_alarms
            .iter()
            .copied()
            .filter(|name| {
                dimension(&resource(&template, name)["Properties"], "TableName") == Some(table_name)
            })
            .collect();
        assert_eq!(matching.len(), 1, "{variable}: {matching:?}");
        let properties = alarm(&template, matching[0]);
        assert_eq!(
            metric(properties),
            (
                "AWS/DynamoDB",
                "ReadThrottleEvents",
                "Sum",
                "GreaterThanThreshold",
                0.0
            )
        );
        let index = dimension(properties, "GlobalSecondaryIndexName").map(|i| i.as_str().unwrap());
        match spec.indexes.as_slice() {
            [] => assert_eq!(index, None, "{variable}"),
            indexes => assert!(
                indexes.iter().any(|i| Some(i.name) == index),
                "{variable}: {index:?}"
            ),
        }
    }
}

/// The HTTP API stage writes one JSON line per request to its own log group: the request id the
/// function logs as `request_id`, the route, the status, the latencies and the authorizer's error.
/// Nothing that carries a credential: no header (the session cookie is one), no token, no
/// authorizer context.
#[test]
fn the_api_writes_json_access_logs_without_credentials() {
    let template = template();
    let settings = &resource(&template, "DashboardHttpApi")["Properties"]["AccessLogSettings"];
    let (tag, target) = tagged(&settings["DestinationArn"]);
    assert_eq!(tag, "!GetAtt");
    assert_eq!(target.as_str(), Some("ApiAccessLogGroup.Arn"));
    assert_eq!(
        resource_type(&template, "ApiAccessLogGroup"),
        "AWS::Logs::LogGroup"
    );

    let format = settings["Format"].as_str().expect("a format");
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(format).expect("the format is a JSON object");
    for (field, variable) in [
        ("requestId", "$context.requestId"),
        ("routeKey", "$context.routeKey"),
        ("status", "$context.status"),
        ("responseLatency", "$context.responseLatency"),
        ("integrationLatency", "$context.integrationLatency"),
        ("authorizerError", "$context.authorizer.error"),
    ] {
        assert_eq!(fields.get(field).and_then(|v| v.as_str()), Some(variable));
    }
    for (field, value) in &fields {
        let value = value.as_str().expect("every field is one quoted variable");
        assert!(
            value.starts_with("$context.") && value.matches('$').count() == 1,
            "{field}: {value}"
        );
        let lowercase = format!("{field} {value}").to_lowercase();
        for word in [
            "cookie",
            "authorization",
            "header",
            "token",
            "claims",
            "useragent",
        ] {
            assert!(!lowercase.contains(word), "{field}: {value}");
        }
        assert!(
            !value.starts_with("$context.authorizer.") || value == "$context.authorizer.error",
            "{field}: {value} (the authorizer's context is the user's)"
        );
    }
}

/// Route throttling on the API's stage and the function's reserved concurrency are parameters.
/// With ~20 ms a request (1-3 ms in the handler, two rounds of DynamoDB calls), a concurrency of
/// N serves about N / 0.02 requests/s: the defaults leave the function 10x or more the API's rate,
/// so API Gateway's 429 is the limit users meet, and the function throttles only when requests
/// get ten times slower (docs/operations.md, "Throttling and concurrency").
#[test]
fn throttling_and_concurrency_are_parameters_with_room_for_each_other() {
    let template = template();
    let settings = &resource(&template, "DashboardHttpApi")["Properties"]["DefaultRouteSettings"];
    assert_eq!(
        reference(&settings["ThrottlingRateLimit"]),
        "ApiThrottlingRateLimit"
    );
    assert_eq!(
        reference(&settings["ThrottlingBurstLimit"]),
        "ApiThrottlingBurstLimit"
    );
    let function = &resource(&template, "TrackingStatusFunction")["Properties"];
    assert_eq!(
        reference(&function["ReservedConcurrentExecutions"]),
        "ReservedConcurrency"
    );
    let number = |name: &str| {
        let parameter = parameter(&template, name);
        assert_eq!(parameter["Type"], "Number", "{name}");
        // 0 would be no limit for the API, and a stopped function for Lambda.
        assert!(parameter["MinValue"].as_f64() >= Some(1.0), "{name}");
        parameter["Default"].as_f64().unwrap()
    };
    let (rate, burst, concurrency) = (
        number("ApiThrottlingRateLimit"),
        number("ApiThrottlingBurstLimit"),
        number("ReservedConcurrency"),
    );
    // Lambda does not queue synchronous calls: a burst the function cannot run at once would
    // be throttled there and reach users as 5xx, not as API Gateway's 429.
    assert!(
        burst <= concurrency,
        "burst {burst} > concurrency {concurrency}"
    );
    assert!(
        concurrency / 0.020 >= 10.0 * rate,
        "concurrency {concurrency} serves ~{} requests/s, the API lets {rate} through",
        concurrency / 0.020
    );
}
