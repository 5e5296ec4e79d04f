//! The access checks every operation shares: a collaboration the caller may see, its member
//! records, the caller's own membership behind a `/memberships/{id}` path, the runner of an
//! analysis (ACTIVE and CAN_QUERY), the caller's own configured and intermediate tables, and
//! the resources that live under one membership ([`MembershipChild`]).
//! Each check exists once; every operation uses it, so the same situation always gets the same
//! error.

use crate::error::{AwsError, AwsResult};
use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::audience_model_association::AudienceModelAssociation;
use crate::services::cleanrooms::domain::collaboration::{Collaboration, Member};
use crate::services::cleanrooms::domain::configured_table::ConfiguredTable;
use crate::services::cleanrooms::domain::id_mapping::{IdMappingTable, IdNamespaceAssociation};
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTable;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::domain::privacy_budget_template::PrivacyBudgetTemplate;
use crate::services::cleanrooms::errors::{
    access_denied, bad_token, conflict, not_found, not_found_msg, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::decode;
use crate::services::cleanrooms::records::tags::delete_tags;
use crate::state::AppState;
use crate::store::decode_shared;
use crate::store::Write;
use crate::util::pagination;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// The collaboration `id` in the caller's region, unless deleted.
pub async fn collaboration(state: &AppState, region: &str, id: &str) -> AwsResult<Collaboration> {
    let record = records::record::<Collaboration>(state, id).await?;
    match record {
        Some(r) if r.region == region => {
            let c: Collaboration = decode_shared(&r)?;
            if c.deleted {
                Err(not_found(ResourceType::Collaboration, id))
            } else {
                Ok(c)
            }
        }
        _ => Err(not_found(ResourceType::Collaboration, id)),
    }
}

/// The collaboration record `id` in `region`, deleted or not (memberships outlive their
/// collaboration).
pub async fn collaboration_record(
    state: &AppState,
    region: &str,
    id: &str,
) -> AwsResult<Option<Collaboration>> {
    match records::record::<Collaboration>(state, id).await? {
        Some(r) if r.region == region => Ok(Some(decode(&r)?)),
        _ => Ok(None),
    }
}

/// The member record of `account` in collaboration `collaboration_id`, if any.
pub async fn member(
    state: &AppState,
    collaboration_id: &str,
    account: &str,
) -> AwsResult<Option<Member>> {
    let record =
        records::record::<Member>(state, &Member::record_id(collaboration_id, account)).await?;
    record.map(|r| decode_shared(&r)).transpose()
}

/// All member records of a collaboration with their sequence numbers, in invitation order.
pub async fn members(
    state: &AppState,
    collaboration_id: &str,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, Member)>> {
    records::children::<Member>(state, collaboration_id, after).await
}

/// How far an account must have joined a collaboration to act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Invited or active: it may see the collaboration.
    Visible,
    /// `ACTIVE`.
    Active,
}

/// The collaboration `id` and the member record of `account` when it has `standing` there;
/// otherwise `AccessDeniedException` (or not-found for unknown/deleted collaborations).
async fn member_collaboration(
    state: &AppState,
    (region, account): (&str, &str),
    id: &str,
    standing: Standing,
) -> AwsResult<(Collaboration, Member)> {
    let collaboration = collaboration(state, region, id).await?;
    let (allowed, what) = match standing {
        Standing::Visible => (Member::can_view as fn(&Member) -> bool, "a member"),
        Standing::Active => (
            (|m: &Member| m.status == dto::MemberStatus::Active) as fn(&Member) -> bool,
            "an active member",
        ),
    };
    match member(state, id, account).await? {
        Some(m) if allowed(&m) => Ok((collaboration, m)),
        _ => Err(access_denied(format!(
            "Account {account} is not {what} of collaboration {id}"
        ))),
    }
}

impl Standing {
    /// The collaboration `id` and the caller's member record when the caller of `ctx` has this
    /// standing there; otherwise `AccessDeniedException` (or not-found for unknown or deleted
    /// collaborations).
    ///
    /// # Errors
    /// As [`member_collaboration`].
    pub async fn check(
        self,
        state: &AppState,
        ctx: &RequestContext,
        id: &str,
    ) -> AwsResult<(Collaboration, Member)> {
        member_collaboration(state, (&ctx.region, &ctx.account_id), id, self).await
    }
}

