//! Collaboration change requests: a proposed change to a collaboration's members or settings,
//! the vote of its active members, and the status machine
//! (`PENDING → APPROVED | DENIED`, `APPROVED → COMMITTED`, `PENDING | APPROVED → CANCELLED`).
//! [`ChangeRequest::vote`], [`ChangeRequest::cancel`] and [`ChangeRequest::commit`] decide who
//! may act and when; [`classify`] names the change types a requested change amounts to.

use crate::services::cleanrooms::domain::summary::summary_of;
use std::collections::BTreeMap;

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::collaboration::{Collaboration, Member};
use crate::services::cleanrooms::errors::{
    access_denied, conflict, invalid_configuration, ConflictReason, ResourceType,
};
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// A collaboration change request as stored (owner = the requesting account, parent = the
/// collaboration id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRequest {
    /// UUID.
    pub id: String,
    /// Collaboration id.
    pub collaboration_id: String,
    /// The account that created the request (the only one that may cancel or commit it).
    pub requester_account_id: String,
    /// The requested changes with the change types each amounts to.
    pub changes: Vec<dto::Change>,
    /// Each voting account's vote.
    pub approvals: BTreeMap<String, dto::ApprovalStatus>,
    /// Status.
    pub status: dto::ChangeRequestStatus,
    /// Whether every change type was in the collaboration's `autoApprovedChangeTypes`.
    pub is_auto_approved: bool,
    /// Creation time (epoch seconds).
    pub create_time: f64,
    /// Last update time (epoch seconds).
    pub update_time: f64,
}

/// Abilities a member change may never grant or take away.
const RESERVED_ABILITIES: [dto::MemberAbility; 2] =
    [dto::MemberAbility::CanQuery, dto::MemberAbility::CanRunJob];

/// The change types `input` amounts to against the collaboration's current members: a member
/// change for an account that is not a member (or left, or was removed) is `ADD_MEMBER`; for a
/// member, each ability, ML ability and payer difference is its grant/revoke or
/// payer-candidate type; a collaboration change is `EDIT_AUTO_APPROVED_CHANGE_TYPES`.
///
/// # Errors
/// `ValidationException` when the specification does not match its type, grants or revokes
/// `CAN_QUERY` / `CAN_RUN_JOB`, adds a member without a display name, or changes nothing.
pub fn classify(
    input: &dto::ChangeInput,
    collaboration: &Collaboration,
    members: &[Member],
) -> AwsResult<Vec<dto::ChangeType>> {
    use dto::ChangeType as T;
    match (&input.specification_type, &input.specification) {
        (
            dto::ChangeSpecificationType::Collaboration,
            dto::ChangeSpecification::Collaboration(c),
        ) => {
            let Some(wanted) = &c.auto_approved_change_types else {
                return Err(invalid_configuration(
                    "A COLLABORATION change must name autoApprovedChangeTypes",
                ));
            };
            let current = collaboration
                .auto_approved_change_types
                .clone()
                .unwrap_or_default();
            if same_set(wanted, &current) {
                return Err(invalid_configuration(format!(
                    "Collaboration {} already auto-approves exactly these change types",
                    collaboration.id
                )));
            }
            Ok(vec![T::EditAutoApprovedChangeTypes])
        }
        (dto::ChangeSpecificationType::Member, dto::ChangeSpecification::Member(m)) => {
            let existing = members.iter().find(|x| {
                x.account_id == m.account_id
                    && !matches!(
                        x.status,
                        dto::MemberStatus::Removed | dto::MemberStatus::Left
                    )
            });
            match existing {
                None => classify_new_member(m, collaboration),
                Some(current) => classify_member_edit(m, current),
            }
        }
        (t, _) => Err(invalid_configuration(format!(
            "specificationType {} does not match the specification given",
            t.as_str()
        ))),
    }
}

fn same_set<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}

fn classify_new_member(
    m: &dto::MemberChangeSpecification,
    collaboration: &Collaboration,
) -> AwsResult<Vec<dto::ChangeType>> {
    if m.account_id == collaboration.creator_account_id {
        return Err(invalid_configuration(format!(
            "Account {} created collaboration {} and cannot be added again",
            m.account_id, collaboration.id
        )));
    }
    if let Some(a) = m
        .member_abilities
        .iter()
        .find(|a| RESERVED_ABILITIES.contains(a))
    {
        return Err(invalid_configuration(format!(
            "A member change cannot grant {}; only the collaboration's creation decides who can query or run jobs",
            a.as_str()
        )));
    }
    if m.display_name.is_none() {
        return Err(invalid_configuration(format!(
            "Adding account {} needs a displayName",
            m.account_id
        )));
    }
    Ok(vec![dto::ChangeType::AddMember])
}

