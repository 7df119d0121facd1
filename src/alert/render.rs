//! The words of a message: one per channel and evaluation, listing what is new, still open or
//! cleared, in the operator's terms (host, subject, what is wrong, since when, what to do), as
//! plain text and HTML (mail), DingTalk/WeCom markdown, Slack mrkdwn and JSON.

use jiff::Timestamp;
use serde::Serialize;

use crate::monitor::state::{level_name, Notice, NoticeKind};
use crate::monitor::Finding;
use crate::status::{human, Level};

/// What one channel is told at once.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub host: String,
    pub title: String,
    pub notices: Vec<Notice>,
    #[serde(skip)]
    pub now: Timestamp,
}

/// `CRITICAL`, `WARNING`, `RECOVERED`.
fn tag(n: &Notice) -> &'static str {
    match (n.kind, n.finding.severity) {
        (NoticeKind::Recovery, _) => "RECOVERED",
        (_, Level::Critical) => "CRITICAL",
        (_, Level::Warning) => "WARNING",
        (_, Level::Ok) => "OK",
    }
}

impl Message {
    pub fn new(host: &str, notices: Vec<Notice>, now: Timestamp) -> Self {
        let count = |f: &dyn Fn(&Notice) -> bool| notices.iter().filter(|n| f(n)).count();
        let crit =
            count(&|n| n.kind != NoticeKind::Recovery && n.finding.severity == Level::Critical);
        let warn =
            count(&|n| n.kind != NoticeKind::Recovery && n.finding.severity == Level::Warning);
        let rec = count(&|n| n.kind == NoticeKind::Recovery);
        let title = match notices.as_slice() {
            [one] => format!("{} {}: {}", tag(one), host, one.finding.key),
            _ => {
                let mut parts = Vec::new();
                for (n, word) in [(crit, "critical"), (warn, "warning"), (rec, "recovered")] {
                    if n > 0 {
                        parts.push(format!("{n} {word}"));
                    }
                }
                format!("{host}: {}", parts.join(", "))
            }
        };
        Self {
            host: host.to_string(),
            title: format!("[dxbackup] {title}"),
            notices,
            now,
        }
    }

    /// `since 2026-12-02 04:10 (2h 5m ago)`, local time.
    fn since(&self, f: &Finding) -> String {
        f.since.map_or(String::new(), |t| {
            let local = t
                .to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M %Z");
            let ago = human(std::time::Duration::from_secs(
                (self.now.as_second() - t.as_second()).max(0) as u64,
            ));
            format!("since {local} ({ago} ago)")
        })
    }

    /// One line per notice: tag, subject, what is wrong and what to do, since when.
    fn lines(&self) -> Vec<(&'static str, &Notice, String)> {
        self.notices
            .iter()
            .map(|n| {
                let f = &n.finding;
                let body = match n.kind {
                    NoticeKind::Recovery => format!(
                        "{} cleared (was {}{}{})",
                        f.key,
                        level_name(f.severity),
                        if f.message.is_empty() { "" } else { ": " },
                        f.message
                    ),
                    _ => format!("{} ({}{})", f.message, f.key, {
                        let s = self.since(f);
                        if s.is_empty() {
                            s
                        } else {
                            format!(", {s}")
                        }
                    }),
                };
                (tag(n), n, body)
            })
            .collect()
    }

    pub fn text(&self) -> String {
        let mut out = format!("{}\nhost: {}\n\n", self.title, self.host);
        for (tag, n, body) in self.lines() {
            out += &format!("{tag} {}: {body}\n", n.finding.subject);
        }
        out + "\n-- dxbackup monitor ('dxbackup status' shows everything)\n"
    }

    pub fn html(&self) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let mut out = format!(
            "<html><body><h3>{}</h3><p>host: <b>{}</b></p><ul>",
            esc(&self.title),
            esc(&self.host)
        );
        for (tag, n, body) in self.lines() {
            let color = match tag {
                "CRITICAL" => "#c0392b",
                "WARNING" => "#d68910",
                _ => "#1e8449",
            };
            out += &format!(
                "<li><b style=\"color:{color}\">{tag}</b> <b>{}</b>: {}</li>",
                esc(&n.finding.subject),
                esc(&body)
            );
        }
        out + "</ul><p><small>dxbackup monitor ('dxbackup status' shows everything)</small></p></body></html>"
    }

    /// DingTalk's markdown (a subset: headings, bold, lists).
    pub fn dingtalk_markdown(&self) -> String {
        let mut out = format!("### {}\n\n**host**: {}\n\n", self.title, self.host);
        for (tag, n, body) in self.lines() {
            out += &format!("- **{tag}** {}: {body}\n", n.finding.subject);
        }
        out
    }

    /// WeCom's markdown: its `<font color>` marks the severity.
    pub fn wecom_markdown(&self) -> String {
        let mut out = format!("### {}\n>host: {}\n", self.title, self.host);
        for (tag, n, body) in self.lines() {
            let color = match tag {
                "CRITICAL" => "warning",
                "WARNING" => "comment",
                _ => "info",
            };
            out += &format!(
                "- <font color=\"{color}\">{tag}</font> **{}**: {body}\n",
                n.finding.subject
            );
        }
        out
    }

    /// Slack's mrkdwn: `*bold*`, `` `code` ``.
    pub fn slack_mrkdwn(&self) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let mut out = format!("*{}*\nhost: `{}`\n", esc(&self.title), esc(&self.host));
        for (tag, n, body) in self.lines() {
            out += &format!("• *{tag}* `{}`: {}\n", esc(&n.finding.subject), esc(&body));
        }
        out
    }

    /// The generic webhook's default body.
    pub fn json(&self) -> serde_json::Value {
        let findings: Vec<serde_json::Value> =
            self.notices.iter().map(|n| fields(&self.host, n)).collect();
        serde_json::json!({
            "source": "dxbackup",
            "host": self.host,
            "title": self.title,
            "text": self.text(),
            "findings": findings,
        })
    }
}

