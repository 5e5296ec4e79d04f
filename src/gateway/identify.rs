//! Which AWS service a request is for, decided LocalStack's way: the SigV4 credential scope's
//! service name first, then the `X-Amz-Target` prefix, then the `Host` (a virtual-hosted-style
//! S3 bucket) and the shape of the path; S3 takes every other unsigned request except the admin
//! API (`/_emulator/…`) and the LakeFormation partition API (`/v1/…/instances/…`). Requests
//! carrying `x-onehouse-account-uid` and no SigV4 credential are the Onehouse Resources API.

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
    /// AWS Entity Resolution (rest-json): the ID mapping subset.
    EntityResolution,
    /// AWS STS (query).
    Sts,
    /// Amazon S3 (rest-xml).
    S3,
    /// The LakeFormation-style partition REST API (`/v1/{project_id}/instances/…`, `X-Auth-Token`).
    LakeFormation,
    /// The Onehouse Resources API (table services), routed by `x-onehouse-account-uid`.
    Onehouse,
}

impl Service {
    /// The service's SigV4 signing name.
    pub fn signing_name(self) -> &'static str {
        match self {
            Self::CleanRooms => "cleanrooms",
            Self::Glue => "glue",
            Self::Athena => "athena",
            Self::EntityResolution => "entityresolution",
            Self::Sts => "sts",
            Self::S3 => "s3",
            Self::LakeFormation => "lakeformation",
            Self::Onehouse => "onehouse",
        }
    }

    fn from_signing_name(name: &str) -> Option<Self> {
        Some(match name {
            "cleanrooms" => Self::CleanRooms,
            "glue" => Self::Glue,
            "athena" => Self::Athena,
            "entityresolution" => Self::EntityResolution,
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

/// Whether a request is for the Onehouse Resources API: it carries `x-onehouse-account-uid`
/// and is not SigV4-signed (so an S3 bucket named `v1` keeps working).
pub fn is_onehouse(has_account_uid_header: bool, signed: bool) -> bool {
    has_account_uid_header && !signed
}

/// Identifies the service from the credential, `X-Amz-Target`, path and `Host` header (for an
/// emulator started with `--host endpoint_host`); `None` when nothing points at a service the
/// emulator knows.
pub fn identify(
    credential: Option<&Credential>,
    target: Option<&str>,
    path: &str,
    host: Option<&str>,
    endpoint_host: &str,
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
    if path == "/_emulator"
        || path.starts_with("/_emulator/")
        || (path.starts_with("/v1/") && path.contains("/instances/"))
    {
        return None;
    }
    if host
        .and_then(|h| crate::services::s3::addressing::virtual_host_bucket(h, endpoint_host))
        .is_some()
    {
        return Some(Service::S3);
    }
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if CLEANROOMS_PREFIXES.contains(&first) {
        return Some(Service::CleanRooms);
    }
    Some(Service::S3)
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
            identify(
                Some(&cred("glue")),
                None,
                "/collaborations",
                None,
                "127.0.0.1"
            ),
            Some(Service::Glue)
        );
        assert_eq!(
            identify(Some(&cred("cleanrooms")), None, "/x", None, "127.0.0.1"),
            Some(Service::CleanRooms)
        );
    }

    #[test]
    fn target_then_host_then_path_then_s3() {
        let unsigned = |target, path, host| identify(None, target, path, host, "127.0.0.1");
        assert_eq!(
            unsigned(Some("AWSGlue.GetTables"), "/", None),
            Some(Service::Glue)
        );
        assert_eq!(
            unsigned(Some("AmazonAthena.ListWorkGroups"), "/", None),
            Some(Service::Athena)
        );
        assert_eq!(
            unsigned(None, "/collaborations/abc", None),
            Some(Service::CleanRooms)
        );
        assert_eq!(
            unsigned(None, "/collaborations/abc", Some("bkt.localhost:4580")),
            Some(Service::S3)
        );
        assert_eq!(unsigned(None, "/nothing", None), Some(Service::S3));
        assert_eq!(unsigned(None, "/_emulator/nope", None), None);
        assert_eq!(unsigned(None, "/v1/p/instances/i/x", None), None);
    }

    #[test]
    fn onehouse_needs_its_header_and_no_signature() {
        assert!(is_onehouse(true, false));
        assert!(!is_onehouse(true, true));
        assert!(!is_onehouse(false, false));
    }
}
