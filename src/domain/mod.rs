//! What "integration status" means, as pure functions over plain structs.
//!
//! Nothing in here knows about HTTP, Lambda or DynamoDB: the store adapters turn
//! their records into these types, and the HTTP layer serializes the result.

mod include;
mod next_steps;
mod policy;
mod program_id;
mod status;
mod timestamp;

pub use include::{INCLUDE_PARAMETER, Include, IncludeError, NEXT_STEPS};
pub use next_steps::{
    NextStep, NextStepCode, NextStepDetails, Step, StripeBlock, StripeRequirements, next_steps,
};
pub use policy::{Access, program_access};
pub use program_id::{ProgramId, ProgramIdError};
pub use status::{
    EventStatistics, LatestTestEvent, PaymentStatistics, Statistics, StatusDocument, StatusInputs,
    StepStatus, StepStatuses, build_status,
};
pub use timestamp::{Timestamp, TimestampError};

/// How many test events of one kind the status counts at most.
pub const TEST_EVENT_CAP: usize = 10;

/// A stored value that only the opt-in parts of the document read, and that
/// cannot be read. It is kept, not refused, when the record is read, so that
/// it fails only the requests that use it (a 500 with `include=nextSteps`),
/// never the seed's document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {cause}")]
pub struct Unreadable {
    /// The stored field's name, as other services write it.
    pub field: &'static str,
    pub cause: String,
}

/// The program record, reduced to what this endpoint needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub id: ProgramId,
    pub workspace_id: String,
    pub advertiser_id: String,
    /// When the program was created (read by `nextSteps` only).
    pub created_at: Result<Option<Timestamp>, Unreadable>,
}

/// The advertiser's Stripe state; every field may be missing in storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertiser {
    pub stripe_connection_status: Option<String>,
    pub stripe_account_id: Option<String>,
    pub charges_enabled: Option<bool>,
    pub payouts_enabled: Option<bool>,
    pub details_submitted: Option<bool>,
    pub stripe_connected_at: Option<Timestamp>,
    /// Stripe's requirements (read by `nextSteps` only).
    pub requirements: Result<StripeRequirements, Unreadable>,
}

impl Default for Advertiser {
    fn default() -> Self {
        Advertiser {
            stripe_connection_status: None,
            stripe_account_id: None,
            charges_enabled: None,
            payouts_enabled: None,
            details_submitted: None,
            stripe_connected_at: None,
            requirements: Ok(StripeRequirements::default()),
        }
    }
}

/// A user's membership in a workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    pub role: String,
    pub permissions: Vec<String>,
}

/// The two event types whose test events mark a setup step as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `type` = `click`: the pageview step.
    Click,
    /// `type` = `lead`: the referrals step.
    Lead,
}

impl EventKind {
    /// The `type` string that writers store.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Click => "click",
            EventKind::Lead => "lead",
        }
    }
}

/// A test event (`test` = true) of one kind, as the test-event view holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestEvent {
    pub id: u64,
    pub timestamp: Timestamp,
    pub created_at: Timestamp,
}

impl TestEvent {
    /// What "most recently received" orders by: the greatest `createdAt`, ties
    /// broken by the greatest id. The DynamoDB index's sort key encodes the
    /// same order as text (`test_event_indexer::view::test_event_order`).
    pub fn recency(&self) -> (Timestamp, u64) {
        (self.created_at, self.id)
    }
}
