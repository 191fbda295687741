//! The use case: who may see which program, and which reads run when.

use crate::domain::{
    EventKind, ProgramId, StatusDocument, StatusInputs, TEST_EVENT_CAP, Timestamp, build_status,
    can_read_tracking,
};
use crate::error::ApiError;
use crate::principal::UserId;
use crate::store::StatusStore;

/// Returns the status document of `program_id` for `user`.
///
/// The reads form two rounds on the critical path: the program, and alongside
/// it everything keyed by the program id (test clicks, test leads, partners);
/// once the program is known, the membership and the advertiser together.
/// Nothing read is returned unless the policy grants access.
pub async fn tracking_status<S: StatusStore>(
    store: &S,
    user: &UserId,
    program_id: ProgramId,
) -> Result<StatusDocument, ApiError> {
    let program_then_access = async {
        let program = store.program(program_id).await?.ok_or(ApiError::NotFound)?;
        let (membership, advertiser) = tokio::try_join!(
            store.membership(&program.workspace_id, user.as_str()),
            store.advertiser(&program.advertiser_id),
        )?;
        if !can_read_tracking(membership.as_ref()) {
            return Err(ApiError::Forbidden);
        }
        Ok(advertiser)
    };

    let (advertiser, test_clicks, test_leads, has_approved_partner) = tokio::try_join!(
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

    Ok(build_status(
        program_id,
        StatusInputs {
            test_clicks: &test_clicks,
            test_leads: &test_leads,
            advertiser: advertiser.as_ref(),
            has_approved_partner,
        },
        Timestamp::now(),
    ))
}
