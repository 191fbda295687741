//! The use case: who may see which program, and which reads run when.

use crate::domain::{
    Access, EventKind, Include, ProgramId, StatusDocument, StatusInputs, StripeRequirements,
    TEST_EVENT_CAP, Timestamp, build_status, next_steps, program_access,
};
use crate::error::ApiError;
use crate::principal::UserId;
use crate::store::StatusStore;

/// The keys a missing program's second round reads. Whether such records
/// exist does not matter: their results are never looked at.
pub const UNSEEN_WORKSPACE_ID: &str = "tracking-status:no-program";
pub const UNSEEN_ADVERTISER_ID: &str = "tracking-status:no-program";

/// Returns the status document of `program_id` for `user`.
///
/// The reads form two rounds on the critical path: the program, and alongside
/// it everything keyed by the program id (test clicks, test leads, partners);
/// once the program is known, the membership and the advertiser together (one
/// call where the adapter batches them).
/// Nothing read is returned unless the policy grants access. `include` adds
/// parts computed from the same reads: it never costs a call.
///
/// A caller with no membership in the program's workspace gets the missing
/// program's 404. So that the two cannot be told apart by their timing either,
/// a missing program still makes the second round's two reads (with keys of
/// [`UNSEEN_WORKSPACE_ID`] and [`UNSEEN_ADVERTISER_ID`], their results
/// discarded): both answer after the same two round trips and the same calls
/// (five with the DynamoDB adapter, which batches the second round).
/// A store failure in that round is a 500 on both paths alike.
pub async fn tracking_status<S: StatusStore>(
    store: &S,
    user: &UserId,
    program_id: ProgramId,
    include: Include,
) -> Result<StatusDocument, ApiError> {
    let program_then_access = async {
        let Some(program) = store.program(program_id).await? else {
            store
                .membership_and_advertiser(UNSEEN_WORKSPACE_ID, user.as_str(), UNSEEN_ADVERTISER_ID)
                .await?;
            return Err(ApiError::NotFound);
        };
        // The test-only trigger of `tests/api/release_binary.rs`: a program in this workspace
        // panics its request, while the reads keyed by the program id may be in flight.
        // No deployment builds the feature (`tests/api/template.rs` checks).
        #[cfg(feature = "panic-probe")]
        #[allow(clippy::panic)]
        if program.workspace_id == "panic-probe" {
            panic!("panic probe: a test asked this request to panic");
        }
        let (membership, advertiser) = store
            .membership_and_advertiser(&program.workspace_id, user.as_str(), &program.advertiser_id)
            .await?;
        match program_access(membership.as_ref()) {
            Access::Granted => Ok((program, advertiser)),
            Access::MemberWithoutPermission => Err(ApiError::Forbidden),
            Access::NotAMember => Err(ApiError::NotFound),
        }
    };

    let ((program, advertiser), test_clicks, test_leads, has_approved_partner) = tokio::try_join!(
        program_then_access,
        async {
            Ok(store
                .recent_test_events(program_id, EventKind::Click, TEST_EVENT_CAP)
                .await?)
        },
        async {
            Ok(store
                .recent_test_events(program_id, EventKind::Lead, TEST_EVENT_CAP)
                .await?)
        },
        async { Ok(store.has_approved_partner(program_id).await?) },
    )?;

    let mut document = build_status(
        program_id,
        StatusInputs {
            test_clicks: &test_clicks,
            test_leads: &test_leads,
            advertiser: advertiser.as_ref(),
            has_approved_partner,
        },
        Timestamp::now(),
    );
    if include.next_steps {
        // Only here may the lenient fields fail the request: every one of them
        // must be readable, whichever rules hold.
        let created_at = program.created_at?;
        let requirements = match advertiser {
            Some(advertiser) => advertiser.requirements?,
            None => StripeRequirements::default(),
        };
        document.next_steps = Some(next_steps(&document, created_at, &requirements));
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::domain::{Advertiser, Membership, Program};
    use crate::store::StoreResult;
    use crate::store::memory::MemoryStore;

    const ROUND_TRIP: Duration = Duration::from_millis(10);

    /// Wraps a store so that every call takes one simulated round trip, and
    /// records which calls were made.
    struct SlowStore {
        inner: MemoryStore,
        calls: Mutex<Vec<&'static str>>,
    }

    impl SlowStore {
        async fn round_trip(&self, call: &'static str) {
            self.calls.lock().unwrap().push(call);
            tokio::time::sleep(ROUND_TRIP).await;
        }
    }

    impl StatusStore for SlowStore {
        async fn program(&self, id: ProgramId) -> StoreResult<Option<Program>> {
            self.round_trip("program").await;
            self.inner.program(id).await
        }
        async fn advertiser(&self, advertiser_id: &str) -> StoreResult<Option<Advertiser>> {
            self.round_trip("advertiser").await;
            self.inner.advertiser(advertiser_id).await
        }
        async fn membership(
            &self,
            workspace_id: &str,
            user_id: &str,
        ) -> StoreResult<Option<Membership>> {
            self.round_trip("membership").await;
            self.inner.membership(workspace_id, user_id).await
        }
        async fn recent_test_events(
            &self,
            program_id: ProgramId,
            kind: EventKind,
            limit: usize,
        ) -> StoreResult<Vec<crate::domain::TestEvent>> {
            self.round_trip("test events").await;
            self.inner.recent_test_events(program_id, kind, limit).await
        }
        async fn has_approved_partner(&self, program_id: ProgramId) -> StoreResult<bool> {
            self.round_trip("partners").await;
            self.inner.has_approved_partner(program_id).await
        }
    }

    fn example_store() -> SlowStore {
        let dataset = serde_json::from_str(include_str!("../fixtures/example.json")).unwrap();
        SlowStore {
            inner: MemoryStore::new(dataset),
            calls: Mutex::default(),
        }
    }

    fn user(id: &str) -> UserId {
        UserId::from_value(&serde_json::Value::from(id)).unwrap()
    }

    // The clock is paused: sleeps advance it exactly, so elapsed time counts
    // sequential round trips deterministically.
    #[tokio::test(start_paused = true)]
    async fn a_200_is_two_round_trips_and_six_in_memory_reads_with_or_without_next_steps() {
        // Six here: the in-memory store reads the second round's two records apart (the
        // DynamoDB adapter batches them: five calls, `tests/api/calls.rs`).
        for include in [Include::default(), Include { next_steps: true }] {
            let store = example_store();
            let started = tokio::time::Instant::now();
            let document = tracking_status(
                &store,
                &user("user_dev"),
                ProgramId::new(42).unwrap(),
                include,
            )
            .await
            .unwrap();
            assert_eq!(started.elapsed(), 2 * ROUND_TRIP, "{include:?}");
            assert_eq!(store.calls.lock().unwrap().len(), 6, "{include:?}");
            assert_eq!(document.statistics.pageview.test_event_count, 3);
            assert_eq!(document.next_steps.is_some(), include.next_steps);
        }
    }

    /// What a caller can observe of a request: its error, how long it took,
    /// and which calls it made (in the order they started).
    async fn observe(who: &str, program_id: u64) -> (ApiError, Duration, Vec<&'static str>) {
        let store = example_store();
        let started = tokio::time::Instant::now();
        let error = tracking_status(
            &store,
            &user(who),
            ProgramId::new(program_id).unwrap(),
            Include::default(),
        )
        .await
        .unwrap_err();
        let calls = store.calls.lock().unwrap().clone();
        (error, started.elapsed(), calls)
    }

    #[tokio::test(start_paused = true)]
    async fn a_non_member_and_a_missing_program_cannot_be_told_apart() {
        let (missing, missing_took, missing_calls) = observe("user_dev", 43).await;
        let (hidden, hidden_took, hidden_calls) = observe("user_nobody", 42).await;
        assert!(matches!(missing, ApiError::NotFound), "{missing:?}");
        assert!(matches!(hidden, ApiError::NotFound), "{hidden:?}");
        assert_eq!(missing_took, 2 * ROUND_TRIP);
        assert_eq!(hidden_took, missing_took);
        assert_eq!(missing_calls, hidden_calls);
        assert_eq!(hidden_calls.len(), 6, "{hidden_calls:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_member_without_permission_gets_forbidden_and_no_data() {
        let (error, took, calls) = observe("user_billing", 42).await;
        assert!(matches!(error, ApiError::Forbidden), "{error:?}");
        assert_eq!(took, 2 * ROUND_TRIP);
        assert_eq!(calls.len(), 6, "{calls:?}");
    }
}