fn classify_member_edit(
    m: &dto::MemberChangeSpecification,
    current: &Member,
) -> AwsResult<Vec<dto::ChangeType>> {
    use dto::ChangeType as T;
    use dto::MemberAbility as A;
    let mut types = Vec::new();
    for reserved in RESERVED_ABILITIES {
        if m.member_abilities.contains(&reserved) != current.abilities.contains(&reserved) {
            return Err(invalid_configuration(format!(
                "A member change cannot grant or revoke {} (account {})",
                reserved.as_str(),
                m.account_id
            )));
        }
    }
    let mut diff = |ability: A, grant: T, revoke: T| match (
        current.abilities.contains(&ability),
        m.member_abilities.contains(&ability),
    ) {
        (false, true) => types.push(grant),
        (true, false) => types.push(revoke),
        _ => {}
    };
    diff(
        A::CanReceiveResults,
        T::GrantReceiveResultsAbility,
        T::RevokeReceiveResultsAbility,
    );
    diff(
        A::CanExportQueryAnalysisLog,
        T::GrantExportQueryAnalysisLogAbility,
        T::RevokeExportQueryAnalysisLogAbility,
    );
    if let Some(wanted) = &m.ml_member_abilities {
        let have = current
            .ml_abilities
            .as_ref()
            .map(|x| x.custom_ml_member_abilities.clone())
            .unwrap_or_default();
        let want = &wanted.custom_ml_member_abilities;
        for (ability, grant, revoke) in [
            (
                dto::CustomMLMemberAbility::CanReceiveModelOutput,
                T::GrantCanReceiveModelOutput,
                T::RevokeCanReceiveModelOutput,
            ),
            (
                dto::CustomMLMemberAbility::CanReceiveInferenceOutput,
                T::GrantCanReceiveInferenceOutput,
                T::RevokeCanReceiveInferenceOutput,
            ),
        ] {
            match (have.contains(&ability), want.contains(&ability)) {
                (false, true) => types.push(grant),
                (true, false) => types.push(revoke),
                _ => {}
            }
        }
    }
    if let Some(p) = &m.payment_configuration {
        match (
            current.payment_configuration.query_compute.is_responsible,
            p.query_compute.is_responsible,
        ) {
            (false, true) => types.push(T::AddPayerCandidate),
            (true, false) => types.push(T::RemovePayerCandidate),
            _ => {}
        }
    }
    if types.is_empty() {
        return Err(invalid_configuration(format!(
            "The member change for account {} changes nothing",
            m.account_id
        )));
    }
    Ok(types)
}

/// Whether every type in `types` is one the collaboration approves without a vote.
pub fn auto_approved(types: &[dto::ChangeType], collaboration: &Collaboration) -> bool {
    let allowed = collaboration
        .auto_approved_change_types
        .as_deref()
        .unwrap_or_default();
    types
        .iter()
        .all(|t| allowed.iter().any(|a| a.as_str() == t.as_str()))
}

impl ChangeRequest {
    /// A new request by `requester`: approved at once when `auto` (every type is
    /// auto-approved) or when the requester is the only voter; otherwise pending, with the
    /// requester's own vote counted as an approval.
    pub fn new(
        id: String,
        collaboration_id: String,
        requester: &str,
        changes: Vec<dto::Change>,
        voters: &[String],
        auto: bool,
        now: f64,
    ) -> Self {
        let mut approvals: BTreeMap<String, dto::ApprovalStatus> = voters
            .iter()
            .map(|v| (v.clone(), dto::ApprovalStatus::Pending))
            .collect();
        approvals.insert(requester.to_string(), dto::ApprovalStatus::Approved);
        if auto {
            for vote in approvals.values_mut() {
                *vote = dto::ApprovalStatus::Approved;
            }
        }
        let mut request = Self {
            id,
            collaboration_id,
            requester_account_id: requester.to_string(),
            changes,
            approvals,
            status: dto::ChangeRequestStatus::Pending,
            is_auto_approved: auto,
            create_time: now,
            update_time: now,
        };
        request.settle_votes();
        request
    }

    fn settle_votes(&mut self) {
        if self
            .approvals
            .values()
            .any(|v| *v == dto::ApprovalStatus::Denied)
        {
            self.status = dto::ChangeRequestStatus::Denied;
        } else if self
            .approvals
            .values()
            .all(|v| *v == dto::ApprovalStatus::Approved)
        {
            self.status = dto::ChangeRequestStatus::Approved;
        }
    }

    fn invalid_state(&self, action: dto::ChangeRequestAction) -> crate::error::AwsError {
        conflict(
            ResourceType::Collaboration,
            &self.id,
            ConflictReason::InvalidState,
            format!(
                "Change request {} is {}; {} is not possible in that status",
                self.id,
                self.status.as_str(),
                action.as_str()
            ),
        )
    }

