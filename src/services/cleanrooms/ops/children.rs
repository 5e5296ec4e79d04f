//! The operations that every family of resources under a membership answers alike: Get of the
//! caller's own resource, List of its membership's resources, Update of fields that need no
//! check beyond ownership, Delete of a resource nothing depends on, and the collaboration's reads
//! for the families every active member sees whole. Each operation's input and output are tied
//! to their domain type by a small trait ([`OwnGet`], [`OwnList`], [`OwnUpdate`], [`OwnDelete`],
//! [`CollaborationGet`], [`CollaborationList`]); one generic handler serves every family.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::audience_model_association::AudienceModelAssociation;
use crate::services::cleanrooms::domain::id_mapping::{IdMappingTable, IdNamespaceAssociation};
use crate::services::cleanrooms::domain::naming::rename;
use crate::services::cleanrooms::domain::privacy_budget_template::PrivacyBudgetTemplate;
use crate::services::cleanrooms::records::access::{
    collaboration_child, collaboration_children_page, own_child, own_children_page, ChildRequest,
    MembershipChild, Standing,
};
use crate::services::cleanrooms::workflows::children::{delete_child, update_child};
use crate::state::AppState;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// A Get of one resource of the caller's own membership.
pub trait OwnGet: ChildRequest {
    /// The resource.
    type Child: MembershipChild;
    /// The operation's output.
    type Output;
    /// The output showing `child`.
    fn output(child: Self::Child) -> Self::Output;
}

/// A Get of one resource of a collaboration the caller is an active member of.
pub trait CollaborationGet {
    /// The resource.
    type Child: MembershipChild;
    /// The operation's output.
    type Output;
    /// `collaborationIdentifier` and the resource's identifier.
    fn target(&self) -> (&str, &str);
    /// The output showing `child`.
    fn output(child: Self::Child) -> Self::Output;
}

/// A List of the resources of the caller's own membership, or of a collaboration it is an
/// active member of.
pub trait ChildList {
    /// The resource.
    type Child: MembershipChild;
    /// One list entry.
    type Entry;
    /// The operation's output.
    type Output;
    /// The membership or collaboration identifier.
    fn parent(&self) -> &str;
    /// `nextToken` and `maxResults`.
    fn page(&self) -> (Option<&str>, Option<i32>);
    /// The entry of `child`.
    fn entry(child: &Self::Child) -> Self::Entry;
    /// The output of one page.
    fn output(entries: Vec<Self::Entry>, next_token: Option<String>) -> Self::Output;
}

/// A Delete of one resource of the caller's own membership that nothing else depends on: the
/// resource and its tags go.
pub trait OwnDelete: ChildRequest {
    /// The resource.
    type Child: MembershipChild;
    /// The operation's (empty) output.
    type Output: Default;
}

/// An Update of one resource of the caller's own membership, which must be ACTIVE, whose fields
/// change as given with no check beyond ownership.
pub trait OwnUpdate: ChildRequest + Sized {
    /// The resource.
    type Child: MembershipChild;
    /// The operation's output.
    type Output;
    /// Applies the request's fields to `child`.
    fn apply(self, child: &mut Self::Child);
    /// The output showing `child`.
    fn output(child: Self::Child) -> Self::Output;
}

/// Ties Update operations to their resource: `Input => Child => Output(field) by apply`, where
/// `apply(&mut child, input)` writes the request's fields.
macro_rules! updates {
    ($($input:ident => $child:ty => $output:ident($field:ident) by $apply:ident;)*) => {
        $(impl OwnUpdate for dto::$input {
            type Child = $child;
            type Output = dto::$output;
            fn apply(self, child: &mut $child) {
                $apply(child, self);
            }
            fn output(child: $child) -> dto::$output {
                dto::$output { $field: child.to_dto() }
            }
        }
        operation!($input by update_own);)*
    };
}

