//! Lineage of intermediate tables: the base-table dependencies of a stored query, the tables
//! built on a table, the multi-party check of an owner's rule against the inherited (deferred)
//! controls, and the effective policy an analysis enforces. Pure functions over domain values.

use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::child::ChildHeader;
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTable;
use cleanrooms_emulator_api::cleanrooms::dto;
use std::collections::{BTreeSet, HashSet};

// ---------------------------------------------------------------------------------------------
// Dependencies of a stored query
// ---------------------------------------------------------------------------------------------

/// Why the tables a stored query names cannot all be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DependencyError {
    /// A name is neither an association nor an intermediate table of the collaboration.
    #[error("table '{0}' is not a table or intermediate table of the collaboration")]
    Unknown(String),
    /// A named intermediate table can never be read again.
    #[error("intermediate table '{name}' is {status} and can no longer be used as a base table")]
    Unusable {
        /// Its name.
        name: String,
        /// Its status.
        status: &'static str,
    },
}

/// The `tableDependencies` of a query naming `referenced` (lower-case names, in order): one
/// `DIRECT` entry per named association (`TABLE`, with the association's id, name and owner) or
/// intermediate table, then one `INDIRECT` entry per base table reached through the named
/// intermediate tables (their own dependencies, which are already transitive), each table once.
///
/// # Errors
/// The first name that is not a table of the collaboration, or an intermediate table whose
/// base tables are gone or that a data provider disallowed.
pub fn dependencies(
    referenced: &[String],
    associations: &[Association],
    tables: &[IntermediateTable],
) -> Result<Vec<dto::IntermediateTableDependency>, DependencyError> {
    let mut direct = Vec::new();
    let mut indirect = Vec::new();
    for name in referenced {
        if let Some(a) = associations.iter().find(|a| a.name == *name) {
            direct.push(direct_dependency(
                &a.header,
                &a.name,
                dto::BaseTableDependencyType::Table,
            ));
        } else if let Some(t) = tables.iter().find(|t| t.name == *name) {
            if t.is_terminal() {
                return Err(DependencyError::Unusable {
                    name: t.name.clone(),
                    status: t.status.as_str(),
                });
            }
            direct.push(direct_dependency(
                &t.header,
                &t.name,
                dto::BaseTableDependencyType::IntermediateTable,
            ));
            indirect.extend(
                t.dependencies
                    .iter()
                    .map(|d| dto::IntermediateTableDependency {
                        parent_type: dto::BaseTableParentType::Indirect,
                        ..d.clone()
                    }),
            );
        } else {
            return Err(DependencyError::Unknown(name.clone()));
        }
    }
    let mut seen = HashSet::new();
    Ok(direct
        .into_iter()
        .chain(indirect)
        .filter(|d| seen.insert(d.id.clone()))
        .collect())
}

/// The `DIRECT` dependency on the table of type `r#type` that `header` and `name` describe.
fn direct_dependency(
    header: &ChildHeader,
    name: &str,
    r#type: dto::BaseTableDependencyType,
) -> dto::IntermediateTableDependency {
    dto::IntermediateTableDependency {
        creator_account_id: header.account_id.clone(),
        id: header.id.clone(),
        name: name.to_string(),
        parent_type: dto::BaseTableParentType::Direct,
        r#type,
    }
}

/// The tables of `tables` built on table `id` (directly or transitively), in the given order.
pub fn descendants<'a>(tables: &'a [IntermediateTable], id: &str) -> Vec<&'a IntermediateTable> {
    tables
        .iter()
        .filter(|t| t.header.id != id && t.depends_on(id))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Deferred controls: the owner's rule against the inherited constraints
// ---------------------------------------------------------------------------------------------

/// How restrictive an `additionalAnalyses` value is (`REQUIRED > ALLOWED > NOT_ALLOWED`, as the
/// intermediate-table rule validation orders them).
pub fn restrictiveness(value: dto::AdditionalAnalyses) -> u8 {
    match value {
        dto::AdditionalAnalyses::NotAllowed => 0,
        dto::AdditionalAnalyses::Allowed => 1,
        dto::AdditionalAnalyses::Required => 2,
    }
}

