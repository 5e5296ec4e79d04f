//! ARNs of Clean Rooms resources (the forms the service returns; membership-scoped resources use
//! the IAM form under their membership).

/// ARN of a collaboration.
pub fn collaboration_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:cleanrooms:{region}:{account}:collaboration/{id}")
}

/// ARN of a membership.
pub fn membership_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:cleanrooms:{region}:{account}:membership/{id}")
}

/// ARN of resource `id` of type `resource` (as named in ARNs) scoped under membership
/// `membership_id`.
fn membership_scoped(
    region: &str,
    account: &str,
    membership_id: &str,
    resource: &str,
    id: &str,
) -> String {
    format!(
        "{}/{resource}/{id}",
        membership_arn(region, account, membership_id)
    )
}

/// ARN of a configured table.
pub fn configured_table_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:cleanrooms:{region}:{account}:configuredtable/{id}")
}

/// ARN of a configured table association, in the IAM form scoped under its membership.
pub fn association_arn(region: &str, account: &str, membership_id: &str, id: &str) -> String {
    membership_scoped(
        region,
        account,
        membership_id,
        "configuredtableassociation",
        id,
    )
}

/// ARN of a privacy budget template, in the IAM form scoped under its membership (the model's
/// `PrivacyBudgetTemplateArn` pattern omits the membership; spec §1.2 prefers the IAM form).
pub fn privacy_budget_template_arn(
    region: &str,
    account: &str,
    membership_id: &str,
    id: &str,
) -> String {
    membership_scoped(region, account, membership_id, "privacybudgettemplate", id)
}

/// ARN of an analysis template, scoped under its membership.
pub fn analysis_template_arn(region: &str, account: &str, membership_id: &str, id: &str) -> String {
    membership_scoped(region, account, membership_id, "analysistemplate", id)
}

/// ARN of an intermediate table, scoped under its membership.
pub fn intermediate_table_arn(
    region: &str,
    account: &str,
    membership_id: &str,
    id: &str,
) -> String {
    membership_scoped(region, account, membership_id, "intermediatetable", id)
}

/// ARN of a configured audience model association, scoped under its membership.
pub fn audience_model_association_arn(
    region: &str,
    account: &str,
    membership_id: &str,
    id: &str,
) -> String {
    membership_scoped(
        region,
        account,
        membership_id,
        "configuredaudiencemodelassociation",
        id,
    )
}

/// ARN of an ID namespace association, scoped under its membership.
pub fn id_namespace_association_arn(
    region: &str,
    account: &str,
    membership_id: &str,
    id: &str,
) -> String {
    membership_scoped(region, account, membership_id, "idnamespaceassociation", id)
}

/// ARN of an ID mapping table, scoped under its membership.
pub fn id_mapping_table_arn(region: &str, account: &str, membership_id: &str, id: &str) -> String {
    membership_scoped(region, account, membership_id, "idmappingtable", id)
}
