//! Running the dashboard inside the daemon: its own thread with its own tokio runtime (the
//! daemon's loop stays synchronous), the token read from `[web] token-file`, the headers
//! every response carries, and a clean stop with the daemon. Also writes new tokens
//! (`dxbackup web token`).

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context as _;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::{observer, router, AppState};
use crate::daemon::DaemonOptions;
use crate::job::Site;

/// Meta key holding the address the dashboard listens on (a test's port 0 made real).
pub const LISTEN_KEY: &str = "web-listen";
/// Tokens shorter than this are refused: they could be guessed.
const MIN_TOKEN: usize = 16;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// CSP without inline scripts or styles, no framing, no sniffing, no referrer to other
/// sites; nothing but the assets may be cached (every other page shows what only the token
/// may see).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let asset = req.uri().path().starts_with("/assets/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Not `no-referrer`: under it Chromium sends `Origin: null` with our own forms' POSTs,
    // which the CSRF check must refuse; `same-origin` tells other sites nothing either.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    res
}

/// The running dashboard.
pub struct Server {
    pub addr: SocketAddr,
    state: AppState,
    shutdown: Arc<tokio::sync::Notify>,
    thread: Option<JoinHandle<()>>,
    observer: Option<observer::Handle>,
}

/// Starts the dashboard when `[web]` is configured. A dashboard that cannot start (a port in
/// use, a missing token) is logged as an error and the daemon goes on without it: the
/// backups matter more than the view of them.
pub fn start(opts: &DaemonOptions, site: &Site) -> Option<Server> {
    site.config.web.as_ref()?;
    match try_start(opts, site) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!("the dashboard did not start: {e:#}");
            None
        }
    }
}

fn try_start(opts: &DaemonOptions, site: &Site) -> anyhow::Result<Server> {
    let web = site.config.web.as_ref().context("no [web]")?;
    let token = read_token(&token_path(site)?)?;
    let addr = web.listen().map_err(anyhow::Error::msg)?;
    let state = AppState::new(own_site(opts)?, token, Some(opts.clone()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        .thread_name("dxbackup-web")
        .enable_all()
        .build()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .with_context(|| format!("cannot listen on {addr} ([web] listen)"))?;
    let addr = listener.local_addr()?;
    site.catalog()?.set_meta(LISTEN_KEY, &addr.to_string())?;
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let stop = shutdown.clone();
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let thread = std::thread::Builder::new()
        .name("dxbackup-web".into())
        .spawn(move || {
            let served = runtime.block_on(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move { stop.notified().await })
                    .await
            });
            if let Err(e) = served {
                tracing::error!("the dashboard stopped: {e}");
            }
            runtime.shutdown_timeout(std::time::Duration::from_secs(2));
        })?;
    let observer = observer::start(state.clone());
    tracing::warn!("dashboard at http://{addr}/ (log in with the content of the token file)");
    Ok(Server {
        addr,
        state,
        shutdown,
        thread: Some(thread),
        observer: Some(observer),
    })
}

/// The dashboard's own site, read from the config in force (as the daemon's children do).
fn own_site(opts: &DaemonOptions) -> anyhow::Result<Site> {
    let mut site = Site::load(&crate::daemon::in_force(opts), opts.state_dir.clone())?;
    site.config.path = opts.config.clone();
    Ok(site)
}

impl Server {
    /// The daemon took a new config: pages show it (the address and token stay until a
    /// restart).
    pub fn reload(&self, opts: &DaemonOptions) {
        match own_site(opts) {
            Ok(site) => self.state.set_site(site),
            Err(e) => tracing::warn!("the dashboard keeps the old config: {e:#}"),
        }
    }

    /// Stops serving (requests in flight finish) and the background observation.
    pub fn stop(mut self) {
        self.shutdown.notify_one();
        if let Some(o) = self.observer.take() {
            o.stop();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn token_path(site: &Site) -> anyhow::Result<PathBuf> {
    let p = site
        .config
        .web
        .as_ref()
        .and_then(|w| w.token_file.as_ref())
        .context("[web] has no token-file; add token-file = \"/etc/dxbackup/web.token\"")?;
    Ok(site.resolve(p))
}

/// The token: the first line of the file, which should be readable by its owner only.
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the dashboard's token file {}; create it with 'dxbackup web token'",
            path.display()
        )
    })?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    anyhow::ensure!(
        token.len() >= MIN_TOKEN,
        "the token in {} is shorter than {MIN_TOKEN} characters; make a new one with 'dxbackup web token --force'",
        path.display()
    );
    if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
        tracing::warn!(
            "the dashboard's token file {} can be read by others: chmod 600 it",
            path.display()
        );
    }
    Ok(token)
}

/// What `config check` says about the token file, if anything is wrong with it.
pub fn token_problem(site: &Site) -> Option<String> {
    site.config.web.as_ref()?;
    let path = match token_path(site) {
        Ok(p) => p,
        Err(e) => return Some(format!("{e:#}")),
    };
    read_token(&path).err().map(|e| format!("{e:#}"))
}

/// Writes a new token to the configured token file (0600, written whole or not at all);
/// an existing one is replaced only with `force`. Returns the file.
pub fn write_token(site: &Site, file: Option<&Path>, force: bool) -> anyhow::Result<PathBuf> {
    let path = match file {
        Some(f) => f.to_path_buf(),
        None => token_path(site)?,
    };
    anyhow::ensure!(
        force || !path.exists(),
        "{} exists; pass --force to replace it (browsers and API clients using the old token must log in again)",
        path.display()
    );
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::private::dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    crate::private::write(&tmp, format!("{}\n", super::auth::new_token()).as_bytes())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    // A leftover tmp of another mode keeps it through the open: made private here.
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
