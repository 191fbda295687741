//! `template.yaml` and the code agree: the tables, keys and indexes `seed`
//! creates, the environment variables the function reads, a role that allows
//! exactly the calls the adapter makes, the metrics and timeouts the alarms
//! watch, and a build without the test-only trigger. samconfig.toml's values
//! are ones the template accepts. Style and security rules are cfn-lint's and
//! checkov's (scripts/test.sh step 1); what SAM makes of the template, and its
//! rules evaluated with each profile's values, scripts/transform-check.py's.

use std::collections::BTreeSet;

use serde_norway::Value;
use tracking_status::config::{TABLE_VARIABLES, TableNames};
use tracking_status::http::handle;
use tracking_status_dev::kit::TableList;
use tracking_status_dev::schema::{IndexProjection, KeyAttribute, KeyKind, tables};

use crate::common::{self, CallRecorder, EXAMPLE_FIXTURE, read, request_as, seeded_store_with};

fn template() -> Value {
    read_yaml("template.yaml")
}

/// `local/template.yaml`: the function behind a local authorizer, for `sam local start-api`.
fn local_template() -> Value {
    read_yaml("local/template.yaml")
}

fn read_yaml(path: &str) -> Value {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).expect(&path)
}

fn read_toml(path: &str) -> toml::Table {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap()
        .parse()
        .expect(&path)
}

fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    &template["Resources"][name]
}

fn function(template: &Value) -> &Value {
    &resource(template, "TrackingStatusFunction")["Properties"]
}

fn parameter<'a>(template: &'a Value, name: &str) -> &'a Value {
    let parameter = &template["Parameters"][name];
    assert!(parameter.is_mapping(), "no parameter {name}");
    parameter
}

/// `(tag, value)` of a CloudFormation short-form function such as `!Ref X`.
fn tagged(value: &Value) -> (String, &Value) {
    match value {
        Value::Tagged(tagged) => (tagged.tag.to_string(), &tagged.value),
        other => panic!("expected an intrinsic function, got {other:?}"),
    }
}

/// The name in `!Ref Name`.
fn reference(value: &Value) -> &str {
    let (tag, name) = tagged(value);
    assert_eq!(tag, "!Ref", "{value:?}");
    name.as_str().unwrap()
}

