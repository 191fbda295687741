//! An in-memory `StatusStore` over a `Dataset`, for fast tests and benchmarks.
//! It answers with the same semantics as the DynamoDB adapter: both read the
//! same record types and convert them with the same `From` impls.

use std::collections::HashMap;

use super::records::Dataset;
use super::{StatusStore, StoreResult};
use crate::domain::{Advertiser, EventKind, Membership, Program, ProgramId, TestEvent};

#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    programs: HashMap<ProgramId, Program>,
    advertisers: HashMap<String, Advertiser>,
    memberships: HashMap<(String, String), Membership>,
    /// Test events by (program, type), most recent first.
    test_events: HashMap<(ProgramId, String), Vec<TestEvent>>,
    approved_partners: HashMap<ProgramId, usize>,
}

impl MemoryStore {
    /// Holds the records as the DynamoDB adapter would read them back.
    pub fn new(dataset: Dataset) -> Self {
        let mut store = MemoryStore::default();
        for record in dataset.programs {
            store.programs.insert(record.id, Program::from(record));
        }
        for record in dataset.advertisers {
            store
                .advertisers
                .insert(record.id.clone(), Advertiser::from(record));
        }
        for record in dataset.memberships {
            let key = (record.workspace_id.clone(), record.user_id.clone());
            store.memberships.insert(key, Membership::from(record));
        }
        for record in dataset.events.into_iter().filter(|record| record.test) {
            store
                .test_events
                .entry((record.program_id, record.kind.clone()))
                .or_default()
                .push(TestEvent::from(record));
        }
        for events in store.test_events.values_mut() {
            events.sort_by_key(|event| std::cmp::Reverse(event.recency()));
        }
        for record in dataset.partner_programs.iter().filter(|p| p.is_approved()) {
            *store
                .approved_partners
                .entry(record.program_id)
                .or_default() += 1;
        }
        store
    }
}

impl StatusStore for MemoryStore {
    async fn program(&self, id: ProgramId) -> StoreResult<Option<Program>> {
        Ok(self.programs.get(&id).cloned())
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
        let key = (program_id, kind.as_str().to_string());
        Ok(self
            .test_events
            .get(&key)
            .map(|events| events.iter().take(limit).cloned().collect())
            .unwrap_or_default())
    }

    async fn has_approved_partner(&self, program_id: ProgramId) -> StoreResult<bool> {
        Ok(self.approved_partners.contains_key(&program_id))
    }
}
