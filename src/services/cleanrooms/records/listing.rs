//! Protected queries and protected jobs as one family of runs ([`ProtectedRun`]): the run a
//! membership may read (its own, or one whose results it receives), the receipts of receivers,
//! and the lists of what a membership ran merged with what it received: ListProtectedQueries and
//! ListProtectedJobs show a membership's own queries (jobs) and the ones whose results it
//! receives, one list in one order, a page at a time.
//!
//! Both sources are read in the list's order from the resume point on, a batch at a time, and
//! merged by sequence number (one sequence numbers every record, so the merged order is total
//! and stable): a page costs about the page, not the membership's history.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::protected_job::StoredJob;
use crate::services::cleanrooms::domain::protected_query::StoredQuery;
use crate::services::cleanrooms::domain::run_status::{Run, RunStatus};
use crate::services::cleanrooms::errors::{bad_token, not_found_msg, ResourceType};
use crate::services::cleanrooms::records::access::{member, own_membership};
use crate::services::cleanrooms::records::{
    decode, kinds, load, load_existing, load_existing_versioned, put, put_kind, query, Listed,
    Resource, Versioned,
};
use crate::state::AppState;
use crate::store::{Expect, Query, Record, Write};
use crate::util::pagination;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// A protected query or job: stored under the membership that ran it, readable by the members
/// receiving its results through a receipt under their own membership.
pub trait ProtectedRun: Listed + Run {
    /// The record kind of its receipts.
    const RECEIPT_KIND: &'static str;
    /// The order its list shows.
    const ORDER: Order;
    /// The membership that ran it.
    fn runner_membership(&self) -> &str;
    /// The account that ran it.
    fn runner_account(&self) -> &str;
    /// The record kind of its unfinished mark.
    const UNFINISHED_KIND: &'static str;
}

/// Implements [`ProtectedRun`]: `type(field holding the AWS shape) => noun, list scope,
/// receipt kind, order`.
macro_rules! protected_runs {
    ($($t:ident($shape:ident) => $noun:literal, $scope:literal, $receipt:ident, $unfinished:ident, $order:ident;)*) => {
        $(impl Listed for $t {
            const NOUN: &'static str = $noun;
            const LIST_SCOPE: &'static str = $scope;
        }
        impl ProtectedRun for $t {
            const RECEIPT_KIND: &'static str = kinds::$receipt;
            const UNFINISHED_KIND: &'static str = kinds::$unfinished;
            const ORDER: Order = Order::$order;
            fn runner_membership(&self) -> &str {
                &self.$shape.membership_id
            }
            fn runner_account(&self) -> &str {
                &self.account_id
            }
        })*
    };
}

protected_runs! {
    StoredQuery(query) => "protected query", "protectedqueries", PROTECTED_QUERY_RECEIPT,
        PROTECTED_QUERY_UNFINISHED, OldestFirst;
    StoredJob(job) => "protected job", "protectedjobs", PROTECTED_JOB_RECEIPT,
        PROTECTED_JOB_UNFINISHED, NewestFirst;
}

/// What a list request of runs asks for: ListProtectedQueries and ListProtectedJobs.
pub trait RunListInput {
    /// `membershipIdentifier`.
    fn membership_identifier(&self) -> &str;
    /// `status`, as on the wire.
    fn status_filter(&self) -> Option<&'static str>;
    /// `nextToken` and `maxResults`.
    fn page(&self) -> (Option<&str>, Option<i32>);
}

/// Implements [`RunListInput`] for list inputs that share its fields.
macro_rules! run_list_inputs {
    ($($t:ty),*) => {
        $(impl RunListInput for $t {
            fn membership_identifier(&self) -> &str {
                &self.membership_identifier
            }
            fn status_filter(&self) -> Option<&'static str> {
                self.status.map(|s| s.as_str())
            }
            fn page(&self) -> (Option<&str>, Option<i32>) {
                (self.next_token.as_deref(), self.max_results)
            }
        })*
    };
}

run_list_inputs!(dto::ListProtectedQueriesInput, dto::ListProtectedJobsInput);