/// A YAML string or list of strings.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(one) => vec![one.as_str()],
        Value::Sequence(many) => many.iter().map(|item| item.as_str().unwrap()).collect(),
        other => panic!("expected strings, got {other:?}"),
    }
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
        test_events: "TestEventsTable".into(),
    };
    for spec in tables(&names) {
        let table = resource(&template, &spec.name);
        assert_eq!(table["Type"], "AWS::DynamoDB::Table", "{}", spec.name);
        let properties = &table["Properties"];
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

        let stream = &properties["StreamSpecification"]["StreamViewType"];
        assert_eq!(
            stream.as_str() == Some("NEW_AND_OLD_IMAGES"),
            spec.stream,
            "{}: {stream:?}",
            spec.name
        );

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

fn variable_names(function: &Value) -> Vec<String> {
    let mut names: Vec<String> = function["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// Both templates give the function every table variable `config.rs` reads and the metrics'
/// namespace `telemetry.rs` reads; the local one also the endpoint that `--env-vars` points at
/// DynamoDB Local (SAM sets only declared variables), which the deployed one never has.
#[test]
fn the_function_gets_every_variable_the_code_reads() {
    let mut expected: Vec<String> = TABLE_VARIABLES
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    expected.push("METRICS_NAMESPACE".to_string());
    expected.sort();
    assert_eq!(variable_names(function(&template())), expected);

    expected.push("AWS_ENDPOINT_URL_DYNAMODB".to_string());
    expected.sort();
    assert_eq!(variable_names(function(&local_template())), expected);
}

/// `(table variable, index)` of a role resource: the ARN of a table the function is given
/// (`!Sub [...table/${Name}, {Name: <its variable's value>}]`), or of one of its indexes.
fn table_resource(variables: &Value, resource: &Value) -> (String, Option<String>) {
    let (tag, sub) = tagged(resource);
    assert_eq!(tag, "!Sub", "{resource:?}");
    let arn = sub[0].as_str().unwrap();
    let table_arn = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Name}";
    let index = match arn.strip_prefix(table_arn) {
        Some("") => None,
        Some(rest) => Some(
            rest.strip_prefix("/index/")
                .unwrap_or_else(|| panic!("not a table or one of its indexes: {arn}"))
                .to_string(),
        ),
        None => panic!("not a table ARN: {arn}"),
    };
    let (variable, _) = TABLE_VARIABLES
        .iter()
        .find(|(variable, _)| variables[*variable] == sub[1]["Name"])
        .unwrap_or_else(|| panic!("{arn}: not a table the function is given"));
    (variable.to_string(), index)
}

/// The role allows exactly the `(action, table, index)` calls the adapter makes — a request with
/// `include=nextSteps` reads everything a request can, and init warms the connections up — so
/// an action or resource the code does not use fails here, and so does a call the role refuses.
#[tokio::test]
async fn the_role_allows_exactly_the_calls_the_adapter_makes() {
    let template = template();
    let function = function(&template);
    let variables = &function["Environment"]["Variables"];
    let mut allowed = BTreeSet::new();
    for policy in function["Policies"].as_sequence().expect("inline policies") {
        for statement in policy["Statement"]
            .as_sequence()
            .expect("inline statements")
        {
            // `!If [HasKmsKey, <statement>, !Ref AWS::NoValue]`: the statement when it is there.
            let statement = match statement {
                Value::Tagged(choice) => &choice.value[1],
                plain => plain,
            };
            assert_eq!(statement["Effect"], "Allow", "{statement:?}");
            for action in strings(&statement["Action"]) {
                // DynamoDB's use of a customer-managed key (KmsKeyArn) to decrypt the
                // tables on the reader's behalf: no call of the adapter.
                if ["kms:Decrypt", "kms:DescribeKey"].contains(&action) {
                    continue;
                }
                for resource in statement["Resource"].as_sequence().expect("resources") {
                    allowed.insert((action.to_string(), table_resource(variables, resource)));
                }
            }
        }
    }

    let recorder = CallRecorder::default();
    let store = seeded_store_with(EXAMPLE_FIXTURE, Some(recorder.clone())).await;
    store.warm_up().await.expect("the warm-up reads succeed");
    let request = common::with_include(request_as(Some("user_dev"), "42"), "nextSteps");
    let (status, body) = read(handle(&store, request).await);
    assert_eq!(status, 200, "{body}");
    let names = store.tables().all();
    let made: BTreeSet<_> = recorder
        .calls()
        .iter()
        .flat_map(|call| {
            // A BatchGetItem names its tables in RequestItems, any other call in TableName.
            let tables: Vec<String> = match call.request["RequestItems"].as_object() {
                Some(items) => items.keys().cloned().collect(),
                None => vec![call.request["TableName"].as_str().unwrap().to_string()],
            };
            let index = call.request["IndexName"].as_str().map(str::to_string);
            tables.into_iter().map(move |table| {
                let (variable, _) = TABLE_VARIABLES
                    .iter()
                    .zip(names)
                    .find(|(_, name)| **name == table)
                    .map(|(variable, _)| *variable)
                    .unwrap_or_else(|| panic!("a call to {table}"));
                (
                    format!("dynamodb:{}", call.operation),
                    (variable.to_string(), index.clone()),
                )
            })
        })
        .collect();
    assert_eq!(allowed, made);
}

/// The deployed build is the binary alone with Cargo.toml's default features, which leave out
/// the test-only `panic-probe` trigger (src/service.rs).
#[test]
fn the_deployed_build_leaves_the_panic_probe_out() {
    let template = template();
    let function = resource(&template, "TrackingStatusFunction");
    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    // Only the binary is chosen: no Flags (which could pass --features) and no Features.
    let build = function["Metadata"]["BuildProperties"]
        .as_mapping()
        .unwrap();
    let keys: Vec<&str> = build.keys().map(|key| key.as_str().unwrap()).collect();
    assert_eq!(keys, ["Binary"], "{build:?}");

    let manifest = read_toml("Cargo.toml");
    let binaries: Vec<&str> = manifest["bin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bin| bin["name"].as_str().unwrap())
        .collect();
    assert!(
        binaries.contains(&build["Binary"].as_str().unwrap()),
        "{binaries:?}"
    );
    let features = manifest["features"].as_table().unwrap();
    assert!(features.contains_key("panic-probe"), "{features:?}");
    let default = features.get("default").and_then(|d| d.as_array());
    assert!(
        !default.is_some_and(|d| d.iter().any(|f| f.as_str() == Some("panic-probe"))),
        "{default:?}"
    );
}

/// `sam build` builds each function with `cargo lambda build --bin …` at the root, which
/// compiles the workspace's default members together and unifies their dependencies' features
/// into the binary it ships. The operator command enables aws-config's default features (SSO,
/// credential_process): it must not reach that build. Checked on the resolved graph (`cargo
/// tree` of the default members, without dev-dependencies: what such a build compiles), so a
/// default member that pulls those features in any way fails, not only `ops` listed there.
#[test]
fn the_operator_command_is_no_default_member_so_the_functions_builds_leave_its_features_out() {
    let output = std::process::Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal,build,features",
            "-i",
            "aws-config",
            "--prefix",
            "none",
        ])
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && tree.contains("aws-config v"),
        "{tree}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for feature in ["sso", "credentials-process"] {
        assert!(
            !tree.contains(&format!("aws-config feature \"{feature}\"")),
            "the default members' build enables aws-config's {feature}:\n{tree}"
        );
    }
}

