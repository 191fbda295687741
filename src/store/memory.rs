//! An in-memory `StatusStore` over a fixture, for fast tests and benchmarks.
//! It answers with the same semantics as the DynamoDB adapter.

use std::collections::HashMap;

use super::{StatusStore, StoreError, StoreResult};
use crate::domain::{Advertiser, EventKind, Membership, Program, ProgramId, TestEvent, Timestamp};
use crate::fixture::Fixture;

#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    programs: HashMap<u64, Program>,
    advertisers: HashMap<String, Advertiser>,
    memberships: HashMap<(String, String), Membership>,
    /// Test events by (program, type), newest first.
    test_events: HashMap<(u64, String), Vec<TestEvent>>,
    approved_partners: HashMap<u64, usize>,
}

impl MemoryStore {
    /// Builds the store from a fixture that passed `Fixture::validate`.
    pub fn from_fixture(fixture: &Fixture) -> Result<Self, StoreError> {
        let corrupt = |cause: String| StoreError::Corrupt {
            operation: "load fixture",
            cause,
        };
        let timestamp = |raw: &str| Timestamp::parse(raw).map_err(|e| corrupt(e.to_string()));
        let mut store = MemoryStore::default();
        for p in &fixture.programs {
            let id = ProgramId::new(p.id).map_err(|e| corrupt(e.to_string()))?;
            store.programs.insert(
                p.id,
                Program {
                    id,
                    workspace_id: p.workspace_id.clone(),
                    advertiser_id: p.advertiser_id.clone(),
                },
            );
        }
        for a in &fixture.advertisers {
            let stripe_connected_at = a
                .stripe_connected_at
                .as_deref()
                .map(timestamp)
                .transpose()?;
            store.advertisers.insert(
                a.id.clone(),
                Advertiser {
                    stripe_connection_status: a.stripe_connection_status.clone(),
                    stripe_account_id: a.stripe_account_id.clone(),
                    charges_enabled: a.charges_enabled,
                    payouts_enabled: a.payouts_enabled,
                    details_submitted: a.details_submitted,
                    stripe_connected_at,
                },
            );
        }
        for m in &fixture.memberships {
            store.memberships.insert(
                (m.workspace_id.clone(), m.user_id.clone()),
                Membership {
                    role: m.role.clone(),
                    permissions: m.permissions.clone(),
                },
            );
        }
        for e in fixture.events.iter().filter(|e| e.test) {
            store
                .test_events
                .entry((e.program_id, e.kind.clone()))
                .or_default()
                .push(TestEvent {
                    id: e.id,
                    timestamp: timestamp(&e.timestamp)?,
                    created_at: timestamp(&e.created_at)?,
                });
        }
        for events in store.test_events.values_mut() {
            events.sort_by_key(|e| std::cmp::Reverse((e.created_at, e.id)));
        }
        for p in fixture
            .partner_programs
            .iter()
            .filter(|p| p.status == "approved")
        {
            *store.approved_partners.entry(p.program_id).or_default() += 1;
        }
        Ok(store)
    }
}

impl StatusStore for MemoryStore {
    async fn program(&self, id: ProgramId) -> StoreResult<Option<Program>> {
        Ok(self.programs.get(&id.get()).cloned())
    }

    async fn advertiser(&self, advertiser_id: &str) -> StoreResult<Option<Advertiser>> {
        Ok(self.advertisers.get(advertiser_id).cloned())
    }

    async fn membership(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<Membership>> {
        Ok(self
            .memberships
            .get(&(workspace_id.to_string(), user_id.to_string()))
            .cloned())
    }

    async fn recent_test_events(
        &self,
        program_id: ProgramId,
        kind: EventKind,
        limit: usize,
    ) -> StoreResult<Vec<TestEvent>> {
        let key = (program_id.get(), kind.as_str().to_string());
        Ok(self
            .test_events
            .get(&key)
            .map(|events| events.iter().take(limit).cloned().collect())
            .unwrap_or_default())
    }

    async fn has_approved_partner(&self, program_id: ProgramId) -> StoreResult<bool> {
        Ok(self.approved_partners.contains_key(&program_id.get()))
    }
}
