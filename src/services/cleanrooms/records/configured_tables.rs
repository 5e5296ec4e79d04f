//! Store access to configured tables.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::configured_table::ConfiguredTable;
use crate::services::cleanrooms::records;
use crate::state::AppState;
use crate::store::Write;
use cleanrooms_emulator_api::RequestContext;

/// The write that stores a configured table.
pub fn put_configured_table(region: &str, t: &ConfiguredTable) -> AwsResult<Write> {
    records::put(&t.id, region, &t.account_id, None, t)
}

/// The caller's associations of configured table `table_id`.
pub async fn associations_of_table(
    state: &AppState,
    ctx: &RequestContext,
    table_id: &str,
) -> AwsResult<Vec<Association>> {
    Ok(state
        .store()
        .query(
            &records::query::<Association>()
                .region(&ctx.region)
                .account(&ctx.account_id),
        )
        .await?
        .iter()
        .map(records::decode::<Association>)
        .collect::<AwsResult<Vec<_>>>()?
        .into_iter()
        .filter(|a| a.configured_table_id == table_id)
        .collect())
}