/// A parameter's `AllowedPattern` as CloudFormation applies it: Java regex syntax, matched against
/// the whole value. The patterns here use only syntax that Java and the regex crate read alike
/// (classes, groups, `?`, `+`, `*`, `{m,n}`, `^`, `$`, `|`).
fn allowed_pattern(pattern: &str) -> regex::Regex {
    regex::Regex::new(&format!("^(?:{pattern})$")).expect("AllowedPattern is a regex")
}

/// Every `Name=value` in a samconfig.toml profile's `parameter_overrides` names a parameter of the
/// template, with a value its `AllowedValues` or `AllowedPattern` accepts: what CloudFormation
/// would otherwise refuse only when the profile is deployed.
#[test]
fn samconfig_overrides_are_values_the_template_accepts() {
    let template = template();
    let samconfig = read_toml("samconfig.toml");
    let mut profiles = Vec::new();
    for (profile, config) in &samconfig {
        let Some(overrides) = config
            .get("deploy")
            .and_then(|deploy| deploy.get("parameters"))
            .and_then(|parameters| parameters.get("parameter_overrides"))
        else {
            continue;
        };
        profiles.push(profile.as_str());
        for entry in overrides.as_array().expect("a list of Name=value") {
            let entry = entry.as_str().unwrap();
            let (name, value) = entry.split_once('=').expect("Name=value");
            let parameter = parameter(&template, name);
            if let Some(allowed) = parameter["AllowedValues"].as_sequence() {
                assert!(
                    allowed.iter().any(|a| a.as_str() == Some(value)
                        || a.as_u64().map(|n| n.to_string()).as_deref() == Some(value)),
                    "{profile}: {entry} is not allowed"
                );
            }
            if let Some(pattern) = parameter["AllowedPattern"].as_str() {
                assert!(
                    allowed_pattern(pattern).is_match(value),
                    "{profile}: {entry} does not match {pattern}"
                );
            }
        }
    }
    assert_eq!(profiles, ["default", "prod"]);
}

