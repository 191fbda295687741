//! The adoption, rehearsed against DynamoDB Local as docs/operations.md
//! ("Adopting existing tables") orders it: tables created as another team
//! creates them (their own CreateTable calls, their own extra attributes and
//! index, events written plainly, no `seed`), then preflight, the stream, the
//! deploy (the stack's view table), the indexer on the stream, the backfill,
//! and the status. And each broken variant caught by preflight with its blocker.

#![allow(clippy::restriction)]

mod common;

use std::collections::HashMap;
use std::process::Output;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};
use serde_json::{Value, json};
use tracking_status::config::TableNames;
use tracking_status::domain::{Include, ProgramId};
use tracking_status::principal::UserId;
use tracking_status::store::dynamodb::DynamoStore;
use tracking_status_dev::kit::unique_tables;
use tracking_status_dev::load::ensure_tables;

use common::{Indexer, client, eventually, tracking_ops};

type Item = HashMap<String, AttributeValue>;

/// What the owners got wrong, one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    AsExpected,
    ProgramsKeyIsAString,
    NoProgramStatusIndex,
    TestStoredAsANumber,
    EventsWithoutTest,
    StreamNewImageOnly,
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn item(pairs: Vec<(&str, AttributeValue)>) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn key(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .unwrap()
}

fn attribute(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .unwrap()
}

async fn create(
    client: &Client,
    name: &str,
    keys: Vec<KeySchemaElement>,
    attributes: Vec<AttributeDefinition>,
    indexes: Vec<GlobalSecondaryIndex>,
    stream: Option<StreamViewType>,
) {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys))
        .set_attribute_definitions(Some(attributes));
    if !indexes.is_empty() {
        request = request.set_global_secondary_indexes(Some(indexes));
    }
    if let Some(view_type) = stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(view_type)
                .build()
                .unwrap(),
        );
    }
    match request.send().await {
        Ok(_) => {}
        // The test kit's client retries an attempt after 800 ms: the first one created it.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(error) => panic!("{error:?}"),
    }
}

