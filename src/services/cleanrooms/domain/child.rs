//! The identity every resource one membership owns shares: its id and ARN, the account that
//! owns it, and the membership and collaboration it lives in.

use crate::services::cleanrooms::domain::membership::Membership;
use serde::{Deserialize, Serialize};

/// The identity and place of a resource owned by one membership (a configured table
/// association, an analysis or privacy budget template, an ID namespace or audience model
/// association, an ID mapping table, an intermediate table). Stored flattened into the
/// resource's own record, so its fields are top-level keys of the record's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChildHeader {
    /// UUID.
    pub id: String,
    /// ARN (under the membership).
    pub arn: String,
    /// Owning account (the membership's member).
    pub account_id: String,
    /// Membership id.
    pub membership_id: String,
    /// Membership ARN.
    pub membership_arn: String,
    /// Collaboration id.
    pub collaboration_id: String,
}

impl ChildHeader {
    /// The header of a new resource `id` of `account` under `membership`, its ARN built by
    /// `arn_of(region, account, membership id, id)`.
    pub fn new(
        region: &str,
        account: &str,
        membership: &Membership,
        id: String,
        arn_of: fn(&str, &str, &str, &str) -> String,
    ) -> Self {
        ChildHeader {
            arn: arn_of(region, account, &membership.id, &id),
            id,
            account_id: account.to_string(),
            membership_id: membership.id.clone(),
            membership_arn: membership.arn.clone(),
            collaboration_id: membership.collaboration_id.clone(),
        }
    }
}

/// Writes a generated shape of a resource whose [`ChildHeader`] is its field `header`, with the
/// fields every such shape shares filled in: `arn`, `collaboration_id` and `id` from the header,
/// then for an `owner` shape (the owning membership's view) `membership_arn` and
/// `membership_id`, for a `collaboration` shape (what every member sees) `creator_account_id`
/// (the owning account); and from the resource itself `collaboration_arn`, `create_time`,
/// `update_time`, and `name` and `description` unless the kind says `nameless`. The shape's
/// other fields follow as written: `child_shape!(owner self => dto::IdMappingTable { … })`.
macro_rules! child_shape {
    (@fill $src:expr, [$($h:ident: $from:ident),*], [$($own:ident),*],
        $($shape:ident)::+ { $($rest:tt)* }) => {
        $($shape)::+ {
            arn: $src.header.arn.clone(),
            collaboration_id: $src.header.collaboration_id.clone(),
            id: $src.header.id.clone(),
            $($h: $src.header.$from.clone(),)*
            collaboration_arn: $src.collaboration_arn.clone(),
            $($own: $src.$own.clone(),)*
            create_time: $src.create_time,
            update_time: $src.update_time,
            $($rest)*
        }
    };
    (owner nameless $src:expr => $($shape:tt)*) => {
        $crate::services::cleanrooms::domain::child::child_shape!(@fill $src, [membership_arn: membership_arn, membership_id: membership_id],
            [], $($shape)*)
    };
    (collaboration nameless $src:expr => $($shape:tt)*) => {
        $crate::services::cleanrooms::domain::child::child_shape!(@fill $src, [creator_account_id: account_id], [], $($shape)*)
    };
    (owner $src:expr => $($shape:tt)*) => {
        $crate::services::cleanrooms::domain::child::child_shape!(@fill $src, [membership_arn: membership_arn, membership_id: membership_id],
            [description, name], $($shape)*)
    };
    (collaboration $src:expr => $($shape:tt)*) => {
        $crate::services::cleanrooms::domain::child::child_shape!(@fill $src, [creator_account_id: account_id], [description, name], $($shape)*)
    };
}
pub(crate) use child_shape;

/// Writes the four views of a resource with a [`ChildHeader`] as its methods, each through
/// [`child_shape!`]: `to_dto` and `to_summary` (the owning membership's views),
/// `to_collaboration_dto` and `to_collaboration_summary` (what every member sees). The owner's
/// and the collaboration's shape of each pair share their other fields, listed once:
/// `child_views!(self => dto::X / dto::CollaborationX { … }, dto::XSummary /
/// dto::CollaborationXSummary { … })`, with `nameless` after `self` for kinds without a name
/// and description. Fields that differ between the two full shapes follow each in brackets:
/// `dto::X [source: …,] / dto::CollaborationX [source: Some(…),] { … }`.
macro_rules! child_views {
    ($s:ident $($nameless:ident)? =>
        dto::$full:ident $([$($owner_fields:tt)*])?
        / dto::$collaboration_full:ident $([$($collaboration_fields:tt)*])?
        { $($full_fields:tt)* },
        dto::$summary:ident / dto::$collaboration_summary:ident { $($summary_fields:tt)* } $(,)?
    ) => {
        #[doc = concat!("The `", stringify!($full), "` shape (the owning membership's view).")]
        pub fn to_dto(&$s) -> dto::$full {
            $crate::services::cleanrooms::domain::child::child_shape!(owner $($nameless)? $s =>
                dto::$full { $($($owner_fields)*)? $($full_fields)* })
        }

        #[doc = concat!("The `", stringify!($summary), "` shape.")]
        pub fn to_summary(&$s) -> dto::$summary {
            $crate::services::cleanrooms::domain::child::child_shape!(owner $($nameless)? $s =>
                dto::$summary { $($summary_fields)* })
        }

        #[doc = concat!("The `", stringify!($collaboration_full), "` shape (every member's view).")]
        pub fn to_collaboration_dto(&$s) -> dto::$collaboration_full {
            $crate::services::cleanrooms::domain::child::child_shape!(
                collaboration $($nameless)? $s => dto::$collaboration_full {
                    $($($collaboration_fields)*)? $($full_fields)*
                })
        }

        #[doc = concat!("The `", stringify!($collaboration_summary), "` shape.")]
        pub fn to_collaboration_summary(&$s) -> dto::$collaboration_summary {
            $crate::services::cleanrooms::domain::child::child_shape!(
                collaboration $($nameless)? $s => dto::$collaboration_summary { $($summary_fields)* })
        }
    };
}
pub(crate) use child_views;

