//! The load average and the number of cores, read at the start of a job for `choose_mode`:
//! the only I/O of `schedule`, kept apart so the choice stays a pure function.

use std::path::PathBuf;

/// Where Linux publishes the load averages.
pub const LOADAVG: &str = "/proc/loadavg";

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the load average from {path}: {source} (is /proc mounted?)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the load average from {path}: unexpected content `{text}`")]
    Parse { path: PathBuf, text: String },
}

/// The 1-minute load average (runnable and uninterruptible tasks, all cores together).
pub fn load_1m() -> Result<f64, LoadError> {
    let path = PathBuf::from(LOADAVG);
    let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
        path: path.clone(),
        source,
    })?;
    parse_loadavg(&text).ok_or_else(|| LoadError::Parse {
        path,
        text: text.trim().to_string(),
    })
}

/// The first field of `/proc/loadavg` ("0.52 0.58 0.59 1/467 12345").
pub fn parse_loadavg(text: &str) -> Option<f64> {
    let first: f64 = text.split_whitespace().next()?.parse().ok()?;
    (first.is_finite() && first >= 0.0).then_some(first)
}

/// The CPUs online on the machine, what the load average is shared among; at least 1. Not
/// `available_parallelism`, which counts only the cores this process may use (a cgroup
/// quota), while the load average counts the whole machine.
pub fn online_cores() -> usize {
    // SAFETY: sysconf only reads a system value.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("0.52 0.58 0.59 1/467 12345\n", Some(0.52))]
    #[case("12.00 8.00 4.00 9/1200 1", Some(12.0))]
    #[case("", None)]
    #[case("busy 1 2", None)]
    #[case("-1 0 0", None)]
    fn the_first_field_is_the_1_minute_load(#[case] text: &str, #[case] want: Option<f64>) {
        assert_eq!(parse_loadavg(text), want);
    }

    #[test]
    fn this_machine_has_a_load_and_cores() {
        if std::path::Path::new(LOADAVG).exists() {
            assert!(load_1m().unwrap() >= 0.0);
        }
        assert!(online_cores() >= 1);
    }
}
