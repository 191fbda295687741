//! `tracking-ops [--config-env ENV] [--samconfig FILE] [--region R] <preflight|backfill|reconcile> …`
//! (`HELP` below is what an operator reads).

use std::path::PathBuf;
use std::process::ExitCode;

use aws_sdk_dynamodb::Client;
use tracking_ops::preflight::{self, Inputs, OWNER_ADDS_PERMISSION, STACK_ADDS_PERMISSION};
use tracking_ops::settings::{NO_TABLE_NAME, Profile, describe_target, sdk_config, table_names};
use tracking_ops::{backfill_command, reconcile_command};

const HELP: &str = "\
tracking-ops: tracking-status's operator command (never deployed).

Usage: tracking-ops [--config-env ENV] [--samconfig FILE] [--region REGION] COMMAND [OPTIONS]

Commands:
  preflight   before a deploy onto existing tables: checks each table (keys, indexes, a sample
              of items read as the function reads them), the events stream, the authorizer,
              the alarm topic, the certificate, KMS keys, and every parameter for
              samconfig.toml's placeholders; one line per check, beginning with ok, warning,
              blocker or not checked; exits 1 on any blocker
  backfill    after the first deploy: writes the view's entries of the events already in the
              events table (resumable; try --dry-run first)
  reconcile   repairs the view's entries from their events (--dry-run: report, exit 1 on drift)
  COMMAND --help   that command's options

Tables: from the environment variables the functions read (PROGRAMS_TABLE, ADVERTISERS_TABLE,
MEMBERSHIPS_TABLE, EVENTS_TABLE, PARTNER_PROGRAMS_TABLE, TEST_EVENTS_TABLE), or else from
--config-env's Existing…Table parameters in samconfig.toml. Nothing defaults: each command
prints the tables it acts on and where each name came from before it reads anything.

AWS: the ordinary credential chain (AWS_PROFILE, SSO, credential_process, environment, roles)
and the system's trusted roots. Region: --region, else the profile's `region` in samconfig.toml,
else the chain's (AWS_REGION, the profile's region).

Global options:
  --config-env ENV   read the [ENV.deploy.parameters] of samconfig.toml (e.g. prod)
  --samconfig FILE   default samconfig.toml
  --region REGION    the region the stack deploys to

Exit status: 0 done, 1 blockers or a failed run, 2 wrong usage or missing table names.";

const PREFLIGHT_HELP: &str = "\
tracking-ops preflight: run before `sam deploy` with the tables the deploy will use.

The existing tables come from the table variables or --config-env (the view, which the stack
creates, is not needed); a table not named is one the stack creates. Each is described (free)
and one Scan page of it is read (--sample items: about half a read unit per 4 KB).

Options (each defaults to the --config-env profile's parameter of the same meaning):
  --stream-arn ARN             ExistingEventsStreamArn
  --authorizer-arn ARN         SessionAuthorizerFunctionArn
  --authorizer-permission stack|owner
                               AuthorizerInvokePermission (default stack): who adds the
                               authorizer's invoke permission
  --alarm-topic-arn ARN        AlarmTopicArn
  --kms-key-arn ARN            KmsKeyArn
  --sample N                   items read from each table (default 100)

Each line: VERDICT SUBJECT: what was found and what to do. Verdicts: ok; warning (deployable,
read it); blocker (the deploy would fail or serve errors: fix it first); not checked (this
command cannot tell: the line gives the command that can). Exit status 1 on any blocker.";

struct Global {
    config_env: Option<String>,
    samconfig: PathBuf,
    region: Option<String>,
}

fn split_global(args: &[String]) -> Result<(Global, Vec<String>), String> {
    let mut global = Global {
        config_env: None,
        samconfig: PathBuf::from("samconfig.toml"),
        region: None,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--config-env" => global.config_env = Some(value()?),
            "--samconfig" => global.samconfig = PathBuf::from(value()?),
            "--region" => global.region = Some(value()?),
            _ => {
                let mut command = vec![arg.clone()];
                command.extend(rest.cloned());
                return Ok((global, command));
            }
        }
    }
    Ok((global, vec![]))
}

/// `--name value` options of a subcommand, by name.
fn options(args: &[String], known: &[&str]) -> Result<Vec<(String, String)>, String> {
    let mut found = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if !known.contains(&arg.as_str()) {
            return Err(format!("unknown option {arg:?}"));
        }
        let value = rest.next().ok_or(format!("{arg} needs a value"))?;
        found.push((arg.clone(), value.clone()));
    }
    Ok(found)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (global, command) = match split_global(&args) {
        Ok(split) => split,
        Err(message) => return usage(&message),
    };
    let Some(name) = command.first() else {
        eprintln!("{HELP}");
        return ExitCode::from(2);
    };
    let rest = &command[1..];
    let wants_help = rest.iter().any(|a| a == "--help" || a == "-h");
    match name.as_str() {
        "--help" | "-h" | "help" => {
            println!("{HELP}");
            ExitCode::SUCCESS
        }
        "preflight" if wants_help => {
            println!("{PREFLIGHT_HELP}");
            ExitCode::SUCCESS
        }
        "backfill" if wants_help => {
            println!("{}", backfill_command::HELP);
            ExitCode::SUCCESS
        }
        "reconcile" if wants_help => {
            println!("{}", reconcile_command::HELP);
            ExitCode::SUCCESS
        }
        "preflight" | "backfill" | "reconcile" => run(&global, name, rest).await,
        other => usage(&format!("unknown command {other:?}")),
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("tracking-ops: {message} (tracking-ops --help)");
    ExitCode::from(2)
}

