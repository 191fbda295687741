//! What "integration status" means, as pure functions over plain structs.
//!
//! Nothing in here knows about HTTP, Lambda or DynamoDB: the store adapters turn
//! their records into these types, and the HTTP layer serializes the result.

mod policy;
mod program_id;
mod status;
mod timestamp;

pub use policy::can_read_tracking;
pub use program_id::{ProgramId, ProgramIdError};
pub use status::{
    EventStatistics, LatestTestEvent, PaymentStatistics, Statistics, StatusDocument, StatusInputs,
    StepStatus, StepStatuses, build_status,
};
pub use timestamp::{Timestamp, TimestampError};

/// How many test events of one kind the status counts at most.
pub const TEST_EVENT_CAP: usize = 10;

/// The program record, reduced to what this endpoint needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub id: ProgramId,
    pub workspace_id: String,
    pub advertiser_id: String,
}

/// The advertiser's Stripe state; every field may be missing in storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertiser {
    pub stripe_connection_status: Option<String>,
    pub stripe_account_id: Option<String>,
    pub charges_enabled: Option<bool>,
    pub payouts_enabled: Option<bool>,
    pub details_submitted: Option<bool>,
    pub stripe_connected_at: Option<Timestamp>,
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

/// A test event (`test` = true) of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestEvent {
    pub id: u64,
    pub timestamp: Timestamp,
    pub created_at: Timestamp,
}

impl TestEvent {
    /// What "most recently received" orders by: the greatest `createdAt`, ties
    /// broken by the greatest id. The DynamoDB index's sort key encodes the
    /// same order as text (`store::dynamodb::schema::test_event_order`).
    pub fn recency(&self) -> (Timestamp, u64) {
        (self.created_at, self.id)
    }
}
