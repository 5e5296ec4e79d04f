//! Time formats on the wire: epoch seconds (JSON) and ISO-8601 / RFC 3339 (query strings, XML).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Parses an ISO-8601 / RFC 3339 timestamp (or plain epoch seconds) into epoch seconds.
pub fn parse_iso8601(text: &str) -> Option<f64> {
    if let Ok(secs) = text.parse::<f64>() {
        return Some(secs);
    }
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

/// Formats epoch seconds as RFC 3339 in UTC with millisecond precision (`2026-01-01T00:00:00.000Z`).
pub fn format_iso8601(epoch: f64) -> String {
    let nanos = i128::from((epoch * 1000.0).round() as i64) * 1_000_000;
    let t = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let e = parse_iso8601("2026-01-02T03:04:05.250Z").unwrap();
        assert_eq!(format_iso8601(e), "2026-01-02T03:04:05.250Z");
        assert_eq!(parse_iso8601("12.5"), Some(12.5));
        assert_eq!(parse_iso8601("yesterday"), None);
    }
}