/// The deployed API's CORS origin is `DashboardOrigin`, sent with credentials: its pattern lets
/// through one exact https origin and nothing that HTTP API CORS reads as a wildcard (`*` is any
/// origin, `https://*` any https origin).
#[test]
fn the_dashboard_origin_pattern_refuses_wildcards() {
    let template = template();
    let cors = &resource(&template, "DashboardHttpApi")["Properties"]["CorsConfiguration"];
    let origins = cors["AllowOrigins"].as_sequence().unwrap();
    assert_eq!(origins.len(), 1, "{origins:?}");
    assert_eq!(reference(&origins[0]), "DashboardOrigin");

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
}

fn dimension<'a>(properties: &'a Value, name: &str) -> Option<&'a Value> {
    properties["Dimensions"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|d| d["Name"] == name)
        .map(|d| &d["Value"])
}

/// The alarms that read what the code decides: the duration alarm's threshold is one DynamoDB
/// call's cap (src/sdk.rs), and the 5xx-rate alarm reads the EMF metric, dimension and namespace
/// the request line carries (src/telemetry.rs, src/http.rs).
#[test]
fn alarms_read_the_codes_timeouts_and_metrics() {
    let template = template();
    let function = function(&template);

    let duration = &resource(&template, "FunctionDurationAlarm")["Properties"];
    let call_cap_ms = tracking_status::sdk::OPERATION_TIMEOUT.as_millis() as f64;
    assert_eq!(duration["MetricName"], "Duration");
    assert_eq!(duration["Threshold"].as_f64(), Some(call_cap_ms));
    let timeout_ms = function["Timeout"].as_f64().unwrap() * 1000.0;
    assert!(
        2.0 * call_cap_ms < timeout_ms,
        "two rounds of capped calls fit in the timeout"
    );

    let rate = &resource(&template, "Function5xxRateAlarm")["Properties"];
    let namespace = &function["Environment"]["Variables"]["METRICS_NAMESPACE"];
    let mut classes = Vec::new();
    for metric in rate["Metrics"].as_sequence().unwrap() {
        let Some(metric) = metric["MetricStat"].get("Metric") else {
            continue;
        };
        assert_eq!(&metric["Namespace"], namespace);
        assert_eq!(
            metric["MetricName"],
            tracking_status::telemetry::REQUEST_METRICS.metrics[0].0
        );
        let class = dimension(
            metric,
            tracking_status::telemetry::REQUEST_METRICS.dimensions[0],
        );
        classes.push(class.expect("status_class").as_str().unwrap().to_string());
    }
    classes.sort();
    assert_eq!(classes, ["2xx", "4xx", "5xx"]);
}

fn indexer(template: &Value) -> &Value {
    &resource(template, "TestEventIndexerFunction")["Properties"]
}

/// test-event-indexer reads the same table variables as the status function, with the same
/// values (config.rs: both functions name the tables alike), and its metrics' namespace.
#[test]
fn the_indexer_gets_the_same_variables_as_the_function() {
    let template = template();
    assert_eq!(
        indexer(&template)["Environment"]["Variables"],
        function(&template)["Environment"]["Variables"]
    );
}

