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

/// Declares the ARN functions of membership-scoped resources: `fn(region, account,
/// membership_id, id)` giving the IAM form under the membership, for each resource type as ARNs
/// name it.
macro_rules! membership_scoped_arns {
    ($($(#[$doc:meta])* $name:ident => $resource:literal;)*) => {
        $($(#[$doc])*
        pub fn $name(region: &str, account: &str, membership_id: &str, id: &str) -> String {
            membership_scoped(region, account, membership_id, $resource, id)
        })*
    };
}

membership_scoped_arns! {
    /// ARN of a configured table association, in the IAM form scoped under its membership.
    association_arn => "configuredtableassociation";
    /// ARN of a privacy budget template, in the IAM form scoped under its membership (the model's
    /// `PrivacyBudgetTemplateArn` pattern omits the membership; spec §1.2 prefers the IAM form).
    privacy_budget_template_arn => "privacybudgettemplate";
    /// ARN of an analysis template, scoped under its membership.
    analysis_template_arn => "analysistemplate";
    /// ARN of an intermediate table, scoped under its membership.
    intermediate_table_arn => "intermediatetable";
    /// ARN of a configured audience model association, scoped under its membership.
    audience_model_association_arn => "configuredaudiencemodelassociation";
    /// ARN of an ID namespace association, scoped under its membership.
    id_namespace_association_arn => "idnamespaceassociation";
    /// ARN of an ID mapping table, scoped under its membership.
    id_mapping_table_arn => "idmappingtable";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_scoped_resources_have_the_iam_form_under_their_membership() {
        assert_eq!(
            analysis_template_arn("us-east-1", "111111111111", "m1", "t1"),
            "arn:aws:cleanrooms:us-east-1:111111111111:membership/m1/analysistemplate/t1"
        );
        assert_eq!(
            association_arn("eu-west-1", "222222222222", "m2", "a2"),
            "arn:aws:cleanrooms:eu-west-1:222222222222:membership/m2/configuredtableassociation/a2"
        );
    }
}
