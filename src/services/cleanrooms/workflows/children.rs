//! The commits of the resources that live under one membership ([`MembershipChild`]): a new one
//! with its tags, an update by its owner, and a deletion by its owner.

use crate::error::AwsResult;
use crate::services::cleanrooms::records::access::{
    child_delete_writes, own_active_child, own_child, put_child, ChildRequest, MembershipChild,
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

/// Deletes the caller's child resource `target` (`(membershipIdentifier, identifier)`) and its
/// tags.
///
/// # Errors
/// Not found as [`own_child`]; store failures.
pub async fn delete_child<T: MembershipChild>(
    state: &AppState,
    ctx: &RequestContext,
    target: (&str, &str),
) -> AwsResult<()> {
    let _guard = state.write_lock().await;
    let (_, child) = own_child::<T>(state, ctx, target).await?;
    state
        .store()
        .commit(child_delete_writes(&child).into())
        .await?;
    Ok(())
}
