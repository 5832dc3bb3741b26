//! RFC 3339 timestamps through `jiff`: lxdev writes "now" in UTC and reads
//! back what it (or lxc-dev-manager, with a local offset and nanoseconds)
//! wrote.
//!
//! Invariant: a text either reads as the instant it spells or is rejected;
//! nothing out of range (month 13, hour 99, offset `+02x00`) rolls over
//! into another date. Limits: a leap second (`:60`) reads as `:59`, as
//! jiff does; times before 1970 or after 9999 are not written.

use std::time::{Duration, SystemTime};

use jiff::Timestamp;

/// A text that is not an RFC 3339 time; the message says why, for
/// `invalid containers.yaml` errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an RFC 3339 time like `2026-01-02T03:04:05Z`: {reason}")]
pub struct BadTimestamp {
    text: String,
    reason: String,
}

/// `2026-11-23T04:10:00.123Z`: UTC, milliseconds, so that two operations
/// started in the same second still order.
pub fn now_rfc3339() -> String {
    format_rfc3339(SystemTime::now())
}

/// `time` in UTC with milliseconds (truncated), ending in `Z`.
pub fn format_rfc3339(time: SystemTime) -> String {
    // Only a clock outside jiff's years -9999..=9999 fails; the epoch is as
    // good an answer as any for that.
    let timestamp = Timestamp::try_from(time).unwrap_or(Timestamp::UNIX_EPOCH);
    format!("{timestamp:.3}")
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (RFC 3339 section 5.6).
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, BadTimestamp> {
    let bad = |reason: String| BadTimestamp {
        text: text.to_string(),
        reason,
    };
    // jiff's parser takes the ISO 8601 relatives RFC 3339 forbids
    // (`20260102T030405Z`, `+0200`, `+02`, no seconds, `[UTC]`
    // annotations); the shape is checked here, every value by jiff.
    if !has_rfc3339_shape(text) {
        return Err(bad(
            "expected `YYYY-MM-DDTHH:MM:SS`, optional `.fraction`, \
                        then `Z` or an offset `+HH:MM`"
                .to_string(),
        ));
    }
    let timestamp: Timestamp = text
        .parse()
        .map_err(|err: jiff::Error| bad(err.to_string()))?;
    Ok(SystemTime::from(timestamp))
}

/// Whether `text` has the RFC 3339 `date-time` shape: digits and separators
/// in their places; not whether the numbers are in range.
fn has_rfc3339_shape(text: &str) -> bool {
    // `9` stands for a digit, `T` for `T`, `t` or a space (RFC 3339 5.6,
    // NOTE), `+` for a sign.
    fn matches(text: &str, template: &str) -> bool {
        text.len() == template.len()
            && text.bytes().zip(template.bytes()).all(|(c, t)| match t {
                b'9' => c.is_ascii_digit(),
                b'T' => matches!(c, b'T' | b't' | b' '),
                b'+' => matches!(c, b'+' | b'-'),
                _ => c == t,
            })
    }
    let Some((date_time, rest)) = text.split_at_checked(19) else {
        return false;
    };
    let offset = match rest.strip_prefix('.') {
        Some(fraction) => fraction.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    let fraction_ok = !rest.starts_with('.') || rest.len() - offset.len() > 1;
    matches(date_time, "9999-99-99T99:99:99")
        && fraction_ok
        && (matches!(offset, "Z" | "z") || matches(offset, "+99:99"))
}

/// Time since `started_at`, or `None` if it cannot be read or lies ahead.
pub fn age(started_at: &str) -> Option<Duration> {
    SystemTime::now()
        .duration_since(parse_rfc3339(started_at).ok()?)
        .ok()
}

/// `850ms`, `12s`, `3m 5s`, `2h 10m`: for messages.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => format!("{}ms", d.as_millis()),
        1..60 => format!("{secs}s"),
        60..3600 => format!("{}m {}s", secs / 60, secs % 60),
        _ => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn formats_and_parses_round_trip() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_000_000_123);
        let text = format_rfc3339(t);
        assert_eq!(text, "2026-11-18T11:06:40.123Z");
        assert_eq!(parse_rfc3339(&text), Ok(t));
    }

    #[test]
    fn writes_utc_milliseconds_truncated_with_z() {
        let t = UNIX_EPOCH + Duration::new(1_795_000_000, 123_999_999);
        assert_eq!(format_rfc3339(t), "2026-11-18T11:06:40.123Z");
        let whole = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(format_rfc3339(whole), "2026-11-18T11:06:40.000Z");
        let now = now_rfc3339();
        assert_eq!(now.len(), "2026-11-23T04:10:00.123Z".len(), "{now}");
        assert!(now.ends_with('Z'), "{now}");
    }

    #[test]
    fn parses_offsets_written_by_lxc_dev_manager() {
        let utc = parse_rfc3339("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(parse_rfc3339("2026-01-02T05:04:05+02:00"), Ok(utc));
        assert_eq!(parse_rfc3339("2026-01-01T22:04:05-05:00"), Ok(utc));
        assert_eq!(parse_rfc3339("2026-01-02t03:04:05z"), Ok(utc));
        assert_eq!(parse_rfc3339("2026-01-02 03:04:05Z"), Ok(utc));
    }

    #[test]
    fn reads_local_offset_and_nanoseconds() {
        let t = parse_rfc3339("2026-01-02T03:04:05.123456789+01:00").unwrap();
        let expected =
            parse_rfc3339("2026-01-02T02:04:05Z").unwrap() + Duration::new(0, 123_456_789);
        assert_eq!(t, expected);
        assert_eq!(format_rfc3339(t), "2026-01-02T02:04:05.123Z");
    }

    #[test]
    fn rejects_out_of_range_fields_instead_of_rolling_over() {
        // The hand-written parser read this as 2027-02-18T04:40:39Z.
        let err = parse_rfc3339("2026-13-45T99:99:99Z").unwrap_err();
        assert!(err.to_string().contains("month"), "{err}");
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-01-02T24:00:00Z",
            "2026-01-02T03:60:00Z",
            "2026-01-02T03:04:05+02:60",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_a_malformed_offset() {
        // The hand-written parser read this as +02:00.
        let err = parse_rfc3339("2026-01-02T03:04:05+02x00").unwrap_err();
        assert!(
            err.to_string().contains("`2026-01-02T03:04:05+02x00`"),
            "{err}"
        );
    }

    #[test]
    fn rejects_garbage_and_iso_8601_forms_outside_rfc_3339() {
        for bad in [
            "",
            "yesterday",
            "2026-01-02",
            "2026-01-02T03:04:05",
            "2026-01-02T03:04:05+2",
            "2026-01-02T03:04:05+02",
            "2026-01-02T03:04:05+0200",
            "2026-01-02T03:04:05+02:00:00",
            "2026-01-02T03:04Z",
            "20260102T030405Z",
            "2026-01-02T03:04:05Z[UTC]",
            "2026-01-02T03:04:05.Z",
            "2026-01-02T03:04:05,5Z",
            " 2026-01-02T03:04:05Z",
            "2026-01-02T03:04:05Z ",
            "+2026-01-02T03:04:05Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(human_duration(Duration::from_secs(12)), "12s");
        assert_eq!(human_duration(Duration::from_secs(185)), "3m 5s");
        assert_eq!(human_duration(Duration::from_secs(7800)), "2h 10m");
    }
}
