//! Store access to privacy budget templates and the ledgers of what analyses spent from them.

use cleanrooms_emulator_api::cleanrooms::dto;

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::budget::Ledger;
use crate::services::cleanrooms::domain::privacy_budget_template::PrivacyBudgetTemplate;

use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::collaboration_children;
use crate::state::AppState;
use crate::store::{Expect, Write};

/// The ledger of template `template_id`, if anything was spent from it.
///
/// # Errors
/// When the store fails or the record is corrupt.
pub async fn ledger_of(state: &AppState, template_id: &str) -> AwsResult<Option<Ledger>> {
    records::load::<Ledger>(state, template_id).await
}

/// As [`ledger_of`], with what writing it back expects: the revision read, or no ledger.
///
/// # Errors
/// As [`ledger_of`].
pub async fn ledger_at(state: &AppState, template_id: &str) -> AwsResult<(Option<Ledger>, Expect)> {
    Ok(
        match records::load_versioned::<Ledger>(state, template_id).await? {
            Some(read) => (Some(read.value), Expect::Revision(read.revision)),
            None => (None, Expect::Absent),
        },
    )
}

/// The write that forgets what was spent from template `template_id`.
pub fn delete_ledger(template_id: &str) -> Write {
    records::delete::<Ledger>(template_id.to_string())
}

/// The `Put` of the ledger of template `t`.
pub fn put_ledger(t: &PrivacyBudgetTemplate, ledger: &Ledger) -> AwsResult<Write> {
    let region = t.header.arn.split(':').nth(3).unwrap_or_default();
    records::put(
        &t.header.id,
        region,
        &t.header.account_id,
        Some(&t.header.collaboration_id),
        ledger,
    )
}

/// Whether collaboration `collaboration_id` has its DIFFERENTIAL_PRIVACY privacy budget template
/// (the collaboration's DP policy; without it DP tables are not queryable).
pub async fn has_differential_privacy_template(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<bool> {
    Ok(
        collaboration_children::<PrivacyBudgetTemplate>(state, collaboration_id)
            .await?
            .iter()
            .any(|(_, t)| t.privacy_budget_type == dto::PrivacyBudgetType::DifferentialPrivacy),
    )
}
