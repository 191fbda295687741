//! `tracking-ops backfill`: writes the test-event view's entries of the events
//! already in the events table (`backfill`). Both tables are required, printed,
//! and described (keys included) before the first read that costs anything; then
//! the estimate, a progress line, and a summary. Resumable from its checkpoint.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;

use crate::backfill::{Counts, Options, Tables, estimate, finished, run};
use crate::preflight::{describe, key_problems, spec_of};
use crate::settings::TableName;

pub const HELP: &str = "\
tracking-ops backfill: write the test-event view's entries of the events already in the
events table (those written before its stream was on), by the indexer's own rule.

Run it once after the first deploy onto an existing events table (docs/operations.md,
\"Adopting existing tables\"), first with --dry-run. It is resumable: killed or failed, run
the same command again and it continues from its checkpoint; a finished checkpoint says so.
Safe while the indexer runs: each page's entries are read back from their events after the
write and made current.

Tables (required, no defaults):
  EVENTS_TABLE        the events table (or --config-env: ExistingEventsTable)
  TEST_EVENTS_TABLE   the stack's view: its output TestEventsTableName

Options:
  --dry-run                       read and count, write nothing (it neither reads nor writes
                                  the checkpoint)
  --segments N                    parallel Scan segments (default 4)
  --page-size N                   items per Scan page (default 1000)
  --max-read-units-per-second R   read units per second, all segments together (default 100),
                                  so the table's owners keep its capacity
  --price-per-million-reads P     for the estimate, dollars per million read units
                                  (default 0.125: on-demand, us-east-1; check your region)
  --checkpoint FILE               default backfill.checkpoint.json

Exit status: 0 done, 1 failed (run it again to resume), 2 wrong usage or tables, 3 done but
not settled: entries whose events kept changing for 3 rounds (listed; run reconcile).";

fn parse(args: &[String]) -> Result<(Options, f64), String> {
    let mut options = Options {
        segments: 4,
        page_size: 1000,
        max_read_units_per_second: 100.0,
        dry_run: false,
        checkpoint: PathBuf::from("backfill.checkpoint.json"),
    };
    let mut price = 0.125;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().ok_or(format!("{arg} needs a value"));
        let number = |text: &String| {
            text.parse::<f64>()
                .map_err(|_| format!("{arg}: {text:?} is not a number"))
        };
        match arg.as_str() {
            "--dry-run" => options.dry_run = true,
            "--segments" => options.segments = number(value()?)? as u32,
            "--page-size" => options.page_size = number(value()?)? as i32,
            "--max-read-units-per-second" => options.max_read_units_per_second = number(value()?)?,
            "--price-per-million-reads" => price = number(value()?)?,
            "--checkpoint" => options.checkpoint = PathBuf::from(value()?),
            other => {
                return Err(format!(
                    "unknown option {other:?} (tracking-ops backfill --help)"
                ));
            }
        }
    }
    if options.segments == 0 || options.page_size <= 0 || options.max_read_units_per_second <= 0.0 {
        return Err(
            "--segments, --page-size and --max-read-units-per-second must be positive".into(),
        );
    }
    Ok((options, price))
}

