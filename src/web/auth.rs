//! Who may look: the token, and nobody else. A browser logs in with it once and gets an
//! HttpOnly, SameSite=Strict session cookie; every POST made with that cookie must carry the
//! session's CSRF token (a form field or `X-CSRF-Token`) and come from our own origin. API
//! clients send `Authorization: Bearer TOKEN` on each request. The token is compared in
//! constant time (its SHA-256, so not even its length leaks); failed attempts are limited per
//! client and overall, and logged without what was tried.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{layout, AppState};

pub const COOKIE: &str = "dxb_session";
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
const MAX_SESSIONS: usize = 256;
/// Failed attempts per client, and in all, per window, before further ones are refused.
const PER_CLIENT: u32 = 5;
const OVERALL: u32 = 30;
const WINDOW: Duration = Duration::from_secs(60);

/// How the request was authenticated, for the handlers (forms need the CSRF token).
#[derive(Debug, Clone)]
pub enum Auth {
    Session { id: String, csrf: String },
    Bearer,
}

impl Auth {
    /// The CSRF token forms carry; a bearer client has none (and needs none).
    pub fn csrf(&self) -> &str {
        match self {
            Auth::Session { csrf, .. } => csrf,
            Auth::Bearer => "",
        }
    }
}

#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, (String, Instant)>>);

impl Sessions {
    fn create(&self) -> (String, String) {
        let (id, csrf) = (random_hex(), random_hex());
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, t)| t.elapsed() < SESSION_TTL);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), (csrf.clone(), Instant::now()));
        (id, csrf)
    }

    fn csrf_of(&self, id: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id)
            .filter(|(_, t)| t.elapsed() < SESSION_TTL)
            .map(|(c, _)| c.clone())
    }

    fn remove(&self, id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

/// Failed logins per client and overall, in fixed windows.
#[derive(Default)]
pub struct Limiter(Mutex<LimiterState>);

#[derive(Default)]
struct LimiterState {
    clients: HashMap<IpAddr, (Instant, u32)>,
    overall: Option<(Instant, u32)>,
}

impl Limiter {
    /// How long until `ip` may try again, if it may not now.
    fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let wait = |(start, n): (Instant, u32), limit: u32| {
            (n >= limit && start.elapsed() < WINDOW).then(|| WINDOW - start.elapsed())
        };
        s.clients
            .get(&ip)
            .and_then(|c| wait(*c, PER_CLIENT))
            .or_else(|| s.overall.and_then(|o| wait(o, OVERALL)))
    }

    fn fail(&self, ip: IpAddr) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let bump = |slot: &mut (Instant, u32)| {
            if slot.0.elapsed() >= WINDOW {
                *slot = (Instant::now(), 0);
            }
            slot.1 += 1;
        };
        bump(s.clients.entry(ip).or_insert((Instant::now(), 0)));
        bump(s.overall.get_or_insert((Instant::now(), 0)));
        if s.clients.len() > 10_000 {
            s.clients.retain(|_, (t, _)| t.elapsed() < WINDOW);
        }
    }

    fn succeed(&self, ip: IpAddr) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clients
            .remove(&ip);
    }
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the OS random source");
    hex::encode(b)
}

/// A new token: 32 random bytes, hex.
pub fn new_token() -> String {
    random_hex()
}

/// Constant time, whatever the lengths: the digests are compared.
pub fn token_matches(token: &str, given: &str) -> bool {
    let (a, b) = (
        Sha256::digest(token.as_bytes()),
        Sha256::digest(given.as_bytes()),
    );
    !token.is_empty() && bool::from(a.as_slice().ct_eq(b.as_slice()))
}