/// The fields of one notice, for the webhook's JSON and its `{{field}}` templates.
pub fn fields(host: &str, n: &Notice) -> serde_json::Value {
    let f = &n.finding;
    serde_json::json!({
        "host": host,
        "key": f.key,
        "check": f.check(),
        "subject": f.subject,
        "severity": level_name(f.severity),
        "status": if n.kind == NoticeKind::Recovery { "resolved" } else { "firing" },
        "kind": n.kind.as_str(),
        "message": f.message,
        "since": f.since.map(|t| t.to_string()),
    })
}

/// `{{field}}` replaced by the notice's field; in a JSON-looking template the values are
/// JSON-escaped (without quotes), so `"{{message}}"` stays valid JSON.
pub fn template(body: &str, host: &str, n: &Notice) -> String {
    let v = fields(host, n);
    let json = body.trim_start().starts_with('{') || body.trim_start().starts_with('[');
    let mut out = body.to_string();
    if let serde_json::Value::Object(m) = v {
        for (k, val) in m {
            let text = match &val {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            let text = if json {
                let quoted = serde_json::to_string(&text).unwrap_or_default();
                quoted[1..quoted.len() - 1].to_string()
            } else {
                text
            };
            out = out.replace(&format!("{{{{{k}}}}}"), &text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(kind: NoticeKind, l: Level) -> Notice {
        let mut f = Finding::new(
            "freshness",
            "shop",
            l,
            "RPO exceeded: \"1h\" old; run 'dxbackup backup shop'",
        );
        f.since = Some(Timestamp::from_second(1_800_000_000).unwrap());
        Notice {
            channel: "c".into(),
            kind,
            finding: f,
        }
    }

    #[test]
    fn one_notice_names_host_subject_and_what_to_do() {
        let now = Timestamp::from_second(1_800_003_600).unwrap();
        let m = Message::new(
            "etl-01",
            vec![notice(NoticeKind::Alert, Level::Critical)],
            now,
        );
        assert_eq!(m.title, "[dxbackup] CRITICAL etl-01: freshness:shop");
        let t = m.text();
        assert!(
            t.contains("CRITICAL shop: RPO exceeded") && t.contains("(1h 0m ago)"),
            "{t}"
        );
        assert!(m.html().contains("&quot;1h&quot;"), "{}", m.html());
        assert!(m.dingtalk_markdown().contains("- **CRITICAL** shop"));
        assert!(m
            .wecom_markdown()
            .contains("<font color=\"warning\">CRITICAL</font>"));
        assert!(m.slack_mrkdwn().contains("• *CRITICAL* `shop`"));
        assert_eq!(m.json()["findings"][0]["status"], "firing");
    }

    #[test]
    fn many_notices_are_counted_in_the_title() {
        let m = Message::new(
            "h",
            vec![
                notice(NoticeKind::Alert, Level::Critical),
                notice(NoticeKind::Repeat, Level::Warning),
                notice(NoticeKind::Recovery, Level::Warning),
            ],
            Timestamp::now(),
        );
        assert_eq!(m.title, "[dxbackup] h: 1 critical, 1 warning, 1 recovered");
        assert!(m
            .text()
            .contains("RECOVERED shop: freshness:shop cleared (was warning: RPO"));
    }

    #[test]
    fn templates_fill_fields_and_keep_json_valid() {
        let n = notice(NoticeKind::Alert, Level::Critical);
        let body = template(
            r#"{"text": "{{severity}} on {{host}}: {{message}}", "k": "{{key}}"}"#,
            "h",
            &n,
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["k"], "freshness:shop");
        assert!(v["text"]
            .as_str()
            .unwrap()
            .starts_with("critical on h: RPO exceeded: \"1h\""));
        assert_eq!(template("{{subject}}!", "h", &n), "shop!");
    }
}
