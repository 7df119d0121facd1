//! The router in process (`oneshot`): authentication and its refusals, CSRF, headers, the
//! JSON shapes, and that no answer carries a secret of the config.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;

use super::*;
use crate::catalog::{Metrics, RunEnd, RunStatus};

const TOKEN: &str = "0123456789abcdef0123456789abcdef-test-token";
const REPO_PW: &str = "repository-password-Xq7";
const DB_PW: &str = "mysql-password-Zr4";
const HOOK_URL: &str = "https://hooks.example.com/services/T000/B000/secretpath";
const HEADER: &str = "Bearer header-secret-Kp2";
const SMTP_PW: &str = "smtp-password-Lm9";

/// Every page and API route that shows data.
const GUARDED: [&str; 17] = [
    "/",
    "/sources/datax",
    "/sources/shop",
    "/sources/shop/restore",
    "/runs",
    "/runs/1",
    "/drills",
    "/config",
    "/actions",
    "/api/v1/overview",
    "/api/v1/sources/datax",
    "/api/v1/sources/shop/restore-plan",
    "/api/v1/runs",
    "/api/v1/runs/1",
    "/api/v1/drills",
    "/api/v1/config",
    "/api/v1/actions",
];

struct Fixture {
    _dir: tempfile::TempDir,
    app: Router,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("pw"), format!("{REPO_PW}\n")).unwrap();
    std::fs::write(p("dbpw"), format!("{DB_PW}\n")).unwrap();
    std::fs::write(p("smtp.pw"), format!("{SMTP_PW}\n")).unwrap();
    std::fs::write(p("web.token"), format!("{TOKEN}\n")).unwrap();
    let config = format!(
        "[repository.local]\nurl = \"{}\"\npassword-file = \"pw\"\n\n\
         [source.datax]\nkind = \"files\"\nroot = \"src\"\ntier = \"critical\"\n\n\
         [source.shop]\nkind = \"mysql\"\nhost = \"127.0.0.1\"\nuser = \"backup\"\npassword-file = \"dbpw\"\ndatabases = [\"shop\"]\n\n\
         [alert.hook]\nkind = \"webhook\"\nurl = \"{HOOK_URL}\"\nheaders = {{ Authorization = \"{HEADER}\" }}\n\n\
         [alert.mail]\nkind = \"email\"\nhost = \"smtp.example.com\"\nuser = \"dx\"\npassword-file = \"smtp.pw\"\nfrom = \"dx@example.com\"\nto = [\"ops@example.com\"]\n\n\
         [web]\ntoken-file = \"web.token\"\n",
        p("repo").display()
    );
    std::fs::write(p("dxbackup.toml"), config).unwrap();
    std::fs::create_dir_all(p("src")).unwrap();
    let site = Site::load(&p("dxbackup.toml"), p("state")).unwrap();
    let catalog = site.catalog().unwrap();
    for (source, status, error) in [
        ("datax", RunStatus::Ok, None),
        (
            "shop",
            RunStatus::Failed,
            Some(format!(
                "mariadb-dump: Access denied (using password {DB_PW})"
            )),
        ),
    ] {
        let id = catalog
            .start_run("backup", Some(source), Some("local"))
            .unwrap();
        catalog
            .finish_run(
                id,
                &RunEnd {
                    status,
                    snapshot_id: None,
                    error,
                    duration: std::time::Duration::from_secs(3),
                    metrics: Some(Metrics {
                        bytes_read: 1000,
                        bytes_added: 10,
                        ..Metrics::default()
                    }),
                },
            )
            .unwrap();
    }
    let app = router(AppState::new(site, TOKEN.into(), None));
    Fixture { _dir: dir, app }
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn bearer(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap()
}

fn form(path: &str, body: String, cookie: Option<&str>) -> Request<Body> {
    let mut r =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::from(body)).unwrap()
}

