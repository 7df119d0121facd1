//! Every asset the dashboard needs, compiled into the binary: it works offline on an
//! isolated DR network, with no CDN and no build step. The report file inlines the same CSS.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

pub const STYLE: &str = r#"
:root { --ok: #2e7d32; --amber: #e69500; --red: #c62828; --muted: #667; --line: #dde; --bg: #f7f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", "PingFang SC", sans-serif; color: #223; background: var(--bg); }
header.top { display: flex; gap: 1.5em; align-items: center; padding: .6em 1.2em; background: #1f2a44; color: #fff; flex-wrap: wrap; }
header.top a { color: #dfe6ff; text-decoration: none; }
header.top a.here { color: #fff; font-weight: 600; border-bottom: 2px solid #fff; }
header.top .brand { font-weight: 700; letter-spacing: .02em; }
header.top form { margin-left: auto; }
main { padding: 1em 1.2em 3em; max-width: 1400px; }
h1 { font-size: 1.35em; margin: .4em 0 .6em; }
h2 { font-size: 1.1em; margin: 1.6em 0 .5em; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef0f6; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted, .note { color: var(--muted); }
.note { font-size: .9em; }
.badge { display: inline-block; padding: 0 .45em; border-radius: 3px; font-size: .85em; font-weight: 600; color: #fff; background: var(--muted); }
.badge.ok { background: var(--ok); } .badge.warning, .badge.amber { background: var(--amber); }
.badge.critical, .badge.failed, .badge.red, .badge.interrupted { background: var(--red); }
.badge.running { background: #1565c0; } .badge.skipped { background: #999; }
ul.notes { margin: .2em 0 0; padding-left: 1.1em; color: #553; font-size: .9em; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; margin: .5em 0; }
.card { background: #fff; border: 1px solid var(--line); padding: .6em .9em; min-width: 14em; }
.card b { display: block; font-size: 1.15em; }
pre { background: #fff; border: 1px solid var(--line); padding: .6em; overflow: auto; max-height: 40em; white-space: pre-wrap; }
code.cmd { display: block; background: #1f2a44; color: #fff; padding: .6em; user-select: all; white-space: pre-wrap; }
form.inline { display: inline; }
button, input[type=submit] { font: inherit; padding: .25em .8em; border: 1px solid #99a; background: #fff; cursor: pointer; border-radius: 3px; }
button.primary { background: #1f2a44; color: #fff; border-color: #1f2a44; }
input, select { font: inherit; padding: .2em .4em; }
form.filters { display: flex; gap: .8em; flex-wrap: wrap; align-items: end; margin: .5em 0 1em; }
form.filters label { display: flex; flex-direction: column; font-size: .85em; color: var(--muted); }
.login { max-width: 26em; margin: 5em auto; background: #fff; border: 1px solid var(--line); padding: 1.5em; }
.login input[type=password] { width: 100%; margin: .6em 0 1em; }
.error { color: var(--red); }
svg.chart { width: 100%; max-width: 760px; height: auto; background: #fff; border: 1px solid var(--line); display: block; margin: .4em 0 1em; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: .2em 1.2em; }
svg .grid { stroke: #eee; } svg .axis { stroke: #889; }
svg .tick { font-size: 10px; fill: #667; } svg .chart-title { font-size: 12px; font-weight: 600; fill: #223; }
svg .series { fill: none; stroke: #1565c0; stroke-width: 1.4; }
svg .pt { fill: #1565c0; } svg .pt.anom { fill: var(--red); stroke: #fff; stroke-width: 1; }
svg .target { stroke: var(--red); stroke-dasharray: 5 4; stroke-width: 1.2; } svg .target-label { font-size: 10px; fill: var(--red); }
svg .empty { fill: #999; font-size: 12px; }
svg.rpo-bar { vertical-align: middle; margin-right: .4em; }
svg.rpo-bar .track { fill: #e4e6ee; } svg.rpo-bar .mark { stroke: #889; stroke-width: 1; } svg.rpo-bar .target-mark { stroke: #223; stroke-width: 1.5; }
svg .fill-ok { fill: var(--ok); } svg .fill-amber { fill: var(--amber); } svg .fill-red { fill: var(--red); }
svg .run.st-ok { fill: var(--ok); } svg .run.st-warning { fill: var(--amber); } svg .run.st-failed, svg .run.st-interrupted { fill: var(--red); }
svg .run.st-running { fill: #1565c0; } svg .run.st-skipped { fill: #bbb; }
svg .run.mode-light { opacity: .6; } svg .run.mode-minimal { opacity: .35; }
svg .cover { fill: #43a047; } svg .full { fill: #1f2a44; } svg .gap { fill: var(--red); opacity: .75; } svg .window { fill: #e8f5e9; }
.legend span { margin-right: 1em; font-size: .85em; color: var(--muted); }
@media print { header.top form, form.filters, .actions { display: none; } body { background: #fff; } }
"#;

/// The overview refreshes itself: the new page is fetched and its `main` swapped in, so the
/// scroll position stays; forms that start actions are left alone. Without JavaScript the
/// pages are complete as served.
pub const SCRIPT: &str = r#"
(function () {
  var every = Number(document.body.getAttribute('data-refresh') || 0);
  if (!every) return;
  setInterval(function () {
    fetch(window.location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) { if (r.status === 401) { window.location.reload(); } return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var fresh = doc.querySelector('main'), here = document.querySelector('main');
        if (fresh && here) here.replaceWith(document.importNode(fresh, true));
      })
      .catch(function () {});
  }, every * 1000);
})();
"#;

pub const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f2a44"/><path d="M4 11V5h3a3 3 0 0 1 0 6z" fill="#fff"/><rect x="10" y="5" width="2" height="6" fill="#43a047"/></svg>"##;

pub fn routes() -> Router<AppState> {
    Router::new().route("/assets/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "style.css" => (STYLE, "text/css; charset=utf-8"),
        "app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            // Assets hold no data and change only with the binary.
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