/// The events stream that the indexer's mapping reads is the one its role may read: the created
/// table's (with both images) or `ExistingEventsStreamArn`.
#[test]
fn the_indexer_reads_the_events_stream_with_both_images() {
    let template = template();
    let events = &resource(&template, "EventsTable")["Properties"];
    assert_eq!(
        events["StreamSpecification"]["StreamViewType"],
        "NEW_AND_OLD_IMAGES"
    );
    let mapping = &resource(&template, "TestEventIndexerMapping")["Properties"];
    assert_eq!(
        reference(&mapping["FunctionName"]),
        "TestEventIndexerFunction"
    );
    let (tag, choice) = tagged(&mapping["EventSourceArn"]);
    assert_eq!(tag, "!If");
    // Chosen by the condition the created table has, so the two cannot drift apart.
    assert_eq!(
        choice[0].as_str(),
        resource(&template, "EventsTable")["Condition"].as_str()
    );
    assert_eq!(tagged(&choice[1]).0, "!GetAtt");
    assert_eq!(tagged(&choice[1]).1, "EventsTable.StreamArn");
    // Otherwise the ARN given (no ARN with an existing table is the rule's refusal).
    let (tag, given) = tagged(&choice[2]);
    assert_eq!(tag, "!If");
    assert_eq!(given[0], "NoEventsStreamArn");
    assert_eq!(reference(&given[1]), "AWS::NoValue");
    assert_eq!(reference(&given[2]), "ExistingEventsStreamArn");

    let statements = indexer(&template)["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap();
    let stream = statements
        .iter()
        .find(|s| s["Sid"] == "ReadEventsStream")
        .expect("a stream statement");
    assert_eq!(stream["Resource"], mapping["EventSourceArn"]);
}

/// The mapping as issue 19 asks: failures reported per record, bisected, retried a bounded
/// number of times and then sent to the failure queue (whose depth is alarmed), and a filter
/// that lets through only records whose old or new image is a test click or lead.
#[test]
fn the_indexer_mapping_reports_item_failures_bounds_retries_and_filters() {
    use tracking_status::domain::EventKind;
    let template = template();
    let mapping = &resource(&template, "TestEventIndexerMapping")["Properties"];
    assert_eq!(
        strings(&mapping["FunctionResponseTypes"]),
        ["ReportBatchItemFailures"]
    );
    assert_eq!(mapping["BisectBatchOnFunctionError"], true);
    // Retried while the records are young enough, however many times: bounded by age.
    assert_eq!(mapping["MaximumRetryAttempts"].as_i64(), Some(-1));
    let age = mapping["MaximumRecordAgeInSeconds"].as_i64().unwrap();
    assert!((60..=86_400).contains(&age), "{age}");
    let destination = &mapping["DestinationConfig"]["OnFailure"]["Destination"];
    assert_eq!(tagged(destination).1, "IndexerFailureQueue.Arn");
    let sent = &resource(&template, "IndexerFailureQueueAlarm")["Properties"];
    assert_eq!(
        tagged(&dimension(sent, "QueueName").unwrap().clone()).1,
        "IndexerFailureQueue.QueueName"
    );
    // Messages sent, so a second incident pages while the first one's messages still wait.
    assert_eq!(sent["MetricName"], "NumberOfMessagesSent");
    assert_eq!(sent["Statistic"], "Sum");

    let mut images = Vec::new();
    for filter in mapping["FilterCriteria"]["Filters"].as_sequence().unwrap() {
        let pattern: serde_json::Value =
            serde_json::from_str(filter["Pattern"].as_str().unwrap()).unwrap();
        let change = pattern["dynamodb"].as_object().unwrap();
        assert_eq!(change.len(), 1, "{pattern}");
        let (image, fields) = change.iter().next().unwrap();
        assert_eq!(
            fields["test"],
            serde_json::json!({"BOOL": [true]}),
            "{pattern}"
        );
        assert_eq!(
            fields["type"],
            serde_json::json!({"S": [EventKind::Click.as_str(), EventKind::Lead.as_str()]}),
            "{pattern}"
        );
        images.push(image.clone());
    }
    images.sort();
    assert_eq!(images, ["NewImage", "OldImage"]);
}

/// The indexer's role: the view's two writes, the stream's reads, the failure queue; no read of
/// any table. The writes are the two `Change`s test-event-indexer makes.
#[test]
fn the_indexer_role_writes_only_the_view() {
    let template = template();
    let mut granted = BTreeSet::new();
    for statement in indexer(&template)["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap()
    {
        let statement = match statement {
            Value::Tagged(choice) => &choice.value[1],
            plain => plain,
        };
        let resource = match &statement["Resource"] {
            Value::String(any) => any.clone(),
            other => format!("{:?}", tagged(other).1),
        };
        for action in strings(&statement["Action"]) {
            granted.insert((action.to_string(), resource.clone()));
        }
    }
    // The stream's reads, checked against the mapping's stream above.
    const STREAM_READS: [&str; 4] = [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ];
    let view = format!("{:?}", Value::from("TestEventsTable.Arn"));
    let writes: BTreeSet<_> = granted
        .iter()
        .filter(|(action, _)| {
            action.starts_with("dynamodb:") && !STREAM_READS.contains(&action.as_str())
        })
        .cloned()
        .collect();
    assert_eq!(
        writes,
        BTreeSet::from([
            ("dynamodb:DeleteItem".to_string(), view.clone()),
            ("dynamodb:PutItem".to_string(), view),
        ])
    );
}

/// The indexer's build is its crate's binary, and its unreadable-event alarm reads the metric
/// the indexer writes (src/telemetry.rs), in the namespace it is given.
#[test]
fn the_indexer_builds_its_binary_and_its_alarm_reads_its_metric() {
    let template = template();
    let function = resource(&template, "TestEventIndexerFunction");
    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    let manifest = read_toml("indexer/Cargo.toml");
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"].as_str(),
        manifest["bin"][0]["name"].as_str()
    );
    let alarm = &resource(&template, "UnreadableTestEventsAlarm")["Properties"];
    assert_eq!(alarm["MetricName"], test_event_indexer::UNREADABLE_COUNT);
    assert_eq!(
        alarm["Namespace"],
        indexer(&template)["Environment"]["Variables"]["METRICS_NAMESPACE"]
    );
}

/// The custom domain the dashboard calls (docs/dashboard.md, "Where the API lives"): every one
/// of its resources and outputs exists only with `ApiDomainName` (all three parameters default to
/// empty, so the stack deploys as without them), maps the HTTP API's stage at the domain's root,
/// and the alias record needs the hosted zone too.
#[test]
fn the_custom_domain_is_optional_and_maps_the_route() {
    let template = template();
    for name in ["ApiDomainName", "ApiCertificateArn", "ApiHostedZoneId"] {
        assert_eq!(parameter(&template, name)["Default"], "", "{name}");
        let pattern = allowed_pattern(
            parameter(&template, name)["AllowedPattern"]
                .as_str()
                .unwrap(),
        );
        assert!(pattern.is_match(""), "{name} refuses its default");
    }
    let domain = allowed_pattern(
        parameter(&template, "ApiDomainName")["AllowedPattern"]
            .as_str()
            .unwrap(),
    );
    assert!(domain.is_match("api.example.com"));
    for refused in [
        "https://api.example.com",
        "api.example.com/",
        "api.example.com:443",
        "API.example.com",
        "*.example.com",
        "localhost",
    ] {
        assert!(!domain.is_match(refused), "{refused:?} is accepted");
    }

    let conditional = |name: &str| {
        resource(&template, name)["Condition"]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(conditional("ApiDomain").as_deref(), Some("HasApiDomain"));
    assert_eq!(
        conditional("ApiDomainMapping").as_deref(),
        Some("HasApiDomain")
    );
    assert_eq!(
        conditional("ApiDomainRecord").as_deref(),
        Some("HasApiDomainRecord")
    );
    let mapping = &resource(&template, "ApiDomainMapping")["Properties"];
    assert_eq!(reference(&mapping["ApiId"]), "DashboardHttpApi");
    assert_eq!(reference(&mapping["DomainName"]), "ApiDomain");
    assert!(
        mapping.get("ApiMappingKey").is_none(),
        "mapped under a path: the route would not be /api/tracking/status/..."
    );
    let domain_config =
        &resource(&template, "ApiDomain")["Properties"]["DomainNameConfigurations"][0];
    assert_eq!(domain_config["EndpointType"], "REGIONAL");
    assert_eq!(
        reference(&domain_config["CertificateArn"]),
        "ApiCertificateArn"
    );

    // Every output that names the domain exists only with it; the others never mention it.
    let outputs = template["Outputs"].as_mapping().unwrap();
    let mut on_the_domain = Vec::new();
    for (name, output) in outputs {
        let text = format!("{:?}", output["Value"]);
        if text.contains("ApiDomain") {
            assert_eq!(output["Condition"], "HasApiDomain", "{name:?}");
            on_the_domain.push(name.as_str().unwrap());
        }
    }
    assert_eq!(
        on_the_domain,
        ["ApiDomainUrl", "ApiDomainStatusEndpoint", "ApiDomainTarget"]
    );
    // No resource outside the three names the domain's parameters or resources.
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if !name.starts_with("ApiDomain") {
            assert!(
                !format!("{resource:?}").contains("ApiDomain"),
                "{name} depends on the custom domain"
            );
        }
    }
}

/// The request headers a dashboard's fetch may send beyond the CORS-safelisted ones (the
/// decision in docs/dashboard.md, "Headers") are the same deployed and local, where the browser
/// check preflights each of them.
#[test]
fn deployed_and_local_cors_allow_the_same_headers() {
    let headers = |template: &Value, api: &str| -> Vec<String> {
        strings(&resource(template, api)["Properties"]["CorsConfiguration"]["AllowHeaders"])
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    let deployed = headers(&template(), "DashboardHttpApi");
    assert!(
        deployed.contains(&"content-type".to_string()),
        "{deployed:?}"
    );
    assert_eq!(headers(&local_template(), "LocalHttpApi"), deployed);
}

/// A failed first create leaves no table behind: every table is deleted when the stack
/// operation that created it rolls back, and retained otherwise (a stack delete, a
/// replacement). No table is deletion-protected: DynamoDB refuses DeleteTable on a protected
/// table, the rollback's included, which would leave it behind (DELETE_FAILED). The docs
/// record the decision.
#[test]
fn a_failed_first_create_deletes_the_tables_it_made_and_later_ones_are_retained() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let tables: Vec<(&str, &Value)> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::DynamoDB::Table")
        .map(|(name, r)| (name.as_str().unwrap(), r))
        .collect();
    assert_eq!(tables.len(), 6);
    for (name, table) in tables {
        assert_eq!(table["DeletionPolicy"], "RetainExceptOnCreate", "{name}");
        assert_eq!(table["UpdateReplacePolicy"], "Retain", "{name}");
        let protection = &table["Properties"]["DeletionProtectionEnabled"];
        assert!(
            protection.is_null() || *protection == false,
            "{name}: DeletionProtectionEnabled {protection:?} would make the rollback of a failed \
             first create fail to delete it"
        );
        assert_eq!(
            table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
            true,
            "{name}"
        );
    }
    let docs =
        std::fs::read_to_string(format!("{}/docs/operations.md", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    assert!(
        docs.contains("`DeletionPolicy: RetainExceptOnCreate`"),
        "docs/operations.md does not say it"
    );
}

/// Who lets API Gateway invoke the authorizer is a parameter: SAM adds no permission of its
/// own, and the stack's permission exists exactly when the parameter says `stack`, scoped to
/// this API's authorizers.
#[test]
fn the_authorizer_permission_is_the_stacks_only_when_the_parameter_says_so() {
    let template = template();
    let authorizer = &resource(&template, "DashboardHttpApi")["Properties"]["Auth"]["Authorizers"]
        ["SessionAuthorizer"];
    assert_eq!(authorizer["EnableFunctionDefaultPermissions"], false);
    let choice = parameter(&template, "AuthorizerInvokePermission");
    assert_eq!(strings(&choice["AllowedValues"]), ["stack", "owner"]);
    assert_eq!(choice["Default"], "stack");
    let (tag, equals) = tagged(&template["Conditions"]["StackAddsAuthorizerPermission"]);
    assert_eq!(tag, "!Equals");
    assert_eq!(reference(&equals[0]), "AuthorizerInvokePermission");
    assert_eq!(equals[1], "stack");

    let permission = resource(&template, "SessionAuthorizerInvokePermission");
    assert_eq!(permission["Condition"], "StackAddsAuthorizerPermission");
    let properties = &permission["Properties"];
    assert_eq!(
        reference(&properties["FunctionName"]),
        "SessionAuthorizerFunctionArn"
    );
    assert_eq!(properties["Principal"], "apigateway.amazonaws.com");
    let (tag, source) = tagged(&properties["SourceArn"]);
    assert_eq!(tag, "!Sub");
    assert!(
        source
            .as_str()
            .unwrap()
            .ends_with(":${DashboardHttpApi}/authorizers/*"),
        "{source:?}"
    );
}

/// Every log group, the indexer's pieces and the API's id are outputs: the runbooks name
/// physical names.
#[test]
fn every_log_group_and_the_indexers_resources_are_outputs() {
    let template = template();
    let outputs = template["Outputs"].as_mapping().unwrap();
    let referenced: BTreeSet<String> = outputs
        .values()
        .filter_map(|output| match &output["Value"] {
            value @ Value::Tagged(_) if tagged(value).0 == "!Ref" => {
                Some(reference(value).to_string())
            }
            _ => None,
        })
        .collect();
    let resources = template["Resources"].as_mapping().unwrap();
    for (name, resource) in resources {
        let name = name.as_str().unwrap();
        if resource["Type"] == "AWS::Logs::LogGroup"
            || [
                "TestEventIndexerFunction",
                "TestEventIndexerMapping",
                "IndexerFailureQueue",
                "DashboardHttpApi",
            ]
            .contains(&name)
        {
            assert!(referenced.contains(name), "{name} is not an output");
        }
    }
}

/// A dead indexer is seen: writes to the events table the functions read while the mapping
/// (with its event-count metrics on) reads nothing; and the indexer's own errors.
#[test]
fn the_stalled_and_errors_alarms_watch_the_mapping_the_events_table_and_the_indexer() {
    let template = template();
    let mapping = &resource(&template, "TestEventIndexerMapping")["Properties"];
    assert_eq!(
        strings(&mapping["MetricsConfig"]["Metrics"]),
        ["EventCount"]
    );
    let stalled = &resource(&template, "IndexerStalledAlarm")["Properties"];
    let metric = |id: &str| {
        stalled["Metrics"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|m| m["Id"] == id)
            .unwrap_or_else(|| panic!("no metric {id}"))
            .clone()
    };
    let polled = metric("polled");
    assert_eq!(
        polled["MetricStat"]["Metric"]["MetricName"],
        "PolledEventCount"
    );
    let dimension = &polled["MetricStat"]["Metric"]["Dimensions"][0];
    assert_eq!(dimension["Name"], "EventSourceMappingUUID");
    assert_eq!(reference(&dimension["Value"]), "TestEventIndexerMapping");
    let writes = metric("writes");
    assert_eq!(
        writes["MetricStat"]["Metric"]["MetricName"],
        "ConsumedWriteCapacityUnits"
    );
    assert_eq!(
        writes["MetricStat"]["Metric"]["Dimensions"][0]["Value"],
        indexer(&template)["Environment"]["Variables"]["EVENTS_TABLE"]
    );
    let expression = metric("stalled")["Expression"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        expression.contains("FILL(writes, 0) > 0") && expression.contains("FILL(polled, 0) == 0"),
        "{expression}"
    );

    let errors = &resource(&template, "IndexerErrorsAlarm")["Properties"];
    assert_eq!(errors["Namespace"], "AWS/Lambda");
    assert_eq!(errors["MetricName"], "Errors");
    assert_eq!(
        reference(&dimension_value(errors, "FunctionName")),
        "TestEventIndexerFunction"
    );
}

fn dimension_value(properties: &Value, name: &str) -> Value {
    dimension(properties, name)
        .unwrap_or_else(|| panic!("no dimension {name}"))
        .clone()
}
