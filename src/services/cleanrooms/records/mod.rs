//! Layer 2 of the Clean Rooms service: persistence. Typed access to the Clean Rooms records in
//! the metadata store (decode, the `Put` of a domain value, the children of a membership or
//! collaboration, one page of a list), one module per resource family, and the access checks
//! every operation shares ([`access`]). The layers above reach the store through here: a stored
//! domain type implements [`Resource`], which declares its record kind once ([`kinds`] is named
//! nowhere else), and the functions here take the type instead of a kind.
//!
//! Where two writers can race (a run's status transitions and settle, recovery, cancel, the
//! creates whose ids must be new), the layers above read with [`load_versioned`] and write with
//! [`put_if`] at the revision they read (or expecting no record); [`commit`] turns a failed
//! precondition into the `ConflictException` a user sees for a concurrent change, and
//! [`try_commit`] lets a background run read again and retry (at most [`ATTEMPTS`] times).

pub mod access;
pub mod analysis_logs;
pub mod associations;
pub mod budgets;
pub mod change_requests;
pub mod collaborations;
pub mod configured_tables;
pub mod id_mapping;
pub mod intermediate_tables;
pub mod kinds;
pub mod listing;
pub mod memberships;
pub mod tags;

use crate::services::cleanrooms::domain::analysis_log::{AnalysisLog, AnalysisLogExport};
use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::association::AssociationRule;
use crate::services::cleanrooms::domain::audience_model_association::AudienceModelAssociation;
use crate::services::cleanrooms::domain::budget::Ledger;
use crate::services::cleanrooms::domain::change_request::ChangeRequest;
use crate::services::cleanrooms::domain::collaboration::Collaboration;
use crate::services::cleanrooms::domain::collaboration::Member;
use crate::services::cleanrooms::domain::configured_table::ConfiguredTable;
use crate::services::cleanrooms::domain::configured_table::ConfiguredTableRule;
use crate::services::cleanrooms::domain::id_mapping::{IdMappingTable, IdNamespaceAssociation};
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTable;
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTableRule;
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTableVersion;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::domain::privacy_budget_template::PrivacyBudgetTemplate;
use crate::services::cleanrooms::domain::protected_job::StoredJob;
use crate::services::cleanrooms::domain::protected_query::StoredQuery;
use crate::services::cleanrooms::errors::bad_token;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::AwsResult;
use cleanrooms_emulator_api::RequestContext;

use crate::services::cleanrooms::errors::{conflict_on, ConflictReason};
use crate::state::AppState;
use crate::store::{Expect, Query, Record, StoreError, Write};
use crate::util::pagination;

pub use crate::store::decode;

/// A domain type kept in the metadata store, with the record kind it is stored as.
pub trait Resource: Serialize + DeserializeOwned {
    /// Its record kind (one of [`kinds`]).
    const KIND: &'static str;
}

/// A resource listed under a membership (a membership's child resource, a protected query or
/// job): what messages call it and the list its page tokens name.
pub trait Listed: Resource {
    /// What it is called in messages ("ID mapping table", "protected query").
    const NOUN: &'static str;
    /// The list of a membership's resources of this kind, as named in its page tokens.
    const LIST_SCOPE: &'static str;
}

/// Declares the record kind of each stored domain type.
macro_rules! resources {
    ($($t:ty => $kind:ident),* $(,)?) => {
        $(impl Resource for $t {
            const KIND: &'static str = kinds::$kind;
        })*
    };
}

resources! {
    Collaboration => COLLABORATION,
    Member => MEMBER,
    Membership => MEMBERSHIP,
    ConfiguredTable => CONFIGURED_TABLE,
    ConfiguredTableRule => CONFIGURED_TABLE_RULE,
    Association => ASSOCIATION,
    AssociationRule => ASSOCIATION_RULE,
    PrivacyBudgetTemplate => PRIVACY_BUDGET_TEMPLATE,
    Ledger => PRIVACY_BUDGET_LEDGER,
    AnalysisTemplate => ANALYSIS_TEMPLATE,
    IntermediateTable => INTERMEDIATE_TABLE,
    IntermediateTableVersion => INTERMEDIATE_TABLE_VERSION,
    IntermediateTableRule => INTERMEDIATE_TABLE_RULE,
    StoredQuery => PROTECTED_QUERY,
    StoredJob => PROTECTED_JOB,
    ChangeRequest => CHANGE_REQUEST,
    AnalysisLog => ANALYSIS_LOG,
    AnalysisLogExport => ANALYSIS_LOG_EXPORT,
    AudienceModelAssociation => CONFIGURED_AUDIENCE_MODEL_ASSOCIATION,
    IdNamespaceAssociation => ID_NAMESPACE_ASSOCIATION,
    IdMappingTable => ID_MAPPING_TABLE,
}

