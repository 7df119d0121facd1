# shellcheck shell=bash
# `scripts/bench restore`: the parallel logical restore (issue 12, item 3) against the seed's
# `zcat dump.gz | mariadb db`, on the same dump: dxbackup's own full of TPC-H is taken out of
# the repository and gzipped once, then loaded three ways in one run, each into a fresh
# database, each checked against the source's row counts.  Sourced by scripts/bench, after
# db.bash (db_workdir, start_server, generate_and_load, db_bench_user, verify_db,
# db_cleanup, ...).

restore_usage() {
    cat <<'EOF'
  restore  TPC-H (tpchgen-cli) in a throwaway mariadbd, one dxbackup full (driver "dump");
           the same dump restored by zcat dump.gz | mariadb, dxbackup restore-db --jobs 1
           and --jobs 2 (BENCH_JOBS), and a mydumper dump of the same database (2 threads,
           gzip files, untimed) loaded by myloader -t 2; prints times and ratios to
           zcat | mariadb

environment (restore): BENCH_SF (1), BENCH_DIR (/tmp/dxbench-restore), BENCH_OUT
  (<dir>/results-restore.md), BENCH_PORT, BENCH_BUFFER_POOL (1G), BENCH_JOBS ("1 2"),
  BENCH_KEEP, DXBACKUP_BIN, as for db
EOF
}

# restore_dx_bin: DX_BIN = DXBACKUP_BIN or the release build (built if missing and
# DXBACKUP_BIN is not set), as an absolute path
restore_dx_bin() {
    DX_BIN=${DXBACKUP_BIN:-$REPO_ROOT/target/release/dxbackup}
    if [[ ! -x $DX_BIN ]]; then
        [[ -z ${DXBACKUP_BIN:-} ]] || die "DXBACKUP_BIN=$DXBACKUP_BIN is not executable"
        log "building dxbackup (cargo build --release)"
        (cd "$REPO_ROOT" && cargo build --release) || die "cargo build --release failed"
    fi
    DX_BIN=$(realpath "$DX_BIN")
}

