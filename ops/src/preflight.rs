//! `tracking-ops preflight`: what the deploy will meet in the account, checked
//! before it, one line per check that begins with its verdict.
//!
//! It reads DynamoDB only (DescribeTable, and one Scan page per table for the
//! sample). What only Lambda, SNS or KMS could answer (the authorizer function,
//! the stream's other readers, the alarm topic and key policies) is printed as
//! `not checked`, with the command that answers it: never as `ok`.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, KeySchemaElement, KeyType, StreamViewType,
    TableDescription, TableStatus,
};
use tracking_status::config::TableNames;
use tracking_status_dev::schema::{KeyAttribute, TableSpec, tables};

use crate::records::{Decoded, decode_sample};
use crate::settings::TableName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Ok,
    Warning,
    Blocker,
    NotChecked,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Blocker => "blocker",
            Verdict::NotChecked => "not checked",
        }
    }
}

/// One check's line: the verdict, what it concerns, and what it found or what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub verdict: Verdict,
    pub subject: String,
    pub text: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<11} {}: {}",
            self.verdict.as_str(),
            self.subject,
            self.text
        )
    }
}

/// Who adds the authorizer's invoke permission (the template's `AuthorizerInvokePermission`).
pub const STACK_ADDS_PERMISSION: &str = "stack";
pub const OWNER_ADDS_PERMISSION: &str = "owner";

/// What the deploy will use, as its parameters give it.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The existing tables the deploy will read (`Existing…Table`); the others the stack creates.
    pub tables: Vec<TableName>,
    /// The region the stack deploys to.
    pub region: String,
    pub stream_arn: Option<String>,
    pub authorizer_arn: Option<String>,
    /// `stack` or `owner`.
    pub authorizer_permission: String,
    pub alarm_topic_arn: Option<String>,
    pub kms_key_arn: Option<String>,
    /// Items read from each table (one Scan page).
    pub sample_size: i32,
    /// The `Environment` parameter (`dev`, `prod`), when known.
    pub environment: Option<String>,
    /// Every parameter the deploy will be given, `Name` to value: the profile's
    /// `parameter_overrides`, with this command's options in place of theirs.
    pub parameters: BTreeMap<String, String>,
}

/// What marks samconfig.toml's example values, so that a value holding one was never edited:
/// the example account of its ARNs, the `EXAMPLE` of its ids (the hosted zone), the reserved
/// example domain (RFC 2606) of its origin and host name, and the `<…>` of a value to fill in.
pub const PLACEHOLDER_MARKS: [&str; 4] = ["123456789012", "EXAMPLE", "example.com", "<"];

/// The placeholder mark `value` holds, if any.
pub fn placeholder_mark(value: &str) -> Option<&'static str> {
    PLACEHOLDER_MARKS
        .into_iter()
        .find(|mark| value.contains(mark))
}

/// Every check, in the order they are printed.
pub async fn run(client: &Client, inputs: &Inputs) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut account: Option<String> = None;
    for table in &inputs.tables {
        let Some(spec) = spec_of(table) else { continue };
        if let Some(arn) = check_table(client, table, &spec, inputs, &mut findings).await {
            account = account.or_else(|| arn_field(&arn, 4));
        }
    }
    if inputs.tables.is_empty() {
        findings.push(Finding {
            verdict: Verdict::NotChecked,
            subject: "tables".into(),
            text: "no existing table given: the stack creates all five, nothing to check".into(),
        });
    }
    check_placeholders(inputs, &mut findings);
    check_certificate(inputs, &mut findings);
    check_authorizer(inputs, account.as_deref(), &mut findings);
    check_alarm_topic(inputs, &mut findings);
    check_kms_key(inputs, &mut findings);
    findings
}

/// The summary line and the exit status: non-zero on any blocker.
pub fn summary(findings: &[Finding]) -> (String, bool) {
    let count = |verdict| findings.iter().filter(|f| f.verdict == verdict).count();
    let blockers = count(Verdict::Blocker);
    (
        format!(
            "preflight: {} ok, {} warning(s), {blockers} blocker(s), {} not checked{}",
            count(Verdict::Ok),
            count(Verdict::Warning),
            count(Verdict::NotChecked),
            if blockers > 0 {
                ": fix the blockers before `sam deploy`"
            } else {
                ""
            }
        ),
        blockers == 0,
    )
}