/// The first way `rule` loosens the controls inherited by a multi-party table, as a message
/// naming the control and the values at fault; `None` when the rule is as or more restrictive.
///
/// A control the rule leaves out inherits the captured value unchanged, so only controls the
/// rule sets are compared: `allowedResultReceivers` and `allowedAdditionalAnalyses` must be
/// subsets of the inherited values, `disallowedOutputColumns` a superset, `additionalAnalyses`
/// at least as restrictive.
pub fn inherited_violation(
    rule: &dto::IntermediateTableAnalysisRuleCustom,
    inherited: &dto::IntermediateTableInheritedConstraints,
) -> Option<String> {
    let not_in = |values: &[String], allowed: &[String]| -> Vec<String> {
        values
            .iter()
            .filter(|v| !allowed.contains(v))
            .cloned()
            .collect()
    };
    // The lists the rule may only narrow: every value it names must be inherited.
    let narrowed = [
        (
            "allowedResultReceivers",
            "receivers",
            &rule.allowed_result_receivers,
            inherited
                .allowed_result_receivers
                .as_ref()
                .map(|i| &i.value),
        ),
        (
            "allowedAdditionalAnalyses",
            "additional analyses",
            &rule.allowed_additional_analyses,
            inherited
                .allowed_additional_analyses
                .as_ref()
                .map(|i| &i.value),
        ),
    ];
    for (field, what, mine, inh) in narrowed {
        let (Some(mine), Some(inh)) = (mine, inh) else {
            continue;
        };
        let extra = not_in(mine, inh);
        if !extra.is_empty() {
            return Some(format!(
                "{field} may only narrow the inherited {what} [{}]; [{}] are not among them",
                inh.join(", "),
                extra.join(", ")
            ));
        }
    }
    if let (Some(mine), Some(inh)) = (
        &rule.disallowed_output_columns,
        &inherited.disallowed_output_columns,
    ) {
        let missing = not_in(&inh.value, mine);
        if !missing.is_empty() {
            return Some(format!(
                "disallowedOutputColumns must keep every inherited disallowed column [{}]; [{}] are missing",
                inh.value.join(", "),
                missing.join(", ")
            ));
        }
    }
    if let (Some(mine), Some(inh)) = (rule.additional_analyses, &inherited.additional_analyses) {
        if restrictiveness(mine) < restrictiveness(inh.value) {
            return Some(format!(
                "additionalAnalyses {} is less restrictive than the inherited {} (REQUIRED > ALLOWED > NOT_ALLOWED)",
                mine.as_str(),
                inh.value.as_str()
            ));
        }
    }
    None
}