/// The store write of run `run` in `region`, under the membership that ran it.
pub fn put_run<T: ProtectedRun>(region: &str, run: &T) -> AwsResult<Write> {
    put(
        run.run_id(),
        region,
        run.runner_account(),
        Some(run.runner_membership()),
        run,
    )
}

/// Run `T` `id` with the region it lives in; it must exist (a run or its settle asks for its
/// own query or job).
///
/// # Errors
/// `InternalServerException` when it vanished or is unreadable; store failures.
pub async fn load_run<T: ProtectedRun>(state: &AppState, id: &str) -> AwsResult<(String, T)> {
    load_existing(state, id, T::NOUN).await
}

/// As [`load_run`], with the revision read (for [`put_run_at`]).
///
/// # Errors
/// As [`load_run`].
pub async fn load_run_at<T: ProtectedRun>(state: &AppState, id: &str) -> AwsResult<Versioned<T>> {
    load_existing_versioned(state, id, T::NOUN).await
}

/// The store writes of run `run` (with its unfinished mark) when it is new (StartProtectedQuery,
/// StartProtectedJob, a population).
pub fn put_new_run<T: ProtectedRun>(region: &str, run: &T) -> AwsResult<Vec<Write>> {
    run_writes(region, run, Expect::Absent)
}

/// The store writes of run `run` (and its unfinished mark) read as `read`, when nobody changed
/// it since.
pub fn put_run_at<T: ProtectedRun>(read: &Versioned<T>, run: &T) -> AwsResult<Vec<Write>> {
    run_writes(&read.region, run, read.expect())
}

/// The writes that store run `run` in `region` under `expect`, with its unfinished mark kept
/// (while it has not ended) or removed (once it has): every status change of a run goes through
/// here, so the marks are exactly the runs a stopped process can leave unfinished.
///
/// # Errors
/// An unstorable run (internal).
pub fn run_writes<T: ProtectedRun>(region: &str, run: &T, expect: Expect) -> AwsResult<Vec<Write>> {
    let mark = if run.is_final() {
        Write::Delete {
            kind: T::UNFINISHED_KIND.to_string(),
            id: run.run_id().to_string(),
        }
    } else {
        put_kind(
            T::UNFINISHED_KIND,
            run.run_id(),
            region,
            run.runner_account(),
            Some(run.runner_membership()),
            &(),
        )?
    };
    Ok(vec![put_run(region, run)?.expecting(expect), mark])
}

/// The runs `T` a stopped process may have left unfinished, for recovery: the marked ones, or
/// on a data dir from before the marks every run (once: [`runs_indexed`] records that all are
/// covered). Marks whose run has ended (a run cancelled before it started keeps its mark) are
/// removed on the way.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn possibly_unfinished<T: ProtectedRun>(state: &AppState) -> AwsResult<Vec<T>> {
    if !indexed(state).await? {
        return super::all(state).await;
    }
    let marks = state
        .store()
        .query(&Query::kind(T::UNFINISHED_KIND))
        .await?;
    let mut runs = Vec::new();
    let mut stale = Vec::new();
    for mark in marks {
        match load::<T>(state, &mark.id).await? {
            Some(run) if !run.is_final() => runs.push(run),
            _ => stale.push(Write::Delete {
                kind: T::UNFINISHED_KIND.to_string(),
                id: mark.id,
            }),
        }
    }
    if !stale.is_empty() {
        state.store().commit(stale).await?;
    }
    Ok(runs)
}

/// Records that every run of the data dir is covered by unfinished marks (after a recovery
/// ended them all), so later start-ups read the marks only. Writes once per data dir: a start-up
/// that finds the record already there commits nothing.
///
/// # Errors
/// Store failures.
pub async fn runs_indexed(state: &AppState) -> AwsResult<()> {
    if indexed(state).await? {
        return Ok(());
    }
    let region = state.config().region.clone();
    let index = put_kind(
        kinds::UNFINISHED_RUNS_INDEX,
        INDEX_ID,
        &region,
        "",
        None,
        &(),
    )?;
    Ok(state.store().commit(vec![index]).await?)
}

