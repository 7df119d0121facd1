//! The HTTP channels: DingTalk and WeCom group robots (markdown), Slack incoming webhooks
//! (mrkdwn), a generic webhook (JSON, or a `{{field}}` template per finding), and the ping
//! of a dead man's switch. One blocking reqwest client per attempt, bounded by the attempt's
//! timeout; errors carry the status and the answer, never the URL (it holds the key).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{render, AlertError, Channel, Message};
use crate::config::{AlertConfig, AlertKind};

pub struct Http {
    name: String,
    kind: AlertKind,
    url: String,
    /// DingTalk: the signing secret.
    secret: Option<String>,
    method: reqwest::Method,
    headers: BTreeMap<String, String>,
    body: Option<String>,
}

impl Http {
    pub fn new(
        name: &str,
        kind: AlertKind,
        a: &AlertConfig,
        url: String,
        secret: Option<String>,
    ) -> Result<Self, AlertError> {
        let method = a.method.as_deref().unwrap_or("POST").to_ascii_uppercase();
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| AlertError::Setup {
                channel: name.into(),
                message: format!("`{method}` is not an HTTP method"),
            })?;
        if reqwest::Url::parse(&url).is_err() {
            return Err(AlertError::Setup {
                channel: name.into(),
                // The URL may hold the robot's key: say what is wrong, not what it is.
                message: "its url is not a URL; check url or the first line of url-file".into(),
            });
        }
        Ok(Self {
            name: name.into(),
            kind,
            url,
            secret,
            method,
            headers: a.headers.clone().unwrap_or_default(),
            body: a.body.clone(),
        })
    }

    fn fail(&self, message: String) -> AlertError {
        AlertError::Send {
            channel: self.name.clone(),
            message,
        }
    }

    /// One request; an answer other than 2xx, or a robot's `errcode` other than 0, fails.
    fn request(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<(String, &str)>,
        timeout: Duration,
    ) -> Result<(), AlertError> {
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| self.fail(format!("cannot start an HTTP client: {}", e.without_url())))?;
        let mut req = client.request(method, url);
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if let Some((body, content_type)) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body);
        }
        let resp = req.send().map_err(|e| {
            if e.is_timeout() {
                AlertError::Timeout {
                    channel: self.name.clone(),
                    timeout,
                }
            } else {
                let e = e.without_url();
                let mut m = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    m += &format!(": {s}");
                    src = s.source();
                }
                self.fail(format!("request failed: {m}"))
            }
        })?;
        let status = resp.status();
        let text: String = resp.text().unwrap_or_default().chars().take(300).collect();
        if !status.is_success() {
            return Err(self.fail(format!("the server answered {status}: {}", text.trim())));
        }
        // DingTalk and WeCom answer 200 with an error code in the body.
        if matches!(self.kind, AlertKind::Dingtalk | AlertKind::Wecom) {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let code = v["errcode"].as_i64().unwrap_or(0);
            if code != 0 {
                return Err(self.fail(format!(
                    "the robot refused the message: errcode {code}, {}",
                    v["errmsg"]
                )));
            }
        }
        Ok(())
    }

    /// The URL with DingTalk's signature: `timestamp` (ms) and `sign`, the base64 of
    /// HMAC-SHA256 over `timestamp + "\n" + secret` keyed with the secret, URL-encoded.
    fn signed_url(&self) -> String {
        let Some(secret) = &self.secret else {
            return self.url.clone();
        };
        let ts = jiff::Timestamp::now().as_millisecond();
        let sign = dingtalk_sign(ts, secret);
        let sep = if self.url.contains('?') { '&' } else { '?' };
        let encoded: String = url_encode(&sign);
        format!("{}{sep}timestamp={ts}&sign={encoded}", self.url)
    }

    /// For a ping channel: GET `url` + `suffix` (`/start`, `/fail`, or nothing for success).
    pub fn ping(&self, suffix: &str, timeout: Duration) -> Result<(), AlertError> {
        let url = format!("{}{suffix}", self.url.trim_end_matches('/'));
        self.request(reqwest::Method::GET, &url, None, timeout)
    }
}

/// DingTalk's robot signature for `timestamp_ms`.
pub fn dingtalk_sign(timestamp_ms: i64, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const JSON: &str = "application/json";

impl Channel for Http {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> AlertKind {
        self.kind
    }

    fn send(&self, m: &Message, timeout: Duration) -> Result<(), AlertError> {
        let post = |url: &str, v: serde_json::Value| {
            self.request(
                reqwest::Method::POST,
                url,
                Some((v.to_string(), JSON)),
                timeout,
            )
        };
        match self.kind {
            AlertKind::Dingtalk => post(
                &self.signed_url(),
                serde_json::json!({"msgtype": "markdown", "markdown": {"title": m.title, "text": m.dingtalk_markdown()}}),
            ),
            AlertKind::Wecom => post(
                &self.url,
                serde_json::json!({"msgtype": "markdown", "markdown": {"content": m.wecom_markdown()}}),
            ),
            AlertKind::Slack => post(
                &self.url,
                serde_json::json!({"text": m.slack_mrkdwn(), "mrkdwn": true}),
            ),
            AlertKind::Webhook => match &self.body {
                // A template is about one finding: one request per notice.
                Some(t) => {
                    let ct = if t.trim_start().starts_with('{') {
                        JSON
                    } else {
                        "text/plain; charset=utf-8"
                    };
                    m.notices.iter().try_for_each(|n| {
                        let body = render::template(t, &m.host, n);
                        self.request(self.method.clone(), &self.url, Some((body, ct)), timeout)
                    })
                }
                None => self.request(
                    self.method.clone(),
                    &self.url,
                    Some((m.json().to_string(), JSON)),
                    timeout,
                ),
            },
            AlertKind::Ping => self.ping("", timeout),
            AlertKind::Email => unreachable!("email is not an HTTP channel"),
        }
    }

    fn ping(&self, suffix: &str, timeout: Duration) -> Result<(), AlertError> {
        if self.kind == AlertKind::Ping {
            Http::ping(self, suffix, timeout)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dingtalk_signature_as_documented() {
        // HMAC-SHA256("SECabc", "1700000000000\nSECabc"), base64: computed independently
        // with Python's hmac module.
        assert_eq!(
            dingtalk_sign(1_700_000_000_000, "SECabc"),
            "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM="
        );
        assert_eq!(url_encode("a+b/c="), "a%2Bb%2Fc%3D");
    }
}
