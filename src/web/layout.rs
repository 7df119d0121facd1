//! The page around every page: the navigation, the logout form (a POST with the session's
//! CSRF token), the embedded stylesheet and the one small script (auto-refresh).

use maud::{html, Markup, DOCTYPE};

use super::auth::Auth;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Runs,
    Drills,
    Jobs,
    Actions,
    Config,
}

const ITEMS: [(Nav, &str, &str); 6] = [
    (Nav::Overview, "/", "Overview"),
    (Nav::Runs, "/runs", "Runs"),
    (Nav::Drills, "/drills", "Drills"),
    (Nav::Jobs, "/jobs", "Job history"),
    (Nav::Actions, "/actions", "Actions"),
    (Nav::Config, "/config", "Config"),
];

/// A page; `refresh`: reload its content every so many seconds (the overview).
pub fn page(title: &str, nav: Nav, auth: &Auth, refresh: Option<u32>, body: Markup) -> Markup {
    shell(title, nav, auth, refresh, None, body)
}

/// A page the browser reloads whole every `secs` (an action in progress), with or without
/// JavaScript.
pub fn page_reloading(title: &str, nav: Nav, auth: &Auth, secs: u32, body: Markup) -> Markup {
    shell(title, nav, auth, None, Some(secs), body)
}

fn shell(
    title: &str,
    nav: Nav,
    auth: &Auth,
    refresh: Option<u32>,
    reload: Option<u32>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · dxbackup" }
                link rel="stylesheet" href="/assets/style.css";
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                script src="/assets/app.js" defer {}
                @if let Some(r) = reload { meta http-equiv="refresh" content=(r); }
            }
            body data-refresh=(refresh.unwrap_or(0)) {
                header.top {
                    span.brand { "dxbackup" }
                    @for (n, href, text) in ITEMS {
                        a href=(href) class=[(n == nav).then_some("here")] { (text) }
                    }
                    @if let Auth::Session { csrf, .. } = auth {
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" id="logout" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The login form (also what a page answers, with 401, to a request without the token).
pub fn login(error: Option<&str>, next: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Log in · dxbackup" }
                link rel="stylesheet" href="/assets/style.css";
            }
            body {
                form.login method="post" action="/login" {
                    h1 { "dxbackup" }
                    p { "The token is the content of the file " code { "[web] token-file" }
                        " names; " code { "dxbackup web token" } " creates one." }
                    @if let Some(e) = error { p.error { (e) } }
                    label for="token" { "Token" }
                    input type="password" id="token" name="token" autocomplete="current-password" autofocus;
                    input type="hidden" name="next" value=(next);
                    button.primary type="submit" id="login" { "Log in" }
                }
            }
        }
    }
}