/// The membership `id` when it exists in `region` and belongs to `account`; otherwise
/// `ResourceNotFoundException(MEMBERSHIP)` (another account's membership is not revealed).
pub async fn own_membership(
    state: &AppState,
    region: &str,
    account: &str,
    id: &str,
) -> AwsResult<Membership> {
    match records::record::<Membership>(state, id).await? {
        Some(r) if r.region == region && r.account == account => decode(&r),
        _ => Err(not_found(ResourceType::Membership, id)),
    }
}

/// The caller's membership `membership_id` and its child resource `id` of type `T` (a
/// configured table association, an analysis or privacy budget template, an ID namespace or
/// audience-model association, an ID mapping table); `missing()` is the error when no such
/// resource lives under that membership, whoever owns one with that id elsewhere.
///
/// # Errors
/// `ResourceNotFoundException(MEMBERSHIP)` for a membership that is not the caller's, else
/// `missing()`.
pub async fn own_membership_child<T: records::Resource>(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
    missing: impl FnOnce() -> AwsError,
) -> AwsResult<(Membership, T)> {
    let m = own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    match records::record::<T>(state, id).await? {
        Some(r) if r.parent.as_deref() == Some(m.id.as_str()) => Ok((m, decode(&r)?)),
        _ => Err(missing()),
    }
}

/// A resource that one membership owns and its collaboration sees: a configured table
/// association, an analysis or privacy budget template, an ID namespace or audience-model
/// association, an ID mapping table.
pub trait MembershipChild: records::Listed {
    /// The list of a collaboration's resources, as named in its page tokens.
    const COLLABORATION_LIST_SCOPE: &'static str;
    /// The resource type a not-found error names when the caller's membership has no such
    /// resource.
    const MISSING_IN_MEMBERSHIP: ResourceType;
    /// Its id.
    fn child_id(&self) -> &str;
    /// Its ARN (what its tags are kept under).
    fn child_arn(&self) -> &str;
    /// The account owning it.
    fn owner_account(&self) -> &str;
    /// The membership it lives under.
    fn parent_membership(&self) -> &str;
    /// The collaboration of that membership.
    fn collaboration(&self) -> &str;
    /// Marks it changed at `now`.
    fn touch(&mut self, now: f64);
    /// The error for `id` when the caller has no such resource where it looked
    /// (`resource_type`: under its membership, or in the collaboration).
    fn missing(resource_type: ResourceType, id: &str) -> AwsError {
        not_found_msg(
            resource_type,
            id,
            format!("Could not find {} with id {id}", Self::NOUN),
        )
    }
}

/// Implements [`MembershipChild`] for domain types with the usual field names: `type => noun,
/// list scope, the resource type a missing one under a membership names`.
macro_rules! membership_children {
    ($($t:ty => $noun:literal, $scope:literal, $missing:ident;)*) => {
        $(impl records::Listed for $t {
            const NOUN: &'static str = $noun;
            const LIST_SCOPE: &'static str = $scope;
        }
        impl MembershipChild for $t {
            const COLLABORATION_LIST_SCOPE: &'static str = concat!("collaboration", $scope);
            const MISSING_IN_MEMBERSHIP: ResourceType = ResourceType::$missing;
            fn child_id(&self) -> &str {
                &self.header.id
            }
            fn child_arn(&self) -> &str {
                &self.header.arn
            }
            fn owner_account(&self) -> &str {
                &self.header.account_id
            }
            fn parent_membership(&self) -> &str {
                &self.header.membership_id
            }
            fn collaboration(&self) -> &str {
                &self.header.collaboration_id
            }
            fn touch(&mut self, now: f64) {
                self.update_time = now;
            }
        })*
    };
}

membership_children! {
    Association => "configured table association", "configuredtableassociations", ConfiguredTableAssociation;
    AnalysisTemplate => "analysis template", "analysistemplates", Membership;
    PrivacyBudgetTemplate => "privacy budget template", "privacybudgettemplates", Membership;
    IdNamespaceAssociation => "ID namespace association", "idnamespaceassociations", Membership;
    AudienceModelAssociation => "configured audience model association", "configuredaudiencemodelassociations", Membership;
    IdMappingTable => "ID mapping table", "idmappingtables", Membership;
}