#[cfg(test)]
mod tests {
    use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
    use crate::services::cleanrooms::domain::association::Association;
    use crate::services::cleanrooms::domain::audience_model_association::AudienceModelAssociation;
    use crate::services::cleanrooms::domain::id_mapping::{IdMappingTable, IdNamespaceAssociation};
    use crate::services::cleanrooms::domain::intermediate_table::IntermediateTable;
    use crate::services::cleanrooms::domain::privacy_budget_template::PrivacyBudgetTemplate;
    use serde::de::DeserializeOwned;
    use serde::Serialize;

    /// The identity keys as records wrote them before the header was a struct of its own.
    const HEAD: &str = r#""id":"r1","arn":"arn:aws:cleanrooms:us-east-1:111111111111:membership/m1/x/r1","accountId":"111111111111","membershipId":"m1","membershipArn":"arn:aws:cleanrooms:us-east-1:111111111111:membership/m1","collaborationId":"c1""#;
    const COLLABORATION_ARN: &str =
        r#""collaborationArn":"arn:aws:cleanrooms:us-east-1:111111111111:collaboration/c1""#;
    const TIMES: &str = r#""createTime":1700000000.5,"updateTime":1700000100.25"#;

    /// Decodes `old` as a `T` and encodes it again: the text must come back to the letter,
    /// and the identity must land in the header.
    fn round_trip<T: Serialize + DeserializeOwned>(old: String, header: impl Fn(&T) -> String) {
        let decoded: T = serde_json::from_str(&old).unwrap();
        assert_eq!(header(&decoded), "r1/111111111111/m1/c1");
        assert_eq!(serde_json::to_string(&decoded).unwrap(), old);
    }

    fn ids(h: &super::ChildHeader) -> String {
        format!(
            "{}/{}/{}/{}",
            h.id, h.account_id, h.membership_id, h.collaboration_id
        )
    }

    #[test]
    fn records_in_the_layout_before_the_header_decode_and_encode_identically() {
        round_trip::<Association>(
            format!(
                r#"{{{HEAD},"configuredTableId":"t1","configuredTableArn":"arn:t1","name":"sales","description":null,"roleArn":"arn:aws:iam::111111111111:role/r","analysisRuleTypes":["AGGREGATION"],{TIMES}}}"#
            ),
            |a| ids(&a.header),
        );
        round_trip::<AudienceModelAssociation>(
            format!(
                r#"{{{HEAD},{COLLABORATION_ARN},"configuredAudienceModelArn":"arn:cam","name":"a","description":"d","manageResourcePolicies":true,{TIMES}}}"#
            ),
            |a| ids(&a.header),
        );
        round_trip::<PrivacyBudgetTemplate>(
            format!(
                r#"{{{HEAD},{COLLABORATION_ARN},"privacyBudgetType":"ACCESS_BUDGET","autoRefresh":"NONE","parameters":{{"accessBudget":{{"budgetParameters":[{{"budget":5,"type":"CALENDAR_DAY"}}],"resourceArn":"arn:t1"}}}},"budgetId":"b1",{TIMES}}}"#
            ),
            |t| ids(&t.header),
        );
        round_trip::<AnalysisTemplate>(
            format!(
                r#"{{{HEAD},{COLLABORATION_ARN},"name":"q","description":null,"format":"SQL","source":{{"text":"SELECT 1"}},"sourceMetadata":null,"analysisParameters":null,"referencedTables":["sales"],"errorMessageConfiguration":null,"syntheticDataParameters":null,{TIMES}}}"#
            ),
            |t| ids(&t.header),
        );
        round_trip::<IdNamespaceAssociation>(
            format!(
                r#"{{{HEAD},{COLLABORATION_ARN},"name":"ns","description":null,"idNamespaceArn":"arn:ns","manageResourcePolicies":false,"idNamespaceType":"SOURCE","idMappingWorkflowsSupported":["RULE_BASED"],"idMappingConfig":null,{TIMES}}}"#
            ),
            |a| ids(&a.header),
        );
        round_trip::<IdMappingTable>(
            format!(
                r#"{{{HEAD},{COLLABORATION_ARN},"name":"map","description":null,"workflowArn":"arn:wf","manageResourcePolicies":true,"inputSources":[{{"idNamespaceAssociationId":"n1","type":"SOURCE"}}],"kmsKeyArn":null,{TIMES},"population":{{"jobId":"j1","deltaVersion":3,"rows":42,"populatedAt":1700000050.0}}}}"#
            ),
            |t| ids(&t.header),
        );
        round_trip::<IntermediateTable>(
            format!(
                r#"{{{HEAD},{COLLABORATION_ARN},"name":"it","description":null,"population":{{"sqlParameters":{{"queryString":"SELECT 1"}}}},"kmsKeyArn":null,"retentionInDays":30,"status":"CREATED","statusReason":null,"dependencies":[],"active":null,"schema":null,"hasRule":false,"populating":null,{TIMES}}}"#
            ),
            |t| ids(&t.header),
        );
    }
}
