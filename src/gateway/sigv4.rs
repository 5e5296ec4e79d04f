//! SigV4 parsing: the access key, region and service of the credential scope, from the
//! `Authorization` header or from presigned-URL query parameters. Signatures are not verified
//! (DESIGN.md: `--verify-signatures` comes later).

/// The parts of a SigV4 credential scope the emulator uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Access key id.
    pub access_key_id: String,
    /// Region of the credential scope.
    pub region: String,
    /// Service signing name of the credential scope.
    pub service: String,
}

/// Parses `AKID/DATE/REGION/SERVICE/aws4_request`.
fn parse_scope(scope: &str) -> Option<Credential> {
    let mut parts = scope.split('/');
    let access_key_id = parts.next()?.trim();
    let _date = parts.next()?;
    let region = parts.next()?;
    let service = parts.next()?;
    if access_key_id.is_empty() || service.is_empty() {
        return None;
    }
    Some(Credential {
        access_key_id: access_key_id.to_string(),
        region: region.to_string(),
        service: service.to_string(),
    })
}

/// Reads the credential from an `Authorization: AWS4-HMAC-SHA256 Credential=…, …` header value.
pub fn from_authorization(header: &str) -> Option<Credential> {
    let rest = header.trim().strip_prefix("AWS4-HMAC-SHA256")?;
    rest.split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))
        .and_then(parse_scope)
}

/// Reads the credential from presigned-URL query parameters (`X-Amz-Credential=…`).
pub fn from_query(query: &str) -> Option<Credential> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        if k != "X-Amz-Credential" {
            return None;
        }
        let decoded = percent_encoding::percent_decode_str(v).decode_utf8().ok()?;
        parse_scope(&decoded)
    })
}

/// Maps an access key id to its account: a key of exactly 12 digits is the account id itself;
/// any other key belongs to the default account.
pub fn account_for_key(access_key_id: &str, default_account: &str) -> String {
    if access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()) {
        access_key_id.to_string()
    } else {
        default_account.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_authorization_header() {
        let h = "AWS4-HMAC-SHA256 Credential=111111111111/20260101/eu-west-1/cleanrooms/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        let c = from_authorization(h).unwrap();
        assert_eq!(c.access_key_id, "111111111111");
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.service, "cleanrooms");
        assert_eq!(from_authorization("Bearer x"), None);
    }

    #[test]
    fn parses_presigned_query() {
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-west-2%2Fs3%2Faws4_request&X-Amz-Date=x";
        let c = from_query(q).unwrap();
        assert_eq!(c.access_key_id, "AKIAEXAMPLE");
        assert_eq!(c.region, "us-west-2");
        assert_eq!(c.service, "s3");
    }

    #[test]
    fn twelve_digit_keys_are_accounts() {
        assert_eq!(
            account_for_key("222222222222", "123456789012"),
            "222222222222"
        );
        assert_eq!(
            account_for_key("AKIAEXAMPLE", "123456789012"),
            "123456789012"
        );
        assert_eq!(
            account_for_key("2222222222223", "123456789012"),
            "123456789012"
        );
    }
}
