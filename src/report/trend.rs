//! Is the backup getting slower, or the dump smaller? Series of one figure per run, each
//! point judged against the runs before it (median and median absolute deviation: robust to
//! the odd outlier, unlike a mean), thinned for a chart without losing an anomaly; and when a
//! disk fills up at the pace it has been filling. Pure.

use serde::Serialize;

/// One figure of one run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Unix seconds.
    pub at: i64,
    pub value: f64,
    /// Far from the runs before it.
    pub anomaly: bool,
}

/// How many earlier runs a run is compared with, and how many robust deviations away from
/// their median it must be to stand out.
pub const WINDOW: usize = 20;
pub const DEVIATIONS: f64 = 3.5;
/// Below this relative difference nothing is an anomaly, however steady the history (a
/// backup that always took 2.0 s and now takes 2.1 s is not news).
const MIN_RELATIVE: f64 = 0.25;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Points of `(at, value)`, each marked when it lies far from the `WINDOW` before it (at
/// least 5 of them are needed to judge).
pub fn series(values: &[(i64, f64)]) -> Vec<Point> {
    let mut out = Vec::with_capacity(values.len());
    let mut window: Vec<f64> = Vec::with_capacity(WINDOW);
    for (i, &(at, value)) in values.iter().enumerate() {
        let before = &values[i.saturating_sub(WINDOW)..i];
        let anomaly = before.len() >= 5 && {
            window.clear();
            window.extend(before.iter().map(|p| p.1));
            let m = median(&mut window);
            for w in window.iter_mut() {
                *w = (*w - m).abs();
            }
            // 1.4826 turns the MAD into a standard deviation for normal data.
            let spread = (1.4826 * median(&mut window)).max(m.abs() * 0.05);
            let off = (value - m).abs();
            off > DEVIATIONS * spread && off > MIN_RELATIVE * m.abs()
        };
        out.push(Point { at, value, anomaly });
    }
    out
}

/// At most about `max` points: runs averaged per time bucket; an anomaly is kept as itself
/// so the chart still marks it.
pub fn thin(points: &[Point], max: usize) -> Vec<Point> {
    if points.len() <= max || max < 2 {
        return points.to_vec();
    }
    let (first, last) = (points[0].at, points[points.len() - 1].at);
    let width = ((last - first) as f64 / max as f64).max(1.0);
    let mut out = Vec::with_capacity(max + 16);
    let mut bucket: Option<(i64, f64, f64, usize)> = None; // (index, sum at, sum value, n)
    let flush = |b: Option<(i64, f64, f64, usize)>, out: &mut Vec<Point>| {
        if let Some((_, at, v, n)) = b {
            out.push(Point {
                at: (at / n as f64) as i64,
                value: v / n as f64,
                anomaly: false,
            });
        }
    };
    for p in points {
        if p.anomaly {
            out.push(*p);
            continue;
        }
        let index = ((p.at - first) as f64 / width) as i64;
        match &mut bucket {
            Some((i, at, v, n)) if *i == index => {
                *at += p.at as f64;
                *v += p.value;
                *n += 1;
            }
            _ => {
                flush(bucket.take(), &mut out);
                bucket = Some((index, p.at as f64, p.value, 1));
            }
        }
    }
    flush(bucket, &mut out);
    out.sort_by_key(|p| p.at);
    out
}

/// The change of the median of `recent` against that of `before`, in percent.
pub fn change_pct(recent: &[f64], before: &[f64]) -> Option<f64> {
    if recent.len() < 3 || before.len() < 3 {
        return None;
    }
    let b = median(&mut before.to_vec());
    (b.abs() > f64::EPSILON).then(|| (median(&mut recent.to_vec()) - b) / b * 100.0)
}

/// Days until a disk is full at the pace its use grew over `samples` (unix seconds, bytes
/// used, bytes free), by least squares; `None` when it is not filling or the samples span
/// less than an hour.
pub fn days_until_full(samples: &[(i64, u64, u64)]) -> Option<f64> {
    let (first, last) = (samples.first()?, samples.last()?);
    if samples.len() < 2 || last.0 - first.0 < 3600 {
        return None;
    }
    let n = samples.len() as f64;
    let xs = samples.iter().map(|s| (s.0 - first.0) as f64 / 86400.0);
    let ys = samples.iter().map(|s| s.1 as f64);
    let (mx, my) = (xs.clone().sum::<f64>() / n, ys.clone().sum::<f64>() / n);
    let (mut num, mut den) = (0.0, 0.0);
    for (x, y) in xs.zip(ys) {
        num += (x - mx) * (y - my);
        den += (x - mx) * (x - mx);
    }
    let per_day = num / den;
    (den > 0.0 && per_day > 0.0).then(|| last.2 as f64 / per_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_far_from_the_ones_before_is_an_anomaly() {
        let mut v: Vec<(i64, f64)> = (0..30).map(|i| (i, 100.0 + (i % 3) as f64)).collect();
        v.push((30, 300.0));
        v.push((31, 101.0));
        v.push((32, 104.0));
        let s = series(&v);
        let marked: Vec<i64> = s.iter().filter(|p| p.anomaly).map(|p| p.at).collect();
        assert_eq!(marked, [30]);
        // A steady history does not make a small step news.
        let flat: Vec<(i64, f64)> = (0..10).map(|i| (i, 2.0)).chain([(10, 2.2)]).collect();
        assert!(series(&flat).iter().all(|p| !p.anomaly));
        // Too few runs to judge.
        assert!(series(&[(0, 1.0), (1, 100.0)]).iter().all(|p| !p.anomaly));
    }

    #[test]
    fn thinning_keeps_anomalies_and_the_time_span() {
        let mut pts: Vec<Point> = (0..10_000)
            .map(|i| Point {
                at: i * 3600,
                value: 1.0,
                anomaly: false,
            })
            .collect();
        pts[5000].anomaly = true;
        pts[5000].value = 9.0;
        let t = thin(&pts, 300);
        assert!(t.len() <= 310, "{}", t.len());
        assert!(t.iter().any(|p| p.anomaly && p.value == 9.0));
        assert!(t.first().unwrap().at < 3 * 86400 && t.last().unwrap().at > 9_900 * 3600);
        assert!(t.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn days_until_full_follows_the_fill_rate() {
        let day = 86400;
        // 10 GB used more per day, 100 GB free at the end: 10 days.
        let s: Vec<(i64, u64, u64)> = (0..5)
            .map(|d| {
                (
                    d * day,
                    (d as u64) * 10_000_000_000,
                    140_000_000_000 - d as u64 * 10_000_000_000,
                )
            })
            .collect();
        let d = days_until_full(&s).unwrap();
        assert!((d - 10.0).abs() < 0.01, "{d}");
        let shrinking: Vec<(i64, u64, u64)> = vec![(0, 10, 90), (day, 5, 95)];
        assert_eq!(days_until_full(&shrinking), None);
        assert_eq!(days_until_full(&[(0, 1, 1)]), None);
        assert_eq!(change_pct(&[2.0, 2.0, 2.0], &[1.0, 1.0, 1.0]), Some(100.0));
    }
}