    /// `APPROVE` or `DENY` by `account`: only a voting member other than the requester, only
    /// while the request is `PENDING` and the member has not voted. One denial denies the
    /// request; the last approval approves it.
    ///
    /// # Errors
    /// `AccessDeniedException` for an account without a vote; `ConflictException` when the
    /// request is not pending or the account voted already.
    pub fn vote(&mut self, account: &str, approve: bool, now: f64) -> AwsResult<()> {
        let action = if approve {
            dto::ChangeRequestAction::Approve
        } else {
            dto::ChangeRequestAction::Deny
        };
        if account == self.requester_account_id {
            return Err(access_denied(format!(
                "Account {account} created change request {} and cannot {} it",
                self.id,
                action.as_str()
            )));
        }
        let Some(current) = self.approvals.get(account).copied() else {
            return Err(access_denied(format!(
                "Account {account} has no vote on change request {}",
                self.id
            )));
        };
        if self.status != dto::ChangeRequestStatus::Pending {
            return Err(self.invalid_state(action));
        }
        if current != dto::ApprovalStatus::Pending {
            return Err(conflict(
                ResourceType::Collaboration,
                &self.id,
                ConflictReason::InvalidState,
                format!(
                    "Account {account} already voted {} on change request {}",
                    current.as_str(),
                    self.id
                ),
            ));
        }
        self.approvals.insert(
            account.to_string(),
            if approve {
                dto::ApprovalStatus::Approved
            } else {
                dto::ApprovalStatus::Denied
            },
        );
        self.settle_votes();
        self.update_time = now;
        Ok(())
    }

    fn check_requester(&self, account: &str, action: dto::ChangeRequestAction) -> AwsResult<()> {
        if account != self.requester_account_id {
            return Err(access_denied(format!(
                "Only the account that created change request {} ({}) can {} it",
                self.id,
                self.requester_account_id,
                action.as_str()
            )));
        }
        Ok(())
    }

    /// `CANCEL` by the requester while `PENDING` or `APPROVED`.
    ///
    /// # Errors
    /// `AccessDeniedException` for anyone else; `ConflictException` in another status.
    pub fn cancel(&mut self, account: &str, now: f64) -> AwsResult<()> {
        let action = dto::ChangeRequestAction::Cancel;
        self.check_requester(account, action)?;
        match self.status {
            dto::ChangeRequestStatus::Pending | dto::ChangeRequestStatus::Approved => {
                self.status = dto::ChangeRequestStatus::Cancelled;
                self.update_time = now;
                Ok(())
            }
            _ => Err(self.invalid_state(action)),
        }
    }

    /// `COMMIT` by the requester once `APPROVED` (the caller applies the changes in the same
    /// commit).
    ///
    /// # Errors
    /// `AccessDeniedException` for anyone else; `ConflictException` in another status.
    pub fn commit(&mut self, account: &str, now: f64) -> AwsResult<()> {
        let action = dto::ChangeRequestAction::Commit;
        self.check_requester(account, action)?;
        if self.status != dto::ChangeRequestStatus::Approved {
            return Err(self.invalid_state(action));
        }
        self.status = dto::ChangeRequestStatus::Committed;
        self.update_time = now;
        Ok(())
    }

    fn approvals_dto(&self) -> Option<BTreeMap<String, dto::ApprovalStatusDetails>> {
        Some(
            self.approvals
                .iter()
                .map(|(k, v)| (k.clone(), dto::ApprovalStatusDetails { status: *v }))
                .collect(),
        )
    }

    /// The `CollaborationChangeRequest` shape.
    pub fn to_dto(&self) -> dto::CollaborationChangeRequest {
        dto::CollaborationChangeRequest {
            approvals: self.approvals_dto(),
            changes: self.changes.clone(),
            collaboration_id: self.collaboration_id.clone(),
            create_time: self.create_time,
            id: self.id.clone(),
            is_auto_approved: self.is_auto_approved,
            status: self.status,
            update_time: self.update_time,
        }
    }

    /// The `CollaborationChangeRequestSummary` shape.
    pub fn to_summary(&self) -> dto::CollaborationChangeRequestSummary {
        summary_of!(self.to_dto() => dto::CollaborationChangeRequestSummary {
            approvals, changes, collaboration_id, create_time, id, is_auto_approved, status,
            update_time,
        })
    }
}

/// What committing the member change `spec` does to the member record that exists (`Some`) or
/// not (`None`): the member record to store (a new member starts `INVITED`).
pub fn apply_member_change(
    spec: &dto::MemberChangeSpecification,
    existing: Option<&Member>,
    collaboration_id: &str,
    now: f64,
) -> Member {
    match existing {
        Some(current) => {
            let mut m = current.clone();
            m.abilities = spec.member_abilities.clone();
            if let Some(ml) = &spec.ml_member_abilities {
                m.ml_abilities = Some(ml.clone());
            }
            if let Some(p) = &spec.payment_configuration {
                m.payment_configuration.query_compute.is_responsible =
                    p.query_compute.is_responsible;
            }
            if let Some(name) = &spec.display_name {
                m.display_name = name.clone();
            }
            m.update_time = now;
            m
        }
        None => Member {
            collaboration_id: collaboration_id.to_string(),
            account_id: spec.account_id.clone(),
            display_name: spec.display_name.clone().unwrap_or_default(),
            abilities: spec.member_abilities.clone(),
            ml_abilities: spec.ml_member_abilities.clone(),
            status: dto::MemberStatus::Invited,
            membership_id: None,
            membership_arn: None,
            payment_configuration: spec.payment_configuration.clone().unwrap_or(
                dto::PaymentConfiguration {
                    query_compute: dto::QueryComputePaymentConfig {
                        is_responsible: false,
                    },
                    machine_learning: None,
                    job_compute: None,
                },
            ),
            create_time: now,
            update_time: now,
        },
    }
}
