//! "Did you mean `root`?": the known name nearest to a mistyped key or value, so a typo is
//! answered with its fix rather than a list of every key the table accepts.

use super::Problem;

/// The problem for an unknown key: the nearest known key as the hint, else the known keys.
pub fn unknown_key(key: &str, field: &str, known: &[String]) -> Problem {
    let p = Problem::new(key, format!("unknown field `{field}`"));
    match nearest(field, known) {
        Some(k) => p.hint(format!("did you mean `{k}`?")),
        None if known.is_empty() => p.hint("this table takes no keys; remove it"),
        None => p.hint(format!("the keys here are {}", known.join(", "))),
    }
}

/// The names serde lists after "expected" (`one of `a`, `b`` or `` `a` ``).
pub fn expected(message: &str) -> Vec<String> {
    let Some((_, list)) = message.split_once(", expected") else {
        return Vec::new();
    };
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The known name closest to `word`: the same once case and `_`/`-` are ignored, or within
/// an edit distance of about a quarter of its length (one typo in a short key, two or three in
/// a long one). Ties go to the earlier name, which serde lists in declaration order.
pub fn nearest<'a>(word: &str, known: &'a [String]) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let w = norm(word);
    if let Some(k) = known.iter().find(|k| norm(k) == w) {
        return Some(k);
    }
    let limit = (w.chars().count() + 2) / 4;
    known
        .iter()
        .map(|k| (distance(&w, &norm(k)), k))
        .filter(|(d, _)| *d <= limit.max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Edit distance in characters, a swap of neighbours counting as one edit (the optimal
/// string alignment distance): `nsa` is one typo from `nas`.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn names(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[rstest]
    #[case("rot", "kind tier root include exclude host", Some("root"))]
    #[case(
        "pasword-file",
        "url primary password-file password-command",
        Some("password-file")
    )]
    #[case("keep_daily", "keep-last keep-daily keep-weekly", Some("keep-daily"))]
    #[case("Keep-Daily", "keep-last keep-daily", Some("keep-daily"))]
    #[case("keep-dayly", "keep-last keep-daily keep-weekly", Some("keep-daily"))]
    #[case("includes", "root include exclude", Some("include"))]
    #[case(
        "retension",
        "host repository source tier retention stats",
        Some("retention")
    )]
    #[case("colour", "host repository source tier retention stats", None)]
    #[case("nsa", "disk nas cloud", Some("nas"))]
    #[case("x", "url primary", None)]
    #[case("bogus", "url primary medium", None)]
    fn nearest_known_name(#[case] word: &str, #[case] known: &str, #[case] want: Option<&str>) {
        assert_eq!(nearest(word, &names(known)), want);
    }

    #[rstest]
    #[case(
        "unknown field `rot`, expected one of `kind`, `tier`, `root`",
        "kind tier root"
    )]
    #[case("unknown field `x`, expected `url`", "url")]
    #[case("unknown variant `dsk`, expected one of `disk`, `nas`", "disk nas")]
    fn expected_names_are_read(#[case] message: &str, #[case] want: &str) {
        assert_eq!(expected(message), names(want));
    }

    #[test]
    fn no_near_name_lists_the_keys() {
        let p = unknown_key(
            "stats.bogus",
            "bogus",
            &names("warn-avg-duration speed-min-bytes"),
        );
        assert_eq!(
            p.hint.as_deref(),
            Some("the keys here are warn-avg-duration, speed-min-bytes")
        );
    }
}