/// Both tables exist with the keys the indexer's rule reads and writes: each table's
/// variable and ARN; else what is wrong.
pub async fn check_tables(
    client: &Client,
    names: &[TableName],
) -> Result<Vec<(&'static str, String)>, String> {
    let mut problems = Vec::new();
    let mut arns = Vec::new();
    for table in names {
        let Some(spec) = spec_of(table) else { continue };
        match describe(client, table, table.variable).await {
            Err(finding) => problems.push(format!("{}: {}", finding.subject, finding.text)),
            Ok(description) => {
                arns.push((
                    table.variable,
                    description.table_arn().unwrap_or_default().to_string(),
                ));
                let keys = key_problems(
                    description.key_schema(),
                    description.attribute_definitions(),
                    &spec.partition,
                    spec.sort.as_ref(),
                );
                if !keys.is_empty() {
                    problems.push(format!(
                        "{} ({}): {}",
                        table.name,
                        table.variable,
                        keys.join("; ")
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(arns)
    } else {
        Err(problems.join("\n"))
    }
}

/// The lines that say which account's tables a run acts on (there is no STS client: each
/// table's ARN carries its account), printed before it reads an item.
pub fn describe_arns(arns: &[(&'static str, String)]) -> String {
    let mut accounts: Vec<&str> = arns
        .iter()
        .map(|(_, arn)| arn.split(':').nth(4).unwrap_or("?"))
        .collect();
    accounts.dedup();
    let mut text = format!("account {} (from the tables' ARNs)\n", accounts.join(", "));
    for (variable, arn) in arns {
        text.push_str(&format!("{variable:<23} {arn}\n"));
    }
    text
}

pub async fn main(client: &Client, names: &[TableName], args: &[String]) -> ExitCode {
    let (options, price) = match parse(args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("tracking-ops backfill: {message}");
            return ExitCode::from(2);
        }
    };
    let name = |variable: &str| {
        names
            .iter()
            .find(|t| t.variable == variable)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };
    let tables = Tables {
        events: name("EVENTS_TABLE"),
        test_events: name("TEST_EVENTS_TABLE"),
    };
    match check_tables(client, names).await {
        Ok(arns) => eprint!("{}", describe_arns(&arns)),
        Err(problems) => {
            eprintln!(
                "tracking-ops backfill: nothing read or written, the tables are not as the indexer writes them:\n{problems}"
            );
            return ExitCode::from(2);
        }
    }
    if !options.dry_run {
        match finished(&options.checkpoint, &tables.events, options.segments) {
            Ok(true) => {
                eprintln!(
                    "backfill: {} says this backfill is finished (every segment scanned, nothing \
                     pending): nothing to do; remove it to run again",
                    options.checkpoint.display()
                );
                return ExitCode::SUCCESS;
            }
            Ok(false) => {}
            Err(error) => {
                eprintln!("tracking-ops backfill: {error}");
                return ExitCode::from(2);
            }
        }
    }
    let (items, bytes, read_units) = match estimate(client, &tables.events).await {
        Ok(estimate) => estimate,
        Err(error) => {
            eprintln!(
                "tracking-ops backfill: describing {}: {error}",
                tables.events
            );
            return ExitCode::FAILURE;
        }
    };
    // Each test event is read again consistently after its write: one unit each (items up
    // to 4 KB), which the table's description cannot count beforehand; at most one per item.
    let worst = read_units + items as f64;
    eprintln!(
        "backfill: {} holds ~{items} items, {bytes} bytes: the scan costs ~{read_units} read units, \
         and the re-read of each test event one more: ~{read_units} to ~{worst} read units in all \
         (~${:.4} to ~${:.4} at ${price} per million); at most {} units/s, so {:.0} to {:.0} s{}",
        tables.events,
        read_units * price / 1e6,
        worst * price / 1e6,
        options.max_read_units_per_second,
        read_units / options.max_read_units_per_second,
        worst / options.max_read_units_per_second,
        if options.dry_run {
            "; dry run: nothing is written"
        } else {
            ""
        }
    );
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let progress = {
        let counts = counts.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                eprint!("\r{}", line(&counts, items, started));
            }
        })
    };
    let result = run(client, &tables, &options, counts.clone()).await;
    progress.abort();
    eprintln!("\r{}", line(&counts, items, started));
    match result {
        Ok(()) => {
            eprintln!(
                "backfill: done: {} scanned ({} in this run), {} indexed{}, {} unreadable, {} re-read, {} fixed (changed meanwhile)",
                counts.scanned.load(Ordering::Relaxed),
                counts.scanned.load(Ordering::Relaxed)
                    - counts.scanned_before.load(Ordering::Relaxed),
                counts.indexed.load(Ordering::Relaxed),
                if options.dry_run {
                    " (dry run: not written)"
                } else {
                    ""
                },
                counts.unreadable.load(Ordering::Relaxed),
                counts.reread.load(Ordering::Relaxed),
                counts.raced.load(Ordering::Relaxed),
            );
            let unsettled = counts.unsettled.load(Ordering::Relaxed);
            if unsettled > 0 {
                eprintln!(
                    "backfill: NOT settled: {unsettled} entries still differ from their events \
                     (listed above): run `tracking-ops reconcile` once they stop changing"
                );
                return ExitCode::from(crate::reconcile::EXIT_UNSETTLED);
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "backfill: {error}; run it again to resume from {}",
                options.checkpoint.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// `scanned N (x %), indexed M, R items/s, ETA S s`: the share of DescribeTable's item count
/// (an estimate, refreshed about every six hours), this run's rate, and the time left at it.
fn line(counts: &Counts, items: i64, started: Instant) -> String {
    let scanned = counts.scanned.load(Ordering::Relaxed);
    let this_run = scanned - counts.scanned_before.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64().max(0.001);
    let rate = this_run as f64 / elapsed;
    let left = items as f64 - scanned as f64;
    let eta = if left <= 0.0 {
        // The count is an estimate: past it, the last pages are still being settled.
        "finishing".to_string()
    } else if rate > 0.0 {
        format!("ETA {:.0} s", left / rate)
    } else {
        "ETA ?".into()
    };
    let percent = if items > 0 {
        (100.0 * scanned as f64 / items as f64).min(99.0)
    } else {
        0.0
    };
    format!(
        "backfill: scanned {scanned} (~{percent:.0} %), indexed {}, {rate:.0} items/s, {eta}   ",
        counts.indexed.load(Ordering::Relaxed)
    )
}