/// The function's design of the table behind `table.variable` (`schema::tables`).
pub fn spec_of(table: &TableName) -> Option<TableSpec> {
    let index = crate::settings::all_variables()
        .iter()
        .position(|variable| *variable == table.variable)?;
    let names = TableNames::from_lookup(|variable| {
        (variable == table.variable).then(|| table.name.clone())
    });
    tables(&names).into_iter().nth(index)
}

/// `arn:partition:service:region:account:resource`: field 3 is the region, 4 the account.
fn arn_field(arn: &str, field: usize) -> Option<String> {
    arn.split(':')
        .nth(field)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
}

/// How a key attribute reads, `id (N)`.
fn show(attribute: &KeyAttribute) -> String {
    format!("{} ({})", attribute.name, attribute.kind.sdk().as_str())
}

/// The differences between a key schema as described and the one the function reads.
pub fn key_problems(
    schema: &[KeySchemaElement],
    definitions: &[AttributeDefinition],
    partition: &KeyAttribute,
    sort: Option<&KeyAttribute>,
) -> Vec<String> {
    let described = |key_type: KeyType| {
        schema
            .iter()
            .find(|element| element.key_type == key_type)
            .map(|element| {
                let kind = definitions
                    .iter()
                    .find(|d| d.attribute_name == element.attribute_name)
                    .map_or("?", |d| d.attribute_type.as_str());
                format!("{} ({kind})", element.attribute_name)
            })
    };
    let mut problems = Vec::new();
    let partition_found = described(KeyType::Hash);
    if partition_found.as_deref() != Some(show(partition).as_str()) {
        problems.push(format!(
            "partition key is {}, the function reads {}",
            partition_found.unwrap_or_else(|| "missing".into()),
            show(partition)
        ));
    }
    let sort_found = described(KeyType::Range);
    let sort_wanted = sort.map(show);
    if sort_found != sort_wanted {
        problems.push(format!(
            "sort key is {}, the function reads {}",
            sort_found.unwrap_or_else(|| "none".into()),
            sort_wanted.unwrap_or_else(|| "none".into())
        ));
    }
    problems
}

/// DescribeTable; `Err` is the finding that says why it could not be read.
pub async fn describe(
    client: &Client,
    table: &TableName,
    role: &str,
) -> Result<TableDescription, Finding> {
    let subject = format!("{role} {} ({})", table.name, table.variable);
    match client.describe_table().table_name(&table.name).send().await {
        Ok(output) => output.table.ok_or(Finding {
            verdict: Verdict::Blocker,
            subject,
            text: "DescribeTable answered without a table".into(),
        }),
        Err(error) if error.code() == Some("ResourceNotFoundException") => Err(Finding {
            verdict: Verdict::Blocker,
            subject,
            text: "no such table in this account and region (the credentials' and region's): \
                   the stack reads tables in its own account and region only (its roles' ARNs \
                   are built from them); fix the name, or run with the stack's account and region"
                .into(),
        }),
        Err(error) => Err(Finding {
            verdict: Verdict::NotChecked,
            subject,
            text: format!(
                "DescribeTable failed: {}; the credentials need dynamodb:DescribeTable (and dynamodb:Scan for the sample)",
                DisplayErrorContext(error)
            ),
        }),
    }
}

/// The role of a table in the output: `events table`.
fn role(table: &TableName) -> String {
    let stem = table
        .variable
        .trim_end_matches("_TABLE")
        .to_lowercase()
        .replace('_', "-");
    format!("{stem} table")
}

