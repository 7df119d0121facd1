//! Building the OpenDAL operator for a location: typed builders (no string-keyed registry, so a
//! misspelt option cannot be ignored), then the timeout and retry layers every remote
//! repository gets.

use std::sync::Once;
use std::time::Duration;

use opendal::blocking::Operator;
use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::services::{Cos, Oss, Sftp, S3};

use super::super::{BucketService, Location};
use super::HostKeys;
use super::RemoteOptions;

/// Builds the blocking operator; must run inside the I/O runtime's context.
pub fn operator(location: &Location, opts: &RemoteOptions) -> opendal::Result<Operator> {
    static INSTALL: Once = Once::new();
    // The HTTP transport (reqwest) that the bucket services send their requests through.
    INSTALL.call_once(opendal::install_default);
    let op = match location {
        Location::Local(p) => {
            return Err(opendal::Error::new(
                opendal::ErrorKind::ConfigInvalid,
                format!("{p} is a local path, not a remote repository"),
            ))
        }
        Location::Sftp {
            user,
            host,
            port,
            path,
        } => opendal::Operator::new(sftp(user, host, *port, path, opts))?,
        Location::Bucket {
            service,
            bucket,
            prefix,
        } => {
            let root = format!("/{prefix}");
            match service {
                BucketService::S3 => opendal::Operator::new(s3(bucket, &root, opts))?,
                BucketService::Oss => opendal::Operator::new(oss(bucket, &root, opts))?,
                BucketService::Cos => opendal::Operator::new(cos(bucket, &root, opts))?,
            }
        }
    };
    // The timeout sits inside the retry: a stalled attempt is cut off and then retried, with
    // exponential backoff and jitter so parallel uploads do not retry in lockstep.
    let op = op
        .layer(
            TimeoutLayer::new()
                .with_timeout(opts.timeout)
                .with_io_timeout(opts.timeout),
        )
        .layer(
            RetryLayer::new()
                .with_max_times(opts.retries)
                .with_min_delay(Duration::from_millis(500))
                .with_max_delay(Duration::from_secs(30))
                .with_jitter(),
        );
    Operator::new(op)
}

fn sftp(user: &str, host: &str, port: Option<u16>, path: &str, opts: &RemoteOptions) -> Sftp {
    // OpenSSH's destination form carries the port; the user goes to `-l`.
    let endpoint = match port {
        Some(p) if host.contains(':') => format!("ssh://[{host}]:{p}"),
        Some(p) => format!("ssh://{host}:{p}"),
        None => host.to_string(),
    };
    let mut b = Sftp::default()
        .endpoint(&endpoint)
        .user(user)
        .root(path)
        .known_hosts_strategy(match opts.known_hosts {
            HostKeys::Strict => "strict",
            HostKeys::AddNew => "add",
            HostKeys::Accept => "accept",
        });
    if let Some(key) = &opts.ssh_key {
        b = b.key(&key.to_string_lossy());
    }
    b
}

fn s3(bucket: &str, root: &str, opts: &RemoteOptions) -> S3 {
    // Never ask the EC2 metadata service or ~/.aws for credentials behind the user's back:
    // the keys come from access-key-file or the environment, as documented.
    let mut b = S3::default()
        .bucket(bucket)
        .root(root)
        .disable_config_load()
        .disable_ec2_metadata();
    if let Some(e) = &opts.endpoint {
        b = b.endpoint(e);
    }
    // An endpoint without a region is an S3-compatible server: they accept any region name.
    let region = opts.region.as_deref().unwrap_or("us-east-1");
    b = b.region(region);
    let path_style = opts.path_style.unwrap_or(opts.endpoint.is_some());
    if !path_style {
        b = b.enable_virtual_host_style();
    }
    if let Some((id, secret)) = &opts.credentials {
        b = b.access_key_id(id).secret_access_key(secret.expose());
    }
    b
}

fn oss(bucket: &str, root: &str, opts: &RemoteOptions) -> Oss {
    let endpoint = opts.endpoint.clone().unwrap_or_else(|| {
        let region = opts.region.as_deref().unwrap_or_default();
        format!("https://oss-{region}.aliyuncs.com")
    });
    let mut b = Oss::default().bucket(bucket).root(root).endpoint(&endpoint);
    if let Some((id, secret)) = &opts.credentials {
        b = b.access_key_id(id).access_key_secret(secret.expose());
    }
    b
}

fn cos(bucket: &str, root: &str, opts: &RemoteOptions) -> Cos {
    let endpoint = opts.endpoint.clone().unwrap_or_else(|| {
        let region = opts.region.as_deref().unwrap_or_default();
        format!("https://cos.{region}.myqcloud.com")
    });
    let mut b = Cos::default()
        .bucket(bucket)
        .root(root)
        .endpoint(&endpoint)
        .disable_config_load();
    if let Some((id, secret)) = &opts.credentials {
        b = b.secret_id(id).secret_key(secret.expose());
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::Password;

    #[test]
    fn builds_every_service_without_touching_the_network() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let _enter = rt.enter();
        let opts = RemoteOptions {
            region: Some("cn-hangzhou".into()),
            credentials: Some(("id".into(), Password::new("secret"))),
            ..RemoteOptions::default()
        };
        for url in [
            "s3://b/p",
            "oss://b/p",
            "cos://b-125/p",
            "sftp://u@127.0.0.1:2222/srv/r",
        ] {
            let loc = Location::parse(url).unwrap();
            let op = operator(&loc, &opts).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(op.info().root().starts_with('/'), "{url}");
        }
        assert!(operator(&Location::Local("/x".into()), &opts).is_err());
    }
}