updates! {
    UpdateConfiguredTableAssociationInput => Association => UpdateConfiguredTableAssociationOutput(configured_table_association) by update_association;
    UpdateIdMappingTableInput => IdMappingTable => UpdateIdMappingTableOutput(id_mapping_table) by update_id_mapping_table;
    UpdateIdNamespaceAssociationInput => IdNamespaceAssociation => UpdateIdNamespaceAssociationOutput(id_namespace_association) by update_id_namespace_association;
    UpdateConfiguredAudienceModelAssociationInput => AudienceModelAssociation => UpdateConfiguredAudienceModelAssociationOutput(configured_audience_model_association) by update_audience_model_association;
}

/// UpdateConfiguredTableAssociation: description and role.
fn update_association(a: &mut Association, input: dto::UpdateConfiguredTableAssociationInput) {
    if let Some(description) = input.description {
        a.description = Some(description);
    }
    if let Some(role) = input.role_arn {
        a.role_arn = role;
    }
}

/// UpdateIdMappingTable: description and KMS key.
fn update_id_mapping_table(t: &mut IdMappingTable, input: dto::UpdateIdMappingTableInput) {
    if let Some(description) = input.description {
        t.description = Some(description);
    }
    if let Some(key) = input.kms_key_arn {
        t.kms_key_arn = Some(key);
    }
}

/// UpdateIdNamespaceAssociation: name, description and ID mapping configuration.
fn update_id_namespace_association(
    a: &mut IdNamespaceAssociation,
    input: dto::UpdateIdNamespaceAssociationInput,
) {
    rename(
        &mut a.name,
        &mut a.description,
        input.name,
        input.description,
    );
    if let Some(config) = input.id_mapping_config {
        a.id_mapping_config = Some(config);
    }
}

/// UpdateConfiguredAudienceModelAssociation: name and description.
fn update_audience_model_association(
    a: &mut AudienceModelAssociation,
    input: dto::UpdateConfiguredAudienceModelAssociationInput,
) {
    rename(
        &mut a.name,
        &mut a.description,
        input.name,
        input.description,
    );
}

/// Ties Delete operations to their resource: `Input => Child => Output`.
macro_rules! deletes {
    ($($input:ident => $child:ty => $output:ident;)*) => {
        $(impl OwnDelete for dto::$input {
            type Child = $child;
            type Output = dto::$output;
        }
        operation!($input by delete_own);)*
    };
}

deletes! {
    DeleteAnalysisTemplateInput => AnalysisTemplate => DeleteAnalysisTemplateOutput;
    DeleteConfiguredAudienceModelAssociationInput => AudienceModelAssociation => DeleteConfiguredAudienceModelAssociationOutput;
}

/// A [`ChildList`] of the caller's own membership.
pub trait OwnList: ChildList {}

/// A [`ChildList`] of a collaboration.
pub trait CollaborationList: ChildList {}

/// Ties Get operations to their resource: `Input(identifier field) => Child => Output(field) by
/// render` (the identifier is what [`CollaborationGet::target`] names; an [`OwnGet`] names its
/// resource as its [`ChildRequest`]).
macro_rules! gets {
    ($($kind:ident: $input:ident($id:ident) => $child:ty => $output:ident($field:ident) by $render:ident;)*) => {
        $(impl $kind for dto::$input {
            type Child = $child;
            type Output = dto::$output;
            gets!(@target $kind $id);
            fn output(child: $child) -> dto::$output {
                dto::$output { $field: child.$render() }
            }
        }
        operation!($input by gets!(@handler $kind));)*
    };
    (@handler OwnGet) => {
        get_own
    };
    (@handler CollaborationGet) => {
        get_in_collaboration
    };
    (@target OwnGet $id:ident) => {};
    (@target CollaborationGet $id:ident) => {
        fn target(&self) -> (&str, &str) {
            (self.collaboration_identifier.as_str(), self.$id.as_str())
        }
    };
}

