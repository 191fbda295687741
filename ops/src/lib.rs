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
