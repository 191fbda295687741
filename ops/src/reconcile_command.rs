//! `tracking-ops reconcile`: the view made equal to its sources (`reconcile`),
//! with a dry run that exits 1 on drift, for a schedule or a runbook.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;

use crate::Tables;
use crate::backfill_command::{check_tables, describe_arns, integer, positive_rate};
use crate::reconcile::{Counts, EXIT_UNSETTLED, Options, run};
use crate::settings::TableName;

pub const HELP: &str = "\
tracking-ops reconcile: make every entry of the test-event view what the indexer's rule
derives from its event as it is now. Safe while the indexer runs, any time.

It reads the whole view (test events only), then each entry's event with a consistent read
(about one read unit per view entry), and:
  orphan   the event is gone, live, or no longer a readable test click or lead: deleted
  moved    the event maps to another key (type, program, createdAt changed): deleted, and
           its current entry put
  stale    same key, other content (e.g. timestamp): the current entry put whole
Then it reads the events it wrote for again and repeats until nothing changes (3 rounds at
most), so that a change the indexer applied meanwhile is not undone. An event whose entry
was never written (a skipped INSERT) is not in the view to start from: run backfill for those.

Tables (required, no defaults):
  EVENTS_TABLE        the events table (or --config-env: ExistingEventsTable)
  TEST_EVENTS_TABLE   the stack's view: its output TestEventsTableName

Options:
  --dry-run                       report the drift (counts, example keys), change nothing
  --force                         repair even when more than half of the view's entries (and
                                  more than 10) would be deleted: without it such a run is
                                  refused, since a wrong EVENTS_TABLE makes every entry an orphan
  --max-read-units-per-second R   default 100
  --sample N                      example keys printed per kind (default 10)

Exit status: 0 no drift (or repaired), 1 drift found by --dry-run, a refused or a failed run,
2 wrong usage or tables, 3 not settled: entries still differing from their events after 3
rounds (listed; run it again).";

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        dry_run: false,
        force: false,
        max_read_units_per_second: 100.0,
        sample: 10,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--dry-run" => options.dry_run = true,
            "--force" => options.force = true,
            "--max-read-units-per-second" => {
                options.max_read_units_per_second = positive_rate(arg, value()?)?
            }
            "--sample" => options.sample = integer(arg, value()?, 0, usize::MAX)?,
            other => {
                return Err(format!(
                    "unknown option {other:?} (tracking-ops reconcile --help)"
                ));
            }
        }
    }
    Ok(options)
}

pub async fn main(client: &Client, names: &[TableName], args: &[String]) -> ExitCode {
    let options = match parse(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("tracking-ops reconcile: {message}");
            return ExitCode::from(2);
        }
    };
    match check_tables(client, names).await {
        Ok(arns) => eprint!("{}", describe_arns(&arns)),
        Err(problems) => {
            eprintln!(
                "tracking-ops reconcile: nothing read or written, the tables are not as the indexer writes them:\n{problems}"
            );
            return ExitCode::from(2);
        }
    }
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
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let progress = {
        let counts = counts.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                eprint!("\r{}", line(&counts, started));
            }
        })
    };
    let result = run(client, &tables, &options, &counts).await;
    progress.abort();
    eprintln!("\r{}", line(&counts, started));
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            eprintln!("reconcile: {error}; nothing is left half-done: run it again");
            return ExitCode::FAILURE;
        }
    };
    let drift = &report.drift_with_ids;
    for kind in ["orphan", "moved", "stale"] {
        let of_kind: Vec<_> = drift.iter().filter(|(_, f)| f.kind() == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        println!("{kind}: {}", of_kind.len());
        for (_, fix) in of_kind.iter().take(options.sample) {
            println!("  {}", fix.shown_key());
        }
    }
    let read_units = counts.milli_read_units.load(Ordering::Relaxed) as f64 / 1000.0;
    let entries = counts.entries.load(Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let summary = format!(
        "reconcile: {entries} view entries, {} sources read, {read_units:.1} read units, {:.1} s ({:.0} entries/s): {} drifted",
        counts.sources_read.load(Ordering::Relaxed),
        seconds,
        entries as f64 / seconds.max(0.001),
        drift.len(),
    );
    if report.refused {
        println!(
            "{summary}; refused, nothing changed: {} of the {} entries would be deleted, what a \
             wrong EVENTS_TABLE (or account) looks like. Check the tables and account above, \
             then run again with --force if they are right",
            report.deletes(),
            report.entries
        );
        ExitCode::FAILURE
    } else if options.dry_run {
        println!("{summary} (dry run: nothing changed)");
        if drift.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    } else if !report.open.is_empty() {
        println!(
            "{summary}; {} deleted, {} put in {} round(s), NOT settled: {} entries still differ \
             from their events (they kept changing under the run; the indexer's records for them \
             follow, or run reconcile again):",
            report.deleted,
            report.put,
            report.rounds,
            report.open.len()
        );
        for (_, fix) in &report.open {
            println!("  {} {}", fix.kind(), fix.shown_key());
        }
        ExitCode::from(EXIT_UNSETTLED)
    } else {
        println!(
            "{summary}; {} deleted, {} put, settled in {} round(s)",
            report.deleted, report.put, report.rounds
        );
        ExitCode::SUCCESS
    }
}

fn line(counts: &Counts, started: Instant) -> String {
    let entries = counts.entries.load(Ordering::Relaxed);
    format!(
        "reconcile: {entries} view entries read, {} sources, {:.0} entries/s   ",
        counts.sources_read.load(Ordering::Relaxed),
        entries as f64 / started.elapsed().as_secs_f64().max(0.001)
    )
}
