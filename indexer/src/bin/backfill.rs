//! `backfill [--dry-run] [--segments N] [--page-size N] [--max-read-units-per-second R]
//! [--price-per-million-reads P] [--checkpoint FILE]`: writes the test-event view's
//! entries of the events already in the events table (`test_event_indexer::backfill`),
//! with the functions' table variables and AWS configuration. Prints the estimated
//! cost first, then a progress line; resumable from the checkpoint after a kill.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use test_event_indexer::backfill::{Counts, Options, estimate, run};
use tracking_status::config::TableNames;
use tracking_status::sdk::sdk_config_loader;

const USAGE: &str = "usage: backfill [--dry-run] [--segments N] [--page-size N] \
    [--max-read-units-per-second R] [--price-per-million-reads P] [--checkpoint FILE]";

fn parse(args: &[String]) -> Result<(Options, f64), String> {
    let mut options = Options {
        segments: 4,
        page_size: 1000,
        max_read_units_per_second: 100.0,
        dry_run: false,
        checkpoint: PathBuf::from("backfill.checkpoint.json"),
    };
    // On-demand read request units, us-east-1, per million (check your region's price).
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
            _ => return Err(USAGE.to_string()),
        }
    }
    if options.segments == 0 || options.page_size <= 0 || options.max_read_units_per_second <= 0.0 {
        return Err(
            "--segments, --page-size and --max-read-units-per-second must be positive".into(),
        );
    }
    Ok((options, price))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (options, price) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("backfill: {message}");
            return ExitCode::from(2);
        }
    };
    let sdk_config = match sdk_config_loader() {
        Ok(loader) => loader.load().await,
        Err(error) => {
            eprintln!("backfill: {error}");
            return ExitCode::FAILURE;
        }
    };
    let client = aws_sdk_dynamodb::Client::new(&sdk_config);
    let tables = TableNames::from_env();
    let (items, bytes, read_units) = match estimate(&client, &tables.events).await {
        Ok(estimate) => estimate,
        Err(error) => {
            eprintln!("backfill: describing {}: {error}", tables.events);
            return ExitCode::FAILURE;
        }
    };
    // The consistent re-read of the test events adds at most one unit per test event (small items).
    eprintln!(
        "backfill: {} holds ~{items} items, {bytes} bytes: the scan costs ~{read_units} read units \
         (~${:.4} at ${price} per million), plus one per test event re-read; at most {} units/s, \
         so at least {:.0} s{}",
        tables.events,
        read_units * price / 1e6,
        options.max_read_units_per_second,
        read_units / options.max_read_units_per_second,
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
    let result = run(&client, &tables, &options, counts.clone()).await;
    progress.abort();
    eprintln!("\r{}", line(&counts, items, started));
    match result {
        Ok(()) => {
            eprintln!(
                "backfill: done: {} scanned, {} indexed{}, {} unreadable, {} withdrawn (changed meanwhile)",
                counts.scanned.load(Ordering::Relaxed),
                counts.indexed.load(Ordering::Relaxed),
                if options.dry_run {
                    " (dry run: not written)"
                } else {
                    ""
                },
                counts.unreadable.load(Ordering::Relaxed),
                counts.raced.load(Ordering::Relaxed),
            );
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

/// `scanned N (x %), indexed M, R items/s, ETA S s`.
fn line(counts: &Counts, items: i64, started: Instant) -> String {
    let scanned = counts.scanned.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64().max(0.001);
    let rate = scanned as f64 / elapsed;
    let left = (items as f64 - scanned as f64).max(0.0);
    let eta = if rate > 0.0 {
        format!("{:.0} s", left / rate)
    } else {
        "?".into()
    };
    let percent = if items > 0 {
        100.0 * scanned as f64 / items as f64
    } else {
        0.0
    };
    format!(
        "backfill: scanned {scanned} ({percent:.0} %), indexed {}, {rate:.0} items/s, ETA {eta}   ",
        counts.indexed.load(Ordering::Relaxed)
    )
}
