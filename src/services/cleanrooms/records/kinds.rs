//! Record kinds in the metadata store: the one list of what the Clean Rooms service stores.
//! Only `records/` names them.

/// A collaboration.
pub const COLLABORATION: &str = "cleanrooms.collaboration";
/// One account's member record in a collaboration (id `<collaborationId>:<accountId>`).
pub const MEMBER: &str = "cleanrooms.member";
/// The tags of one resource (id = the resource ARN).
pub const TAGS: &str = "cleanrooms.tags";
/// A membership (owner = member account, parent = collaboration id).
pub const MEMBERSHIP: &str = "cleanrooms.membership";
/// A configured table (owner = its account).
pub const CONFIGURED_TABLE: &str = "cleanrooms.configuredtable";
/// The analysis rule of a configured table (id and parent = configured table id).
pub const CONFIGURED_TABLE_RULE: &str = "cleanrooms.configuredtable.analysisrule";
/// A configured table association (parent = membership id).
pub const ASSOCIATION: &str = "cleanrooms.configuredtableassociation";
/// An analysis rule of a configured table association (id `<associationId>:<TYPE>`,
/// parent = association id).
pub const ASSOCIATION_RULE: &str = "cleanrooms.configuredtableassociation.analysisrule";
/// A privacy budget template (parent = membership id).
pub const PRIVACY_BUDGET_TEMPLATE: &str = "cleanrooms.privacybudgettemplate";
/// What analyses spent from a privacy budget template (id = template id, owner = template
/// owner, parent = collaboration id); see `Ledger`.
pub const PRIVACY_BUDGET_LEDGER: &str = "cleanrooms.privacybudget.ledger";
/// An analysis template (owner = author account, parent = membership id).
pub const ANALYSIS_TEMPLATE: &str = "cleanrooms.analysistemplate";
/// An intermediate table (owner = creator account, parent = membership id).
pub const INTERMEDIATE_TABLE: &str = "cleanrooms.intermediatetable";
/// One population of an intermediate table (id = version id, parent = table id).
pub const INTERMEDIATE_TABLE_VERSION: &str = "cleanrooms.intermediatetable.version";
/// The CUSTOM analysis rule of an intermediate table (id and parent = table id).
pub const INTERMEDIATE_TABLE_RULE: &str = "cleanrooms.intermediatetable.analysisrule";
/// A protected query, including the ones populating intermediate tables (owner = runner
/// account, parent = runner membership id).
pub const PROTECTED_QUERY: &str = "cleanrooms.protectedquery";
/// A member's receipt of another member's protected query results (id =
/// `<queryId>/<membershipId>`, owner = receiving account, parent = receiving membership id;
/// body = the query id).
pub const PROTECTED_QUERY_RECEIPT: &str = "cleanrooms.protectedquery.receipt";
/// A protected job (owner = runner account, parent = runner membership id).
pub const PROTECTED_JOB: &str = "cleanrooms.protectedjob";
/// A member's receipt of another member's protected job results (id = `<jobId>/<membershipId>`,
/// owner = receiving account, parent = receiving membership id; body = the job id).
pub const PROTECTED_JOB_RECEIPT: &str = "cleanrooms.protectedjob.receipt";
/// The mark of a protected query that has not ended (id = query id, body = null): what recovery
/// reads after a restart instead of every query ever run. Written with the query's start,
/// removed by the commit that ends it.
pub const PROTECTED_QUERY_UNFINISHED: &str = "cleanrooms.protectedquery.unfinished";
/// The mark of a protected job that has not ended (as [`PROTECTED_QUERY_UNFINISHED`]).
pub const PROTECTED_JOB_UNFINISHED: &str = "cleanrooms.protectedjob.unfinished";
/// Present (id `v1`) once the data dir's runs are all covered by unfinished marks: data dirs
/// from before the marks are scanned in full once, then never again.
pub const UNFINISHED_RUNS_INDEX: &str = "cleanrooms.unfinishedruns.index";
/// A collaboration change request (owner = requesting account, parent = collaboration id).
pub const CHANGE_REQUEST: &str = "cleanrooms.collaboration.changerequest";
/// A configured audience model association (owner = associating account, parent = membership id).
pub const CONFIGURED_AUDIENCE_MODEL_ASSOCIATION: &str =
    "cleanrooms.configuredaudiencemodelassociation";
/// The analysis log of one protected query (id = query id, owner = runner account, parent =
/// collaboration id).
pub const ANALYSIS_LOG: &str = "cleanrooms.analysislog";
/// An analysis log export (owner = exporting account, parent = its membership id).
pub const ANALYSIS_LOG_EXPORT: &str = "cleanrooms.analysislog.export";
/// An ID namespace association (owner = associating account, parent = membership id).
pub const ID_NAMESPACE_ASSOCIATION: &str = "cleanrooms.idnamespaceassociation";
/// An ID mapping table (owner = creating account, parent = membership id).
pub const ID_MAPPING_TABLE: &str = "cleanrooms.idmappingtable";

/// What a record of `kind` is called in messages, and its `ResourceType` when the model has one
/// (`ConflictException`, `ResourceNotFoundException`).
pub fn describe(
    kind: &str,
) -> (
    &'static str,
    Option<crate::services::cleanrooms::errors::ResourceType>,
) {
    use crate::services::cleanrooms::errors::ResourceType;
    match kind {
        COLLABORATION => ("collaboration", Some(ResourceType::Collaboration)),
        MEMBERSHIP => ("membership", Some(ResourceType::Membership)),
        CONFIGURED_TABLE => ("configured table", Some(ResourceType::ConfiguredTable)),
        ASSOCIATION => (
            "configured table association",
            Some(ResourceType::ConfiguredTableAssociation),
        ),
        PROTECTED_QUERY => ("protected query", None),
        PROTECTED_JOB => ("protected job", None),
        INTERMEDIATE_TABLE => ("intermediate table", None),
        INTERMEDIATE_TABLE_VERSION => ("intermediate table version", None),
        ANALYSIS_LOG => ("analysis log", None),
        PRIVACY_BUDGET_LEDGER => ("privacy budget", None),
        _ => ("resource", None),
    }
}
