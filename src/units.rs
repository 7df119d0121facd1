//! Units as dxbackup shows them: sizes in IEC units (`1.2 GiB`), speeds in MB/s (10^6 bytes,
//! the seed's unit), and durations in machine output as plain seconds.

/// `1.2 GiB`-style sizes.
pub fn bytes(n: u64) -> String {
    bytesize::ByteSize(n).display().iec().to_string()
}

/// Megabytes (10^6) per second, the seed's unit.
pub fn mb_per_s(bytes: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        0.0
    } else {
        bytes as f64 / 1e6 / secs
    }
}

/// Serializes a `Duration` as seconds (a float), the one form `--json` uses.
pub mod secs {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    /// The same for an optional duration (`null` when absent).
    pub mod option {
        use std::time::Duration;

        pub fn serialize<S: serde::Serializer>(
            d: &Option<Duration>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_some(&d.as_secs_f64()),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[derive(serde::Serialize)]
    struct T {
        #[serde(with = "super::secs")]
        a: Duration,
        #[serde(with = "super::secs::option")]
        b: Option<Duration>,
    }

    #[test]
    fn durations_are_seconds() {
        let t = T {
            a: Duration::from_millis(1500),
            b: None,
        };
        assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"a":1.5,"b":null}"#);
    }
}