gets! {
    OwnGet: GetIdNamespaceAssociationInput(id_namespace_association_identifier) => IdNamespaceAssociation => GetIdNamespaceAssociationOutput(id_namespace_association) by to_dto;
    OwnGet: GetConfiguredAudienceModelAssociationInput(configured_audience_model_association_identifier) => AudienceModelAssociation => GetConfiguredAudienceModelAssociationOutput(configured_audience_model_association) by to_dto;
    OwnGet: GetIdMappingTableInput(id_mapping_table_identifier) => IdMappingTable => GetIdMappingTableOutput(id_mapping_table) by to_dto;
    OwnGet: GetPrivacyBudgetTemplateInput(privacy_budget_template_identifier) => PrivacyBudgetTemplate => GetPrivacyBudgetTemplateOutput(privacy_budget_template) by to_dto;
}

gets! {
    CollaborationGet: GetCollaborationIdNamespaceAssociationInput(id_namespace_association_identifier) => IdNamespaceAssociation => GetCollaborationIdNamespaceAssociationOutput(collaboration_id_namespace_association) by to_collaboration_dto;
    CollaborationGet: GetCollaborationConfiguredAudienceModelAssociationInput(configured_audience_model_association_identifier) => AudienceModelAssociation => GetCollaborationConfiguredAudienceModelAssociationOutput(collaboration_configured_audience_model_association) by to_collaboration_dto;
}

/// Ties List operations to their resource: `Input(parent field) => Child => Output(entries
/// field) of Entry by render`.
macro_rules! lists {
    ($($kind:ident: $input:ident($parent:ident) => $child:ty => $output:ident($field:ident) of $entry:ident by $render:ident;)*) => {
        $(impl ChildList for dto::$input {
            type Child = $child;
            type Entry = dto::$entry;
            type Output = dto::$output;
            fn parent(&self) -> &str {
                &self.$parent
            }
            fn page(&self) -> (Option<&str>, Option<i32>) {
                (self.next_token.as_deref(), self.max_results)
            }
            fn entry(child: &$child) -> dto::$entry {
                child.$render()
            }
            fn output(entries: Vec<dto::$entry>, next_token: Option<String>) -> dto::$output {
                dto::$output { $field: entries, next_token }
            }
        }
        impl $kind for dto::$input {}
        operation!($input by lists!(@handler $kind));)*
    };
    (@handler OwnList) => {
        list_own
    };
    (@handler CollaborationList) => {
        list_in_collaboration
    };
}

lists! {
    OwnList: ListConfiguredTableAssociationsInput(membership_identifier) => Association => ListConfiguredTableAssociationsOutput(configured_table_association_summaries) of ConfiguredTableAssociationSummary by to_summary;
    OwnList: ListAnalysisTemplatesInput(membership_identifier) => AnalysisTemplate => ListAnalysisTemplatesOutput(analysis_template_summaries) of AnalysisTemplateSummary by to_summary;
    OwnList: ListPrivacyBudgetTemplatesInput(membership_identifier) => PrivacyBudgetTemplate => ListPrivacyBudgetTemplatesOutput(privacy_budget_template_summaries) of PrivacyBudgetTemplateSummary by to_summary;
    OwnList: ListIdNamespaceAssociationsInput(membership_identifier) => IdNamespaceAssociation => ListIdNamespaceAssociationsOutput(id_namespace_association_summaries) of IdNamespaceAssociationSummary by to_summary;
    OwnList: ListConfiguredAudienceModelAssociationsInput(membership_identifier) => AudienceModelAssociation => ListConfiguredAudienceModelAssociationsOutput(configured_audience_model_association_summaries) of ConfiguredAudienceModelAssociationSummary by to_summary;
    OwnList: ListIdMappingTablesInput(membership_identifier) => IdMappingTable => ListIdMappingTablesOutput(id_mapping_table_summaries) of IdMappingTableSummary by to_summary;
}

