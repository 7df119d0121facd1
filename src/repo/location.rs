//! Where a repository lives, parsed from its `url`: a local path, `sftp://user@host[:port]/path`
//! or a bucket (`s3://`, `oss://`, `cos://` + `bucket/prefix`). Pure: validation and the
//! repository module share this one reading of a URL, so they cannot disagree.

use std::fmt;

/// A parsed repository URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A folder on this machine (a mounted NAS counts), as written: relative paths are
    /// resolved against the config file later.
    Local(String),
    Sftp {
        user: String,
        host: String,
        port: Option<u16>,
        /// Absolute path on the server.
        path: String,
    },
    Bucket {
        service: BucketService,
        bucket: String,
        /// Key prefix inside the bucket, without leading or trailing `/` (may be empty).
        prefix: String,
    },
}

/// The object stores this build talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketService {
    S3,
    /// Aliyun Object Storage Service.
    Oss,
    /// Tencent Cloud Object Storage.
    Cos,
}

impl BucketService {
    pub fn scheme(self) -> &'static str {
        match self {
            Self::S3 => "s3",
            Self::Oss => "oss",
            Self::Cos => "cos",
        }
    }
}

impl fmt::Display for BucketService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme())
    }
}

/// Why a URL is not usable: the message and a hint showing the accepted form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LocationError {
    pub message: String,
    pub hint: String,
}

fn bad(message: impl Into<String>, hint: &str) -> LocationError {
    LocationError {
        message: message.into(),
        hint: hint.into(),
    }
}

const SFTP_FORM: &str = "write sftp://USER@HOST[:PORT]/ABSOLUTE/PATH";
const BUCKET_FORM: &str = "write s3://BUCKET/PREFIX (or oss://, cos://)";

impl Location {
    pub fn parse(url: &str) -> Result<Self, LocationError> {
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Ok(Self::Local(url.to_string()));
        };
        match scheme {
            "sftp" => parse_sftp(rest),
            "s3" => parse_bucket(BucketService::S3, rest),
            "oss" => parse_bucket(BucketService::Oss, rest),
            "cos" => parse_bucket(BucketService::Cos, rest),
            other => Err(bad(
                format!("`{other}://` repositories are not supported"),
                "use a local path (a NAS mount works), sftp://, s3://, oss:// or cos://",
            )),
        }
    }

    pub fn is_remote(&self) -> bool {
        !matches!(self, Self::Local(_))
    }

    pub fn is_sftp(&self) -> bool {
        matches!(self, Self::Sftp { .. })
    }

    pub fn bucket_service(&self) -> Option<BucketService> {
        match self {
            Self::Bucket { service, .. } => Some(*service),
            _ => None,
        }
    }
}

fn parse_sftp(rest: &str) -> Result<Location, LocationError> {
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let Some((user, hostport)) = authority.rsplit_once('@') else {
        return Err(bad("an sftp URL needs a user", SFTP_FORM));
    };
    if user.is_empty() || user.contains(':') {
        return Err(bad(
            "an sftp URL needs a user name and no password in it",
            "key authentication only: set ssh-key = \"/path/to/id_ed25519\"",
        ));
    }
    let (host, port) = split_host_port(hostport)?;
    if host.is_empty() {
        return Err(bad("an sftp URL needs a host", SFTP_FORM));
    }
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return Err(bad(
            "an sftp URL needs the repository's absolute path on the server",
            SFTP_FORM,
        ));
    }
    Ok(Location::Sftp {
        user: user.into(),
        host,
        port,
        path: path.into(),
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(s: &str) -> Result<(String, Option<u16>), LocationError> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unclosed `[` in the host", SFTP_FORM))?;
        (h, after.strip_prefix(':'))
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad(format!("bad port `{p}`"), SFTP_FORM))
        })
        .transpose()?;
    Ok((host.to_string(), port))
}

fn parse_bucket(service: BucketService, rest: &str) -> Result<Location, LocationError> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    if bucket.is_empty() || !bucket.chars().all(ok) {
        return Err(bad(
            format!("`{bucket}` is not a bucket name (lowercase letters, digits, `-`, `.`)"),
            BUCKET_FORM,
        ));
    }
    Ok(Location::Bucket {
        service,
        bucket: bucket.into(),
        prefix: prefix.trim_matches('/').into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn sftp(user: &str, host: &str, port: Option<u16>, path: &str) -> Location {
        Location::Sftp {
            user: user.into(),
            host: host.into(),
            port,
            path: path.into(),
        }
    }

    fn bucket(service: BucketService, bucket: &str, prefix: &str) -> Location {
        Location::Bucket {
            service,
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    #[rstest]
    #[case("/backup/dx", Location::Local("/backup/dx".into()))]
    #[case("repo", Location::Local("repo".into()))]
    #[case("sftp://bak@nas/srv/dx", sftp("bak", "nas", None, "/srv/dx"))]
    #[case(
        "sftp://bak@nas:2222/srv/dx/",
        sftp("bak", "nas", Some(2222), "/srv/dx")
    )]
    #[case("sftp://bak@[::1]:22/r", sftp("bak", "::1", Some(22), "/r"))]
    #[case(
        "s3://dx-backup/etl/prod",
        bucket(BucketService::S3, "dx-backup", "etl/prod")
    )]
    #[case("s3://dx-backup", bucket(BucketService::S3, "dx-backup", ""))]
    #[case("oss://b/p/", bucket(BucketService::Oss, "b", "p"))]
    #[case(
        "cos://b-1250000000/p",
        bucket(BucketService::Cos, "b-1250000000", "p")
    )]
    fn parses(#[case] url: &str, #[case] expected: Location) {
        assert_eq!(Location::parse(url).unwrap(), expected);
    }

    #[rstest]
    #[case("ftp://x/y", "not supported")]
    #[case("sftp://nas/srv", "needs a user")]
    #[case("sftp://bak:secret@nas/srv", "no password")]
    #[case("sftp://bak@nas", "absolute path")]
    #[case("sftp://bak@nas:99999/x", "bad port")]
    #[case("sftp://bak@/x", "needs a host")]
    #[case("s3://My_Bucket/x", "not a bucket name")]
    #[case("s3:///x", "not a bucket name")]
    fn rejects(#[case] url: &str, #[case] needle: &str) {
        let e = Location::parse(url).unwrap_err();
        assert!(e.message.contains(needle), "{e:?}");
        assert!(!e.hint.is_empty());
    }
}