fn client_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Pages and API alike: an authenticated request passes with its `Auth`; anything else is
/// answered 401 (the login page, or JSON under `/api/` and `/metrics`) and learns nothing.
pub async fn require(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = client_ip(&req);
    let machine = req.uri().path().starts_with("/api/") || req.uri().path() == "/metrics";
    if let Some(h) = req.headers().get(header::AUTHORIZATION) {
        if let Some(wait) = st.0.limiter.blocked(ip) {
            return too_many(wait, machine);
        }
        let given = h
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if token_matches(&st.0.token, given.trim()) {
            st.0.limiter.succeed(ip);
            req.extensions_mut().insert(Auth::Bearer);
            return next.run(req).await;
        }
        st.0.limiter.fail(ip);
        tracing::warn!(client = %ip, path = %req.uri().path(), "dashboard: rejected a wrong bearer token");
        return unauthorized(machine, req.uri().path());
    }
    let session =
        cookie(req.headers(), COOKIE).and_then(|id| Some((st.0.sessions.csrf_of(&id)?, id)));
    let Some((csrf, id)) = session else {
        return unauthorized(machine, req.uri().path());
    };
    if req.method() == Method::POST {
        req = match csrf_checked(req, &csrf).await {
            Ok(r) => r,
            Err(why) => {
                tracing::warn!(client = %ip, "dashboard: refused a POST: {why}");
                return (
                    StatusCode::FORBIDDEN,
                    format!("refused: {why}; reload the page and try again"),
                )
                    .into_response();
            }
        };
    }
    req.extensions_mut().insert(Auth::Session { id, csrf });
    next.run(req).await
}

/// A POST made with the session cookie must come from our origin and carry its CSRF token.
async fn csrf_checked(req: Request, csrf: &str) -> Result<Request, &'static str> {
    let headers = req.headers();
    if let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        let origin = origin.to_str().unwrap_or_default();
        let host = host.to_str().unwrap_or_default();
        let origin_host = origin.split("://").nth(1).unwrap_or(origin);
        if origin_host != host {
            return Err("it came from another origin");
        }
    }
    let ok = |given: &str| bool::from(given.as_bytes().ct_eq(csrf.as_bytes()));
    if let Some(h) = headers.get("x-csrf-token") {
        return if ok(h.to_str().unwrap_or_default()) {
            Ok(req)
        } else {
            Err("wrong CSRF token")
        };
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 10)
        .await
        .map_err(|_| "body too large")?;
    let given = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned());
    match given {
        Some(g) if ok(&g) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Some(_) => Err("wrong CSRF token"),
        None => Err("no CSRF token"),
    }
}

fn unauthorized(machine: bool, path: &str) -> Response {
    if machine {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"dxbackup\"")],
            axum::Json(serde_json::json!({ "error": "authentication required: send Authorization: Bearer TOKEN (the content of [web] token-file)" })),
        )
            .into_response();
    }
    (StatusCode::UNAUTHORIZED, layout::login(None, path)).into_response()
}

fn too_many(wait: Duration, machine: bool) -> Response {
    let text = format!(
        "too many failed logins: try again in {} s",
        wait.as_secs() + 1
    );
    let retry = (header::RETRY_AFTER, (wait.as_secs() + 1).to_string());
    if machine {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [retry],
            axum::Json(serde_json::json!({ "error": text })),
        )
            .into_response();
    }
    (
        StatusCode::TOO_MANY_REQUESTS,
        [retry],
        layout::login(Some(&text), "/"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    next: Option<String>,
}

/// Only a path of ours: no `//host` or absolute URL to send the browser elsewhere.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

async fn login_page(Query(q): Query<NextQuery>) -> Response {
    layout::login(None, safe_next(q.next.as_deref())).into_response()
}

async fn login(State(st): State<AppState>, req: Request) -> Response {
    let ip = client_ip(&req);
    if let Some(wait) = st.0.limiter.blocked(ip) {
        tracing::warn!(client = %ip, "dashboard: login refused, too many failures");
        return too_many(wait, false);
    }
    let Ok(Form(f)) = Form::<LoginForm>::from_request(req, &()).await else {
        return (StatusCode::BAD_REQUEST, "a login form has a token field").into_response();
    };
    let next = safe_next(f.next.as_deref()).to_string();
    if !token_matches(&st.0.token, f.token.trim()) {
        st.0.limiter.fail(ip);
        tracing::warn!(client = %ip, "dashboard: failed login");
        return (
            StatusCode::UNAUTHORIZED,
            layout::login(Some("That is not the token."), &next),
        )
            .into_response();
    }
    st.0.limiter.succeed(ip);
    let (id, _) = st.0.sessions.create();
    tracing::info!(client = %ip, "dashboard: login");
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

async fn logout(State(st): State<AppState>, Extension(auth): Extension<Auth>) -> Response {
    if let Auth::Session { id, .. } = auth {
        st.0.sessions.remove(&id);
    }
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

/// The login form: open to all.
pub fn routes() -> Router<AppState> {
    Router::new().route("/login", get(login_page).post(login))
}

/// Logging out needs a session (and its CSRF token).
pub fn guarded() -> Router<AppState> {
    Router::new().route("/logout", post(logout))
}
