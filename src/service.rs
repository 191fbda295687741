//! The use case: who may see which program, and which reads run when.

use crate::domain::{
    EventKind, Include, ProgramId, StatusDocument, StatusInputs, StripeRequirements,
    TEST_EVENT_CAP, Timestamp, build_status, can_read_tracking, next_steps,
};
use crate::error::ApiError;
use crate::principal::UserId;
use crate::store::StatusStore;

/// Returns the status document of `program_id` for `user`.
///
/// The reads form two rounds on the critical path: the program, and alongside
/// it everything keyed by the program id (test clicks, test leads, partners);
/// once the program is known, the membership and the advertiser together.
/// Nothing read is returned unless the policy grants access. `include` adds
/// parts computed from the same reads: it never costs a call.
pub async fn tracking_status<S: StatusStore>(
    store: &S,
    user: &UserId,
    program_id: ProgramId,
    include: Include,
) -> Result<StatusDocument, ApiError> {
    let program_then_access = async {
        let program = store.program(program_id).await?.ok_or(ApiError::NotFound)?;
        #[cfg(feature = "panic-probe")]
        crate::panic_net::probe(&program.workspace_id);
        let (membership, advertiser) = tokio::try_join!(
            store.membership(&program.workspace_id, user.as_str()),
            store.advertiser(&program.advertiser_id),
        )?;
        if !can_read_tracking(membership.as_ref()) {
            return Err(ApiError::Forbidden);
        }
        Ok((program, advertiser))
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
    async fn a_200_is_two_round_trips_and_six_reads_with_or_without_next_steps() {
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

    #[tokio::test(start_paused = true)]
    async fn a_missing_program_answers_after_one_round_trip() {
        let store = example_store();
        let started = tokio::time::Instant::now();
        let error = tracking_status(
            &store,
            &user("user_dev"),
            ProgramId::new(43).unwrap(),
            Include::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, ApiError::NotFound));
        assert_eq!(started.elapsed(), ROUND_TRIP);
        let calls = store.calls.lock().unwrap();
        assert!(
            !calls.contains(&"membership") && !calls.contains(&"advertiser"),
            "{calls:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_forbidden_caller_gets_no_data() {
        let store = example_store();
        for who in ["user_billing", "user_nobody"] {
            let error = tracking_status(
                &store,
                &user(who),
                ProgramId::new(42).unwrap(),
                Include::default(),
            )
            .await
            .unwrap_err();
            assert!(matches!(error, ApiError::Forbidden), "{who}");
        }
    }
}