/// A request naming one resource of the caller's membership.
pub trait ChildRequest {
    /// `membershipIdentifier` and the resource's identifier.
    fn target(&self) -> (&str, &str);
}

/// Implements [`ChildRequest`]: `Input(identifier field)`.
macro_rules! child_requests {
    ($($input:ident($id:ident),)*) => {
        $(impl ChildRequest for dto::$input {
            fn target(&self) -> (&str, &str) {
                (self.membership_identifier.as_str(), self.$id.as_str())
            }
        })*
    };
}

child_requests! {
    GetConfiguredTableAssociationInput(configured_table_association_identifier),
    UpdateConfiguredTableAssociationInput(configured_table_association_identifier),
    DeleteConfiguredTableAssociationInput(configured_table_association_identifier),
    CreateConfiguredTableAssociationAnalysisRuleInput(configured_table_association_identifier),
    GetConfiguredTableAssociationAnalysisRuleInput(configured_table_association_identifier),
    UpdateConfiguredTableAssociationAnalysisRuleInput(configured_table_association_identifier),
    DeleteConfiguredTableAssociationAnalysisRuleInput(configured_table_association_identifier),
    GetIdNamespaceAssociationInput(id_namespace_association_identifier),
    UpdateIdNamespaceAssociationInput(id_namespace_association_identifier),
    DeleteIdNamespaceAssociationInput(id_namespace_association_identifier),
}

child_requests! {
    GetConfiguredAudienceModelAssociationInput(configured_audience_model_association_identifier),
    UpdateConfiguredAudienceModelAssociationInput(configured_audience_model_association_identifier),
    DeleteConfiguredAudienceModelAssociationInput(configured_audience_model_association_identifier),
    GetIdMappingTableInput(id_mapping_table_identifier),
    UpdateIdMappingTableInput(id_mapping_table_identifier),
    DeleteIdMappingTableInput(id_mapping_table_identifier),
    PopulateIdMappingTableInput(id_mapping_table_identifier),
    GetPrivacyBudgetTemplateInput(privacy_budget_template_identifier),
    UpdatePrivacyBudgetTemplateInput(privacy_budget_template_identifier),
    DeletePrivacyBudgetTemplateInput(privacy_budget_template_identifier),
}

child_requests! {
    GetIntermediateTableInput(intermediate_table_identifier),
    UpdateIntermediateTableInput(intermediate_table_identifier),
    DeleteIntermediateTableInput(intermediate_table_identifier),
    PopulateIntermediateTableInput(intermediate_table_identifier),
    ListIntermediateTableVersionsInput(intermediate_table_identifier),
    CreateIntermediateTableAnalysisRuleInput(intermediate_table_identifier),
    GetIntermediateTableAnalysisRuleInput(intermediate_table_identifier),
    UpdateIntermediateTableAnalysisRuleInput(intermediate_table_identifier),
    DeleteIntermediateTableAnalysisRuleInput(intermediate_table_identifier),
}

/// Implements [`ChildRequest`] for analysis template requests, whose identifier may be the
/// template's id or its ARN.
macro_rules! template_requests {
    ($($input:ident),*) => {
        $(impl ChildRequest for dto::$input {
            fn target(&self) -> (&str, &str) {
                let id = &self.analysis_template_identifier;
                (
                    self.membership_identifier.as_str(),
                    id.rsplit('/').next().unwrap_or(id),
                )
            }
        })*
    };
}

template_requests!(
    GetAnalysisTemplateInput,
    UpdateAnalysisTemplateInput,
    DeleteAnalysisTemplateInput
);

/// The caller's membership and its child resource named by the pair (membership id, resource
/// id) (see [`own_membership_child`]), with the family's not-found error.
///
/// # Errors
/// As [`own_membership_child`].
pub async fn own_child<T: MembershipChild>(
    state: &AppState,
    ctx: &RequestContext,
    (membership_id, id): (&str, &str),
) -> AwsResult<(Membership, T)> {
    own_membership_child(state, ctx, membership_id, id, || {
        T::missing(T::MISSING_IN_MEMBERSHIP, id)
    })
    .await
}

