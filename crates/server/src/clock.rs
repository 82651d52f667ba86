//! Wall-clock time: Unix seconds (the unit of every timestamp in the API) and their UTC
//! calendar form for logids and tables, without a date library.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Set only by the hidden `serve --test-clock-file`: a file holding how many whole seconds this
/// process's clock runs ahead, so that black-box tests make time pass (link expiry, rate-limit
/// refills, `updated_at`) without sleeping.
static TEST_CLOCK_FILE: OnceLock<PathBuf> = OnceLock::new();

/// Makes every later reading of the clock run ahead by the seconds written in `path` (read at
/// each reading; a missing or unreadable file counts as 0).
pub fn use_test_clock_file(path: PathBuf) {
    let _ = TEST_CLOCK_FILE.set(path);
}

/// Seconds the test clock is ahead: 0 outside tests.
fn test_offset_seconds() -> u64 {
    let Some(path) = TEST_CLOCK_FILE.get() else { return 0 };
    std::fs::read_to_string(path).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0)
}

/// Current time in Unix seconds.
pub fn now_seconds() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0);
    now + test_offset_seconds() as i64
}

/// The monotonic clock, for durations measured by the server's own rules (rate-limit
/// refills); ahead like [`now_seconds`] under a test clock.
pub fn monotonic_now() -> Instant {
    Instant::now() + Duration::from_secs(test_offset_seconds())
}

/// A moment in UTC, broken into calendar fields.
#[derive(Debug, PartialEq, Eq)]
pub struct Utc {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
}

impl Utc {
    /// Unix seconds to the Gregorian calendar (Howard Hinnant's days-to-civil algorithm).
    pub fn from_unix(unix: i64) -> Utc {
        let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Utc {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: secs / 3600,
            minute: secs % 3600 / 60,
            second: secs % 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates() {
        let date = |unix| {
            let t = Utc::from_unix(unix);
            (t.year, t.month, t.day)
        };
        assert_eq!(date(0), (1970, 1, 1));
        assert_eq!(date(20_454 * 86_400), (2026, 1, 1));
        assert_eq!(date(11_016 * 86_400), (2000, 2, 29));
        assert_eq!(
            Utc::from_unix(1_795_542_745),
            Utc { year: 2026, month: 11, day: 24, hour: 17, minute: 52, second: 25 }
        );
    }
}
