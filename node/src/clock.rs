//! Time: the node's clock in Unix milliseconds, protocol timestamps, and RFC 3339 input.

use std::time::{SystemTime, UNIX_EPOCH};

use bundle_vault::core::export::{format_timestamp, MAX_TIMESTAMP_MILLIS};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Now, in Unix milliseconds.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .min(MAX_TIMESTAMP_MILLIS)
}

/// A protocol timestamp (`YYYY-MM-DDTHH:MM:SS.sssZ`) of Unix milliseconds, clamped to the range the
/// format can name.
pub fn timestamp(unix_millis: u64) -> String {
    format_timestamp(unix_millis.min(MAX_TIMESTAMP_MILLIS))
        .unwrap_or_else(|_| "9999-12-31T23:59:59.999Z".to_owned())
}

/// Now, as a protocol timestamp.
pub fn now_timestamp() -> String {
    timestamp(now_millis())
}

/// Unix milliseconds of an RFC 3339 date-time (any offset), truncated to the millisecond, and 0 for
/// one before 1970 (before any time this node writes); `None` if it is not RFC 3339.
pub fn parse_rfc3339_millis(text: &str) -> Option<u64> {
    let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let millis = parsed.unix_timestamp_nanos().div_euclid(1_000_000);
    Some(u64::try_from(millis.max(0)).unwrap_or(u64::MAX))
}

/// `max(now, after + 1 ms)`: the time of a new version of an item last written at `after`, so that a
/// newer version always has a later `updated_at` even if a clock or imported data is ahead of ours.
pub fn next_version_millis(now: u64, after: u64) -> u64 {
    now.max(after.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_offsets_and_fractions() {
        assert_eq!(parse_rfc3339_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_millis("1970-01-01T01:00:00.0009+01:00"),
            Some(0)
        );
        assert_eq!(
            parse_rfc3339_millis("2026-03-09T16:45:00.123Z"),
            Some(1_773_074_700_123)
        );
        assert_eq!(parse_rfc3339_millis("1969-12-31T23:59:59Z"), Some(0));
        assert_eq!(parse_rfc3339_millis("0001-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_millis("yesterday"), None);
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(next_version_millis(10, 3), 10);
        assert_eq!(next_version_millis(10, 30), 31);
    }
}