/// The table's checks; returns its ARN when it exists.
async fn check_table(
    client: &Client,
    table: &TableName,
    spec: &TableSpec,
    inputs: &Inputs,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let role = role(table);
    let subject = |check: &str| format!("{role} {} {check}", table.name);
    let description = match describe(client, table, &role).await {
        Ok(description) => description,
        Err(finding) => {
            findings.push(finding);
            return None;
        }
    };
    let arn = description.table_arn.clone().unwrap_or_default();
    findings.push(Finding {
        verdict: Verdict::Ok,
        subject: subject("exists"),
        text: format!(
            "{arn}: account {}, region {}; the stack must deploy to this account and region",
            arn_field(&arn, 4).unwrap_or_else(|| "?".into()),
            arn_field(&arn, 3).unwrap_or_else(|| "?".into())
        ),
    });
    if description.table_status != Some(TableStatus::Active) {
        findings.push(Finding {
            verdict: Verdict::Warning,
            subject: subject("status"),
            text: format!(
                "{:?}, not ACTIVE: run preflight again once it is",
                description.table_status
            ),
        });
    }

    let definitions = description.attribute_definitions();
    let problems = key_problems(
        description.key_schema(),
        definitions,
        &spec.partition,
        spec.sort.as_ref(),
    );
    let keys_as_read = problems.is_empty();
    findings.push(if keys_as_read {
        Finding {
            verdict: Verdict::Ok,
            subject: subject("key schema"),
            text: format!(
                "{}{}",
                show(&spec.partition),
                spec.sort
                    .as_ref()
                    .map(|s| format!(", {}", show(s)))
                    .unwrap_or_default()
            ),
        }
    } else {
        Finding {
            verdict: Verdict::Blocker,
            subject: subject("key schema"),
            text: format!(
                "{}: every read of it would fail (500s); a key cannot be changed in place, so the \
                 stack cannot read this table",
                problems.join("; ")
            ),
        }
    });

    for index in &spec.indexes {
        let found = description
            .global_secondary_indexes()
            .iter()
            .find(|i| i.index_name.as_deref() == Some(index.name));
        let finding = match found {
            None => Finding {
                verdict: Verdict::Blocker,
                subject: subject(&format!("index {}", index.name)),
                text: format!(
                    "missing: the function queries it for approved partners (hasPartners); its owners must add the \
                     global secondary index {} ({}{}, keys only is enough) before the deploy",
                    index.name,
                    show(&index.partition),
                    index
                        .sort
                        .as_ref()
                        .map(|s| format!(", {}", show(s)))
                        .unwrap_or_default()
                ),
            },
            Some(found) => {
                let problems = key_problems(
                    found.key_schema(),
                    definitions,
                    &index.partition,
                    index.sort.as_ref(),
                );
                if !problems.is_empty() {
                    Finding {
                        verdict: Verdict::Blocker,
                        subject: subject(&format!("index {}", index.name)),
                        text: format!("{}: the function's Query would fail", problems.join("; ")),
                    }
                } else if found.index_status.as_ref().map(|s| s.as_str()) != Some("ACTIVE") {
                    Finding {
                        verdict: Verdict::Warning,
                        subject: subject(&format!("index {}", index.name)),
                        text: format!(
                            "{:?}, not ACTIVE (still backfilling?): run preflight again once it is",
                            found.index_status
                        ),
                    }
                } else {
                    Finding {
                        verdict: Verdict::Ok,
                        subject: subject(&format!("index {}", index.name)),
                        text: "keys as the function queries them".into(),
                    }
                }
            }
        };
        findings.push(finding);
    }

    findings.push(if keys_as_read {
        check_sample(client, table, &subject("sample"), inputs.sample_size).await
    } else {
        Finding {
            verdict: Verdict::NotChecked,
            subject: subject("sample"),
            text: "not read: the key schema above is not the function's".into(),
        }
    });

    if let Some(sse) = description.sse_description()
        && let Some(key) = sse.kms_master_key_arn()
    {
        let verdict = if inputs.kms_key_arn.as_deref() == Some(key) {
            Verdict::Ok
        } else {
            Verdict::Warning
        };
        findings.push(Finding {
            verdict,
            subject: subject("encryption"),
            text: format!(
                "encrypted with KMS key {key}{}: if it is customer-managed, the function's role \
                 (and, for the events table, the indexer's, which reads the stream) needs kms:Decrypt \
                 on it: pass KmsKeyArn={key}, or have its owners allow the roles in the key policy \
                 (whether it is AWS-managed is not checked: `aws kms describe-key --key-id {key}`)",
                if verdict == Verdict::Ok {
                    ", the KmsKeyArn given"
                } else {
                    ""
                }
            ),
        });
    }

    if table.variable == "EVENTS_TABLE" {
        check_stream(&description, table, inputs, findings);
    }
    Some(arn)
}

