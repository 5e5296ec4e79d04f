//! Layer 4 of the Clean Rooms service: the operation handlers, one module per resource family.
//! A handler is the [`Operation`] implementation of its AWS input: it turns the input into calls
//! of the layers below (records, analysis, workflows) and their results into the AWS output. A
//! module here exports nothing but its operations, and handler modules never use each other:
//! what several of them need is defined here.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::child::ChildHeader;
use crate::services::cleanrooms::domain::configured_table::MAX_POLICY_BYTES;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::errors::{
    bad_token, conflict, invalid_configuration, invalid_field, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::records::access::member;
use crate::services::cleanrooms::records::id_mapping::id_mapping_table_named;
use crate::services::cleanrooms::records::intermediate_tables::intermediate_tables_of_collaboration;
use crate::services::cleanrooms::records::{self, account_page, collaboration_children, Resource};
use crate::services::cleanrooms::workflows::lifecycle;
use crate::state::AppState;
use crate::store::Write;
use crate::util::{ids, pagination};
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::{OperationInput, RequestContext};
use std::future::Future;

/// An operation's handler, implemented by the operation's AWS input: how the operation answers
/// its [`OperationInput::Output`]. `service.rs` hands each input to its implementation.
pub trait Operation: OperationInput + Sized {
    /// Runs the operation `input` for the caller `ctx`.
    fn run(
        state: &AppState,
        ctx: &RequestContext,
        input: Self,
    ) -> impl Future<Output = AwsResult<Self::Output>> + Send;
}

/// Implements [`Operation`] for the input `dto::$input` by `$handler(state, ctx, input)`: for
/// the generic handlers that serve a whole family of operations ([`children`], [`runs`]).
macro_rules! operation {
    ($input:ident by $handler:expr) => {
        impl $crate::services::cleanrooms::ops::Operation for dto::$input {
            async fn run(
                state: &$crate::state::AppState,
                ctx: &cleanrooms_emulator_api::RequestContext,
                input: Self,
            ) -> $crate::error::AwsResult<Self::Output> {
                ($handler)(state, ctx, input).await
            }
        }
    };
}

pub mod analysis_logs;
pub mod analysis_templates;
pub mod associations;
pub mod audience_model_associations;
pub mod change_requests;
pub mod children;
pub mod collaborations;
pub mod configured_tables;
pub mod id_mapping_tables;
pub mod id_namespace_associations;
pub mod intermediate_table_rules;
pub mod intermediate_tables;
pub mod memberships;
pub mod privacy_budget_templates;
pub mod protected_jobs;
pub mod protected_queries;
pub mod runs;
pub mod schemas;
pub mod tags;

/// The header of a new resource of the caller's membership `m`: a fresh id, the caller's account
/// and region, and the ARN `arn_of` gives them.
pub fn new_header(
    ctx: &RequestContext,
    m: &Membership,
    arn_of: fn(&str, &str, &str, &str) -> String,
) -> ChildHeader {
    ChildHeader::new(&ctx.region, &ctx.account_id, m, ids::new_id(), arn_of)
}

/// The kinds of table that share a collaboration's one name space (the names queries use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// A configured table association.
    Association,
    /// An intermediate table.
    Intermediate,
    /// An ID mapping table.
    IdMapping,
}

/// The kind and id of the table of collaboration `collaboration_id` named `name` (lower case),
/// if there is one: configured table associations are looked at first, then intermediate
/// tables, then ID mapping tables.
///
/// # Errors
/// Store failures.
async fn table_named(
    state: &AppState,
    collaboration_id: &str,
    name: &str,
) -> AwsResult<Option<(TableKind, String)>> {
    let association = collaboration_children::<Association>(state, collaboration_id)
        .await?
        .into_iter()
        .find(|(_, a)| a.name == name);
    if let Some((_, a)) = association {
        return Ok(Some((TableKind::Association, a.header.id)));
    }
    let intermediate = intermediate_tables_of_collaboration(state, collaboration_id)
        .await?
        .into_iter()
        .find(|t| t.name == name);
    if let Some(t) = intermediate {
        return Ok(Some((TableKind::Intermediate, t.header.id)));
    }
    Ok(id_mapping_table_named(state, collaboration_id, name)
        .await?
        .map(|t| (TableKind::IdMapping, t.header.id)))
}

/// Refuses a new table of collaboration `collaboration_id` named `name` (lower case; `given` as
/// the request wrote it) when one of the collaboration's tables already has that name:
/// `ConflictException` `ALREADY_EXISTS` naming what holds it, about a `resource_type`.
///
/// # Errors
/// The conflict; store failures.
pub async fn check_table_name_free(
    state: &AppState,
    collaboration_id: &str,
    (given, name): (&str, &str),
    resource_type: ResourceType,
) -> AwsResult<()> {
    let Some((kind, other)) = table_named(state, collaboration_id, name).await? else {
        return Ok(());
    };
    let holder = match kind {
        TableKind::Association => "a table",
        TableKind::Intermediate => "an intermediate table",
        TableKind::IdMapping => "an ID mapping table",
    };
    Err(conflict(
        resource_type,
        &other,
        ConflictReason::AlreadyExists,
        format!(
            "name '{given}': collaboration {collaboration_id} already has {holder} named '{name}'"
        ),
    ))
}

