//! Store access to collaboration change requests: one request, its write, and one page of a
//! collaboration's requests.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::change_request::ChangeRequest;
use crate::services::cleanrooms::errors::{bad_token, not_found_msg, ResourceType};
use crate::services::cleanrooms::records;
use crate::state::AppState;
use crate::store::Write;
use crate::util::pagination;
use cleanrooms_emulator_api::cleanrooms::dto;

/// The write that stores change request `r`, made by `r.requester_account_id` in `region`.
pub fn put_change_request(region: &str, r: &ChangeRequest) -> AwsResult<Write> {
    records::put(
        &r.id,
        region,
        &r.requester_account_id,
        Some(&r.collaboration_id),
        r,
    )
}

/// Change request `id` of collaboration `collaboration_id`.
///
/// # Errors
/// `ResourceNotFoundException` when there is none in that collaboration; store failures.
pub async fn change_request(
    state: &AppState,
    collaboration_id: &str,
    id: &str,
) -> AwsResult<ChangeRequest> {
    match records::load::<ChangeRequest>(state, id).await? {
        Some(r) if r.collaboration_id == collaboration_id => Ok(r),
        _ => Err(not_found_msg(
            ResourceType::Collaboration,
            id,
            format!(
                "Could not find change request with id {id} in collaboration {collaboration_id}"
            ),
        )),
    }
}

/// One page of the change requests of collaboration `collaboration_id`, oldest first,
/// optionally only those in `status`, resumed from `next_token`.
///
/// # Errors
/// `ValidationException` for a token of another list; store failures.
pub async fn change_request_page(
    state: &AppState,
    collaboration_id: &str,
    status: Option<dto::ChangeRequestStatus>,
    next_token: Option<&str>,
    max_results: Option<i32>,
) -> AwsResult<(Vec<ChangeRequest>, Option<String>)> {
    let scope = format!(
        "changerequests:{collaboration_id}:{}",
        status.map_or("*", |s| s.as_str())
    );
    let after = pagination::resume(&scope, next_token, bad_token)?;
    let items = records::children::<ChangeRequest>(state, collaboration_id, after)
        .await?
        .into_iter()
        .filter(|(_, request)| status.is_none_or(|s| s == request.status))
        .collect();
    Ok(pagination::page(
        &scope,
        items,
        pagination::page_size(max_results),
    ))
}
