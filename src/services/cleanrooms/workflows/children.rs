//! The commits of the resources that live under one membership ([`MembershipChild`]): a new one
//! with its tags, and an update by its owner.

use crate::error::AwsResult;
use crate::services::cleanrooms::records::access::{
    own_active_child, put_child, ChildRequest, MembershipChild,
};
use crate::services::cleanrooms::records::tags::put_tags;
use crate::state::AppState;
use crate::store::Write;
use cleanrooms_emulator_api::RequestContext;
use std::collections::BTreeMap;

/// Stores the new child resource `child` of the caller with its `tags` (none when empty).
///
/// # Errors
/// Store failures.
pub async fn create_child<T: MembershipChild>(
    state: &AppState,
    ctx: &RequestContext,
    child: &T,
    tags: Option<BTreeMap<String, String>>,
) -> AwsResult<()> {
    let mut writes = vec![put_child(&ctx.region, child)?];
    if let Some(t) = tags.filter(|t| !t.is_empty()) {
        writes.push(put_tags(
            &ctx.region,
            &ctx.account_id,
            child.child_arn(),
            &t,
        )?);
    }
    state.store().commit(writes).await?;
    Ok(())
}

/// Changes the child resource that `input` names (see [`ChildRequest`]) of the caller's
/// membership, which must be ACTIVE: `change` edits it from the request (and may add writes of
/// its own), then it is stored marked changed now; returns it as stored.
///
/// # Errors
/// Not found as [`own_active_child`]; `ConflictException` for a membership that is not ACTIVE;
/// what `change` refuses; store failures.
pub async fn update_child<T: MembershipChild, I: ChildRequest>(
    state: &AppState,
    ctx: &RequestContext,
    input: I,
    change: impl FnOnce(&mut T, I) -> AwsResult<Vec<Write>>,
) -> AwsResult<T> {
    let _guard = state.write_lock().await;
    let (_, mut child) = own_active_child::<T>(state, ctx, input.target()).await?;
    let extra = change(&mut child, input)?;
    child.touch(state.now());
    let mut writes = vec![put_child(&ctx.region, &child)?];
    writes.extend(extra);
    state.store().commit(writes).await?;
    Ok(child)
}
