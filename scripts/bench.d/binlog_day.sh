# shellcheck shell=bash
# scripts/bench binlog-day: a busy day of binlog flushes (each its own snapshot, pack and index
# file, as the archiver stores them; examples/binlog_day.rs, no server), then binlog
# housekeeping (`dxbackup forget`: closed files merged, their parts forgotten). Snapshot count,
# repository size and the wall time of `status`, `snapshots` and `restore-db --dry-run`, before
# and after; release build.

binlog_day_usage() {
    cat <<'EOF2'
  binlog-day  a day of binlog flushes, then housekeeping: repository open, status, snapshots,
              restore-db --dry-run before and after (examples/binlog_day.rs)

environment (binlog-day):
  BENCH_DIR=/tmp/dxbench   work dir (config, state, repository under BENCH_DIR/binlog-day)
  BINLOG_FLUSHES=20000  BINLOG_FLUSH_KB=32  BINLOG_FILE_MB=64
  BENCH_OUT=<dir>/results-binlog-day.md   markdown results file
  DXBACKUP_BIN, BINLOG_DAY_BIN   prebuilt binaries (else cargo build --release)
EOF2
}

# binlog_day_time LABEL CMD...: runs CMD (output to a log), prints "LABEL seconds peak-KiB".
# `status` exits 1 or 2 when it reports findings (no drill, no off-site copy): not a failure.
binlog_day_time() {
    local label=$1 rc=0
    shift
    /usr/bin/time -f '%e %M' -o "$BD_DIR/time.txt" "$@" >>"$BD_DIR/commands.log" 2>&1 || rc=$?
    if [[ $rc -ne 0 && ! ($label == *status* && $rc -le 2) ]]; then
        die "binlog-day: $label failed, exit $rc (see $BD_DIR/commands.log)"
    fi
    printf '%s\t%s\n' "$label" "$(tail -n 1 "$BD_DIR/time.txt" | tr ' ' '\t')"
}

binlog_day_measure() { # phase
    local dx=("$DX_BIN" -c "$BD_DIR/dxbackup.toml" --state-dir "$BD_DIR/state") n size
    n=$("${dx[@]}" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
    size=$(du -sb "$BD_DIR/repo" | cut -f1)
    printf '%s snapshots\t%s\n' "$1" "$n"
    printf '%s index files\t%s\n' "$1" "$(find "$BD_DIR/repo/index" -type f | wc -l)"
    printf '%s repository bytes\t%s\n' "$1" "$size"
    local run
    for run in 1 2; do
        binlog_day_time "$1 status (run $run)" "${dx[@]}" status
    done
    binlog_day_time "$1 snapshots" "${dx[@]}" snapshots
    binlog_day_time "$1 restore-db --dry-run" "${dx[@]}" restore-db db --into bench_copy --dry-run
}

cmd_binlog_day() {
    BD_DIR=${BENCH_DIR:-/tmp/dxbench}/binlog-day
    local out=${BENCH_OUT:-${BENCH_DIR:-/tmp/dxbench}/results-binlog-day.md}
    local flushes=${BINLOG_FLUSHES:-20000} kb=${BINLOG_FLUSH_KB:-32} mb=${BINLOG_FILE_MB:-64}
    local day_bin=${BINLOG_DAY_BIN:-$REPO_ROOT/target/release/examples/binlog_day}
    if [[ -z ${DXBACKUP_BIN:-} || -z ${BINLOG_DAY_BIN:-} ]]; then
        (cd "$REPO_ROOT" && cargo build --release --bin dxbackup --example binlog_day) >&2
    fi
    DX_BIN=${DXBACKUP_BIN:-$REPO_ROOT/target/release/dxbackup}
    rm -rf "$BD_DIR"
    mkdir -p "$BD_DIR" "$(dirname "$out")"
    echo bench-password >"$BD_DIR/pw"
    echo x >"$BD_DIR/dbpw"
    cat >"$BD_DIR/dxbackup.toml" <<EOF2
[repository.main]
url = "$BD_DIR/repo"
password-file = "pw"
auto-init = true

[source.db]
kind = "mysql"
host = "127.0.0.1"
port = 1
user = "u"
password-file = "$BD_DIR/dbpw"
databases = ["bench"]
tier = "critical"
binlog = true
EOF2
    "$DX_BIN" -c "$BD_DIR/dxbackup.toml" --state-dir "$BD_DIR/state" init >>"$BD_DIR/commands.log" 2>&1
    log "binlog-day: $flushes flushes of $kb KiB, files of $mb MiB"
    {
        binlog_day_time "store-day" "$day_bin" \
            --config "$BD_DIR/dxbackup.toml" --state-dir "$BD_DIR/state" --source db \
            --flushes "$flushes" --flush-kb "$kb" --file-mb "$mb"
        binlog_day_measure before
        binlog_day_time "housekeeping (forget)" "$DX_BIN" -c "$BD_DIR/dxbackup.toml" \
            --state-dir "$BD_DIR/state" forget
        binlog_day_time "forget --prune" "$DX_BIN" -c "$BD_DIR/dxbackup.toml" \
            --state-dir "$BD_DIR/state" forget --prune
        binlog_day_measure after
    } | tee "$BD_DIR/raw.txt"
    {
        echo "binlog-day: $flushes flushes of $kb KiB, files of $mb MiB ($(nproc) cores)"
        echo
        echo '| step | seconds or count | peak RSS KiB |'
        echo '|---|---:|---:|'
        awk -F '\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }' "$BD_DIR/raw.txt"
    } >"$out"
    log "binlog-day: results in $out"
}