async fn put(client: &Client, table: &str, item: Item) {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// The owners' five tables and their items: program 42 of workspace ws_acme, its advertiser,
/// its owner, an approved partner, and events (test clicks and a test lead among live ones)
/// written before anyone thought of a stream.
async fn owners_tables(client: &Client, tables: &TableNames, variant: Variant) {
    use KeyType::{Hash, Range};
    use ScalarAttributeType::{N, S};
    let program_key = if variant == Variant::ProgramsKeyIsAString {
        S
    } else {
        N
    };
    create(
        client,
        &tables.programs,
        vec![key("id", Hash)],
        vec![attribute("id", program_key.clone())],
        vec![],
        None,
    )
    .await;
    create(
        client,
        &tables.advertisers,
        vec![key("id", Hash)],
        vec![attribute("id", S)],
        vec![],
        None,
    )
    .await;
    create(
        client,
        &tables.memberships,
        vec![key("workspaceId", Hash), key("userId", Range)],
        vec![attribute("workspaceId", S), attribute("userId", S)],
        vec![],
        None,
    )
    .await;
    // The ingestion team's events table has an index of its own; the stream comes later.
    create(
        client,
        &tables.events,
        vec![key("id", Hash)],
        vec![attribute("id", N), attribute("programId", N)],
        vec![
            GlobalSecondaryIndex::builder()
                .index_name("byProgram")
                .key_schema(key("programId", Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        ],
        (variant == Variant::StreamNewImageOnly).then_some(StreamViewType::NewImage),
    )
    .await;
    let status_index = GlobalSecondaryIndex::builder()
        .index_name("programStatus")
        .key_schema(key("programId", Hash))
        .key_schema(key("status", Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .unwrap();
    create(
        client,
        &tables.partner_programs,
        vec![key("id", Hash)],
        if variant == Variant::NoProgramStatusIndex {
            vec![attribute("id", N)]
        } else {
            vec![
                attribute("id", N),
                attribute("programId", N),
                attribute("status", S),
            ]
        },
        if variant == Variant::NoProgramStatusIndex {
            vec![]
        } else {
            vec![status_index]
        },
        None,
    )
    .await;

    let program_id = if variant == Variant::ProgramsKeyIsAString {
        s("42")
    } else {
        n(42)
    };
    put(
        client,
        &tables.programs,
        item(vec![
            ("id", program_id),
            ("workspaceId", s("ws_acme")),
            ("advertiserId", s("adv_acme")),
            ("name", s("Acme Affiliates")),
            ("plan", s("enterprise")),
        ]),
    )
    .await;
    put(
        client,
        &tables.advertisers,
        item(vec![
            ("id", s("adv_acme")),
            ("stripeConnectionStatus", s("connected")),
            ("stripeAccountId", s("acct_1AbCdEfGhIjKlMnO")),
            ("chargesEnabled", AttributeValue::Bool(true)),
        ]),
    )
    .await;
    put(
        client,
        &tables.memberships,
        item(vec![
            ("workspaceId", s("ws_acme")),
            ("userId", s("user_owner")),
            ("role", s("owner")),
            ("permissions", AttributeValue::L(vec![])),
        ]),
    )
    .await;
    put(
        client,
        &tables.partner_programs,
        item(vec![
            ("id", n(7)),
            ("programId", n(42)),
            ("partnerId", s("partner_jane")),
            ("status", s("approved")),
        ]),
    )
    .await;
    for (id, kind, test) in [
        (101, "click", true),
        (102, "click", true),
        (103, "click", false),
        (104, "lead", true),
        (105, "sale", false),
    ] {
        let test = if variant == Variant::TestStoredAsANumber {
            n(u64::from(test))
        } else {
            AttributeValue::Bool(test)
        };
        let mut event = event(id, kind, test);
        if variant == Variant::EventsWithoutTest {
            event.remove("test");
        }
        put(client, &tables.events, event).await;
    }
}

fn event(id: u64, kind: &str, test: AttributeValue) -> Item {
    let at = format!("2026-06-07T10:{:02}:00.000Z", id % 60);
    item(vec![
        ("id", n(id)),
        ("programId", n(42)),
        ("type", s(kind)),
        ("test", test),
        ("timestamp", s(&at)),
        ("createdAt", s(&at)),
        ("source", s("ingestion-v3")),
    ])
}

async fn stream_arn(client: &Client, table: &str) -> Option<String> {
    client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .and_then(|t| t.latest_stream_arn)
}

const AUTHORIZER: &str =
    "arn:aws:lambda:us-east-1:000000000000:function:dashboard-session-authorizer";
const TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:tracking-alarms";

/// `tracking-ops preflight` with the five owners' tables (not the view: it does not exist yet).
fn preflight(tables: &TableNames, stream: Option<&str>) -> Output {
    let mut command = tracking_ops(tables);
    command.env_remove("TEST_EVENTS_TABLE").args([
        "preflight",
        "--authorizer-arn",
        AUTHORIZER,
        "--alarm-topic-arn",
        TOPIC,
    ]);
    if let Some(stream) = stream {
        command.args(["--stream-arn", stream]);
    }
    command.output().unwrap()
}

fn output_text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

fn blockers(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("blocker")).collect()
}

async fn status(client: &Client, tables: &TableNames) -> Value {
    let store = DynamoStore::new(client.clone(), tables.clone());
    let document = tracking_status::service::tracking_status(
        &store,
        &UserId::from_value(&json!("user_owner")).unwrap(),
        ProgramId::new(42).unwrap(),
        Include::default(),
    )
    .await
    .unwrap_or_else(|error| panic!("{error:?}"));
    serde_json::to_value(document).unwrap()
}

fn test_event_count_and_latest_id(status: &Value, kind: &str) -> (u64, Value) {
    let stats = &status["statistics"][kind];
    (
        stats["testEventCount"].as_u64().unwrap(),
        stats["latestTestEvent"]["id"].clone(),
    )
}

/// The docs' steps in order, on tables the owners made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adoption_in_the_docs_order_ends_with_the_right_status() {
    let client = client().await;
    let tables = unique_tables();
    owners_tables(&client, &tables, Variant::AsExpected).await;

    // 1. Preflight: everything is as the function reads it but the stream, which is off.
    let output = preflight(&tables, None);
    let text = output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let found = blockers(&text);
    assert_eq!(found.len(), 1, "{text}");
    assert!(
        found[0].contains(&format!("events table {} stream", tables.events))
            && found[0].contains("off")
            && found[0].contains("StreamViewType=NEW_AND_OLD_IMAGES"),
        "{text}"
    );
    for name in [&tables.programs, &tables.events, &tables.partner_programs] {
        assert!(
            text.contains(&format!("{name} ")),
            "the tables are printed: {text}"
        );
    }

    // 2. The stream, as the docs' command turns it on.
    client
        .update_table()
        .table_name(&tables.events)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let arn = stream_arn(&client, &tables.events).await.unwrap();
    let output = preflight(&tables, Some(&arn));
    let text = output_text(&output);
    println!("{text}");
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(blockers(&text).is_empty(), "{text}");
    assert!(
        text.contains(&format!("on, NEW_AND_OLD_IMAGES, {arn}")),
        "{text}"
    );
    for unknowable in ["authorizer", "alarm topic", "stream readers"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("not checked") && l.contains(unknowable)),
            "{unknowable} is not checked, and says so: {text}"
        );
    }

    // 3. The deploy creates the view; the indexer starts on the stream (TRIM_HORIZON).
    ensure_tables(&client, &tables).await.unwrap();
    let indexer = Indexer::start(&client, &tables.events, &tables.test_events).await;
    // A test lead written after the stream is on reaches the view through the indexer alone.
    put(
        &client,
        &tables.events,
        event(110, "lead", AttributeValue::Bool(true)),
    )
    .await;
    let indexed = eventually(Duration::from_secs(15), || async {
        test_event_count_and_latest_id(&status(&client, &tables).await, "referrals").0 == 1
    })
    .await;
    assert!(indexed, "{}", status(&client, &tables).await);
    // The events from before the stream are not in the view yet.
    assert_eq!(
        test_event_count_and_latest_id(&status(&client, &tables).await, "pageview").0,
        0
    );

    // 4. The backfill.
    let checkpoint = std::env::temp_dir().join(format!("adoption-{}.json", tables.events));
    let output = tracking_ops(&tables)
        .args(["backfill", "--checkpoint", checkpoint.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", output_text(&output));
    indexer.stop();

    // 5. The status: two test clicks (102 the latest), two test leads (110 the latest).
    let status = status(&client, &tables).await;
    assert_eq!(
        test_event_count_and_latest_id(&status, "pageview"),
        (2, json!(102)),
        "{status}"
    );
    assert_eq!(
        test_event_count_and_latest_id(&status, "referrals"),
        (2, json!(110)),
        "{status}"
    );
    assert_eq!(status["hasPartners"], json!(true), "{status}");
    assert_eq!(
        status["stepStatuses"]["payments"],
        json!("complete"),
        "{status}"
    );
}

/// Each variant fails preflight with one blocker line that names the table, the check and the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_variant_is_a_blocker_that_names_the_table_the_check_and_the_fix() {
    let client = client().await;
    let cases = [
        (
            Variant::ProgramsKeyIsAString,
            "programs table",
            "key schema",
            "partition key is id (S), the function reads id (N)",
        ),
        (
            Variant::NoProgramStatusIndex,
            "partner-programs table",
            "index programStatus",
            "must add the global secondary index programStatus (programId (N), status (S)",
        ),
        (
            Variant::TestStoredAsANumber,
            "events table",
            "sample",
            "`test` is stored as N",
        ),
        (
            Variant::EventsWithoutTest,
            "events table",
            "sample",
            "no sampled item has `test`",
        ),
        (
            Variant::StreamNewImageOnly,
            "events table",
            "stream",
            "on with NEW_IMAGE, not NEW_AND_OLD_IMAGES",
        ),
    ];
    for (variant, role, check, fix) in cases {
        let tables = unique_tables();
        owners_tables(&client, &tables, variant).await;
        if variant != Variant::StreamNewImageOnly {
            client
                .update_table()
                .table_name(&tables.events)
                .stream_specification(
                    StreamSpecification::builder()
                        .stream_enabled(true)
                        .stream_view_type(StreamViewType::NewAndOldImages)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
        let arn = stream_arn(&client, &tables.events).await;
        let output = preflight(&tables, arn.as_deref());
        let text = output_text(&output);
        assert_eq!(output.status.code(), Some(1), "{variant:?}: {text}");
        let found = blockers(&text);
        assert_eq!(found.len(), 1, "{variant:?}: {text}");
        let table = match role {
            "programs table" => &tables.programs,
            "partner-programs table" => &tables.partner_programs,
            _ => &tables.events,
        };
        assert!(
            found[0].starts_with(&format!("blocker     {role} {table} {check}: ")),
            "{variant:?}: {text}"
        );
        assert!(found[0].contains(fix), "{variant:?}: {text}");
        if variant == Variant::TestStoredAsANumber {
            println!("{text}");
        }
    }
}

/// The prod profile as shipped (placeholder values, no alarm topic) is refused by preflight
/// before any deploy: each placeholder (every parameter still holding one, the custom domain's
/// included) and the missing topic is a blocker, and the tables it names, which this account
/// does not have, are named too; the certificate's region, in its ARN, is the stack's.
#[test]
fn the_shipped_prod_profile_is_refused_with_its_placeholders_named() {
    let samconfig = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samconfig.toml");
    let mut command = tracking_ops(&unique_tables());
    for (variable, _) in tracking_status::config::TABLE_VARIABLES {
        command.env_remove(variable);
    }
    let output = command
        .arg("--samconfig")
        .arg(&samconfig)
        .args(["--config-env", "prod", "preflight"])
        .output()
        .unwrap();
    let text = output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.starts_with("region eu-west-1 ("), "{text}");
    let found = blockers(&text);
    for expected in [
        "blocker     ExistingEventsStreamArn arn:aws:dynamodb:eu-west-1:123456789012:",
        "blocker     SessionAuthorizerFunctionArn arn:aws:lambda:eu-west-1:123456789012:",
        "blocker     ApiCertificateArn arn:aws:acm:eu-west-1:123456789012:",
        "blocker     ApiHostedZoneId Z0123456789EXAMPLE:",
        "blocker     ApiDomainName api.example.com:",
        "blocker     DashboardOrigin https://dashboard.example.com:",
        "blocker     alarm topic: no AlarmTopicArn with Environment=prod",
        "blocker     events table tracking-events (EVENTS_TABLE): no such table",
    ] {
        assert!(
            found.iter().any(|line| line.starts_with(expected)),
            "{expected}: {text}"
        );
    }
    // Every blocker that names a parameter names one the profile holds a placeholder in.
    let placeholders = found
        .iter()
        .filter(|line| line.contains("a samconfig.toml placeholder"))
        .count();
    assert_eq!(placeholders, 6, "{text}");
    assert!(
        text.lines().any(|line| line
            .starts_with("ok          certificate arn:aws:acm:eu-west-1:123456789012:")
            && line.ends_with("in the stack's region eu-west-1")),
        "{text}"
    );
}