cmd_restore() {
    [[ $# -eq 0 ]] || { usage >&2; exit 2; }
    SF=${BENCH_SF:-1}
    DIR=${BENCH_DIR:-/tmp/dxbench-restore}
    KEEP=${BENCH_KEEP:-0}
    BUFFER_POOL=${BENCH_BUFFER_POOL:-1G}
    local jobs_list=${BENCH_JOBS:-1 2}
    [[ $SF =~ ^[0-9]*\.?[0-9]+$ ]] || die "BENCH_SF must be a positive number, got '$SF'"
    ensure_tools python3:python3 gzip:gzip zcat:gzip mariadbd:mariadb-server \
        mariadb-install-db:mariadb-server mariadb:mariadb-client /usr/bin/time:time \
        mydumper:mydumper myloader:mydumper

    restore_dx_bin
    "$DX_BIN" restore-db --help 2>/dev/null | grep -q -- --jobs ||
        die "$DX_BIN has no restore-db --jobs; rebuild it (cargo build --release)"

    db_workdir restore "${BENCH_TOOLS_DIR:-}"
    BIG_PATHS=("$DIR/mysql" "$DIR/tpch-data" "$DIR/dumps" "$DIR/dx-repo" "$DIR/dx-state")
    rm -rf "${BIG_PATHS[@]}" "$LOGDIR"
    mkdir -p "$LOGDIR" "$TOOLS_DIR" "$DIR/dumps"
    : >"$RESULTS"
    ARCH_PID="" SERVER_PID=""
    trap db_cleanup EXIT
    trap 'exit 130' INT TERM
    ensure_tpchgen
    PORT=${BENCH_PORT:-$(free_port)}
    declare -gA BROKEN=()
    local started=$SECONDS

    start_server
    generate_and_load
    db_bench_user
    cat >"$DIR/dx.toml" <<EOF
[repository.bench]
url = "$DIR/dx-repo"
password-file = "$DIR/pw"

[source.tpch]
kind = "mysql"
host = "127.0.0.1"
port = $PORT
user = "bench"
password-file = "$DIR/db-pw"
databases = ["tpch"]
EOF
    DX=("$DX_BIN" -c "$DIR/dx.toml" --state-dir "$DIR/dx-state")
    setup_step dxbackup init "${DX[@]}" init
    setup_step dxbackup backup "${DX[@]}" backup tpch
    [[ -z ${BROKEN[dxbackup]:-} ]] || die "dxbackup backup failed (see $LOGDIR)"

    # the very dump dxbackup restores, as the seed keeps it: one gzip file
    setup_step dxbackup extract "${DX[@]}" restore latest:tpch --target "$DIR/dumps/full"
    local dump
    dump=$(find "$DIR/dumps/full" -name dump.sql -type f | head -n 1)
    [[ -n $dump ]] || die "no dump.sql in the restored snapshot (see $LOGDIR/dxbackup-extract.log)"
    # it names its database (--databases): pointed at tpch_zcat once, here, so the timed
    # pipeline is only zcat | mariadb (dxbackup's restore rewrites it while it streams)
    sed -e '/^CREATE DATABASE /d' -e 's/^USE `tpch`;/USE `tpch_zcat`;/' "$dump" | gzip -1 >"$DIR/dumps/tpch.sql.gz"
    local dump_mb=$(($(stat -c %s "$dump") / 1048576)) gz_mb=$(($(stat -c %s "$DIR/dumps/tpch.sql.gz") / 1048576))
    rm -rf "$DIR/dumps/full"
    log "dump: $dump_mb MB of SQL, $gz_mb MB gzipped"

    # the seed's way: one client session; restored rows not binlogged, like dxbackup's
    rootsql -e 'CREATE DATABASE tpch_zcat CHARACTER SET utf8mb4'
    # shellcheck disable=SC2016
    measure zcat restore bash -c \
        'set -o pipefail; { echo "SET SESSION sql_log_bin = 0;"; zcat "$2"; } | mariadb --defaults-extra-file="$1" --batch --binary-mode --default-character-set=utf8mb4 tpch_zcat' \
        bash "$CNF" "$DIR/dumps/tpch.sql.gz"
    verify_db zcat restore tpch_zcat
    local j
    for j in $jobs_list; do
        local saved=${BROKEN[dxbackup]:-}
        measure "dxbackup-j$j" restore "${DX[@]}" restore-db tpch --into "tpch_j$j" --force --jobs "$j"
        BROKEN[dxbackup]=$saved
        verify_db "dxbackup-j$j" restore "tpch_j$j"
    done

    # mydumper's own format, as its users would restore it: dumped once (untimed, 2 threads,
    # gzip per file like the seed's gzip), then myloader on 2 threads; binlog off by default
    local myconn=(--defaults-file="$CNF" -h 127.0.0.1 -P "$PORT" -u bench)
    setup_step myloader dump mydumper "${myconn[@]}" -B tpch -o "$DIR/dumps/mydumper" -t 2 \
        -r 500000 -c -R -G -E -v 2
    measure myloader restore myloader "${myconn[@]}" -d "$DIR/dumps/mydumper" -s tpch \
        -B tpch_myloader -t 2 -v 2
    verify_db myloader restore tpch_myloader

    # --- report: seconds and the ratio to zcat | mariadb of this same run
    local zsecs table
    zsecs=$(awk -F'\t' '$1 == "T" && $2 == "zcat" { print $5 }' "$RESULTS")
    table=$(awk -F'\t' -v z="$zsecs" '
        $1 == "T" { s[$2] = $4; t[$2] = $5; m[$2] = $6; order[++n] = $2 }
        $1 == "V" { v[$2] = $4 }
        END {
            print "| restore | status | rows check | wall s | peak RSS MB | x zcat |"
            print "|---|---|---|---:|---:|---:|"
            for (i = 1; i <= n; i++) {
                k = order[i]
                r = (z > 0 && t[k] > 0) ? sprintf("%.2f", t[k] / z) : "-"
                printf "| %s | %s | %s | %s | %d | %s |\n", k, s[k], v[k], t[k], m[k] / 1024, r
            }
        }' "$RESULTS")
    {
        echo "# dxbackup benchmark: parallel logical restore"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
        echo "- command: \`BENCH_SF=$SF BENCH_JOBS=\"$jobs_list\" scripts/bench restore\`"
        echo "- machine: $(nproc) CPUs ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)), kernel $(uname -r), buffer pool $BUFFER_POOL"
        echo "- server: $(mariadbd --version | sed 's/^mariadbd *//')"
        echo "- data: TPC-H SF $SF, ${SRC_ROWS} rows; the dump: $dump_mb MB of SQL, $gz_mb MB gzipped (gzip -1)"
        echo "- total bench time: $((SECONDS - started))s"
        echo
        echo "$table"
    } >"$OUT"
    echo
    cat "$OUT"
    log "results written to $OUT; logs in $LOGDIR"
    ! grep -q $'\tFAIL' "$RESULTS"
}