/// The `Put` of resource `value` with id `id` in `region`, owned by `account`, under `parent`.
pub fn put<T: Resource>(
    id: &str,
    region: &str,
    account: &str,
    parent: Option<&str>,
    value: &T,
) -> AwsResult<Write> {
    crate::store::put(T::KIND, id, region, account, parent, value)
}

/// The `Put` of resource `value` as [`put`], when `expect` holds at commit (see
/// [`crate::store::Expect`]).
pub fn put_if<T: Resource>(
    id: &str,
    region: &str,
    account: &str,
    parent: Option<&str>,
    value: &T,
    expect: Expect,
) -> AwsResult<Write> {
    Ok(put(id, region, account, parent, value)?.expecting(expect))
}

/// A stored resource as it was read: the value, the region it lives in and its revision (what
/// a conditional put of it expects).
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The region it lives in.
    pub region: String,
    /// The revision read.
    pub revision: i64,
    /// The resource.
    pub value: T,
}

impl<T> Versioned<T> {
    /// The precondition of writing it back: still at the revision read.
    pub fn expect(&self) -> Expect {
        Expect::Revision(self.revision)
    }
}

/// Resource `T` `id` with its region and revision, if it exists.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn load_versioned<T: Resource>(
    state: &AppState,
    id: &str,
) -> AwsResult<Option<Versioned<T>>> {
    record::<T>(state, id)
        .await?
        .map(|r| {
            Ok(Versioned {
                value: decode(&r)?,
                region: r.region.clone(),
                revision: r.revision,
            })
        })
        .transpose()
}

/// How many times a background run reads again and retries a write that lost a race.
pub const ATTEMPTS: usize = 8;

