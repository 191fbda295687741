//! `tracking-ops`: the operator's command for tracking-status, run from a
//! workstation and never deployed. `preflight` checks an account's existing
//! tables before the first deploy onto them; `backfill` writes the test-event
//! view's entries of the events already in the events table; `reconcile`
//! repairs the view's entries from their sources.

pub mod backfill;
pub mod backfill_command;
pub mod preflight;
pub mod reconcile;
pub mod reconcile_command;
pub mod records;
pub mod settings;

/// The two tables backfill and reconcile act on: the events table they read and the
/// test-event view they write.
#[derive(Debug, Clone)]
pub struct Tables {
    pub events: String,
    pub test_events: String,
}

/// A failed backfill or reconcile run: what failed, for the operator.
pub type OpsError = Box<dyn std::error::Error + Send + Sync>;
