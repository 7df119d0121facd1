# shellcheck shell=bash
# scripts/bench web: the dashboard's pages and API against a catalog holding a year of hourly
# runs of 20 sources (examples/web_bench.rs), through the router in process; p50/p95/max per
# route over WEB_REQUESTS requests, release build.

web_usage() {
    cat <<'EOF2'
  web      time the dashboard's pages and API with a big catalog (examples/web_bench.rs)

environment (web):
  BENCH_DIR=/tmp/dxbench   work dir (config, catalog, empty repository under BENCH_DIR/web)
  WEB_SOURCES=20  WEB_DAYS=365  WEB_REQUESTS=200
  BENCH_OUT=<dir>/results-web.md   markdown results file
EOF2
}

cmd_web() {
    local dir=${BENCH_DIR:-/tmp/dxbench}/web
    local out=${BENCH_OUT:-${BENCH_DIR:-/tmp/dxbench}/results-web.md}
    mkdir -p "$(dirname "$out")"
    (cd "$REPO_ROOT" && cargo build --release --example web_bench) >&2
    log "web: ${WEB_SOURCES:-20} sources, ${WEB_DAYS:-365} days of hourly runs, ${WEB_REQUESTS:-200} requests per route"
    "$REPO_ROOT/target/release/examples/web_bench" --dir "$dir" \
        --sources "${WEB_SOURCES:-20}" --days "${WEB_DAYS:-365}" \
        --requests "${WEB_REQUESTS:-200}" | tee "$out"
    log "web: results in $out"
}
