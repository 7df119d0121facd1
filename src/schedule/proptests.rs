//! Property tests of the daemon's cron expressions: any text parses or is refused without a
//! panic, and for every expression that parses, at any moment (DST transitions included) the
//! next slot is strictly after now, is itself a slot, and no slot lies between.

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use proptest::prelude::*;
use proptest::test_runner::Config as Cases;

use super::*;

fn cases(n: u32) -> Cases {
    Cases {
        cases: n,
        failure_persistence: None,
        ..Cases::default()
    }
}

/// One field as people write them: lists, ranges, steps, names and croner's extensions.
fn field(max: u32) -> impl Strategy<Value = String> {
    let n = 0..=max + 2;
    prop_oneof![
        3 => Just("*".to_string()),
        3 => n.clone().prop_map(|a| a.to_string()),
        2 => (n.clone(), n.clone()).prop_map(|(a, b)| format!("{a}-{b}")),
        2 => (0u32..=max + 3).prop_map(|s| format!("*/{s}")),
        1 => (n.clone(), n.clone(), 0u32..9).prop_map(|(a, b, s)| format!("{a}-{b}/{s}")),
        1 => prop::collection::vec(n, 2..4)
            .prop_map(|v| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",")),
        1 => prop::sample::select(vec!["?", "L", "5L", "1W", "LW", "MON", "jan", "SUN-SAT", "1#5", "L-2"])
            .prop_map(String::from),
    ]
}

fn common() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "0 * * * *",
        "*/15 * * * *",
        "*/30 * * * *",
        "0 2 * * *",
        "30 2 * * *",
        "0 */4 * * *",
        "0 3 * * 0",
        "* * * * * *",
        "30 * * * * *",
        "0 0 * * *",
    ])
    .prop_map(String::from)
}

fn expression() -> impl Strategy<Value = String> {
    (
        prop::option::of(field(59)),
        field(59),
        field(23),
        field(31),
        field(12),
        field(7),
    )
        .prop_map(|(s, mi, h, d, mo, w)| {
            let five = format!("{mi} {h} {d} {mo} {w}");
            s.map_or(five.clone(), |s| format!("{s} {five}"))
        })
}

/// Moments from 1970 to 2100 in UTC, a zone with DST, and a far offset.
fn now() -> impl Strategy<Value = Zoned> {
    let zone = prop::sample::select(vec![
        TimeZone::UTC,
        TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap(),
        TimeZone::posix("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45").unwrap(),
    ]);
    (0i64..4_102_444_800, 0i32..1_000_000_000, zone)
        .prop_map(|(s, ns, tz)| Timestamp::new(s, ns).unwrap().to_zoned(tz))
}

/// Near a DST change of the zone with DST, where slots move or repeat.
fn now_near_dst() -> impl Strategy<Value = Zoned> {
    let tz = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
    // 29 March and 25 October 2026, 01:00 UTC, give or take three hours; half of them in
    // the last second before a full hour, and a fraction of a second as the daemon's clock has.
    let near = prop_oneof![
        -3 * 3600i64..3 * 3600,
        (-3i64..3).prop_map(|h| h * 3600 - 1)
    ];
    (prop::bool::ANY, near, 0i32..1_000_000_000).prop_map(move |(spring, d, ns)| {
        let base = if spring { 1_774_746_000 } else { 1_792_890_000 };
        Timestamp::new(base + d, ns).unwrap().to_zoned(tz.clone())
    })
}

fn check_next(c: &CronExpr, now: &Zoned) -> Result<(), TestCaseError> {
    let next = c
        .next_after(now)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        next.timestamp() > now.timestamp(),
        "{} after {now} is {next}",
        c
    );
    prop_assert_eq!(next.time_zone(), now.time_zone());
    // It is a slot, and none lies between now and it.
    let at = c.latest_at_or_before(&next).unwrap();
    prop_assert_eq!(at.map(|z| z.timestamp()), Some(next.timestamp()), "{}", c);
    let just_before = next
        .checked_sub(jiff::SignedDuration::from_nanos(1))
        .unwrap();
    if let Some(prev) = c.latest_at_or_before(&just_before).unwrap() {
        prop_assert!(
            prev.timestamp() <= now.timestamp(),
            "{}: slot {prev} between {now} and {next}",
            c
        );
    }
    if let Some(latest) = c.latest_at_or_before(now).unwrap() {
        prop_assert!(
            latest.timestamp() <= now.timestamp(),
            "{}: latest {latest} after {now}",
            c
        );
        let before = c.before(now, false).unwrap().unwrap();
        prop_assert!(
            before.timestamp() < now.timestamp(),
            "{}: {before} not before {now}",
            c
        );
    }
    let after = c
        .next_after(&next)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(after.timestamp() > next.timestamp());
    Ok(())
}

proptest! {
    #![proptest_config(cases(1500))]

    /// Any text: a cron expression or an error naming it, never a panic.
    #[test]
    fn any_text_never_panics(text in "\\PC{0,30}", soup in "[0-9*/,\\-LW#? ]{0,24}") {
        for t in [&text, &soup] {
            if let Err(e) = CronExpr::parse(t) {
                let msg = e.to_string();
                prop_assert!(msg.starts_with(&format!("`{t}`")), "{msg}");
            }
        }
    }

    /// Expressions as written, at any moment: the next slot is after now, and is the next.
    #[test]
    fn next_run_is_after_now(expr in expression(), now in now()) {
        if let Ok(c) = CronExpr::parse(&expr) {
            check_next(&c, &now)?;
        }
    }

    /// The same around DST changes, where a wall-clock slot is skipped or repeated, for the
    /// schedules people write most as well.
    #[test]
    fn next_run_is_after_now_across_dst(expr in prop_oneof![common(), expression()], now in now_near_dst()) {
        if let Ok(c) = CronExpr::parse(&expr) {
            check_next(&c, &now)?;
        }
    }
}