/// One Scan page, each item read as the function reads it.
async fn check_sample(client: &Client, table: &TableName, subject: &str, size: i32) -> Finding {
    let page = match client
        .scan()
        .table_name(&table.name)
        .limit(size)
        .send()
        .await
    {
        Ok(page) => page,
        Err(error) => {
            return Finding {
                verdict: Verdict::NotChecked,
                subject: subject.into(),
                text: format!(
                    "Scan failed: {}; the credentials need dynamodb:Scan for the sample",
                    DisplayErrorContext(error)
                ),
            };
        }
    };
    let items = page.items.unwrap_or_default();
    if items.is_empty() {
        return Finding {
            verdict: Verdict::NotChecked,
            subject: subject.into(),
            text: "the table is empty: no item to read".into(),
        };
    }
    // Items that fail alike are one reason with their keys.
    let mut broken: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut doubtful: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in &items {
        let id = item_id(item);
        match decode_sample(table.variable, item) {
            Decoded::Fine => {}
            Decoded::Broken(why) => broken.entry(why).or_default().push(id),
            Decoded::Doubtful(why) => doubtful.entry(why).or_default().push(id),
        }
    }
    // The mapping's filter needs `test` and `type` on a record (template.yaml's
    // FilterCriteria). An item without them is dropped: fine for a live event, whose writer
    // may omit `test`; but a sample where no item has one is a writer that never stores it,
    // and the view would stay empty: a blocker. Some items without one: a warning.
    if table.variable == "EVENTS_TABLE" {
        for attribute in ["test", "type"] {
            let without: Vec<String> = items
                .iter()
                .filter(|item| !item.contains_key(attribute))
                .map(item_id)
                .collect();
            if without.len() == items.len() {
                broken.insert(
                    format!(
                        "no sampled item has `{attribute}`: the indexer's filter drops every \
                         record without it and the view stays empty"
                    ),
                    without,
                );
            } else if !without.is_empty() {
                doubtful.insert(
                    format!(
                        "no `{attribute}`: the indexer's filter drops the record (right for a \
                         live event; a test one would never show)"
                    ),
                    without,
                );
            }
        }
    }
    let count = |map: &BTreeMap<String, Vec<String>>| map.values().map(Vec::len).sum::<usize>();
    let examples = |map: &BTreeMap<String, Vec<String>>| {
        map.iter()
            .take(3)
            .map(|(why, ids)| {
                let mut shown: Vec<&str> = ids.iter().map(String::as_str).take(5).collect();
                if ids.len() > shown.len() {
                    shown.push("…");
                }
                format!("{why} (items {})", shown.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !broken.is_empty() {
        Finding {
            verdict: Verdict::Blocker,
            subject: subject.into(),
            text: format!(
                "{} of {} sampled items cannot be read as the function reads them: {}; \
                 their writers must store these attributes with the types docs/api.md gives",
                count(&broken),
                items.len(),
                examples(&broken)
            ),
        }
    } else if !doubtful.is_empty() {
        Finding {
            verdict: Verdict::Warning,
            subject: subject.into(),
            text: format!(
                "{} of {} sampled items: {}",
                count(&doubtful),
                items.len(),
                examples(&doubtful)
            ),
        }
    } else {
        Finding {
            verdict: Verdict::Ok,
            subject: subject.into(),
            text: format!(
                "{} items read as the function reads them (one Scan page)",
                items.len()
            ),
        }
    }
}

/// How a sampled item is named in a finding: its `id`, or a membership's `workspaceId`.
fn item_id(item: &std::collections::HashMap<String, AttributeValue>) -> String {
    ["id", "workspaceId"]
        .iter()
        .find_map(|name| item.get(*name))
        .map(|value| match value {
            AttributeValue::N(text) | AttributeValue::S(text) => text.clone(),
            other => format!("{other:?}"),
        })
        .unwrap_or_default()
}

fn check_stream(
    description: &TableDescription,
    table: &TableName,
    inputs: &Inputs,
    findings: &mut Vec<Finding>,
) {
    let subject = format!("events table {} stream", table.name);
    let enable = format!(
        "aws dynamodb update-table --table-name {} --stream-specification \
         StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES",
        table.name
    );
    let specification = description.stream_specification();
    let latest = description.latest_stream_arn().unwrap_or_default();
    let finding = match specification {
        Some(spec) if spec.stream_enabled => match spec.stream_view_type() {
            Some(StreamViewType::NewAndOldImages) => match inputs.stream_arn.as_deref() {
                Some(given) if given == latest => Finding {
                    verdict: Verdict::Ok,
                    subject: subject.clone(),
                    text: format!(
                        "on, NEW_AND_OLD_IMAGES, {latest} (the ExistingEventsStreamArn given)"
                    ),
                },
                Some(given) => Finding {
                    verdict: Verdict::Blocker,
                    subject: subject.clone(),
                    text: format!(
                        "ExistingEventsStreamArn is {given}, but the table's stream is {latest}: pass that ARN"
                    ),
                },
                None => Finding {
                    verdict: Verdict::Blocker,
                    subject: subject.clone(),
                    text: format!("no ExistingEventsStreamArn given: pass {latest}"),
                },
            },
            other => Finding {
                verdict: Verdict::Blocker,
                subject: subject.clone(),
                text: format!(
                    "on with {}, not NEW_AND_OLD_IMAGES: the indexer needs both images to \
                         delete an event's old entry. Changing it means turning the stream off and \
                         on again: a NEW stream with a new ARN, and every other reader of {latest} \
                         (Lambda mappings, Pipes, Kinesis adapters) stops receiving records and \
                         loses what it has not read. Find them first (next line), agree with their \
                         owners, then: aws dynamodb update-table --table-name {} \
                         --stream-specification StreamEnabled=false; {enable}",
                    other.map_or("no view type", |v| v.as_str()),
                    table.name
                ),
            },
        },
        _ => Finding {
            verdict: Verdict::Blocker,
            subject: subject.clone(),
            text: format!(
                "off: the indexer reads the test events from it. Turn it on: {enable}; then pass its \
                 LatestStreamArn (aws dynamodb describe-table --table-name {}) as ExistingEventsStreamArn",
                table.name
            ),
        },
    };
    findings.push(finding);
    if !latest.is_empty() {
        findings.push(Finding {
            verdict: Verdict::NotChecked,
            subject: format!("events table {} stream readers", table.name),
            text: format!(
                "this command reads DynamoDB only: list the stream's other readers with \
                 `aws lambda list-event-source-mappings --event-source-arn {latest}` and \
                 `aws pipes list-pipes --source-prefix {latest}` before re-creating it; a stream \
                 has at most two readers per shard before they throttle each other"
            ),
        });
    }
}

/// One rule for every parameter: a value still holding a placeholder mark was never edited.
fn check_placeholders(inputs: &Inputs, findings: &mut Vec<Finding>) {
    for (name, value) in &inputs.parameters {
        if let Some(mark) = placeholder_mark(value) {
            findings.push(Finding {
                verdict: Verdict::Blocker,
                subject: format!("{name} {value}"),
                text: format!(
                    "a samconfig.toml placeholder (it holds {mark:?}): put your value in {name}"
                ),
            });
        }
    }
}

/// The custom domain's certificate: API Gateway takes a regional domain's ACM certificate
/// from the API's own region only. Its region is in its ARN; whether it is issued and
/// covers the name only ACM can say.
fn check_certificate(inputs: &Inputs, findings: &mut Vec<Finding>) {
    let Some(arn) = inputs
        .parameters
        .get("ApiCertificateArn")
        .filter(|arn| !arn.is_empty())
    else {
        return;
    };
    let subject = format!("certificate {arn}");
    let service = arn_field(arn, 2);
    let region = arn_field(arn, 3);
    if service.as_deref() != Some("acm") {
        findings.push(Finding {
            verdict: Verdict::Blocker,
            subject: subject.clone(),
            text: "not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"
                .into(),
        });
    } else if region.as_deref() != Some(inputs.region.as_str()) {
        findings.push(Finding {
            verdict: Verdict::Blocker,
            subject: subject.clone(),
            text: format!(
                "in region {}, the stack in {}: a regional custom domain takes a certificate of \
                 its own region only; request or import it in {}",
                region.unwrap_or_default(),
                inputs.region,
                inputs.region
            ),
        });
    } else {
        findings.push(Finding {
            verdict: Verdict::Ok,
            subject: subject.clone(),
            text: format!("in the stack's region {}", inputs.region),
        });
    }
    findings.push(Finding {
        verdict: Verdict::NotChecked,
        subject: format!("{subject} issued for the API's name"),
        text: format!(
            "this command reads DynamoDB only: `aws acm describe-certificate --certificate-arn {arn}` \
             must show Status ISSUED and {} among its names",
            inputs
                .parameters
                .get("ApiDomainName")
                .map(String::as_str)
                .unwrap_or("ApiDomainName")
        ),
    });
}

fn check_authorizer(inputs: &Inputs, account: Option<&str>, findings: &mut Vec<Finding>) {
    let Some(arn) = inputs.authorizer_arn.as_deref() else {
        findings.push(Finding {
            verdict: Verdict::Blocker,
            subject: "authorizer".into(),
            text: "no SessionAuthorizerFunctionArn given (--authorizer-arn or the profile's parameter)"
                .into(),
        });
        return;
    };
    let subject = format!("authorizer {arn}");
    let its_account = arn_field(arn, 4);
    let its_region = arn_field(arn, 3);
    if its_region.as_deref() != Some(inputs.region.as_str()) {
        findings.push(Finding {
            verdict: Verdict::Warning,
            subject: subject.clone(),
            text: format!(
                "in region {}, the stack in {}: API Gateway invokes it across regions, with that latency on every uncached request",
                its_region.unwrap_or_default(),
                inputs.region
            ),
        });
    }
    // None: the stack's account is unknown (no existing table was described, its ARN carries it).
    let other_account = match (its_account.as_deref(), account) {
        (Some(its), Some(ours)) => Some(its != ours),
        _ => None,
    };
    let add_permission = format!(
        "aws lambda add-permission --function-name {arn} --statement-id <stack>-authorizer \
         --action lambda:InvokeFunction --principal apigateway.amazonaws.com --source-arn \
         arn:aws:execute-api:{}:{}:<api id>/authorizers/*",
        inputs.region,
        account.unwrap_or("<account>")
    );
    let finding = match (inputs.authorizer_permission.as_str(), other_account) {
        (STACK_ADDS_PERMISSION, Some(true)) => Finding {
            verdict: Verdict::Blocker,
            subject: subject.clone(),
            text: format!(
                "in account {}, the stack in {}: the stack cannot add its invoke permission there \
                 (the deploy would fail). Deploy with AuthorizerInvokePermission=owner, and have its \
                 owners run, after the first deploy (the API id is the output ApiId): {add_permission}",
                its_account.unwrap_or_default(),
                account.unwrap_or_default()
            ),
        },
        (STACK_ADDS_PERMISSION, None) => Finding {
            verdict: Verdict::NotChecked,
            subject: subject.clone(),
            text: format!(
                "whether it is in the stack's account: the account is read from an existing \
                 table's ARN and no table was described. The stack adds its invoke permission \
                 (AuthorizerInvokePermission=stack), which fails if the authorizer is in another \
                 account: compare its account, {}, with `aws sts get-caller-identity`'s",
                its_account.unwrap_or_default()
            ),
        },
        (STACK_ADDS_PERMISSION, Some(false)) => Finding {
            verdict: Verdict::Ok,
            subject: subject.clone(),
            text: "the stack adds its invoke permission (AuthorizerInvokePermission=stack): the \
                   deployer needs lambda:AddPermission and lambda:RemovePermission on this function"
                .into(),
        },
        _ => Finding {
            verdict: Verdict::Warning,
            subject: subject.clone(),
            text: format!(
                "its owners add the invoke permission (AuthorizerInvokePermission=owner): until they \
                 run, after the first deploy, {add_permission}, every request is refused (500 from the authorizer)"
            ),
        },
    };
    findings.push(finding);
    findings.push(Finding {
        verdict: Verdict::NotChecked,
        subject: format!("{subject} exists"),
        text: format!(
            "this command reads DynamoDB only: `aws lambda get-function --function-name {arn}`"
        ),
    });
}

fn check_alarm_topic(inputs: &Inputs, findings: &mut Vec<Finding>) {
    let Some(arn) = inputs.alarm_topic_arn.as_deref() else {
        let prod = inputs.environment.as_deref() == Some("prod");
        findings.push(Finding {
            verdict: if prod {
                Verdict::Blocker
            } else {
                Verdict::Warning
            },
            subject: "alarm topic".into(),
            text: if prod {
                "no AlarmTopicArn with Environment=prod: the ProdPagesSomeone rule refuses the \
                 deploy; add AlarmTopicArn=<your SNS topic ARN> to the profile"
                    .into()
            } else {
                "no AlarmTopicArn: the alarms page no one".into()
            },
        });
        return;
    };
    let subject = format!("alarm topic {arn}");
    let region = arn_field(arn, 3);
    if region.as_deref() != Some(inputs.region.as_str()) {
        findings.push(Finding {
            verdict: Verdict::Blocker,
            subject: subject.clone(),
            text: format!(
                "in region {}, the stack in {}: CloudWatch alarms notify topics of their own region only; use a topic in {}",
                region.unwrap_or_default(),
                inputs.region,
                inputs.region
            ),
        });
    } else {
        findings.push(Finding {
            verdict: Verdict::Ok,
            subject: subject.clone(),
            text: format!("in the stack's region {}", inputs.region),
        });
    }
    findings.push(Finding {
        verdict: Verdict::NotChecked,
        subject: format!("{subject} exists and its key"),
        text: format!(
            "this command reads DynamoDB only: `aws sns get-topic-attributes --topic-arn {arn}`; if it \
             shows a KmsMasterKeyId, that key's policy must let cloudwatch.amazonaws.com use \
             kms:Decrypt and kms:GenerateDataKey*, or alarms fire and nobody is paged"
        ),
    });
}

fn check_kms_key(inputs: &Inputs, findings: &mut Vec<Finding>) {
    if let Some(key) = inputs.kms_key_arn.as_deref() {
        findings.push(Finding {
            verdict: Verdict::NotChecked,
            subject: format!("KMS key {key}"),
            text: format!(
                "this command reads DynamoDB only: `aws kms get-key-policy --key-id {key} --policy-name default` \
                 must let logs.{}.amazonaws.com use it (docs/operations.md, \"Parameters\"), or creating the \
                 log groups fails",
                inputs.region
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(parameters: &[(&str, &str)]) -> Inputs {
        Inputs {
            region: "eu-west-1".into(),
            authorizer_permission: STACK_ADDS_PERMISSION.into(),
            authorizer_arn: Some(
                "arn:aws:lambda:eu-west-1:111122223333:function:authorizer".into(),
            ),
            parameters: parameters
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            ..Inputs::default()
        }
    }

    fn verdicts(findings: &[Finding], subject: &str) -> Vec<Verdict> {
        findings
            .iter()
            .filter(|f| f.subject.starts_with(subject))
            .map(|f| f.verdict)
            .collect()
    }

    #[test]
    fn every_parameter_holding_a_placeholder_is_a_blocker_and_no_other() {
        let inputs = inputs(&[
            ("ApiHostedZoneId", "Z0123456789EXAMPLE"),
            (
                "AlarmTopicArn",
                "arn:aws:sns:eu-west-1:123456789012:<your-topic>",
            ),
            ("DashboardOrigin", "https://dashboard.example.com"),
            ("ApiDomainName", "api.tracking.acme.io"),
            ("LogRetentionInDays", "90"),
        ]);
        let mut findings = Vec::new();
        check_placeholders(&inputs, &mut findings);
        let named: Vec<&str> = findings
            .iter()
            .inspect(|f| assert_eq!(f.verdict, Verdict::Blocker, "{f}"))
            .map(|f| f.subject.split(' ').next().unwrap())
            .collect();
        assert_eq!(
            named,
            ["AlarmTopicArn", "ApiHostedZoneId", "DashboardOrigin"]
        );
    }

    #[test]
    fn a_certificate_of_another_region_or_service_is_a_blocker() {
        let check = |arn: &str| {
            let mut findings = Vec::new();
            check_certificate(&inputs(&[("ApiCertificateArn", arn)]), &mut findings);
            verdicts(&findings, "certificate")
        };
        assert_eq!(
            check("arn:aws:acm:eu-west-1:111122223333:certificate/abc"),
            [Verdict::Ok, Verdict::NotChecked]
        );
        assert_eq!(
            check("arn:aws:acm:us-east-1:111122223333:certificate/abc"),
            [Verdict::Blocker, Verdict::NotChecked]
        );
        assert_eq!(
            check("arn:aws:iam::111122223333:server-certificate/abc"),
            [Verdict::Blocker, Verdict::NotChecked]
        );
        let mut none = Vec::new();
        check_certificate(&inputs(&[]), &mut none);
        assert!(none.is_empty(), "{none:?}");
    }

    #[test]
    fn the_authorizers_account_is_not_checked_when_the_stacks_is_unknown() {
        let inputs = inputs(&[]);
        let check = |account: Option<&str>| {
            let mut findings = Vec::new();
            check_authorizer(&inputs, account, &mut findings);
            findings
        };
        let unknown = check(None);
        assert_eq!(unknown[0].verdict, Verdict::NotChecked, "{}", unknown[0]);
        assert!(
            unknown[0].text.contains("no table was described"),
            "{}",
            unknown[0]
        );
        assert_eq!(check(Some("111122223333"))[0].verdict, Verdict::Ok);
        assert_eq!(check(Some("444455556666"))[0].verdict, Verdict::Blocker);
    }
}