/// Removes the table `id` of kind `kind` from collaboration `collaboration_id`, with `writes`
/// (its own deletion) in the same commit: every intermediate table built on it becomes
/// `BASE_TABLE_REMOVED`, and an ID mapping or intermediate table's data in managed storage goes
/// too.
///
/// # Errors
/// Store failures.
pub async fn remove_table(
    state: &AppState,
    collaboration_id: &str,
    (kind, id): (TableKind, &str),
    writes: impl IntoIterator<Item = Write>,
) -> AwsResult<()> {
    let itself: &[&str] = if kind == TableKind::Intermediate {
        &[id]
    } else {
        &[]
    };
    let mut cascade = lifecycle::base_removed(state, collaboration_id, &[id], itself).await?;
    cascade.writes.extend(writes);
    if kind != TableKind::Association {
        cascade.data.push(id.to_string());
    }
    cascade.commit(state).await
}

/// The Entity Resolution resource `found` that an `inputReferenceArn` (`arn`) names, a `what`
/// (ID namespace, ID mapping workflow) owned by the account `owner` gives, when it exists in the
/// caller's region and belongs to the caller; `rule` says why it must.
///
/// # Errors
/// `ValidationException` on `inputReferenceArn` for a resource that does not exist or belongs to
/// another account.
pub fn own_input_reference<T>(
    ctx: &RequestContext,
    (what, arn): (&str, &str),
    found: Option<T>,
    owner: impl Fn(&T) -> &str,
    rule: &str,
) -> AwsResult<T> {
    let Some(resource) = found else {
        return Err(invalid_field(
            "inputReferenceArn",
            format!(
                "inputReferenceArn: the Entity Resolution {what} {arn} does not exist in region {}",
                ctx.region
            ),
        ));
    };
    let account = owner(&resource);
    if account != ctx.account_id {
        return Err(invalid_field(
            "inputReferenceArn",
            format!("inputReferenceArn: the {what} {arn} belongs to account {account}; {rule}"),
        ));
    }
    Ok(resource)
}

/// What a batch get answers for `requests`, in their order: `get` looks each one up, and the
/// ones it does not find become the error entry `missing` makes of them.
///
/// # Errors
/// What `get` fails with.
pub async fn batch_get<R: Copy, T, E, F>(
    requests: impl IntoIterator<Item = R>,
    get: impl Fn(R) -> F,
    missing: impl Fn(R) -> E,
) -> AwsResult<(Vec<T>, Vec<E>)>
where
    F: Future<Output = AwsResult<Option<T>>>,
{
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for request in requests {
        match get(request).await? {
            Some(t) => found.push(t),
            None => errors.push(missing(request)),
        }
    }
    Ok((found, errors))
}

/// Checks that an analysis rule's `policy` is no larger, as JSON, than a rule may be.
///
/// # Errors
/// `ValidationException` (`INVALID_CONFIGURATION`) giving the size.
pub fn check_policy_size(policy: &impl serde::Serialize) -> AwsResult<()> {
    let size = serde_json::to_vec(policy).map_or(0, |v| v.len());
    if size > MAX_POLICY_BYTES {
        return Err(invalid_configuration(format!(
            "analysisRulePolicy is {size} bytes of JSON; an analysis rule may be at most {MAX_POLICY_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Checks that `account`, named in the `allowedResultReceivers` of the rule policy at `prefix`,
/// is a member of collaboration `collaboration_id` that can receive results.
///
/// # Errors
/// `ValidationException` (`INVALID_CONFIGURATION`) for an account that is not a member, or one
/// without the `CAN_RECEIVE_RESULTS` ability; store failures.
pub async fn check_result_receiver(
    state: &AppState,
    collaboration_id: &str,
    prefix: &str,
    account: &str,
) -> AwsResult<()> {
    match member(state, collaboration_id, account).await? {
        Some(m)
            if m.can_view() && m.abilities.contains(&dto::MemberAbility::CanReceiveResults) =>
        {
            Ok(())
        }
        Some(m) if m.can_view() => Err(invalid_configuration(format!(
            "{prefix}.allowedResultReceivers: account '{account}' cannot receive results in collaboration {collaboration_id} (no CAN_RECEIVE_RESULTS ability)"
        ))),
        _ => Err(invalid_configuration(format!(
            "{prefix}.allowedResultReceivers: account '{account}' is not a member of collaboration {collaboration_id}"
        ))),
    }
}

/// Commits the caller's analysis `rule`, stored as `id` under the table or association
/// `parent_id` it governs, with `also`, the parent's own write when the rule's coming or going
/// changed it.
///
/// # Errors
/// Store failures.
pub async fn commit_rule<T: Resource>(
    state: &AppState,
    ctx: &RequestContext,
    (id, parent_id): (&str, &str),
    rule: &T,
    also: Option<Write>,
) -> AwsResult<()> {
    let mut writes = vec![records::put(
        id,
        &ctx.region,
        &ctx.account_id,
        Some(parent_id),
        rule,
    )?];
    writes.extend(also);
    state.store().commit(writes).await?;
    Ok(())
}

/// One page of an account-scoped list named `scope` (ListCollaborations, ListMemberships,
/// ListConfiguredTables): the caller's resources `T` in its region, in creation order, from
/// `next_token` on, each as `entry` shows it (`None` leaves it out), with the token of the next
/// page.
///
/// # Errors
/// `ValidationException` for a token of another list; store failures and `entry`'s errors.
pub async fn account_list<T: Resource, I, F>(
    state: &AppState,
    ctx: &RequestContext,
    scope: &str,
    (next_token, max_results): (Option<&str>, Option<i32>),
    entry: impl FnMut(T) -> F,
) -> AwsResult<(Vec<I>, Option<String>)>
where
    F: Future<Output = AwsResult<Option<I>>>,
{
    let after = pagination::resume(scope, next_token, bad_token)?;
    let limit = pagination::page_size(max_results);
    let items = account_page(state, &ctx.region, &ctx.account_id, after, limit, entry).await?;
    Ok(pagination::page(scope, items, limit))
}
