//! `tracking-ops reconcile`: makes every entry of the test-event view what
//! `view_entry` derives from its source's current item, whatever the stream
//! delivered or skipped.
//!
//! It reads the view (test events only: small), then each entry's source in the
//! events table with a consistent BatchGetItem, and decides per entry: its source
//! is gone, no longer a readable test click or lead, or maps to another key
//! (flipped, retyped, moved to another program or `createdAt`): delete it (and put
//! the current entry at its key); the source maps to the same key but the entry
//! differs (a `timestamp` changed): put the current entry whole. Then, so that a
//! change the indexer applied between the read and the write is not undone, the
//! sources it wrote for are read again and the decision is made again, until
//! nothing changes (at most `ROUNDS` rounds). An event whose entry was never
//! written at all (a skipped INSERT) has nothing in the view to start from: the
//! backfill writes those.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnConsumedCapacity};
use test_event_indexer::view::{Item, ViewEntry, view_entry};

use crate::backfill::{Budget, GET_BATCH, PROJECTION, delete, projection_names, put, write};
use crate::{OpsError, Tables};

/// Decisions re-made after the writes, at most: a source that keeps changing
/// under the run is left to the indexer (its stream records come after our writes).
pub const ROUNDS: usize = 3;

/// A run that would delete more than this share of the view's entries (and more than
/// `DELETE_GUARD_MINIMUM` of them) is refused unless forced: every entry an orphan is what
/// a wrong events table (another `id (N)` table, another account's) looks like.
pub const DELETE_GUARD_SHARE: f64 = 0.5;
pub const DELETE_GUARD_MINIMUM: usize = 10;

/// Whether deleting `deletes` of `entries` view entries is refused without `--force`.
pub fn too_many_deletes(deletes: usize, entries: usize) -> bool {
    deletes > DELETE_GUARD_MINIMUM && deletes as f64 > DELETE_GUARD_SHARE * entries as f64
}

#[derive(Debug, Clone)]
pub struct Options {
    pub dry_run: bool,
    /// Apply the repairs even when `too_many_deletes` says they look like a wrong table.
    pub force: bool,
    pub max_read_units_per_second: f64,
    /// Keys of each kind of drift printed as examples.
    pub sample: usize,
}

/// What a run found and did, and what it cost.
#[derive(Debug, Default)]
pub struct Counts {
    pub entries: AtomicU64,
    pub sources_read: AtomicU64,
    /// Milli read units, summed from the responses' ConsumedCapacity.
    pub milli_read_units: AtomicU64,
}

/// One entry's repair.
#[derive(Debug, Clone, PartialEq)]
pub enum Fix {
    /// The source is gone or no longer a readable test click or lead.
    Orphan { key: Item },
    /// The source maps to another key: the entry goes, the current one is put.
    Moved { key: Item, current: ViewEntry },
    /// Same key, another content (e.g. `timestamp`): the current entry is put whole.
    Stale { current: ViewEntry },
    /// After a delete, the source maps to an entry again: it is put.
    Missing { current: ViewEntry },
}

impl Fix {
    pub fn kind(&self) -> &'static str {
        match self {
            Fix::Orphan { .. } => "orphan",
            Fix::Moved { .. } => "moved",
            Fix::Stale { .. } => "stale",
            Fix::Missing { .. } => "missing",
        }
    }

    /// What the view holds for the fix's source once it is applied.
    fn held(&self) -> Option<Item> {
        match self {
            Fix::Orphan { .. } => None,
            Fix::Moved { current, .. } | Fix::Stale { current } | Fix::Missing { current } => {
                Some(current.item())
            }
        }
    }

    /// The view key it concerns, `programType / order`.
    pub fn shown_key(&self) -> String {
        let key = match self {
            Fix::Orphan { key } | Fix::Moved { key, .. } => key.clone(),
            Fix::Stale { current } | Fix::Missing { current } => current.key(),
        };
        let text = |name: &str| match key.get(name) {
            Some(AttributeValue::S(text)) => text.clone(),
            _ => "?".into(),
        };
        format!("{} / {}", text("programType"), text("order"))
    }
}

/// What the run ends with.
#[derive(Debug, Default)]
pub struct Report {
    /// The drift found in the first pass, in view order, with each source's id.
    pub drift_with_ids: Vec<(AttributeValue, Fix)>,
    /// Writes made (0 in a dry run).
    pub deleted: usize,
    pub put: usize,
    /// Rounds of re-reading after the writes.
    pub rounds: usize,
    /// Fixes still needed after `ROUNDS` rounds (`Settled::open`).
    pub open: Vec<(AttributeValue, Fix)>,
    /// Entries of the view read.
    pub entries: usize,
    /// The repairs were not applied: they would delete too many entries (`too_many_deletes`)
    /// and the run was not forced.
    pub refused: bool,
}

impl Report {
    /// The view entries the drift found deletes (orphans and moved entries' old keys).
    pub fn deletes(&self) -> usize {
        self.drift_with_ids
            .iter()
            .filter(|(_, fix)| matches!(fix, Fix::Orphan { .. } | Fix::Moved { .. }))
            .count()
    }
}