/// Whether the data dir's runs are covered by unfinished marks ([`runs_indexed`]).
async fn indexed(state: &AppState) -> AwsResult<bool> {
    Ok(state
        .store()
        .get(kinds::UNFINISHED_RUNS_INDEX, INDEX_ID)
        .await?
        .is_some())
}

/// The id of the [`kinds::UNFINISHED_RUNS_INDEX`] record.
const INDEX_ID: &str = "v1";

fn receipt_id(run_id: &str, membership_id: &str) -> String {
    format!("{run_id}/{membership_id}")
}

/// The receipt letting member `account` read run `run_id` through its own membership (`None`
/// when it has no membership).
///
/// # Errors
/// Store failures.
pub async fn run_receipt<T: ProtectedRun>(
    state: &AppState,
    region: &str,
    collaboration_id: &str,
    account: &str,
    run_id: &str,
) -> AwsResult<Option<Write>> {
    let Some(membership_id) = member(state, collaboration_id, account)
        .await?
        .and_then(|m| m.membership_id)
    else {
        return Ok(None);
    };
    Ok(Some(put_kind(
        T::RECEIPT_KIND,
        &receipt_id(run_id, &membership_id),
        region,
        account,
        Some(&membership_id),
        &run_id,
    )?))
}

/// The run `id` that the caller's membership `membership_id` ran or receives the results of.
///
/// # Errors
/// `ResourceNotFoundException(MEMBERSHIP)` for a membership that is not the caller's or a run
/// it cannot read; store failures.
pub async fn visible_run<T: ProtectedRun>(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<T> {
    let m = own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    let received = state
        .store()
        .get(T::RECEIPT_KIND, &receipt_id(id, &m.id))
        .await?
        .is_some();
    match state.store().get(T::KIND, id).await? {
        Some(r)
            if (received || r.parent.as_deref() == Some(m.id.as_str()))
                && r.region == ctx.region =>
        {
            decode(&r)
        }
        _ => Err(not_found_msg(
            ResourceType::Membership,
            id,
            format!(
                "Could not find {} with id {id} in membership {}",
                T::NOUN,
                m.id
            ),
        )),
    }
}

/// One page of the list `input` asks for: the runs of the caller's membership and the ones
/// whose results it received, in the family's order, with the status asked for, each shown as
/// `entry` renders it, with the token of the next page.
///
/// # Errors
/// `ResourceNotFoundException(MEMBERSHIP)` for a membership that is not the caller's;
/// `ValidationException` for a token of another list; store failures and unreadable records.
pub async fn runs_page<T: ProtectedRun, S>(
    state: &AppState,
    ctx: &RequestContext,
    input: &impl RunListInput,
    entry: impl Fn(&T) -> S,
) -> AwsResult<(Vec<S>, Option<String>)> {
    let m = own_membership(
        state,
        &ctx.region,
        &ctx.account_id,
        input.membership_identifier(),
    )
    .await?;
    let status = input.status_filter();
    // The status filter is part of the list a token belongs to.
    let scope = format!("{}:{}:{}", T::LIST_SCOPE, status.unwrap_or(""), m.id);
    let (next_token, max_results) = input.page();
    own_and_received_page(
        state,
        MergedList {
            scope: &scope,
            membership_id: &m.id,
            receipt_kind: T::RECEIPT_KIND,
            order: T::ORDER,
            next_token,
            max_results,
        },
        |run: T| {
            status
                .is_none_or(|s| run.status().wire() == s)
                .then(|| entry(&run))
        },
    )
    .await
}

/// Which end of the list comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// In the order they were created (started, or received).
    OldestFirst,
    /// The most recent first.
    NewestFirst,
}

impl Order {
    /// The list position of a record with sequence number `seq`: positions grow along the list
    /// (newest first negates the sequence), and a token names the last position shown.
    fn position(self, seq: i64) -> i64 {
        match self {
            Self::OldestFirst => seq,
            Self::NewestFirst => -seq,
        }
    }

    /// `query` restricted to the positions after `after`, in list order.
    fn window(self, query: Query, after: Option<i64>) -> Query {
        match self {
            Self::OldestFirst => query.after(after),
            Self::NewestFirst => query.before(after.map(|a| -a)).newest_first(),
        }
    }
}

