//! Path-style and virtual-hosted-style addressing.
//!
//! Path style is `http://<endpoint>/<bucket>/<key>`. Virtual-hosted style puts the bucket in
//! the `Host` header: the endpoint's host names are `localhost`, `s3.localhost`, the `--host`
//! name (when it is a name, not an IP address) and `s3.<--host name>`; a `Host` that ends in
//! `.<one of them>` addresses the bucket named by everything before it (so
//! `my.bucket.localhost:4580` is bucket `my.bucket`, `data.s3.localhost` is bucket `data`).
//! IP addresses and any other host name mean path style.

use std::borrow::Cow;

use s3s::host::{S3Host, VirtualHost};
use s3s::S3Result;

/// Strips the port and brackets, lowercases, drops a trailing dot.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let without_port = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        }
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

fn is_ip(name: &str) -> bool {
    name.parse::<std::net::IpAddr>().is_ok()
}

/// The host names of the endpoint itself, longest first.
fn endpoint_names(endpoint_host: &str) -> Vec<String> {
    let mut names = vec!["s3.localhost".to_string(), "localhost".to_string()];
    let configured = host_name(endpoint_host);
    if !configured.is_empty() && !is_ip(&configured) && configured != "localhost" {
        names.push(format!("s3.{configured}"));
        names.push(configured);
    }
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names
}

/// The bucket a virtual-hosted-style `Host` header names, given the `--host` the emulator was
/// started with; `None` for path-style requests.
pub fn virtual_host_bucket(host_header: &str, endpoint_host: &str) -> Option<String> {
    let host = host_name(host_header);
    if host.is_empty() || is_ip(&host) {
        return None;
    }
    for name in endpoint_names(endpoint_host) {
        if host == name {
            return None;
        }
        if let Some(bucket) = host.strip_suffix(&format!(".{name}")) {
            return (!bucket.is_empty()).then(|| bucket.to_string());
        }
    }
    None
}

/// The `s3s` host parser implementing the rule above.
#[derive(Debug, Clone)]
pub struct EndpointHost {
    endpoint_host: String,
}

impl EndpointHost {
    /// For an emulator started with `--host endpoint_host`.
    pub fn new(endpoint_host: &str) -> Self {
        Self {
            endpoint_host: endpoint_host.to_string(),
        }
    }
}

impl S3Host for EndpointHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let vh = VirtualHost::new(Cow::Borrowed(host));
        Ok(match virtual_host_bucket(host, &self.endpoint_host) {
            Some(bucket) => vh.with_bucket(bucket),
            None => vh,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_from_host() {
        let b = |h: &str| virtual_host_bucket(h, "127.0.0.1");
        assert_eq!(b("bkt.localhost:4580").as_deref(), Some("bkt"));
        assert_eq!(b("bkt.s3.localhost:4580").as_deref(), Some("bkt"));
        assert_eq!(b("my.bkt.localhost").as_deref(), Some("my.bkt"));
        assert_eq!(b("BKT.LOCALHOST.").as_deref(), Some("bkt"));
        assert_eq!(b("localhost:4580"), None);
        assert_eq!(b("s3.localhost:4580"), None);
        assert_eq!(b("127.0.0.1:4580"), None);
        assert_eq!(b("[::1]:4580"), None);
        assert_eq!(b("example.com"), None);
        let named = |h: &str| virtual_host_bucket(h, "emulator.internal");
        assert_eq!(named("bkt.emulator.internal:80").as_deref(), Some("bkt"));
        assert_eq!(named("bkt.s3.emulator.internal").as_deref(), Some("bkt"));
        assert_eq!(named("emulator.internal"), None);
    }
}
