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

    /// The Gregorian calendar to Unix seconds (Howard Hinnant's days-from-civil algorithm).
    pub fn to_unix(&self) -> i64 {
        let year = self.year - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let mp = (self.month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + self.day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400 + self.hour * 3600 + self.minute * 60 + self.second
    }

    /// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS` with an optional `Z`, in UTC.
    pub fn parse(text: &str) -> Option<Utc> {
        let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, "00:00:00"));
        let number = |part: &str| part.parse::<i64>().ok();
        let date: Vec<i64> = date.split('-').map(number).collect::<Option<_>>()?;
        let time: Vec<i64> = time.trim_end_matches('Z').split(':').map(number).collect::<Option<_>>()?;
        let [year, month, day] = <[i64; 3]>::try_from(date).ok()?;
        let [hour, minute, second] = <[i64; 3]>::try_from(time).ok()?;
        let utc = Utc { year, month, day, hour, minute, second };
        // Out-of-range fields (a 31st of April, hour 24) do not survive the round trip.
        (Utc::from_unix(utc.to_unix()) == utc).then_some(utc)
    }
}

impl std::fmt::Display for Utc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_utc_times() {
        let at = Utc::parse("2026-11-26T19:50:07Z").unwrap();
        assert_eq!(at.to_unix(), 1_795_722_607);
        assert_eq!(at.to_string(), "2026-11-26T19:50:07Z");
        assert_eq!(Utc::parse("2024-02-29").unwrap().to_unix(), 1_709_164_800);
        for bad in ["2023-02-29", "2026-13-01", "2026-11-26T24:00:00", "26-11", "yesterday", ""] {
            assert_eq!(Utc::parse(bad), None, "{bad}");
        }
        for unix in [0, 951_782_400, 1_795_722_607, 4_107_542_399] {
            assert_eq!(Utc::from_unix(unix).to_unix(), unix);
        }
    }

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
