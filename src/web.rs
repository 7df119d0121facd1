//! The dashboard the daemon serves from `[web]`: server-rendered pages, the same data as JSON
//! under `/api/v1/`, Prometheus `/metrics`. Every page is read from the catalog (and the last
//! observation of the repositories, refreshed in the background by `observer`), on the
//! blocking pool: a page view never opens a repository and never blocks the async runtime.
//!
//! `router` builds the whole application from an `AppState`, apart from any listener, so
//! tests drive it in process; `start` runs it on a runtime of its own thread inside the
//! daemon, and `Server::stop` ends it with the daemon.

mod actions;
mod api;
pub mod assets;
mod auth;
pub mod charts;
mod error;
mod jobs;
mod layout;
mod observer;
mod pages;
mod redact;
mod server;
mod source_page;
pub mod views;

use std::sync::{Arc, Mutex, RwLock};

use axum::Router;

use crate::catalog::Catalog;
use crate::daemon::DaemonOptions;
use crate::job::Site;

pub use error::Error;
pub use redact::Redactor;
pub use server::{read_token, start, token_problem, write_token, Server, LISTEN_KEY};

/// What every handler shares: the site (replaced on a reload), the token, sessions, the
/// failed-login limiter, running actions, and a few open catalog connections.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    site: RwLock<Arc<Site>>,
    /// Set inside the daemon: actions start its job command lines.
    daemon: Option<DaemonOptions>,
    token: String,
    sessions: auth::Sessions,
    limiter: auth::Limiter,
    actions: actions::Actions,
    redactor: RwLock<Arc<Redactor>>,
    catalogs: Mutex<Vec<Catalog>>,
    observer: observer::Wakeup,
}

impl AppState {
    /// `token` is what logs in (`Authorization: Bearer TOKEN`, or the login form).
    pub fn new(site: Site, token: String, daemon: Option<DaemonOptions>) -> Self {
        let redactor = Redactor::for_site(&site, &token);
        Self(Arc::new(Inner {
            site: RwLock::new(Arc::new(site)),
            daemon,
            token,
            sessions: auth::Sessions::default(),
            limiter: auth::Limiter::default(),
            actions: actions::Actions::default(),
            redactor: RwLock::new(Arc::new(redactor)),
            catalogs: Mutex::new(Vec::new()),
            observer: observer::Wakeup::default(),
        }))
    }

    pub fn site(&self) -> Arc<Site> {
        self.0
            .site
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes a new config (a daemon reload): pages show it from the next request on.
    pub fn set_site(&self, site: Site) {
        let redactor = Redactor::for_site(&site, &self.0.token);
        *self.0.redactor.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(redactor);
        *self.0.site.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(site);
    }

    fn redactor(&self) -> Arc<Redactor> {
        self.0
            .redactor
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs `f` on the blocking pool with the site and a catalog connection: every catalog
    /// query and repository read goes through here, never on an async worker.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Site, &Catalog) -> Result<T, Error> + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let site = state.site();
            let catalog = state.take_catalog(&site)?;
            let result = f(&site, &catalog);
            state
                .0
                .catalogs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(catalog);
            result
        })
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("a page's work panicked: {e}")))?
    }

    fn take_catalog(&self, site: &Site) -> Result<Catalog, Error> {
        let pooled = self
            .0
            .catalogs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        match pooled {
            Some(c) => Ok(c),
            None => site.catalog().map_err(Error::Internal),
        }
    }
}

/// The whole application: pages, API, `/metrics`, assets, behind the token.
pub fn router(state: AppState) -> Router {
    let open = Router::new().merge(assets::routes()).merge(auth::routes());
    let guarded = Router::new()
        .merge(auth::guarded())
        .merge(pages::routes())
        .merge(jobs::routes())
        .merge(actions::routes())
        .merge(api::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require,
        ));
    open.merge(guarded)
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            redact::scrub,
        ))
        .layer(axum::middleware::from_fn(server::security_headers))
        .with_state(state)
}

#[cfg(test)]
mod tests;
