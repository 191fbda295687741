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

use crate::Tables;
use crate::backfill::{Counts, Options, estimate, finished, run};
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
        match arg.as_str() {
            "--dry-run" => options.dry_run = true,
            "--segments" => options.segments = integer(arg, value()?, 1, MAX_SEGMENTS)?,
            "--page-size" => options.page_size = integer(arg, value()?, 1, i32::MAX)?,
            "--max-read-units-per-second" => {
                options.max_read_units_per_second = positive_rate(arg, value()?)?
            }
            "--price-per-million-reads" => {
                price = finite(arg, value()?).and_then(|price| {
                    if price >= 0.0 {
                        Ok(price)
                    } else {
                        Err(format!("{arg}: {price} is negative"))
                    }
                })?
            }
            "--checkpoint" => options.checkpoint = PathBuf::from(value()?),
            other => {
                return Err(format!(
                    "unknown option {other:?} (tracking-ops backfill --help)"
                ));
            }
        }
    }
    Ok((options, price))
}

/// DynamoDB's largest `TotalSegments` for a parallel Scan.
pub const MAX_SEGMENTS: u32 = 1_000_000;

/// An option's whole number, within `min..=max`: no fraction, no exponent, no wrap-around.
pub fn integer<T>(arg: &str, text: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match text.trim().parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!(
            "{arg}: {text:?} is not a whole number from {min} to {max}"
        )),
    }
}

/// An option's number: finite (no NaN, no infinity).
pub fn finite(arg: &str, text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(format!("{arg}: {text:?} is not a finite number")),
    }
}

/// A rate option (read units per second): finite and above zero, and at most a million
/// (whose pauses are microseconds), so that no Duration it divides into overflows.
pub fn positive_rate(arg: &str, text: &str) -> Result<f64, String> {
    let n = finite(arg, text)?;
    if n > 0.0 && n <= 1_000_000.0 {
        Ok(n)
    } else {
        Err(format!(
            "{arg}: {text:?} is not above 0 and at most 1000000"
        ))
    }
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
        match finished(&options.checkpoint, &tables, options.segments) {
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
                counts.changed_meanwhile.load(Ordering::Relaxed),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn numeric_options_are_whole_finite_and_bounded_or_refused() {
        for bad in [
            &["--segments", "2.5"][..],
            &["--segments", "1e9"],
            &["--segments", "0"],
            &["--segments", "1000001"],
            &["--segments", "-1"],
            &["--page-size", "4294967297"],
            &["--max-read-units-per-second", "NaN"],
            &["--max-read-units-per-second", "inf"],
            &["--max-read-units-per-second", "0"],
            &["--price-per-million-reads", "-1"],
            &["--price-per-million-reads", "infinity"],
        ] {
            let error = parse(&args(bad)).unwrap_err();
            assert!(error.starts_with(bad[0]), "{bad:?}: {error}");
        }
        let (options, price) = parse(&args(&[
            "--segments",
            "1000000",
            "--page-size",
            "25",
            "--max-read-units-per-second",
            "2.5",
            "--price-per-million-reads",
            "0",
        ]))
        .unwrap();
        assert_eq!(
            (
                options.segments,
                options.page_size,
                options.max_read_units_per_second,
                price
            ),
            (1_000_000, 25, 2.5, 0.0)
        );
    }
}
