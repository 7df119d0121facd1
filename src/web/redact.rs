//! The last line of defence: no page, API answer or report carries a secret of the config.
//! The pages are built from records that hold none (config views use the stored config, job
//! files are masked), but error texts and job logs come from elsewhere; every response body
//! and report is searched for each secret the config points at (the token, the contents of
//! password, key, secret and URL files, password variables, literal webhook URLs and header
//! values) and any found is replaced by `<removed>`. Password commands are not run for this.

use std::path::Path;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::config::REMOVED;
use crate::job::Site;

/// Secrets shorter than this are not searched for: they would match ordinary text.
const MIN_LEN: usize = 6;

#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn for_site(site: &Site, token: &str) -> Self {
        let mut r = Self::default();
        r.add(token);
        let cfg = &site.config;
        let file = |r: &mut Self, p: Option<&std::path::PathBuf>| {
            if let Some(p) = p.filter(|p| !crate::config::is_removed(p)) {
                r.add_file(&site.resolve(p));
            }
        };
        for repo in cfg.repository.values() {
            file(&mut r, repo.password_file.as_ref());
            file(&mut r, repo.access_key_file.as_ref());
        }
        for src in cfg.source.values() {
            file(&mut r, src.password_file.as_ref());
            if let Some(v) = src
                .password_env
                .as_ref()
                .and_then(|v| std::env::var(v).ok())
            {
                r.add(&v);
            }
        }
        for a in cfg.alert.values() {
            file(&mut r, a.password_file.as_ref());
            file(&mut r, a.secret_file.as_ref());
            file(&mut r, a.url_file.as_ref());
            if let Some(u) = &a.url {
                r.add(u);
            }
            for v in a.headers.iter().flat_map(|h| h.values()) {
                r.add(v);
            }
        }
        if let Ok(p) = std::env::var("DXBACKUP_PASSWORD") {
            r.add(&p);
        }
        r
    }

    /// A secret, and the forms it takes escaped in HTML and in JSON strings.
    pub fn add(&mut self, secret: &str) {
        let s = secret.trim();
        if s.len() < MIN_LEN || s == REMOVED {
            return;
        }
        let html = maud::html! { (s) }.into_string();
        let json = serde_json::to_string(s).unwrap_or_default();
        let json = json.trim_matches('"').to_string();
        for form in [s.to_string(), html, json] {
            if !self.secrets.contains(&form) {
                self.secrets.push(form);
            }
        }
        // Longest first, so a secret containing another is removed whole.
        self.secrets.sort_by_key(|x| std::cmp::Reverse(x.len()));
    }

    /// Every line of a secret file, and both halves of a `KEY_ID:SECRET` line.
    fn add_file(&mut self, path: &Path) {
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
            self.add(line);
            if let Some((id, secret)) = line.split_once(':') {
                self.add(id);
                self.add(secret);
            }
        }
    }

    /// `text` with every secret replaced by `<removed>` (escaped for HTML when `html`);
    /// `None` when it held none.
    pub fn clean(&self, text: &str, html: bool) -> Option<String> {
        let with = if html { "&lt;removed&gt;" } else { REMOVED };
        let mut out: Option<String> = None;
        for s in &self.secrets {
            let cur = out.as_deref().unwrap_or(text);
            if cur.contains(s.as_str()) {
                out = Some(cur.replace(s.as_str(), with));
            }
        }
        out
    }
}

/// Scrubs every text body the dashboard sends.
pub async fn scrub(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    let kind = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let textual = kind.starts_with("text/") || kind.starts_with("application/json");
    if !textual || path.starts_with("/assets/") {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return Response::from_parts(parts, Body::from("response too large"));
    };
    let text = String::from_utf8_lossy(&bytes);
    match st.redactor().clean(&text, kind.starts_with("text/html")) {
        None => Response::from_parts(parts, Body::from(bytes)),
        Some(clean) => {
            tracing::warn!(path = %path, "dashboard: a response held a secret of the config; it was replaced by <removed>");
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(clean))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_longest_first() {
        let mut r = Redactor::default();
        r.add("short");
        r.add("hunter22");
        r.add("hunter22-and-more");
        r.add("quote\"and<tag>");
        assert_eq!(r.clean("nothing here", false), None);
        assert_eq!(
            r.clean("a hunter22-and-more b hunter22 short", false)
                .as_deref(),
            Some("a <removed> b <removed> short")
        );
        assert_eq!(
            r.clean("x quote&quot;and&lt;tag&gt;", true).as_deref(),
            Some("x &lt;removed&gt;")
        );
        assert_eq!(
            r.clean("{\"e\":\"quote\\\"and<tag>\"}", false).as_deref(),
            Some("{\"e\":\"<removed>\"}")
        );
    }
}