/// Which merged list to page through.
#[derive(Debug, Clone, Copy)]
pub struct MergedList<'a> {
    /// The list a token belongs to (with the filter and the membership in it): a token of
    /// another list is refused.
    pub scope: &'a str,
    /// The membership whose list it is.
    pub membership_id: &'a str,
    /// The record kind of the receipts: each is a child of the receiving membership whose body
    /// is the id of the received resource.
    pub receipt_kind: &'a str,
    /// The list's order.
    pub order: Order,
    /// `nextToken` of the request.
    pub next_token: Option<&'a str>,
    /// `maxResults` of the request.
    pub max_results: Option<i32>,
}

/// One record read from either source.
enum Source {
    /// The membership's own resource.
    Own(Record),
    /// A receipt naming a resource of another membership.
    Received(Record),
}

/// One page of `list`: the membership's own resources `T` and the ones its receipts name,
/// merged in the list's order from the resume point on, each turned into its list entry by
/// `entry` (`None` leaves a resource out, e.g. a status filter), with the token of the next
/// page when more remain. A receipt whose resource is gone is skipped.
///
/// # Errors
/// `ValidationException` for a token of another list; store failures and unreadable records.
pub async fn own_and_received_page<T: Resource, S>(
    state: &AppState,
    list: MergedList<'_>,
    mut entry: impl FnMut(T) -> Option<S>,
) -> AwsResult<(Vec<S>, Option<String>)> {
    let limit = pagination::page_size(list.max_results);
    let mut after = pagination::resume(list.scope, list.next_token, bad_token)?;
    // One entry more than the page tells whether a next page exists.
    let batch = limit + 1;
    let mut items: Vec<(i64, S)> = Vec::with_capacity(batch);
    'batches: loop {
        let own = state
            .store()
            .query(
                &list
                    .order
                    .window(query::<T>().parent(list.membership_id), after)
                    .limit(batch),
            )
            .await?;
        let received = state
            .store()
            .query(
                &list
                    .order
                    .window(
                        Query::kind(list.receipt_kind).parent(list.membership_id),
                        after,
                    )
                    .limit(batch),
            )
            .await?;
        // A full batch may have more behind it: only positions up to the last one read from
        // every full batch are known to be complete in both sources.
        let bound = [&own, &received]
            .into_iter()
            .filter(|records| records.len() == batch)
            .filter_map(|records| records.last())
            .map(|r| list.order.position(r.seq))
            .min();
        let mut merged: Vec<(i64, Source)> = own
            .into_iter()
            .map(|r| (list.order.position(r.seq), Source::Own(r)))
            .chain(
                received
                    .into_iter()
                    .map(|r| (list.order.position(r.seq), Source::Received(r))),
            )
            .filter(|(position, _)| bound.is_none_or(|b| *position <= b))
            .collect();
        merged.sort_by_key(|(position, _)| *position);
        for (position, source) in merged {
            let resource = match source {
                Source::Own(record) => Some(decode::<T>(&record)?),
                Source::Received(receipt) => {
                    let id: String = decode(&receipt)?;
                    load::<T>(state, &id).await?
                }
            };
            if let Some(item) = resource.and_then(&mut entry) {
                items.push((position, item));
                if items.len() == batch {
                    break 'batches;
                }
            }
        }
        match bound {
            Some(b) => after = Some(b),
            None => break,
        }
    }
    Ok(pagination::page(list.scope, items, limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    /// A stand-in resource: own items and received ones are the same kind.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Item {
        id: String,
        failed: bool,
    }

    impl Resource for Item {
        const KIND: &'static str = "test-listing-item";
    }

    const RECEIPT: &str = "test-listing-receipt";

    use crate::server::temp_state as state;

    /// Stores, one after the other, items of membership `m` (`own`) and receipts of `m` for
    /// items of membership `other`; returns the ids in creation order of the item or receipt.
    async fn fill(state: &AppState, plan: &[(bool, bool)]) -> Vec<String> {
        let mut order = Vec::new();
        for (i, (own, failed)) in plan.iter().enumerate() {
            let item = Item {
                id: format!("item-{i}"),
                failed: *failed,
            };
            let parent = if *own { "m" } else { "other" };
            let mut writes = vec![crate::store::put(
                Item::KIND,
                &item.id,
                "us-east-1",
                "111111111111",
                Some(parent),
                &item,
            )
            .unwrap()];
            if !own {
                writes.push(
                    crate::store::put(
                        RECEIPT,
                        &format!("r-{i}"),
                        "us-east-1",
                        "111111111111",
                        Some("m"),
                        &item.id,
                    )
                    .unwrap(),
                );
            }
            state.store().commit(writes).await.unwrap();
            order.push(item.id);
        }
        order
    }

    /// Every page of the list, `max_results` at a time, keeping items `keep` accepts.
    async fn pages(
        state: &AppState,
        order: Order,
        max_results: i32,
        keep: impl Fn(&Item) -> bool + Copy,
    ) -> Vec<Vec<String>> {
        let mut token: Option<String> = None;
        let mut pages = Vec::new();
        loop {
            let (items, next) = own_and_received_page::<Item, String>(
                state,
                MergedList {
                    scope: "test:m",
                    membership_id: "m",
                    receipt_kind: RECEIPT,
                    order,
                    next_token: token.as_deref(),
                    max_results: Some(max_results),
                },
                |item| keep(&item).then_some(item.id),
            )
            .await
            .unwrap();
            pages.push(items);
            match next {
                Some(t) => token = Some(t),
                None => return pages,
            }
            assert!(pages.len() < 100, "the list does not end");
        }
    }

    #[tokio::test]
    async fn pages_merge_own_and_received_items_in_both_orders() {
        let (_dir, state) = state().await;
        // Own items and receipts interleaved unevenly, some of them filtered out, so that
        // batches of one source run ahead of the other.
        let plan: Vec<(bool, bool)> = (0..23).map(|i| (i % 3 != 1, i % 5 == 4)).collect();
        let ids = fill(&state, &plan).await;
        // Another membership's items are not listed unless received.
        let keep_all = |_: &Item| true;
        for max_results in [1, 2, 3, 7, 100] {
            let oldest = pages(&state, Order::OldestFirst, max_results, keep_all).await;
            let size = usize::try_from(max_results).unwrap();
            assert!(oldest.iter().all(|p| p.len() <= size));
            assert_eq!(oldest.len(), ids.len().div_ceil(size).max(1));
            assert_eq!(oldest.concat(), ids, "oldest first, {max_results} a page");
            let newest = pages(&state, Order::NewestFirst, max_results, keep_all).await;
            let mut reversed = ids.clone();
            reversed.reverse();
            assert_eq!(
                newest.concat(),
                reversed,
                "newest first, {max_results} a page"
            );
        }
        let failed: Vec<String> = ids
            .iter()
            .zip(&plan)
            .filter(|(_, (_, failed))| *failed)
            .map(|(id, _)| id.clone())
            .collect();
        let only_failed = pages(&state, Order::OldestFirst, 2, |i| i.failed).await;
        assert_eq!(only_failed.concat(), failed);
    }

    #[tokio::test]
    async fn tokens_of_another_list_are_refused_and_gone_items_skipped() {
        let (_dir, state) = state().await;
        let ids = fill(&state, &[(true, false), (false, false), (true, false)]).await;
        // The received item is deleted; its receipt stays.
        state
            .store()
            .commit(vec![crate::store::Write::Delete {
                kind: Item::KIND.into(),
                id: ids[1].clone(),
            }])
            .await
            .unwrap();
        let listed = pages(&state, Order::OldestFirst, 1, |_| true).await;
        assert_eq!(listed.concat(), vec![ids[0].clone(), ids[2].clone()]);
        let foreign = pagination::encode("test:other", 1);
        let refused = own_and_received_page::<Item, String>(
            &state,
            MergedList {
                scope: "test:m",
                membership_id: "m",
                receipt_kind: RECEIPT,
                order: Order::NewestFirst,
                next_token: Some(&foreign),
                max_results: None,
            },
            |item| Some(item.id),
        )
        .await;
        assert!(refused.is_err());
    }
}
