//! Which AWS service a request is for, decided LocalStack's way: the SigV4 credential scope's
//! service name first, then the `X-Amz-Target` prefix, then the shape of the path.

use super::sigv4::Credential;

/// The services the endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// AWS Clean Rooms (rest-json).
    CleanRooms,
    /// AWS Glue (awsJson1.1).
    Glue,
    /// Amazon Athena (awsJson1.1).
    Athena,
    /// AWS STS (query).
    Sts,
    /// Amazon S3 (rest-xml).
    S3,
    /// The LakeFormation-style partition REST API (`/v1/{project_id}/instances/…`, `X-Auth-Token`).
    LakeFormation,
}

impl Service {
    /// The service's SigV4 signing name.
    pub fn signing_name(self) -> &'static str {
        match self {
            Self::CleanRooms => "cleanrooms",
            Self::Glue => "glue",
            Self::Athena => "athena",
            Self::Sts => "sts",
            Self::S3 => "s3",
            Self::LakeFormation => "lakeformation",
        }
    }

    fn from_signing_name(name: &str) -> Option<Self> {
        Some(match name {
            "cleanrooms" => Self::CleanRooms,
            "glue" => Self::Glue,
            "athena" => Self::Athena,
            "sts" => Self::Sts,
            "s3" => Self::S3,
            _ => return None,
        })
    }
}

/// The first path segments that only Clean Rooms uses (unsigned-request fallback).
const CLEANROOMS_PREFIXES: &[&str] = &["collaborations", "memberships", "configuredTables", "tags"];

/// Whether a request is for the LakeFormation partition API: `/v1/…/instances/…` with an
/// `X-Auth-Token` header (it is not SigV4-signed).
pub fn is_lakeformation(path: &str, has_auth_token: bool) -> bool {
    has_auth_token && path.starts_with("/v1/") && path.contains("/instances/")
}

/// Identifies the service; `None` when nothing points at a service the emulator knows.
pub fn identify(
    credential: Option<&Credential>,
    target: Option<&str>,
    path: &str,
) -> Option<Service> {
    if let Some(service) = credential.and_then(|c| Service::from_signing_name(&c.service)) {
        return Some(service);
    }
    if let Some(target) = target {
        let prefix = target.split('.').next().unwrap_or_default();
        return match prefix {
            "AWSGlue" => Some(Service::Glue),
            "AmazonAthena" => Some(Service::Athena),
            _ => None,
        };
    }
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if CLEANROOMS_PREFIXES.contains(&first) {
        return Some(Service::CleanRooms);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(service: &str) -> Credential {
        Credential {
            access_key_id: "k".into(),
            region: "us-east-1".into(),
            service: service.into(),
        }
    }

    #[test]
    fn credential_scope_wins() {
        assert_eq!(
            identify(Some(&cred("glue")), None, "/collaborations"),
            Some(Service::Glue)
        );
        assert_eq!(
            identify(Some(&cred("cleanrooms")), None, "/x"),
            Some(Service::CleanRooms)
        );
    }

    #[test]
    fn target_then_path() {
        assert_eq!(
            identify(None, Some("AWSGlue.GetTables"), "/"),
            Some(Service::Glue)
        );
        assert_eq!(
            identify(None, Some("AmazonAthena.ListWorkGroups"), "/"),
            Some(Service::Athena)
        );
        assert_eq!(
            identify(None, None, "/collaborations/abc"),
            Some(Service::CleanRooms)
        );
        assert_eq!(identify(None, None, "/nothing"), None);
    }
}