/// The repair an entry needs, if any: `source` is its event as read now (None: gone).
pub fn decide(entry: &Item, source: Option<&Item>) -> Option<Fix> {
    let key: Item = ["programType", "order"]
        .iter()
        .filter_map(|name| Some((name.to_string(), entry.get(*name)?.clone())))
        .collect();
    let current = source.and_then(|item| view_entry(item).ok().flatten());
    match current {
        None => Some(Fix::Orphan { key }),
        Some(current) if current.key() != key => Some(Fix::Moved { key, current }),
        Some(current) if &current.item() != entry => Some(Fix::Stale { current }),
        Some(_) => None,
    }
}

/// Runs the reconcile: the whole view, then the repairs (unless a dry run).
pub async fn run(
    client: &Client,
    tables: &Tables,
    options: &Options,
    counts: &Counts,
) -> Result<Report, OpsError> {
    let budget = Budget::new(options.max_read_units_per_second);
    let mut report = Report::default();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&tables.test_events)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| format!("Scan {}: {}", tables.test_events, DisplayErrorContext(e)))?;
        let units = page
            .consumed_capacity
            .as_ref()
            .and_then(|c| c.capacity_units)
            .unwrap_or(0.0);
        counts
            .milli_read_units
            .fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
        budget.spend(units).await;
        let entries = page.items.unwrap_or_default();
        report.entries += entries.len();
        counts
            .entries
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        let (sources, units) = read_sources(
            client,
            &tables.events,
            entries.iter().filter_map(|e| e.get("id").cloned()),
            counts,
        )
        .await?;
        budget.spend(units).await;
        for entry in &entries {
            let source = entry
                .get("id")
                .and_then(|id| sources.get(&format!("{id:?}")));
            if let (Some(id), Some(fix)) = (
                entry.get("id"),
                decide(entry, source.and_then(Option::as_ref)),
            ) {
                report.drift_with_ids.push((id.clone(), fix));
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    if options.dry_run || report.drift_with_ids.is_empty() {
        return Ok(report);
    }
    if !options.force && too_many_deletes(report.deletes(), report.entries) {
        report.refused = true;
        return Ok(report);
    }

    let settled = settle(
        client,
        tables,
        report.drift_with_ids.clone(),
        counts,
        ROUNDS,
    )
    .await?;
    budget.spend(settled.units).await;
    report.deleted = settled.deleted;
    report.put = settled.put;
    report.rounds = settled.rounds;
    report.open = settled.open;
    Ok(report)
}

/// The fixes each of `held`'s sources needs, from a consistent read of them: `held` is,
/// per source id, what the view holds for it as far as the caller knows (None: nothing).
/// Returns the fixes and the read units spent.
pub async fn decide_held(
    client: &Client,
    tables: &Tables,
    held: &[(AttributeValue, Option<Item>)],
    counts: &Counts,
) -> Result<(Vec<(AttributeValue, Fix)>, f64), OpsError> {
    let (sources, units) = read_sources(
        client,
        &tables.events,
        held.iter().map(|(id, _)| id.clone()),
        counts,
    )
    .await?;
    let fixes = held
        .iter()
        .filter_map(|(id, entry)| {
            let source = sources.get(&format!("{id:?}")).and_then(Option::as_ref);
            let fix = match entry {
                Some(entry) => decide(entry, source),
                // Deleted: the source may map to an entry again (flipped back meanwhile).
                None => source
                    .and_then(|item| view_entry(item).ok().flatten())
                    .map(|current| Fix::Missing { current }),
            };
            fix.map(|fix| (id.clone(), fix))
        })
        .collect();
    Ok((fixes, units))
}

/// What `settle` did, and what it left open.
#[derive(Debug, Default)]
pub struct Settled {
    pub deleted: usize,
    pub put: usize,
    pub rounds: usize,
    /// Read units spent.
    pub units: f64,
    /// The fixes still needed after the last round (their sources kept changing): not
    /// applied; the run reports them and exits `EXIT_UNSETTLED`.
    pub open: Vec<(AttributeValue, Fix)>,
}

/// The exit status of a reconcile or backfill that left fixes open after `ROUNDS` rounds.
pub const EXIT_UNSETTLED: u8 = 3;

/// Applies `fixes`, then reads the sources written for again and decides again, until
/// nothing changes or `max_rounds` rounds (callers give `ROUNDS`) are done. Between the
/// re-read of a round and the writes of the next there is no pause.
pub async fn settle(
    client: &Client,
    tables: &Tables,
    mut fixes: Vec<(AttributeValue, Fix)>,
    counts: &Counts,
    max_rounds: usize,
) -> Result<Settled, OpsError> {
    let (mut deleted, mut put, mut rounds, mut units) = (0, 0, 0, 0.0);
    while !fixes.is_empty() && rounds < max_rounds {
        rounds += 1;
        let just_fixes: Vec<Fix> = fixes.iter().map(|(_, fix)| fix.clone()).collect();
        deleted += apply(client, &tables.test_events, &just_fixes, Kind::Deletes).await?;
        put += apply(client, &tables.test_events, &just_fixes, Kind::Puts).await?;
        let held: Vec<(AttributeValue, Option<Item>)> = fixes
            .iter()
            .map(|(id, fix)| (id.clone(), fix.held()))
            .collect();
        let (again, spent) = decide_held(client, tables, &held, counts).await?;
        units += spent;
        fixes = again;
    }
    Ok(Settled {
        deleted,
        put,
        rounds,
        units,
        open: fixes,
    })
}

#[derive(Clone, Copy)]
enum Kind {
    Deletes,
    Puts,
}

/// The deletes of `fixes`, or their puts (deletes first: a moved entry's new key
/// may be another fix's old one). Returns how many writes it made.
async fn apply(client: &Client, view: &str, fixes: &[Fix], kind: Kind) -> Result<usize, OpsError> {
    let requests = fixes
        .iter()
        .filter_map(|fix| match (kind, fix) {
            (Kind::Deletes, Fix::Orphan { key } | Fix::Moved { key, .. }) => {
                Some(delete(key.clone()))
            }
            (
                Kind::Puts,
                Fix::Moved { current, .. } | Fix::Stale { current } | Fix::Missing { current },
            ) => Some(put(current.item())),
            _ => None,
        })
        .collect::<Result<Vec<_>, _>>()?;
    let count = requests.len();
    write(client, view, requests).await?;
    Ok(count)
}

/// The events of these ids, read consistently: `id → Some(item)`, or `None` when gone.
/// It never waits for the read budget; the caller spends the units. In `settle` (and the
/// backfill's settling) that is after the writes, so no pause falls between a re-read and
/// the writes decided from it. `run`'s first decisions are older: it pauses after each
/// page's reads and writes only after the whole scan, which is why `settle` reads every
/// source it wrote for again and decides again.
async fn read_sources(
    client: &Client,
    events: &str,
    ids: impl Iterator<Item = AttributeValue>,
    counts: &Counts,
) -> Result<(HashMap<String, Option<Item>>, f64), OpsError> {
    let mut spent = 0.0;
    let mut found: HashMap<String, Option<Item>> = HashMap::new();
    let mut keys: Vec<Item> = Vec::new();
    for id in ids {
        let shown = format!("{id:?}");
        if found.insert(shown, None).is_none() {
            keys.push(HashMap::from([("id".to_string(), id)]));
        }
    }
    for chunk in keys.chunks(GET_BATCH) {
        let mut pending: Vec<Item> = chunk.to_vec();
        for attempt in 0..8u32 {
            let output = client
                .batch_get_item()
                .request_items(
                    events,
                    KeysAndAttributes::builder()
                        .set_keys(Some(pending.clone()))
                        .consistent_read(true)
                        .projection_expression(PROJECTION)
                        .set_expression_attribute_names(Some(projection_names()))
                        .build()?,
                )
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| format!("BatchGetItem {events}: {}", DisplayErrorContext(e)))?;
            let units: f64 = output
                .consumed_capacity
                .unwrap_or_default()
                .iter()
                .filter_map(|c| c.capacity_units)
                .sum();
            counts
                .milli_read_units
                .fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
            spent += units;
            for item in output
                .responses
                .unwrap_or_default()
                .remove(events)
                .unwrap_or_default()
            {
                counts.sources_read.fetch_add(1, Ordering::Relaxed);
                if let Some(id) = item.get("id") {
                    found.insert(format!("{id:?}"), Some(item.clone()));
                }
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(events))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
        }
        if !pending.is_empty() {
            return Err(format!("BatchGetItem kept {} keys unprocessed", pending.len()).into());
        }
    }
    Ok((found, spent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64, program: u64, test: bool, timestamp: &str) -> Item {
        let s = |t: &str| AttributeValue::S(t.into());
        HashMap::from([
            ("id".into(), AttributeValue::N(id.to_string())),
            ("programId".into(), AttributeValue::N(program.to_string())),
            ("type".into(), s("click")),
            ("test".into(), AttributeValue::Bool(test)),
            ("timestamp".into(), s(timestamp)),
            ("createdAt".into(), s("2026-06-07T10:00:00Z")),
        ])
    }

    fn entry_of(item: &Item) -> Item {
        view_entry(item).unwrap().unwrap().item()
    }

    #[test]
    fn each_kind_of_drift_is_decided_from_the_source_as_it_is_now() {
        let at = "2026-06-07T10:00:00Z";
        let entry = entry_of(&event(1, 42, true, at));
        assert_eq!(decide(&entry, Some(&event(1, 42, true, at))), None);
        assert!(matches!(decide(&entry, None), Some(Fix::Orphan { .. })));
        assert!(matches!(
            decide(&entry, Some(&event(1, 42, false, at))),
            Some(Fix::Orphan { .. })
        ));
        assert!(matches!(
            decide(&entry, Some(&event(1, 43, true, at))),
            Some(Fix::Moved { .. })
        ));
        let later = event(1, 42, true, "2026-06-08T00:00:00Z");
        assert_eq!(
            decide(&entry, Some(&later)),
            Some(Fix::Stale {
                current: view_entry(&later).unwrap().unwrap()
            })
        );
    }
}