/// The custom policy an analysis of the table enforces: the owner's rule combined with the
/// inherited constraints that bind it (`ActiveVersion::binding_inherited`) — result receivers and allowed additional analyses intersected,
/// disallowed output columns united, the more restrictive `additionalAnalyses`. A control set
/// on one side only is taken from that side.
pub fn effective_policy(
    rule: &dto::IntermediateTableAnalysisRuleCustom,
    inherited: Option<&dto::IntermediateTableInheritedConstraints>,
) -> dto::IntermediateTableAnalysisRuleCustom {
    let mut out = rule.clone();
    let Some(inh) = inherited else {
        return out;
    };
    let intersect = |mine: &Option<Vec<String>>, theirs: Option<&Vec<String>>| match (mine, theirs)
    {
        (Some(m), Some(t)) => Some(m.iter().filter(|v| t.contains(v)).cloned().collect()),
        (Some(m), None) => Some(m.clone()),
        (None, t) => t.cloned(),
    };
    out.allowed_result_receivers = intersect(
        &rule.allowed_result_receivers,
        inh.allowed_result_receivers.as_ref().map(|i| &i.value),
    );
    out.allowed_additional_analyses = intersect(
        &rule.allowed_additional_analyses,
        inh.allowed_additional_analyses.as_ref().map(|i| &i.value),
    );
    if let Some(i) = &inh.disallowed_output_columns {
        let mut columns = rule.disallowed_output_columns.clone().unwrap_or_default();
        let have: BTreeSet<String> = columns.iter().cloned().collect();
        columns.extend(i.value.iter().filter(|c| !have.contains(*c)).cloned());
        out.disallowed_output_columns = Some(columns);
    }
    if let Some(i) = &inh.additional_analyses {
        out.additional_analyses = Some(match rule.additional_analyses {
            Some(mine) if restrictiveness(mine) >= restrictiveness(i.value) => mine,
            _ => i.value,
        });
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::services::cleanrooms::domain::arn::intermediate_table_arn;
    use crate::services::cleanrooms::domain::child::ChildHeader;
    use crate::services::cleanrooms::domain::intermediate_table::DEFAULT_RETENTION_DAYS;

    /// A table named `name` owned by `account` with `deps`, in collaboration `c`.
    pub(crate) fn table(
        id: &str,
        name: &str,
        account: &str,
        deps: Vec<dto::IntermediateTableDependency>,
    ) -> IntermediateTable {
        IntermediateTable {
            header: ChildHeader {
                id: id.into(),
                arn: intermediate_table_arn("us-east-1", account, "m", id),
                account_id: account.into(),
                membership_id: "m".into(),
                membership_arn: "arn:aws:cleanrooms:us-east-1:111111111111:membership/m".into(),
                collaboration_id: "c".into(),
            },
            collaboration_arn: "arn:aws:cleanrooms:us-east-1:111111111111:collaboration/c".into(),
            name: name.into(),
            description: None,
            population: dto::PopulationAnalysisConfiguration::SqlParameters(
                dto::PopulationAnalysisSqlParameters {
                    analysis_template_arn: None,
                    query_string: Some("SELECT 1".into()),
                },
            ),
            kms_key_arn: None,
            retention_in_days: DEFAULT_RETENTION_DAYS,
            status: dto::IntermediateTableStatus::Created,
            status_reason: None,
            dependencies: deps,
            active: None,
            schema: None,
            has_rule: false,
            populating: None,
            create_time: 0.0,
            update_time: 0.0,
        }
    }

    fn association(id: &str, name: &str, account: &str) -> Association {
        Association {
            header: ChildHeader {
                id: id.into(),
                arn: String::new(),
                account_id: account.into(),
                membership_id: "mb".into(),
                membership_arn: String::new(),
                collaboration_id: "c".into(),
            },
            configured_table_id: "ct".into(),
            configured_table_arn: String::new(),
            name: name.into(),
            description: None,
            role_arn: String::new(),
            analysis_rule_types: Vec::new(),
            create_time: 0.0,
            update_time: 0.0,
        }
    }

    /// `name TYPE PARENT_TYPE` of each dependency, comma-separated.
    fn names(deps: &[dto::IntermediateTableDependency]) -> String {
        deps.iter()
            .map(|d| {
                format!(
                    "{} {} {}",
                    d.name,
                    d.r#type.as_str(),
                    d.parent_type.as_str()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    #[test]
    fn dependencies_are_direct_then_indirect_without_duplicates() {
        let assocs = [
            association("a1", "b_spend", "222222222222"),
            association("a2", "c_orders", "333333333333"),
        ];
        let refs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let t1_deps = dependencies(&refs(&["b_spend", "c_orders"]), &assocs, &[]).unwrap();
        let t1 = table("t1", "t1", "111111111111", t1_deps);
        let deps = dependencies(
            &refs(&["t1", "b_spend"]),
            &assocs,
            std::slice::from_ref(&t1),
        )
        .unwrap();
        assert_eq!(
            names(&deps),
            "t1 INTERMEDIATE_TABLE DIRECT, b_spend TABLE DIRECT, c_orders TABLE INDIRECT"
        );
        assert_eq!(deps[1].creator_account_id, "222222222222");
        assert_eq!(deps[1].id, "a1");
        let t2 = table("t2", "t2", "111111111111", deps);
        let deps = dependencies(&refs(&["t2"]), &assocs, &[t1, t2]).unwrap();
        assert_eq!(
            names(&deps),
            "t2 INTERMEDIATE_TABLE DIRECT, t1 INTERMEDIATE_TABLE INDIRECT, \
             b_spend TABLE INDIRECT, c_orders TABLE INDIRECT"
        );
    }

    #[test]
    fn unknown_and_unusable_tables_are_named() {
        let err = dependencies(&["nope".into()], &[], &[]).unwrap_err();
        assert_eq!(err, DependencyError::Unknown("nope".into()));
        assert!(err.to_string().contains("'nope'"));
        let mut t = table("t1", "t1", "111111111111", Vec::new());
        t.status = dto::IntermediateTableStatus::BaseTableRemoved;
        let err = dependencies(&["t1".into()], &[], &[t]).unwrap_err();
        assert!(err.to_string().contains("BASE_TABLE_REMOVED"));
    }

    #[test]
    fn descendants_follow_the_transitive_dependencies() {
        let dep = |id: &str, parent| dto::IntermediateTableDependency {
            creator_account_id: "111111111111".into(),
            id: id.into(),
            name: id.into(),
            parent_type: parent,
            r#type: dto::BaseTableDependencyType::IntermediateTable,
        };
        let t1 = table("t1", "t1", "1", Vec::new());
        let t2 = table(
            "t2",
            "t2",
            "1",
            vec![dep("t1", dto::BaseTableParentType::Direct)],
        );
        let t3 = table(
            "t3",
            "t3",
            "1",
            vec![
                dep("t2", dto::BaseTableParentType::Direct),
                dep("t1", dto::BaseTableParentType::Indirect),
            ],
        );
        let all = [t1, t2, t3];
        let ids: Vec<&str> = descendants(&all, "t1")
            .iter()
            .map(|t| t.header.id.as_str())
            .collect();
        assert_eq!(ids, ["t2", "t3"]);
        assert!(descendants(&all, "t3").is_empty());
    }

    /// A custom intermediate-table rule policy: any query, by account 111111111111.
    pub(crate) fn any_query_custom() -> dto::IntermediateTableAnalysisRuleCustom {
        dto::IntermediateTableAnalysisRuleCustom {
            allowed_analyses: Some(vec![
                crate::services::cleanrooms::domain::configured_table::ANY_QUERY.into(),
            ]),
            allowed_analysis_providers: Some(vec!["111111111111".into()]),
            ..Default::default()
        }
    }

    /// Active version "v" of population "q" (Delta version 0) with every inherited control set
    /// (see [`inherited`]), expiring at `expiration_time`.
    pub(crate) fn active_version(
        first_party: bool,
        expiration_time: f64,
    ) -> crate::services::cleanrooms::domain::intermediate_table::ActiveVersion {
        crate::services::cleanrooms::domain::intermediate_table::ActiveVersion {
            version_id: "v".into(),
            analysis_id: "q".into(),
            delta_version: 0,
            kms_key_arn: None,
            parameters: None,
            inherited: inherited(),
            first_party,
            expiration_time,
        }
    }

    /// Inherited constraints with every control set.
    pub(crate) fn inherited() -> dto::IntermediateTableInheritedConstraints {
        dto::IntermediateTableInheritedConstraints {
            additional_analyses: Some(dto::InheritedAdditionalAnalyses {
                sources: Vec::new(),
                value: dto::AdditionalAnalyses::Allowed,
            }),
            allowed_additional_analyses: Some(dto::InheritedAllowedAdditionalAnalyses {
                sources: Vec::new(),
                value: vec!["arn:x".into(), "arn:y".into()],
            }),
            allowed_result_receivers: Some(dto::InheritedAllowedResultReceivers {
                sources: Vec::new(),
                value: vec!["111111111111".into(), "222222222222".into()],
            }),
            disallowed_output_columns: Some(dto::InheritedDisallowedOutputColumns {
                column_lineage: Vec::new(),
                value: vec!["email".into()],
            }),
        }
    }

    #[test]
    fn a_rule_may_only_tighten_inherited_controls() {
        let inh = inherited();
        let mut rule = dto::IntermediateTableAnalysisRuleCustom::default();
        assert_eq!(inherited_violation(&rule, &inh), None);
        rule.allowed_result_receivers = Some(vec!["111111111111".into()]);
        rule.allowed_additional_analyses = Some(vec!["arn:y".into()]);
        rule.disallowed_output_columns = Some(vec!["email".into(), "phone".into()]);
        rule.additional_analyses = Some(dto::AdditionalAnalyses::Required);
        assert_eq!(inherited_violation(&rule, &inh), None);

        let mut r = rule.clone();
        r.allowed_result_receivers = Some(vec!["333333333333".into()]);
        assert!(
            inherited_violation(&r, &inh).is_some_and(
                |m| m.starts_with("allowedResultReceivers") && m.contains("333333333333")
            )
        );
        let mut r = rule.clone();
        r.allowed_additional_analyses = Some(vec!["arn:z".into()]);
        assert!(inherited_violation(&r, &inh)
            .is_some_and(|m| m.starts_with("allowedAdditionalAnalyses") && m.contains("arn:z")));
        let mut r = rule.clone();
        r.disallowed_output_columns = Some(vec!["phone".into()]);
        assert!(inherited_violation(&r, &inh)
            .is_some_and(|m| m.starts_with("disallowedOutputColumns") && m.contains("email")));
        let mut r = rule;
        r.additional_analyses = Some(dto::AdditionalAnalyses::NotAllowed);
        assert!(inherited_violation(&r, &inh)
            .is_some_and(|m| m.starts_with("additionalAnalyses") && m.contains("NOT_ALLOWED")));
    }

    #[test]
    fn the_effective_policy_combines_rule_and_inherited_controls() {
        let rule = dto::IntermediateTableAnalysisRuleCustom {
            allowed_result_receivers: Some(vec!["222222222222".into(), "333333333333".into()]),
            disallowed_output_columns: Some(vec!["phone".into()]),
            additional_analyses: Some(dto::AdditionalAnalyses::NotAllowed),
            ..Default::default()
        };
        let e = effective_policy(&rule, Some(&inherited()));
        assert_eq!(
            e.allowed_result_receivers,
            Some(vec!["222222222222".into()])
        );
        assert_eq!(
            e.disallowed_output_columns,
            Some(vec!["phone".into(), "email".into()])
        );
        assert_eq!(
            e.allowed_additional_analyses,
            Some(vec!["arn:x".into(), "arn:y".into()])
        );
        assert_eq!(
            e.additional_analyses,
            Some(dto::AdditionalAnalyses::Allowed)
        );
        assert_eq!(effective_policy(&rule, None), rule);
    }

    #[test]
    fn region_comes_from_the_arn() {
        assert_eq!(
            table("t", "t", "111111111111", Vec::new()).region(),
            "us-east-1"
        );
    }
}
