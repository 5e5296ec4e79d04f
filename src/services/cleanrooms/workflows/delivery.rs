//! Where a protected query's results go and who receives them, from its
//! `outputConfiguration`:
//!
//! - `s3`: the runner's own bucket — the runner must be able to receive results;
//! - `member`: a member that can receive results; the files go to the S3 location of that
//!   member's `defaultResultConfiguration`, and the member can read the query through its own
//!   membership;
//! - `distribute` (collaborations on the SPARK analytics engine): at most one S3 location (the
//!   runner's) plus members other than the runner, each as for `member`.
//!
//! Every receiver must be an ACTIVE member with CAN_RECEIVE_RESULTS; the tables' allowed result
//! receivers are checked on the receivers by the analysis rules.

use crate::services::cleanrooms::domain::collaboration::{Collaboration, Member};
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::errors::{invalid_configuration, invalid_field};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::member;
use crate::services::cleanrooms::workflows::results::{S3Target, Written};
use cleanrooms_emulator_api::cleanrooms::dto;

use crate::error::AwsResult;
use crate::state::AppState;

const FIELD: &str = "resultConfiguration.outputConfiguration";

/// One place results are written, and for whom.
#[derive(Debug, Clone)]
pub struct Destination {
    /// Where the files go.
    pub target: S3Target,
    /// `Some(account)` when a member receives the results in its default result location;
    /// `None` for the runner's own S3 location.
    pub member: Option<String>,
}

/// The resolved delivery of a query's results.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The output kind asked for.
    pub kind: Kind,
    /// Where the results are written (one or more places, written in one run of the query).
    pub destinations: Vec<Destination>,
}

/// The output kinds a protected query delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `s3`.
    S3,
    /// `member`.
    Member,
    /// `distribute`.
    Distribute,
}

impl Delivery {
    /// The accounts receiving the results.
    pub fn receivers(&self, runner: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in &self.destinations {
            let account = d.member.as_deref().unwrap_or(runner).to_string();
            if !out.contains(&account) {
                out.push(account);
            }
        }
        out
    }

    /// Members (other than the runner) that receive the results and may read the query.
    pub fn member_receivers(&self) -> Vec<String> {
        self.destinations
            .iter()
            .filter_map(|d| d.member.clone())
            .collect()
    }

    /// `result.output` once the results of each destination (same order) are written.
    pub fn output(&self, written: &[Written]) -> dto::ProtectedQueryOutput {
        let s3 = self
            .destinations
            .iter()
            .zip(written)
            .find(|(d, _)| d.member.is_none())
            .map(|(_, w)| dto::ProtectedQueryS3Output {
                location: w.location.clone(),
            });
        let members: Vec<dto::ProtectedQuerySingleMemberOutput> = self
            .member_receivers()
            .into_iter()
            .map(|account_id| dto::ProtectedQuerySingleMemberOutput { account_id })
            .collect();
        match self.kind {
            Kind::S3 => {
                dto::ProtectedQueryOutput::S3(s3.unwrap_or_else(|| dto::ProtectedQueryS3Output {
                    location: String::new(),
                }))
            }
            Kind::Member => dto::ProtectedQueryOutput::MemberList(members),
            Kind::Distribute => {
                dto::ProtectedQueryOutput::Distribute(dto::ProtectedQueryDistributeOutput {
                    s3,
                    member_list: (!members.is_empty()).then_some(members),
                })
            }
        }
    }
}

