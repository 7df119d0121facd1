//! A cron expression and the slots it names on a local clock, through `croner` on
//! `jiff::Zoned`, so the time zone (and its DST rules) travels with `now`.
//!
//! DST follows croner, which follows Vixie cron: a fixed-time slot (`30 2 * * *`) that falls in
//! the spring-forward gap runs at the first instant after it (03:00), and one in the repeated
//! hour of the fall-back runs once, at the first 02:30. A slot of an interval expression
//! (`*/30 * * * *`) in the gap does not exist; in the repeated hour it runs on both.

use std::fmt;
use std::str::FromStr;

use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use jiff::Zoned;

use super::ScheduleError;

/// A parsed cron expression of 5 fields, or 6 with seconds first (no year field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr {
    text: String,
    cron: Cron,
}

impl CronExpr {
    /// Parses `text`; an expression that no date matches (`0 0 30 2 *`) is refused too, so a
    /// schedule that parses has a next slot.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(text).map_err(|e| ScheduleError::BadCron {
            expr: text.to_string(),
            reason: reason(&e),
        })?;
        // Any date will do as the start: a pattern repeats within 400 years (the Gregorian
        // cycle), far inside croner's search limit.
        let start = jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC);
        if cron.find_next_occurrence(&start, false).is_err() {
            return Err(ScheduleError::NeverMatches {
                expr: text.to_string(),
            });
        }
        Ok(Self {
            text: text.to_string(),
            cron,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first slot strictly after `now`, in `now`'s time zone.
    pub fn next_after(&self, now: &Zoned) -> Result<Zoned, ScheduleError> {
        // Slots are whole seconds: the first after `now` is the first after its second.
        let (whole, _) = whole_second(now);
        self.cron
            .find_next_occurrence(&whole, false)
            .map_err(|e| self.evaluate_error(now, &e))
    }

    /// The last slot at or before `now`; `None` when there is none (before year 1).
    pub fn latest_at_or_before(&self, now: &Zoned) -> Result<Option<Zoned>, ScheduleError> {
        self.before(now, true)
    }

    /// The last slot strictly before `t`.
    pub(super) fn before(
        &self,
        t: &Zoned,
        inclusive: bool,
    ) -> Result<Option<Zoned>, ScheduleError> {
        // croner rounds a fraction of a second up, and in the repeated hour of a fall-back
        // that turned 02:59:59.5+02:00 into a slot at 02:00+01:00, after `t`. Slots are whole
        // seconds, so the last one before a fractional `t` is the last at or before its second.
        let (whole, fraction) = whole_second(t);
        match self
            .cron
            .find_previous_occurrence(&whole, inclusive || fraction)
        {
            Ok(z) => Ok(Some(z)),
            Err(CronError::TimeSearchLimitExceeded) => Ok(None),
            Err(e) => Err(self.evaluate_error(t, &e)),
        }
    }

    fn evaluate_error(&self, at: &Zoned, e: &CronError) -> ScheduleError {
        ScheduleError::Evaluate {
            expr: self.text.clone(),
            at: at.to_string(),
            reason: reason(e),
        }
    }
}

impl FromStr for CronExpr {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `t` without its fraction of a second, and whether it had one.
fn whole_second(t: &Zoned) -> (Zoned, bool) {
    let ts = t.timestamp();
    let fraction = ts.subsec_nanosecond() != 0;
    // Floor, not truncation towards zero, for a time before 1970.
    let second = ts.as_second() - i64::from(ts.subsec_nanosecond() < 0);
    match jiff::Timestamp::from_second(second) {
        Ok(w) => (w.to_zoned(t.time_zone().clone()), fraction),
        Err(_) => (t.clone(), false),
    }
}

/// croner's message in our style: lowercase, without its prefix and final full stop.
fn reason(e: &CronError) -> String {
    let text = match e {
        CronError::InvalidPattern(m)
        | CronError::IllegalCharacters(m)
        | CronError::ComponentError(m) => m.clone(),
        CronError::EmptyPattern => "it is empty".into(),
        other => other.to_string(),
    };
    let text = text.trim().trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use jiff::tz::TimeZone;
    use rstest::rstest;

    /// Europe/Berlin by its rules, so the tests need no time zone database.
    fn berlin() -> TimeZone {
        TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
    }

    /// A local time in Berlin; `later` picks the second of a repeated wall clock time.
    fn at(y: i16, mo: i8, d: i8, h: i8, mi: i8, later: bool) -> Zoned {
        let amb = berlin().to_ambiguous_zoned(date(y, mo, d).at(h, mi, 0, 0));
        if later {
            amb.later().unwrap()
        } else {
            amb.earlier().unwrap()
        }
    }

    fn slots(expr: &str, from: &Zoned, n: usize) -> Vec<String> {
        let c = CronExpr::parse(expr).unwrap();
        let mut t = from.clone();
        (0..n)
            .map(|_| {
                t = c.next_after(&t).unwrap();
                t.strftime("%m-%d %H:%M%:z").to_string()
            })
            .collect()
    }

    #[rstest]
    // Spring forward (29 March 2026, 02:00 -> 03:00): the 02:30 slot runs at 03:00, once.
    #[case::spring_daily("30 2 * * *", (3, 28, 12), &["03-29 03:00+02:00", "03-30 02:30+02:00"])]
    #[case::spring_hourly("0 * * * *", (3, 29, 0), &["03-29 01:00+01:00", "03-29 03:00+02:00"])]
    #[case::spring_interval("*/30 2 * * *", (3, 28, 12), &["03-30 02:00+02:00", "03-30 02:30+02:00"])]
    // Fall back (25 October 2026, 03:00 -> 02:00): the 02:30 slot runs once, at the first.
    #[case::fall_daily("30 2 * * *", (10, 24, 12), &["10-25 02:30+02:00", "10-26 02:30+01:00"])]
    #[case::fall_hourly(
        "0 * * * *",
        (10, 25, 1),
        &["10-25 02:00+02:00", "10-25 02:00+01:00", "10-25 03:00+01:00"]
    )]
    #[case::seed_files("0 */4 * * *", (10, 24, 22), &["10-25 00:00+02:00", "10-25 04:00+01:00"])]
    #[case::seconds_first("30 0 2 * * *", (6, 1, 0), &["06-01 02:00+02:00"])]
    #[case::sunday("0 3 * * 0", (6, 1, 0), &["06-07 03:00+02:00", "06-14 03:00+02:00"])]
    fn next_slots_across_dst(
        #[case] expr: &str,
        #[case] from: (i8, i8, i8),
        #[case] want: &[&str],
    ) {
        let from = at(2026, from.0, from.1, from.2, 0, false);
        assert_eq!(slots(expr, &from, want.len()), want);
    }

    #[rstest]
    // Spring: before the gap, the day before's; from 03:00 (the moved slot) on, 03:00.
    #[case::spring_before_gap((3, 29, 1, 59, false), "03-28 02:30+01:00")]
    #[case::spring_at_moved_slot((3, 29, 3, 0, false), "03-29 03:00+02:00")]
    #[case::spring_after_moved_slot((3, 29, 9, 0, false), "03-29 03:00+02:00")]
    // Fall: the first 02:30 is the slot, the repeated one is not.
    #[case::fall_first_half((10, 25, 2, 40, false), "10-25 02:30+02:00")]
    #[case::fall_second_half((10, 25, 2, 40, true), "10-25 02:30+02:00")]
    #[case::fall_before((10, 25, 2, 20, false), "10-24 02:30+02:00")]
    #[case::exactly_at_slot((6, 1, 2, 30, false), "06-01 02:30+02:00")]
    fn latest_slot_across_dst(#[case] now: (i8, i8, i8, i8, bool), #[case] want: &str) {
        let c = CronExpr::parse("30 2 * * *").unwrap();
        let now = at(2026, now.0, now.1, now.2, now.3, now.4);
        let got = c.latest_at_or_before(&now).unwrap().unwrap();
        assert_eq!(got.strftime("%m-%d %H:%M%:z").to_string(), want);
    }

    #[rstest]
    #[case::too_few("0 2 * *", "5 or 6 fields")]
    #[case::year_field("0 0 2 * * * 2030", "5 or 6 fields")]
    #[case::out_of_range("61 2 * * *", "number out of bounds")]
    #[case::words("daily at two", "")]
    #[case::empty("", "it is empty")]
    fn bad_expressions_say_why(#[case] expr: &str, #[case] part: &str) {
        let e = CronExpr::parse(expr).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("`{expr}` is not a cron expression: ")),
            "{e}"
        );
        assert!(e.contains(part), "{e}");
    }

    /// Found by the property tests: in the last second of the first 02:xx of a fall-back,
    /// croner gave 02:00+01:00, a slot after `now`, as the latest at or before it (so `due`
    /// ran it early), and a slot strictly before a fractional `now` skipped its own second.
    #[test]
    fn a_fraction_of_a_second_is_no_later_slot() {
        let now = at(2026, 10, 25, 2, 59, false)
            .checked_add(jiff::SignedDuration::from_millis(59_500))
            .unwrap();
        let hourly = CronExpr::parse("0 * * * *").unwrap();
        let got = hourly.latest_at_or_before(&now).unwrap().unwrap();
        assert_eq!(got.strftime("%H:%M%:z").to_string(), "02:00+02:00");
        let secondly = CronExpr::parse("* * * * * *").unwrap();
        let got = secondly.before(&now, false).unwrap().unwrap();
        assert_eq!(got.strftime("%H:%M:%S%:z").to_string(), "02:59:59+02:00");
        let next = hourly.next_after(&now).unwrap();
        assert_eq!(next.strftime("%H:%M%:z").to_string(), "02:00+01:00");
    }

    #[test]
    fn an_expression_matching_no_date_is_refused() {
        let e = CronExpr::parse("0 0 30 2 *").unwrap_err();
        assert!(matches!(e, ScheduleError::NeverMatches { .. }), "{e}");
        // Rare is not never: the fifth Monday of February comes every 28 years or so.
        CronExpr::parse("0 0 * 2 1#5").unwrap();
    }
}