async fn run(global: &Global, command: &str, args: &[String]) -> ExitCode {
    let profile = match &global.config_env {
        Some(env) => match Profile::load(&global.samconfig, env) {
            Ok(profile) => Some(profile),
            Err(message) => return usage(&message),
        },
        None => None,
    };
    let env = |name: &str| std::env::var(name).ok();
    let (region, region_source) = match (
        &global.region,
        profile.as_ref().and_then(|p| p.region.clone()),
    ) {
        (Some(region), _) => (Some(region.clone()), "--region".to_string()),
        (None, Some(region)) => (
            Some(region),
            format!(
                "{} region",
                profile
                    .as_ref()
                    .map(|p| p.label.as_str())
                    .unwrap_or_default()
            ),
        ),
        (None, None) => (None, "the AWS configuration".to_string()),
    };
    let sdk = sdk_config(region.as_deref()).await;
    let Some(region) = sdk.region().map(|r| r.to_string()) else {
        return usage(
            "no region: give --region, a --config-env whose profile has one, or AWS_REGION",
        );
    };
    let client = Client::new(&sdk);

    if command == "backfill" || command == "reconcile" {
        let names = match table_names(
            &["EVENTS_TABLE", "TEST_EVENTS_TABLE"],
            env,
            profile.as_ref(),
        ) {
            Ok(names) => names,
            Err(message) => return usage(&message),
        };
        eprint!("{}", describe_target(&region, &region_source, &names));
        return if command == "backfill" {
            backfill_command::main(&client, &names, args).await
        } else {
            reconcile_command::main(&client, &names, args).await
        };
    }

    let given = match options(
        args,
        &[
            "--stream-arn",
            "--authorizer-arn",
            "--authorizer-permission",
            "--alarm-topic-arn",
            "--kms-key-arn",
            "--sample",
        ],
    ) {
        Ok(given) => given,
        Err(message) => return usage(&message),
    };
    let option = |flag: &str, parameter: &str| {
        given
            .iter()
            .rev()
            .find(|(name, _)| name == flag)
            .map(|(_, value)| value.clone())
            .or_else(|| profile.as_ref()?.parameter(parameter).map(str::to_string))
            .filter(|value| !value.is_empty())
    };
    // A table neither source names is one the stack creates; two names for one are refused.
    let mut tables = Vec::new();
    for variable in tracking_ops::settings::all_variables() {
        if variable == "TEST_EVENTS_TABLE" {
            continue;
        }
        match table_names(&[variable], env, profile.as_ref()) {
            Ok(names) => tables.extend(names),
            Err(message) if message.starts_with(NO_TABLE_NAME) => {}
            Err(message) => return usage(&message),
        }
    }
    let permission = option("--authorizer-permission", "AuthorizerInvokePermission")
        .unwrap_or_else(|| STACK_ADDS_PERMISSION.to_string());
    if permission != STACK_ADDS_PERMISSION && permission != OWNER_ADDS_PERMISSION {
        return usage(&format!(
            "--authorizer-permission is stack or owner, not {permission:?}"
        ));
    }
    let sample_size = match option("--sample", "").map(|n| n.parse::<i32>()) {
        None => 100,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => return usage("--sample needs a positive number"),
    };
    // What the deploy will be given: the profile's parameters, this command's options in place
    // of theirs (the placeholder rule reads every one).
    let mut parameters = profile
        .as_ref()
        .map(|p| p.parameters.clone())
        .unwrap_or_default();
    for (flag, parameter) in [
        ("--stream-arn", "ExistingEventsStreamArn"),
        ("--authorizer-arn", "SessionAuthorizerFunctionArn"),
        ("--authorizer-permission", "AuthorizerInvokePermission"),
        ("--alarm-topic-arn", "AlarmTopicArn"),
        ("--kms-key-arn", "KmsKeyArn"),
    ] {
        if let Some(value) = option(flag, parameter) {
            parameters.insert(parameter.to_string(), value);
        }
    }
    parameters.retain(|_, value| !value.is_empty());
    let inputs = Inputs {
        parameters,
        tables,
        region: region.clone(),
        stream_arn: option("--stream-arn", "ExistingEventsStreamArn"),
        authorizer_arn: option("--authorizer-arn", "SessionAuthorizerFunctionArn"),
        authorizer_permission: permission,
        alarm_topic_arn: option("--alarm-topic-arn", "AlarmTopicArn"),
        kms_key_arn: option("--kms-key-arn", "KmsKeyArn"),
        sample_size,
        environment: profile
            .as_ref()
            .and_then(|p| p.parameter("Environment"))
            .map(str::to_string),
    };
    print!(
        "{}",
        describe_target(&region, &region_source, &inputs.tables)
    );
    let findings = preflight::run(&client, &inputs).await;
    for finding in &findings {
        println!("{finding}");
    }
    let (summary, passed) = preflight::summary(&findings);
    println!("{summary}");
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