/// As [`own_child`] for a change: the membership must also be ACTIVE.
///
/// # Errors
/// As [`own_child`]; `ConflictException` for a membership that is not ACTIVE.
pub async fn own_active_child<T: MembershipChild>(
    state: &AppState,
    ctx: &RequestContext,
    (membership_id, id): (&str, &str),
) -> AwsResult<(Membership, T)> {
    when_active(own_child::<T>(state, ctx, (membership_id, id)).await?)
}

/// The caller's membership `id` (see [`own_membership`]).
///
/// # Errors
/// As [`own_membership`].
pub async fn callers_membership(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> AwsResult<Membership> {
    own_membership(state, &ctx.region, &ctx.account_id, id).await
}

/// The store write of child resource `child` in `region`.
pub fn put_child<T: MembershipChild>(region: &str, child: &T) -> AwsResult<Write> {
    records::put(
        child.child_id(),
        region,
        child.owner_account(),
        Some(child.parent_membership()),
        child,
    )
}

/// The store writes deleting child resource `child` and its tags.
pub fn child_delete_writes<T: MembershipChild>(child: &T) -> [Write; 2] {
    [
        records::delete::<T>(child.child_id()),
        delete_tags(child.child_arn()),
    ]
}

/// The child resource `id` of type `T` when it lives in collaboration `collaboration_id`;
/// otherwise the family's not-found error for a collaboration.
///
/// # Errors
/// `ResourceNotFoundException`; store failures and unreadable records.
pub async fn collaboration_child<T: MembershipChild>(
    state: &AppState,
    collaboration_id: &str,
    id: &str,
) -> AwsResult<T> {
    match records::load::<T>(state, id).await? {
        Some(t) if t.collaboration() == collaboration_id => Ok(t),
        _ => Err(T::missing(ResourceType::Collaboration, id)),
    }
}

/// One page of the child resources `T` of every membership of collaboration
/// `collaboration_id`, oldest first, each shown as `entry` renders it, with the token of the
/// next page.
///
/// # Errors
/// `ValidationException` for a token of another list; store failures and unreadable records.
pub async fn collaboration_children_page<T: MembershipChild, S>(
    state: &AppState,
    collaboration_id: &str,
    (next_token, max_results): (Option<&str>, Option<i32>),
    entry: impl Fn(&T) -> S,
) -> AwsResult<(Vec<S>, Option<String>)> {
    let scope = format!("{}:{collaboration_id}", T::COLLABORATION_LIST_SCOPE);
    let after = pagination::resume(&scope, next_token, bad_token)?;
    let items = records::collaboration_children::<T>(state, collaboration_id)
        .await?
        .into_iter()
        .filter(|(seq, _)| after.is_none_or(|a| *seq > a))
        .map(|(seq, t)| (seq, entry(&t)))
        .collect();
    Ok(pagination::page(
        &scope,
        items,
        pagination::page_size(max_results),
    ))
}

/// One page of the child resources `T` of the caller's membership `membership_identifier`,
/// oldest first, each shown as `entry` renders it (see [`records::own_page`]).
///
/// # Errors
/// As [`records::own_page`].
pub async fn own_children_page<T: MembershipChild, S>(
    state: &AppState,
    ctx: &RequestContext,
    membership_identifier: &str,
    page: (Option<&str>, Option<i32>),
    entry: impl Fn(&T) -> S,
) -> AwsResult<(Vec<S>, Option<String>)> {
    records::own_page(
        state,
        ctx,
        membership_identifier,
        T::LIST_SCOPE,
        page,
        |t: T| Some(entry(&t)),
    )
    .await
}

/// `ConflictException(INVALID_STATE)` unless the membership is `ACTIVE`.
pub fn require_active(membership: &Membership) -> AwsResult<()> {
    if membership.is_active() {
        Ok(())
    } else {
        Err(conflict(
            ResourceType::Membership,
            &membership.id,
            ConflictReason::InvalidState,
            format!(
                "Membership {} is {}; only an ACTIVE membership can be changed",
                membership.id,
                membership.status.as_str()
            ),
        ))
    }
}

/// A resource `found` under `membership`, when the membership is `ACTIVE` (changes to what
/// lives under a membership need an active one).
///
/// # Errors
/// As [`require_active`].
pub fn when_active<T>((membership, found): (Membership, T)) -> AwsResult<(Membership, T)> {
    require_active(&membership)?;
    Ok((membership, found))
}

/// The collaboration and member record a membership is rendered with.
pub async fn membership_context(
    state: &AppState,
    region: &str,
    membership: &Membership,
) -> AwsResult<(Collaboration, Member)> {
    // A membership always has both: without them the store is damaged.
    let damaged = |problem: &'static str| {
        move || {
            AwsError::internal(format!(
                "membership {} {problem} {}",
                membership.id, membership.collaboration_id
            ))
        }
    };
    let collaboration = collaboration_record(state, region, &membership.collaboration_id)
        .await?
        .ok_or_else(damaged("refers to missing collaboration"))?;
    let member = member(state, &membership.collaboration_id, &membership.account_id)
        .await?
        .ok_or_else(damaged("has no member record in collaboration"))?;
    Ok((collaboration, member))
}

