//! The read port of the endpoint and its adapters.
//!
//! `StatusStore` is deliberately narrow: one method per read the endpoint makes,
//! each returning domain types. `dynamodb` is the production adapter; `memory`
//! is a fake for fast tests and benchmarks.

use std::future::Future;

use crate::domain::{Advertiser, EventKind, Membership, Program, ProgramId, TestEvent};

pub mod dynamodb;
pub mod memory;
pub mod records;

/// A read that did not produce an answer. The text is for logs only: it never
/// reaches a response.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached, timed out, throttled or failed.
    #[error("{operation} failed: {cause}")]
    Unavailable {
        operation: &'static str,
        cause: String,
    },
    /// The store answered with a record this service cannot read.
    #[error("{operation} returned an unreadable record: {cause}")]
    Corrupt {
        operation: &'static str,
        cause: String,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

pub trait StatusStore: Send + Sync {
    /// The program with this id, if any.
    fn program(&self, id: ProgramId) -> impl Future<Output = StoreResult<Option<Program>>> + Send;

    /// The advertiser record, if any.
    fn advertiser(
        &self,
        advertiser_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Advertiser>>> + Send;

    /// The user's membership in the workspace, if any.
    fn membership(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Membership>>> + Send;

    /// The user's membership in the workspace and the advertiser record,
    /// read together: the second round of a request. An adapter may read both
    /// in one call; by default it is the two reads above, side by side.
    fn membership_and_advertiser(
        &self,
        workspace_id: &str,
        user_id: &str,
        advertiser_id: &str,
    ) -> impl Future<Output = StoreResult<(Option<Membership>, Option<Advertiser>)>> + Send {
        async move {
            tokio::try_join!(
                self.membership(workspace_id, user_id),
                self.advertiser(advertiser_id)
            )
        }
    }

    /// The program's most recent test events of one kind, at least `limit` of
    /// them when that many exist (an adapter may return more). Live events are
    /// never returned.
    fn recent_test_events(
        &self,
        program_id: ProgramId,
        kind: EventKind,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<TestEvent>>> + Send;

    /// Whether at least one partner-program record of the program is `approved`.
    fn has_approved_partner(
        &self,
        program_id: ProgramId,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// How many calls this store has started to its backend since it was
    /// built; a request's count is the difference (Lambda hands a process one
    /// request at a time). For the request's metrics only: a store without a
    /// backend makes none.
    fn calls_made(&self) -> u64 {
        0
    }
}