/// Commits `writes`: `false` when a precondition failed (another writer changed a record since
/// it was read) and nothing was written, so the caller may read again and retry.
///
/// # Errors
/// Other store failures.
pub async fn try_commit(state: &AppState, writes: Vec<Write>) -> AwsResult<bool> {
    match state.store().commit(writes).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_conflict() => {
            tracing::info!(error = %e, "write lost a race; reading again");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// The error of a background write that lost [`ATTEMPTS`] races in a row on `what` `id`.
pub fn lost_races(what: &str, id: &str) -> crate::error::AwsError {
    crate::error::AwsError::internal(format!(
        "{what} {id} kept changing while it was being updated ({ATTEMPTS} attempts)"
    ))
}

/// Applies `change` to resource `T` `id` as stored (`what` names it in errors) and commits
/// `write` of the result at the revision read, reading again and retrying when another writer
/// changed it meanwhile (at most [`ATTEMPTS`] times): a background run's status transition.
/// Returns `change`'s answer for the resource as committed, and that resource.
///
/// # Errors
/// When it vanished or kept changing (internal errors); store failures.
pub async fn change<T: Resource + Clone, R>(
    state: &AppState,
    id: &str,
    what: &str,
    write: impl Fn(&Versioned<T>, &T) -> AwsResult<Vec<Write>>,
    mut change: impl FnMut(&mut T) -> R,
) -> AwsResult<(R, T)> {
    for _ in 0..ATTEMPTS {
        let read = load_existing_versioned::<T>(state, id, what).await?;
        let mut value = read.value.clone();
        let answer = change(&mut value);
        if try_commit(state, write(&read, &value)?).await? {
            return Ok((answer, value));
        }
    }
    Err(lost_races(what, id))
}

/// A request's change of resource `T` `id` (`what` names it in errors): `change` decides on the
/// resource as stored (`Ok(false)`: nothing to write), and `write` of the result is committed at
/// the revision read, a lost race being the `ConflictException` of [`commit`]. Returns the
/// resource after the change.
///
/// # Errors
/// `change`'s refusal; as [`commit`]; when the resource vanished (internal).
pub async fn change_requested<T: Resource + Clone>(
    state: &AppState,
    id: &str,
    what: &str,
    write: impl Fn(&Versioned<T>, &T) -> AwsResult<Vec<Write>>,
    change: impl FnOnce(&mut T) -> AwsResult<bool>,
) -> AwsResult<T> {
    let read = load_existing_versioned::<T>(state, id, what).await?;
    let mut value = read.value.clone();
    if change(&mut value)? {
        commit(state, write(&read, &value)?).await?;
    }
    Ok(value)
}

/// Commits `writes` for a request: a failed precondition is the `ConflictException` a user
/// sees for a concurrent change (`ALREADY_EXISTS` for an id that must be new, `INVALID_STATE`
/// for a resource changed since it was read), and nothing is written.
///
/// # Errors
/// `ConflictException`; other store failures.
pub async fn commit(state: &AppState, writes: Vec<Write>) -> AwsResult<()> {
    state.store().commit(writes).await.map_err(|e| {
        if e.is_conflict() {
            conflict(&e)
        } else {
            e.into()
        }
    })
}

/// The `ConflictException` a user sees for a write that lost a race (see [`commit`]); every
/// Clean Rooms request answers an unhandled conflict so (`services::handle`).
pub fn conflict(e: &StoreError) -> crate::error::AwsError {
    let StoreError::Conflict {
        kind, id, expected, ..
    } = e
    else {
        return crate::error::AwsError::internal(e.to_string());
    };
    let (noun, resource_type) = kinds::describe(kind);
    let (reason, message) = if *expected == Expect::Absent {
        (
            ConflictReason::AlreadyExists,
            format!("The {noun} {id} already exists"),
        )
    } else {
        (
            ConflictReason::InvalidState,
            format!("The {noun} {id} was changed by another request meanwhile; retry"),
        )
    };
    conflict_on(resource_type, id, reason, message)
}

/// The `Delete` of resource `T` `id`.
pub fn delete<T: Resource>(id: impl Into<String>) -> Write {
    Write::Delete {
        kind: T::KIND.to_string(),
        id: id.into(),
    }
}

/// The stored record of resource `T` `id` (its owner, parent and region with the body).
///
/// # Errors
/// Store failures.
pub async fn record<T: Resource>(
    state: &AppState,
    id: &str,
) -> AwsResult<Option<std::sync::Arc<Record>>> {
    record_of_kind(state, T::KIND, id).await
}

/// The stored record `id` of kind `kind` (the [`Resource::KIND`] of one of the types a caller
/// serves alike, such as the resources tags are kept on).
///
/// # Errors
/// Store failures.
pub async fn record_of_kind(
    state: &AppState,
    kind: &str,
    id: &str,
) -> AwsResult<Option<std::sync::Arc<Record>>> {
    Ok(state.store().get(kind, id).await?)
}

/// Resource `T` `id`, decoded, if it exists.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn load<T: Resource>(state: &AppState, id: &str) -> AwsResult<Option<T>> {
    record::<T>(state, id)
        .await?
        .map(|r| decode(&r))
        .transpose()
}

/// Resource `T` `id` with the region it lives in, which must exist: a background run or its
/// settle asks for its own resource (`what` names it in the error, e.g. "protected query").
///
/// # Errors
/// `InternalServerException` when it vanished; store failures and unreadable records.
pub async fn load_existing<T: Resource>(
    state: &AppState,
    id: &str,
    what: &str,
) -> AwsResult<(String, T)> {
    let v = load_existing_versioned::<T>(state, id, what).await?;
    Ok((v.region, v.value))
}

/// As [`load_existing`], with the revision read.
///
/// # Errors
/// As [`load_existing`].
pub async fn load_existing_versioned<T: Resource>(
    state: &AppState,
    id: &str,
    what: &str,
) -> AwsResult<Versioned<T>> {
    load_versioned::<T>(state, id)
        .await?
        .ok_or_else(|| crate::error::AwsError::internal(format!("{what} {id} vanished")))
}

/// Every stored resource `T`, in every account and region (startup recovery and sweeps).
///
/// # Errors
/// Store failures and unreadable records.
pub async fn all<T: Resource>(state: &AppState) -> AwsResult<Vec<T>> {
    state
        .store()
        .query(&query::<T>())
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// A query over the records of resource `T`.
pub fn query<T: Resource>() -> Query {
    Query::kind(T::KIND)
}

/// The `Put` of any serialisable body as a record of `kind` (for records that are not domain
/// types, such as receipts).
pub use crate::store::put as put_kind;

/// The resources `T` under record `parent_id` (a membership; a collaboration for members and
/// change requests) after position `after`, decoded, with their sequence numbers, in creation
/// order.
pub async fn children<T: Resource>(
    state: &AppState,
    parent_id: &str,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, T)>> {
    state
        .store()
        .query(&query::<T>().parent(parent_id).after(after))
        .await?
        .iter()
        .map(|r| Ok((r.seq, decode(r)?)))
        .collect()
}

/// The resources `T` under membership `membership_id` ([`children`] of a membership).
pub use self::children as membership_children;

/// The resources `T` under every membership of collaboration `collaboration_id`, decoded,
/// with their sequence numbers, in creation order.
pub async fn collaboration_children<T: Resource>(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<Vec<(i64, T)>> {
    let mut all = Vec::new();
    for m in memberships_of(state, collaboration_id).await? {
        all.extend(membership_children(state, &m.id, None).await?);
    }
    all.sort_by_key(|(seq, _)| *seq);
    Ok(all)
}

/// One page of a membership-scoped list operation: the resources `T` under membership
/// `membership_id` in creation order, resumed from `next_token` (tokens name `scope` and the
/// membership), each turned into its list entry by `entry` (`None` leaves a record out), with
/// the token of the next page.
///
/// # Errors
/// `ValidationException` for a token of another list; store failures.
pub async fn membership_page<T: Resource, S>(
    state: &AppState,
    scope: &str,
    membership_id: &str,
    next_token: Option<&str>,
    max_results: Option<i32>,
    entry: impl FnMut(T) -> Option<S>,
) -> AwsResult<(Vec<S>, Option<String>)> {
    let mut entry = entry;
    let scope = format!("{scope}:{membership_id}");
    let after = pagination::resume(&scope, next_token, bad_token)?;
    let items = membership_children::<T>(state, membership_id, after)
        .await?
        .into_iter()
        .filter_map(|(seq, t)| entry(t).map(|s| (seq, s)))
        .collect();
    Ok(pagination::page(
        &scope,
        items,
        pagination::page_size(max_results),
    ))
}

/// One page of a list of the caller's own membership: the membership behind
/// `membership_identifier` must be the caller's (see [`access::own_membership`]), then as
/// [`membership_page`].
///
/// # Errors
/// As [`access::own_membership`] and [`membership_page`].
pub async fn own_page<T: Resource, S>(
    state: &AppState,
    ctx: &RequestContext,
    membership_identifier: &str,
    scope: &str,
    (next_token, max_results): (Option<&str>, Option<i32>),
    entry: impl FnMut(T) -> Option<S>,
) -> AwsResult<(Vec<S>, Option<String>)> {
    let m =
        access::own_membership(state, &ctx.region, &ctx.account_id, membership_identifier).await?;
    membership_page(state, scope, &m.id, next_token, max_results, entry).await
}

/// The resources `T` account `account` owns in `region` (after position `after`, at most
/// `limit`), decoded, with their sequence numbers, in creation order.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn account_resources<T: Resource>(
    state: &AppState,
    region: &str,
    account: &str,
    after: Option<i64>,
    limit: Option<usize>,
) -> AwsResult<Vec<(i64, T)>> {
    let mut query = query::<T>().region(region).account(account).after(after);
    if let Some(limit) = limit {
        query = query.limit(limit);
    }
    state
        .store()
        .query(&query)
        .await?
        .iter()
        .map(|r| Ok((r.seq, decode(r)?)))
        .collect()
}

/// The entries of one page of an account-scoped list (ListCollaborations, ListMemberships): the
/// resources `T` owned by `account` in `region` after position `after`, in creation order, each
/// turned into its entry by `entry` (`None` leaves it out), until one entry more than `limit`
/// (so the caller knows a next page exists) or the end. Records are read a batch of about the
/// page at a time, never all at once: a page costs about its size plus what `entry` leaves out.
///
/// # Errors
/// Store failures and `entry`'s errors.
pub async fn account_page<T: Resource, I, F>(
    state: &AppState,
    region: &str,
    account: &str,
    after: Option<i64>,
    limit: usize,
    mut entry: impl FnMut(T) -> F,
) -> AwsResult<Vec<(i64, I)>>
where
    F: std::future::Future<Output = AwsResult<Option<I>>>,
{
    let batch = limit + 1;
    let mut items = Vec::new();
    let mut cursor = after;
    loop {
        let records = account_resources::<T>(state, region, account, cursor, Some(batch)).await?;
        let more = records.len() == batch;
        for (seq, value) in records {
            cursor = Some(seq);
            if let Some(item) = entry(value).await? {
                items.push((seq, item));
                if items.len() > limit {
                    return Ok(items);
                }
            }
        }
        if !more {
            return Ok(items);
        }
    }
}

/// Every membership of a collaboration, in creation order.
pub async fn memberships_of(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<Vec<Membership>> {
    state
        .store()
        .query(&query::<Membership>().parent(collaboration_id))
        .await?
        .iter()
        .map(decode)
        .collect()
}
