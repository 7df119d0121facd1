//! The target of a point-in-time restore as the user writes it: `--until T` (local time, or
//! the instant an offset or zone names), `--until-gtid D-S-N`, `--until-position FILE:POS`.
//! Garbage is an error, never a target somewhere else than the one meant.

use anyhow::Context as _;

use crate::source::mysql::binlog::sequence;
use crate::source::mysql::dump::Coordinates;
use crate::source::mysql::replay::Until;

/// The target of `--until T`, `--until-gtid G` or `--until-position FILE:POS` (at most one).
pub fn parse_until(
    until: Option<&str>,
    gtid: Option<&str>,
    position: Option<&str>,
) -> anyhow::Result<Until> {
    if let Some(t) = until {
        return Ok(Until::Time(until_time(t)?));
    }
    if let Some(g) = gtid {
        return Ok(Until::Gtid(g.parse().map_err(anyhow::Error::msg)?));
    }
    if let Some(p) = position {
        return until_position(p).map(Until::Position);
    }
    Ok(Until::Latest)
}

/// Unix seconds of `YYYY-MM-DD HH:MM:SS` on the local clock; with an offset or a zone
/// (`...+08:00`, `...Z`, `...[Asia/Shanghai]`) the instant they name, which a civil parse
/// would take as local time and silently shift by the difference.
fn until_time(t: &str) -> anyhow::Result<i64> {
    let t = t.trim();
    let hint = || format!("--until `{t}`: use YYYY-MM-DD HH:MM:SS");
    if let Ok(z) = t.parse::<jiff::Zoned>() {
        return Ok(z.timestamp().as_second());
    }
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second());
    }
    let dt: jiff::civil::DateTime = t.parse().with_context(hint)?;
    let z = dt
        .to_zoned(jiff::tz::TimeZone::system())
        .with_context(hint)?;
    Ok(z.timestamp().as_second())
}

/// `mysql-bin.000123:4567`: a binlog file name with its sequence number, a byte position.
fn until_position(p: &str) -> anyhow::Result<Coordinates> {
    let (file, pos) = p
        .trim()
        .rsplit_once(':')
        .with_context(|| format!("--until-position `{p}`: use FILE:POS"))?;
    anyhow::ensure!(
        sequence(file).is_some(),
        "--until-position `{p}`: `{file}` is not a binlog file name like mysql-bin.000123"
    );
    anyhow::ensure!(
        !pos.is_empty() && pos.bytes().all(|b| b.is_ascii_digit()),
        "--until-position `{p}`: POS must be a number"
    );
    Ok(Coordinates {
        file: file.into(),
        position: pos
            .parse()
            .with_context(|| format!("--until-position `{p}`: POS is too large"))?,
    })
}

#[cfg(test)]
mod proptests;