/// Resolves `output` for a query run by `runner` (whose membership is `membership`).
///
/// # Errors
/// `ValidationException` when a receiver is not an active member able to receive results, has
/// no default result location, when `distribute` breaks its rules, or for intermediate table
/// outputs (those come from PopulateIntermediateTable).
pub async fn resolve(
    state: &AppState,
    collaboration: &Collaboration,
    membership: &Membership,
    output: &dto::ProtectedQueryOutputConfiguration,
) -> AwsResult<Delivery> {
    let runner = membership.account_id.as_str();
    match output {
        dto::ProtectedQueryOutputConfiguration::S3(s3) => {
            require_receiver(state, collaboration, runner, FIELD).await?;
            Ok(Delivery {
                kind: Kind::S3,
                destinations: vec![Destination {
                    target: S3Target::new(runner, s3),
                    member: None,
                }],
            })
        }
        dto::ProtectedQueryOutputConfiguration::Member(m) => Ok(Delivery {
            kind: Kind::Member,
            destinations: vec![
                member_destination(state, collaboration, &m.account_id, &format!("{FIELD}.member"))
                    .await?,
            ],
        }),
        dto::ProtectedQueryOutputConfiguration::Distribute(d) => {
            let field = format!("{FIELD}.distribute.locations");
            if collaboration.analytics_engine != dto::AnalyticsEngine::Spark {
                return Err(invalid_field(
                    &format!("{FIELD}.distribute"),
                    format!(
                        "The distribute output type is only available in collaborations that use the SPARK analytics engine; collaboration {} uses {}. Use the s3 or member output type",
                        collaboration.id,
                        collaboration.analytics_engine.as_str()
                    ),
                ));
            }
            if d.locations.is_empty() {
                return Err(invalid_field(
                    &field,
                    "At least one location is required to distribute results",
                ));
            }
            let mut destinations: Vec<Destination> = Vec::new();
            for (i, location) in d.locations.iter().enumerate() {
                let at = format!("{field}[{i}]");
                match location {
                    dto::ProtectedQueryDistributeOutputConfigurationLocation::S3(s3) => {
                        if destinations.iter().any(|d| d.member.is_none()) {
                            return Err(invalid_field(
                                &at,
                                "You can't specify more than one S3 location to distribute results to",
                            ));
                        }
                        require_receiver(state, collaboration, runner, &at).await?;
                        destinations.push(Destination {
                            target: S3Target::new(runner, s3),
                            member: None,
                        });
                    }
                    dto::ProtectedQueryDistributeOutputConfigurationLocation::Member(m) => {
                        if m.account_id == runner {
                            return Err(invalid_field(
                                &at,
                                format!("You can't specify the query runner's account {runner} as a member location; use an S3 location for the runner's own results"),
                            ));
                        }
                        if destinations
                            .iter()
                            .any(|d| d.member.as_deref() == Some(m.account_id.as_str()))
                        {
                            return Err(invalid_field(
                                &at,
                                format!(
                                    "Member {} is listed more than once as a location",
                                    m.account_id
                                ),
                            ));
                        }
                        destinations.push(
                            member_destination(state, collaboration, &m.account_id, &at).await?,
                        );
                    }
                }
            }
            Ok(Delivery {
                kind: Kind::Distribute,
                destinations,
            })
        }
        dto::ProtectedQueryOutputConfiguration::IntermediateTable(_) => Err(invalid_field(
            &format!("{FIELD}.intermediateTable"),
            "Intermediate tables are filled with PopulateIntermediateTable, not StartProtectedQuery",
        )),
    }
}

/// `account` must be an ACTIVE member of the collaboration with CAN_RECEIVE_RESULTS.
async fn require_receiver(
    state: &AppState,
    collaboration: &Collaboration,
    account: &str,
    field: &str,
) -> AwsResult<Member> {
    let member = member(state, &collaboration.id, account).await?;
    match member {
        Some(m) if m.status == dto::MemberStatus::Active => {
            if m.abilities.contains(&dto::MemberAbility::CanReceiveResults) {
                Ok(m)
            } else {
                Err(invalid_configuration(format!(
                    "Account {account} cannot receive results in collaboration {} (it lacks CAN_RECEIVE_RESULTS); results can only go to members that can receive results ({field})",
                    collaboration.id
                )))
            }
        }
        _ => Err(invalid_configuration(format!(
            "Account {account} is not an active member of collaboration {} and cannot receive its results ({field})",
            collaboration.id
        ))),
    }
}

/// A member receiver: its default result location.
async fn member_destination(
    state: &AppState,
    collaboration: &Collaboration,
    account: &str,
    field: &str,
) -> AwsResult<Destination> {
    let member = require_receiver(state, collaboration, account, field).await?;
    let membership: Option<Membership> = match member.membership_id.as_deref() {
        Some(id) => records::load::<Membership>(state, id).await?,
        None => None,
    };
    let Some(config) = membership.and_then(|m| m.default_result_configuration) else {
        return Err(invalid_configuration(format!(
            "Member {account} has no default result configuration on its membership, so it has nowhere to receive results ({field})"
        )));
    };
    let dto::MembershipProtectedQueryOutputConfiguration::S3(s3) = &config.output_configuration;
    Ok(Destination {
        target: S3Target::new(account, s3),
        member: Some(account.to_string()),
    })
}