/// The caller's membership `membership_id`, which must be ACTIVE, with its collaboration and
/// the caller's member record: what acting through a membership starts from.
///
/// # Errors
/// As [`own_membership`] and [`require_active`].
pub async fn active_own_membership(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
) -> AwsResult<(Membership, Collaboration, Member)> {
    let m = own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    require_active(&m)?;
    let (collaboration, member) = membership_context(state, &ctx.region, &m).await?;
    Ok((m, collaboration, member))
}

/// The caller's membership `membership_id` (ACTIVE, as [`active_own_membership`]) whose member
/// has `ability`: what running a query or a job starts from.
///
/// # Errors
/// As [`active_own_membership`]; `AccessDeniedException` naming the ability the member lacks.
pub async fn member_able_to(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    ability: dto::MemberAbility,
) -> AwsResult<(Membership, Collaboration, Member)> {
    let (m, collaboration, member) = active_own_membership(state, ctx, membership_id).await?;
    if !member.abilities.contains(&ability) {
        return Err(access_denied(format!(
            "Account {} does not have the {} ability in collaboration {}",
            ctx.account_id,
            ability.as_str(),
            collaboration.id
        )));
    }
    Ok((m, collaboration, member))
}

/// The runner's membership, collaboration and member record, checked: ACTIVE and CAN_QUERY
/// (running a protected query, creating or populating an intermediate table).
///
/// # Errors
/// As [`member_able_to`].
pub async fn query_runner(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
) -> AwsResult<(Membership, Collaboration, Member)> {
    member_able_to(state, ctx, membership_id, dto::MemberAbility::CanQuery).await
}

fn table_not_found(id: &str) -> AwsError {
    not_found_msg(
        ResourceType::Membership,
        id,
        format!("Could not find intermediate table with id {id}"),
    )
}

/// The caller's membership `membership_id` and its intermediate table `id`. A table of another
/// membership of the same collaboration is `AccessDeniedException` (only the owner may act on
/// it); anything else is not found.
pub async fn owned_table(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<(Membership, IntermediateTable)> {
    let m = own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    match records::load::<IntermediateTable>(state, id).await? {
        Some(t) if t.header.membership_id == m.id => Ok((m, t)),
        Some(t) if t.header.collaboration_id == m.collaboration_id => Err(access_denied(format!(
            "Intermediate table {id} belongs to account {}; only its owner can access it",
            t.header.account_id
        ))),
        _ => Err(table_not_found(id)),
    }
}

/// As [`owned_table`] for a change of the table `target` (membership id, table id): the
/// membership must also be ACTIVE.
///
/// # Errors
/// As [`owned_table`]; `ConflictException` for a membership that is not ACTIVE.
pub async fn owned_active_table(
    state: &AppState,
    ctx: &RequestContext,
    (membership_id, id): (&str, &str),
) -> AwsResult<(Membership, IntermediateTable)> {
    when_active(owned_table(state, ctx, membership_id, id).await?)
}

/// The caller's configured table `id` in its region; others' tables are not found.
pub async fn own_table(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> AwsResult<ConfiguredTable> {
    match records::record::<ConfiguredTable>(state, id).await? {
        Some(r) if r.region == ctx.region && r.account == ctx.account_id => records::decode(&r),
        _ => Err(not_found(ResourceType::ConfiguredTable, id)),
    }
}