lists! {
    CollaborationList: ListCollaborationAnalysisTemplatesInput(collaboration_identifier) => AnalysisTemplate => ListCollaborationAnalysisTemplatesOutput(collaboration_analysis_template_summaries) of CollaborationAnalysisTemplateSummary by to_collaboration_summary;
    CollaborationList: ListCollaborationIdNamespaceAssociationsInput(collaboration_identifier) => IdNamespaceAssociation => ListCollaborationIdNamespaceAssociationsOutput(collaboration_id_namespace_association_summaries) of CollaborationIdNamespaceAssociationSummary by to_collaboration_summary;
    CollaborationList: ListCollaborationConfiguredAudienceModelAssociationsInput(collaboration_identifier) => AudienceModelAssociation => ListCollaborationConfiguredAudienceModelAssociationsOutput(collaboration_configured_audience_model_association_summaries) of CollaborationConfiguredAudienceModelAssociationSummary by to_collaboration_summary;
}

/// GetIdNamespaceAssociation, GetConfiguredAudienceModelAssociation, GetIdMappingTable and
/// GetPrivacyBudgetTemplate: the resource of the caller's own membership.
async fn get_own<I: OwnGet>(
    state: &AppState,
    ctx: &RequestContext,
    input: I,
) -> AwsResult<I::Output> {
    let (_, child) = own_child::<I::Child>(state, ctx, input.target()).await?;
    Ok(I::output(child))
}

/// UpdateConfiguredTableAssociation, UpdateIdMappingTable, UpdateIdNamespaceAssociation and
/// UpdateConfiguredAudienceModelAssociation: the caller's own resource, in an ACTIVE membership,
/// changed as the request says.
async fn update_own<I: OwnUpdate>(
    state: &AppState,
    ctx: &RequestContext,
    input: I,
) -> AwsResult<I::Output> {
    let child = update_child(state, ctx, input, |child, input: I| {
        input.apply(child);
        Ok(Vec::new())
    })
    .await?;
    Ok(I::output(child))
}

/// DeleteAnalysisTemplate and DeleteConfiguredAudienceModelAssociation: the caller's own
/// resource and its tags.
async fn delete_own<I: OwnDelete>(
    state: &AppState,
    ctx: &RequestContext,
    input: I,
) -> AwsResult<I::Output> {
    delete_child::<I::Child>(state, ctx, input.target()).await?;
    Ok(I::Output::default())
}

/// ListConfiguredTableAssociations, ListAnalysisTemplates, ListPrivacyBudgetTemplates,
/// ListIdNamespaceAssociations, ListConfiguredAudienceModelAssociations and
/// ListIdMappingTables: the resources of the caller's own membership, oldest first.
async fn list_own<I: OwnList>(
    state: &AppState,
    ctx: &RequestContext,
    input: I,
) -> AwsResult<I::Output> {
    let page = input.page();
    let (entries, next_token) =
        own_children_page(state, ctx, input.parent(), page, I::entry).await?;
    Ok(I::output(entries, next_token))
}

/// GetCollaborationIdNamespaceAssociation and
/// GetCollaborationConfiguredAudienceModelAssociation (any active member).
async fn get_in_collaboration<I: CollaborationGet>(
    state: &AppState,
    ctx: &RequestContext,
    input: I,
) -> AwsResult<I::Output> {
    let (collaboration, id) = input.target();
    let (c, _) = Standing::Active.check(state, ctx, collaboration).await?;
    let child = collaboration_child::<I::Child>(state, &c.id, id).await?;
    Ok(I::output(child))
}

/// ListCollaborationAnalysisTemplates, ListCollaborationIdNamespaceAssociations and
/// ListCollaborationConfiguredAudienceModelAssociations (any active member): every member's
/// resources, oldest first.
async fn list_in_collaboration<I: CollaborationList>(
    state: &AppState,
    ctx: &RequestContext,
    input: I,
) -> AwsResult<I::Output> {
    let collaboration = input.parent();
    let (c, _) = Standing::Active.check(state, ctx, collaboration).await?;
    let page = input.page();
    let (entries, next_token) = collaboration_children_page(state, &c.id, page, I::entry).await?;
    Ok(I::output(entries, next_token))
}