/// Logs in; the session cookie and the page's CSRF token.
async fn login(app: &Router) -> (String, String) {
    let (status, headers, _) =
        send(app, form("/login", format!("token={TOKEN}&next=%2F"), None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let set = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let req = Request::get("/")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let (status, _, page) = send(app, req).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    (cookie, csrf)
}

#[tokio::test]
async fn without_the_token_every_page_answers_401_and_shows_no_data() {
    let f = fixture();
    for (i, path) in GUARDED
        .iter()
        .chain(&["/metrics", "/api/v1/jobs", "/jobs"])
        .enumerate()
    {
        let (status, headers, body) = send(&f.app, get(path)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        for data in [
            "data-source",
            "rpo-bar",
            "critical",
            "Access denied",
            "last run",
        ] {
            assert!(!body.contains(data), "{path}: {body}");
        }
        if !path.contains("datax") && !path.contains("shop") {
            assert!(
                !body.contains("datax") && !body.contains("shop"),
                "{path}: {body}"
            );
        }
        if path.starts_with("/api/") || *path == "/metrics" {
            assert!(headers.contains_key(header::WWW_AUTHENTICATE), "{path}");
            assert!(body.contains("\"error\""), "{path}: {body}");
        }
        if i < 4 {
            // (A fifth wrong token in a minute would be refused as too many.)
            let wrong = Request::get(*path)
                .header(header::AUTHORIZATION, "Bearer nope")
                .body(Body::empty())
                .unwrap();
            assert_eq!(
                send(&f.app, wrong).await.0,
                StatusCode::UNAUTHORIZED,
                "{path}"
            );
        }
        // A forged session cookie is no session.
        let forged = Request::get(*path)
            .header(header::COOKIE, "dxb_session=abc")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&f.app, forged).await.0,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let (status, _, _) = send(&f.app, get("/assets/style.css")).await;
    assert_eq!(status, StatusCode::OK, "assets hold no data");
    assert_eq!(send(&f.app, get("/login")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn with_the_token_the_overview_names_every_source_and_the_json_has_its_shape() {
    let f = fixture();
    let (status, headers, page) = send(&f.app, bearer("/")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for name in ["datax", "shop"] {
        assert!(page.contains(&format!("data-source=\"{name}\"")), "{name}");
    }
    assert_eq!(
        page.matches("class=\"rpo-bar\"").count(),
        2,
        "one RPO bar per source"
    );
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let (_, headers, _) = send(&f.app, get("/assets/app.js")).await;
    assert!(headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("max-age"));

    let (status, _, body) = send(&f.app, bearer("/api/v1/overview")).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let sources = v["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    let datax = &sources[0];
    assert_eq!(
        (datax["name"].as_str(), datax["tier"].as_str()),
        (Some("datax"), Some("critical"))
    );
    assert_eq!(datax["rpo_secs"], 900);
    assert_eq!(
        datax["bar"], "red",
        "never backed up (nothing observed): red"
    );
    assert_eq!(datax["last_run"]["status"], "ok");
    assert!(
        v["repositories"].is_array() && v["rule_3_2_1"]["rule"]["holds"].is_boolean(),
        "{v}"
    );
    assert!(
        v["next_jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["schedule"] == "nightly"),
        "{v}"
    );
    assert_eq!(v["level"], "critical");

    let (_, _, body) = send(&f.app, bearer("/api/v1/runs?source=shop&status=failed")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["runs"][0]["source"], "shop");
    let (_, _, body) = send(&f.app, bearer("/api/v1/sources/datax?days=7")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["days"], 7, "{v}");
    assert_eq!(v["duration"].as_array().unwrap().len(), 1, "{v}");
    assert!(v["chain"].is_null(), "files sources have no chain");
    let (_, _, body) = send(&f.app, bearer("/api/v1/sources/shop")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["chain"]["holes"].is_array(), "{v}");
    let (status, _, body) = send(&f.app, bearer("/api/v1/sources/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn a_session_posts_only_with_its_csrf_token_and_logout_ends_it() {
    let f = fixture();
    let (status, _, body) = send(&f.app, form("/login", "token=wrong".into(), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("not the token"));
    let (cookie, csrf) = login(&f.app).await;
    let (status, _, _) = send(
        &f.app,
        form("/actions/verify", String::new(), Some(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
    let (status, _, _) = send(
        &f.app,
        form("/actions/verify", "csrf=forged".into(), Some(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a wrong CSRF token");
    let mut other = form("/actions/verify", format!("csrf={csrf}"), Some(&cookie));
    other
        .headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    other
        .headers_mut()
        .insert(header::HOST, "127.0.0.1:8420".parse().unwrap());
    assert_eq!(
        send(&f.app, other).await.0,
        StatusCode::FORBIDDEN,
        "another origin"
    );
    let mut null = form("/actions/verify", format!("csrf={csrf}"), Some(&cookie));
    null.headers_mut()
        .insert(header::ORIGIN, "null".parse().unwrap());
    null.headers_mut()
        .insert(header::HOST, "127.0.0.1:8420".parse().unwrap());
    assert_eq!(
        send(&f.app, null).await.0,
        StatusCode::FORBIDDEN,
        "an opaque origin"
    );
    let (_, headers, _) = send(&f.app, bearer("/")).await;
    assert_eq!(
        headers[header::REFERRER_POLICY],
        "same-origin",
        "(under no-referrer Chromium's own form POSTs say `Origin: null`)"
    );
    // Through the check (from our own origin, as a browser sends it): no daemon here to
    // start the job.
    let mut ours = form("/actions/verify", format!("csrf={csrf}"), Some(&cookie));
    ours.headers_mut()
        .insert(header::ORIGIN, "http://127.0.0.1:8420".parse().unwrap());
    ours.headers_mut()
        .insert(header::HOST, "127.0.0.1:8420".parse().unwrap());
    let (status, _, body) = send(&f.app, ours).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // A GET cannot change state.
    assert_eq!(
        send(&f.app, get("/actions/verify")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _, _) = send(
        &f.app,
        form("/logout", format!("csrf={csrf}"), Some(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let req = Request::get("/")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&f.app, req).await.0,
        StatusCode::UNAUTHORIZED,
        "the session is gone"
    );
}

#[tokio::test]
async fn failed_logins_are_limited() {
    let f = fixture();
    for _ in 0..5 {
        assert_eq!(
            send(&f.app, form("/login", "token=guess".into(), None))
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, headers, _) = send(&f.app, form("/login", format!("token={TOKEN}"), None)).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right token waits"
    );
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert_eq!(
        send(&f.app, bearer("/api/v1/overview")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn no_answer_carries_a_secret_of_the_config() {
    let f = fixture();
    let secrets = [
        TOKEN,
        REPO_PW,
        DB_PW,
        HOOK_URL,
        HEADER,
        SMTP_PW,
        "secretpath",
    ];
    let (cookie, _) = login(&f.app).await;
    for path in GUARDED
        .iter()
        .chain(&["/runs?source=shop", "/api/v1/runs?status=failed"])
    {
        let (status, _, body) = send(&f.app, bearer(path)).await;
        assert!(
            status.is_success() || status == StatusCode::BAD_REQUEST,
            "{path}: {status} {body}"
        );
        let req = Request::get(*path)
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap();
        let (_, _, page) = send(&f.app, req).await;
        for s in secrets {
            assert!(!body.contains(s) && !page.contains(s), "{path} shows {s}");
        }
    }
    // The failed run's error held the password: it is shown, the password is not.
    let (_, _, body) = send(&f.app, bearer("/runs/2")).await;
    assert!(
        body.contains("Access denied (using password &lt;removed&gt;)"),
        "{body}"
    );
    let (_, _, body) = send(&f.app, bearer("/config")).await;
    assert!(
        !body.contains("web.token") && body.contains("&lt;removed&gt;"),
        "{body}"
    );
}

#[tokio::test]
async fn every_guarded_answer_has_the_security_headers_and_no_inline_script() {
    let f = fixture();
    for path in GUARDED {
        let (status, headers, body) = send(&f.app, bearer(path)).await;
        assert!(status.is_success(), "{path}: {status}");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-"),
            "{path}: {csp}"
        );
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{path}");
        if path.starts_with("/api/") {
            continue;
        }
        // Every <script> loads a file of ours; no inline handlers or styles.
        for tag in body.split("<script").skip(1) {
            let open = tag.split('>').next().unwrap();
            assert!(
                open.contains("src=\"/assets/"),
                "{path}: inline <script{open}>"
            );
        }
        for attr in [
            " onclick=",
            " onload=",
            " onsubmit=",
            " style=",
            "javascript:",
        ] {
            assert!(!body.contains(attr), "{path} has {attr}");
        }
    }
}

#[tokio::test]
async fn state_changes_take_a_post_only() {
    let f = fixture();
    for path in [
        "/actions/verify",
        "/actions/observe",
        "/actions/schedule/nightly",
        "/actions/drill/shop",
        "/logout",
        "/api/v1/actions/verify",
        "/api/v1/actions/drill/shop",
    ] {
        let (status, _, _) = send(&f.app, bearer(path)).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "GET {path}");
    }
}

#[test]
fn the_token_is_compared_whole_whatever_the_lengths() {
    use super::auth::token_matches;
    assert!(token_matches(TOKEN, TOKEN));
    for wrong in ["", "0", &TOKEN[..TOKEN.len() - 1], &format!("{TOKEN}x")] {
        assert!(!token_matches(TOKEN, wrong), "{wrong:?}");
    }
    assert!(!token_matches("", ""), "an empty token opens nothing");
}

/// Collects what the handlers log while it is the thread's default subscriber.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn failed_logins_are_logged_without_what_was_tried() {
    let f = fixture();
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let guess = "guessed-token-Wq8v";
    send(&f.app, form("/login", format!("token={guess}"), None)).await;
    let req = Request::get("/api/v1/overview")
        .header(header::AUTHORIZATION, format!("Bearer {guess}-bearer"))
        .body(Body::empty())
        .unwrap();
    send(&f.app, req).await;
    login(&f.app).await;
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("failed login"), "{text}");
    assert!(text.contains("wrong bearer token"), "{text}");
    assert!(text.contains("dashboard: login"), "{text}");
    for s in [guess, TOKEN] {
        assert!(!text.contains(s), "the log shows {s}:\n{text}");
    }
}
