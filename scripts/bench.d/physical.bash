# shellcheck shell=bash
# `scripts/bench physical`: physical fulls (driver = "mariabackup") and `dxbackup recover`
# (issue 12, item 7), side by side with what one would do by hand, on the same TPC-H data in
# one throwaway mariadbd (binlog on), in one run:
#   1. `dxbackup backup` of a mariabackup source vs `mariabackup --backup --stream=mbstream |
#      zstd > file` (time, peak RSS, size);
#   2. `dxbackup restore-db SRC --datadir DIR --serve` until the server answers vs
#      `zstd -d | mbstream -x`, `mariabackup --prepare` and a mariadbd started on the result;
#   3. `dxbackup recover` from an S3 copy alone (moto_server on 127.0.0.1; fresh state dir and
#      HOME, no config) of a DataX home + the TPC-H database (a logical full) + its binlogs to a
#      chosen second, into an empty second mariadbd, vs `zcat dump.sql.gz | mariadb` of the
#      same dump into that server.
# Sourced by scripts/bench after db.bash (db_workdir, start_server, generate_and_load,
# db_bench_user, verify_db, db_cleanup, free_port, rootsql, ensure_tpchgen), copy.sh
# (copy_cmdline, copy_start_moto, copy_s3, copy_kill_tree) and restore.bash (restore_dx_bin);
# uses the harness's log, die, ensure_tools, measure, setup_step, record_size.

physical_usage() {
    cat <<'EOF'
  physical TPC-H (tpchgen-cli) in a throwaway mariadbd with binlog on: a physical full
           (dxbackup, driver "mariabackup") vs mariabackup --stream=mbstream | zstd; its
           restore (restore-db --datadir --serve, until the server answers) vs zstd -d |
           mbstream -x + mariabackup --prepare + mariadbd by hand; dxbackup recover from an
           S3 copy (moto_server) alone of a DataX home + the database + binlogs to a second,
           into an empty server, vs zcat dump.sql.gz | mariadb; prints times and ratios

environment (physical): BENCH_SF (1), BENCH_DIR (/tmp/dxbench-physical), BENCH_OUT
  (<dir>/results-physical.md), BENCH_PORT, BENCH_BUFFER_POOL (1G), BENCH_KEEP,
  DXBACKUP_BIN, BENCH_TOOLS_DIR (<dir>/tools: tpchgen-cli) as for db and restore;
  BENCH_DATAX_HOME (<repo>/examples/datax-home) the DataX home backed up and recovered;
  BENCH_LOAD_TPS (1000) and BENCH_LOAD_SECS (300; 0: none) the write load archived as binlogs
  before the chosen second
EOF
}

# phys_stop PID: SIGTERM a server that is not our child (a served one), wait for it, SIGKILL
phys_stop() {
    local pid=$1 _
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == mariadbd ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
}

phys_cleanup() {
    local pid f
    if [[ -n ${ARCHP_PID:-} ]]; then
        kill -TERM "$ARCHP_PID" 2>/dev/null || true
        wait "$ARCHP_PID" 2>/dev/null || true
        ARCHP_PID=""
    fi
    if [[ -n ${PHYS_SAMPLER_PID:-} ]]; then
        kill -TERM "$PHYS_SAMPLER_PID" 2>/dev/null || true
        wait "$PHYS_SAMPLER_PID" 2>/dev/null || true
        PHYS_SAMPLER_PID=""
    fi
    # the served servers (dxbackup's and the one started by hand) and the "new machine"'s
    for pid in "${PHYS_SERVED_PID:-}" "${PHYS_NEW_PID:-}"; do
        phys_stop "$pid"
    done
    if [[ -n ${DIR:-} ]]; then
        for f in "$DIR/hand-run/mariadbd.pid" "$DIR/new/mysql/mariadbd.pid"; do
            [[ -f $f ]] && phys_stop "$(cat "$f" 2>/dev/null)"
        done
    fi
    if [[ -n ${PHYS_NEW_PID:-} ]]; then wait "$PHYS_NEW_PID" 2>/dev/null || true; fi
    PHYS_SERVED_PID="" PHYS_NEW_PID=""
    if [[ -n ${COPY_MOTO_PID:-} ]]; then
        copy_kill_tree "$COPY_MOTO_PID"
        COPY_MOTO_PID=""
    fi
    db_cleanup
}

# the empty server of the "new machine": start_server of db.bash on DIR/new, its own port
phys_start_new_server() {
    local dir=$DIR port=$PORT sock=$SOCK pid=$SERVER_PID logdir=$LOGDIR
    local args=("${SERVER_ARGS[@]}")
    mkdir -p "$DIR/new" "$LOGDIR/new"
    DIR=$dir/new PORT=$(free_port) SOCK=$dir/new/mysql/mariadbd.sock SERVER_PID="" LOGDIR=$logdir/new
    start_server
    PHYS_NEW_PID=$SERVER_PID PHYS_NEW_PORT=$PORT PHYS_NEW_SOCK=$SOCK
    DIR=$dir PORT=$port SOCK=$sock SERVER_PID=$pid LOGDIR=$logdir
    SERVER_ARGS=("${args[@]}")
    SOCK=$PHYS_NEW_SOCK rootsql <<<"CREATE USER 'bench'@'%' IDENTIFIED BY '$(cat "$DIR/db-pw")'; GRANT ALL ON *.* TO 'bench'@'%';
                CREATE USER 'bench'@'localhost' IDENTIFIED BY '$(cat "$DIR/db-pw")'; GRANT ALL ON *.* TO 'bench'@'localhost';"
}

# the 1-minute load average every 5 s, for the report
phys_sample_load() {
    while :; do
        printf '%s %s\n' "$(date +%s)" "$(cut -d' ' -f1 /proc/loadavg)"
        sleep 5
    done
}

cmd_physical() {
    [[ $# -eq 0 ]] || { usage >&2; exit 2; }
    SF=${BENCH_SF:-1}
    DIR=${BENCH_DIR:-/tmp/dxbench-physical}
    KEEP=${BENCH_KEEP:-0}
    BUFFER_POOL=${BENCH_BUFFER_POOL:-1G}
    # the recovers' binlogs: a paced write load while both archivers run (issue 12: 5 minutes
    # at 1,000 tx/s); BENCH_LOAD_SECS=0 skips it
    WLOAD_TPS=${BENCH_LOAD_TPS:-1000}
    WLOAD_SECS=${BENCH_LOAD_SECS:-300}
    WLOAD_DONE="none"
    local datax_src=${BENCH_DATAX_HOME:-$REPO_ROOT/examples/datax-home}
    [[ $SF =~ ^[0-9]*\.?[0-9]+$ ]] || die "BENCH_SF must be a positive number, got '$SF'"
    [[ $BUFFER_POOL =~ ^[0-9]+[KMG]?$ ]] || die "BENCH_BUFFER_POOL must look like 1G or 512M"
    [[ -d $datax_src ]] || die "BENCH_DATAX_HOME=$datax_src is not a folder"

    local cmdline
    cmdline=$(copy_cmdline physical BENCH_SF BENCH_DIR BENCH_OUT BENCH_PORT BENCH_BUFFER_POOL BENCH_KEEP \
        BENCH_DATAX_HOME BENCH_TOOLS_DIR BENCH_LOAD_TPS BENCH_LOAD_SECS DXBACKUP_BIN)

    ensure_tools python3:python3 gzip:gzip zcat:gzip zstd:zstd mariadbd:mariadb-server \
        mariadb-install-db:mariadb-server mariadb:mariadb-client mariadb-binlog:mariadb-client \
        mariabackup:mariadb-backup mbstream:mariadb-backup /usr/bin/time:time diff:diffutils

    restore_dx_bin
    if ! "$DX_BIN" recover --help >/dev/null 2>&1 || ! "$DX_BIN" restore-db --help 2>/dev/null | grep -q -- --serve; then
        die "$DX_BIN has no recover or restore-db --serve; rebuild it (cargo build --release)"
    fi

    db_workdir physical "${BENCH_TOOLS_DIR:-}"
    BIG_PATHS=("$DIR/mysql" "$DIR/tpch-data" "$DIR/dumps" "$DIR/phys-repo" "$DIR/phys-state"
               "$DIR/dr-repo" "$DIR/dr-state" "$DIR/drp-repo" "$DIR/drp-state" "$DIR/restore-dx" "$DIR/restore-hand" "$DIR/hand-run"
               "$DIR/mb-scratch" "$DIR/new" "$DIR/moto-tmp" "$DIR/datax-home" "$DIR/tmp")
    local f
    for f in "$DIR/mysql/mariadbd.pid" "$DIR/new/mysql/mariadbd.pid" "$DIR/hand-run/mariadbd.pid"; do
        if [[ -f $f ]] && [[ $(cat "/proc/$(cat "$f")/comm" 2>/dev/null) == mariadbd ]]; then
            die "a mariadbd (pid $(cat "$f")) from an earlier run still uses $DIR; stop it first"
        fi
    done
    rm -rf "${BIG_PATHS[@]}" "$LOGDIR"
    mkdir -p "$LOGDIR" "$TOOLS_DIR" "$DIR/dumps" "$DIR/tmp"
    : >"$RESULTS"
    ARCH_PID="" ARCHP_PID="" SERVER_PID="" PHYS_SERVED_PID="" PHYS_NEW_PID="" PHYS_SAMPLER_PID="" COPY_MOTO_PID=""
    trap phys_cleanup EXIT
    trap 'exit 130' INT TERM
    # mariabackup's and dxbackup's scratch folders (TMPDIR) on the work dir's disk
    export TMPDIR=$DIR/tmp

    local need_kb avail_kb
    need_kb=$(python3 -c "print(int(12 * 1024 * 1024 * float('$SF')) + 1024 * 1024)")
    avail_kb=$(df -Pk "$DIR" | awk 'NR == 2 { print $4 }')
    ((avail_kb > need_kb)) || die "need ~$((need_kb / 1024 / 1024)) GB free in $DIR, have $((avail_kb / 1024 / 1024)) GB"

    ensure_tpchgen
    ((WLOAD_SECS == 0)) || ensure_pymysql
    PORT=${BENCH_PORT:-$(free_port)}
    [[ $PORT =~ ^[0-9]+$ ]] || die "BENCH_PORT must be a port number"
    declare -gA BROKEN=()
    local started=$SECONDS load_start
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    phys_sample_load >"$LOGDIR/loadavg.txt" &
    PHYS_SAMPLER_PID=$!

    # --- server, data, user
    start_server
    generate_and_load
    db_bench_user
    (umask 077 && printf 'AKIADXBENCHPHYS\ndxbench-physical-secret\n' >"$DIR/s3.keys")
    local src_mysql
    src_mysql=$(printf 'kind = "mysql"\nhost = "127.0.0.1"\nport = %s\nuser = "bench"\npassword-file = "%s"\ndatabases = ["tpch"]\n' "$PORT" "$DIR/db-pw")
    cat >"$DIR/phys.toml" <<EOF
[repository.bench]
url = "$DIR/phys-repo"
password-file = "$DIR/pw"

[source.phys]
$src_mysql
driver = "mariabackup"
EOF
    local dxp=(env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$DX_BIN" -c "$DIR/phys.toml" --state-dir "$DIR/phys-state")
    setup_step dxbackup init "${dxp[@]}" init
    [[ -z ${BROKEN[dxbackup]:-} ]] || die "dxbackup init failed (see $LOGDIR)"

    # --- 1. physical full: dxbackup vs mariabackup | zstd
    log "physical fulls"
    dbstep dxbackup backup "${dxp[@]}" -v backup phys
    record_size dxbackup backup "$DIR/phys-repo"
    mkdir -p "$DIR/mb-scratch"
    # shellcheck disable=SC2016 # expanded by the inner bash
    dbstep mariabackup backup bash -c \
        'set -o pipefail; mariabackup --defaults-file="$1" --backup --stream=mbstream --target-dir="$2" 2>"$3" | zstd -q -3 -T2 >"$4"' \
        bash "$CNF" "$DIR/mb-scratch" "$LOGDIR/mariabackup-backup.err" "$DIR/dumps/full.mbstream.zst"
    record_size mariabackup backup "$DIR/dumps/full.mbstream.zst"
    rm -rf "$DIR/mb-scratch"
    [[ -z ${BROKEN[dxbackup]:-} ]] || die "dxbackup's physical backup failed (see $LOGDIR/dxbackup-backup.log)"
    # 1b. the same source with figures = "drill" (the copy alone; drills take the figures),
    # into its own repository so that nothing is deduplicated against step 1
    sed -e "s#^url = \"$DIR/phys-repo\"#url = \"$DIR/physd-repo\"#" \
        -e 's#^driver = "mariabackup"#&\nbinlog = true\nfigures = "drill"#' "$DIR/phys.toml" >"$DIR/physd.toml"
    local dxd=(env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$DX_BIN" -c "$DIR/physd.toml" --state-dir "$DIR/physd-state")
    setup_step dxbackup init-drill "${dxd[@]}" init
    dbstep dxbackup backup-drill "${dxd[@]}" -v backup phys
    [[ $KEEP == 1 ]] || rm -rf "$DIR/physd-repo" "$DIR/physd-state"

    # --- 2. physical restore until the server answers
    log "physical restores"
    local served_json=$LOGDIR/dxbackup-restore.json
    # shellcheck disable=SC2016
    dbstep dxbackup restore bash -c 'out=$1; shift; "$@" >"$out"' bash "$served_json" \
        "${dxp[@]}" -v --json restore-db phys --datadir "$DIR/restore-dx" --serve
    local served_port=""
    if [[ -s $served_json ]]; then
        read -r served_port PHYS_SERVED_PID < <(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["physical"]
print(p["port"], p["pid"])' "$served_json" 2>/dev/null) || true
    fi
    if [[ -n $served_port ]]; then
        verify_db dxbackup restore tpch "$served_port"
        phys_stop "$PHYS_SERVED_PID"
        PHYS_SERVED_PID=""
    else
        printf 'V\tdxbackup\trestore\tFAIL\tno port in the --json output\n' >>"$RESULTS"
        log "dxbackup restore: no served port in $served_json"
    fi
    [[ $KEEP == 1 ]] || rm -rf "$DIR/restore-dx"

    # by hand: the same steps, the same throwaway server settings as dxbackup's served one
    local hand_port userarg=()
    hand_port=$(free_port)
    [[ $(id -u) -eq 0 ]] && userarg=(--user=root)
    mkdir -p "$DIR/hand-run"
    # shellcheck disable=SC2016
    dbstep mariabackup restore bash -c '
        set -eo pipefail
        dir=$1 run=$2 port=$3 cnf=$4 file=$5
        shift 5
        mkdir -p "$dir"
        zstd -q -dc "$file" | mbstream -x -C "$dir"
        mariabackup --no-defaults --prepare --target-dir="$dir" 2>"$run/prepare.log"
        mariadbd --no-defaults --datadir="$dir" --socket="$run/mysqld.sock" --pid-file="$run/mariadbd.pid" \
            --log-error="$run/mysqld.log" --skip-log-bin --innodb-buffer-pool-size=256M \
            --bind-address=127.0.0.1 --port="$port" "$@" </dev/null >/dev/null 2>&1 &
        until mariadb --defaults-extra-file="$cnf" --port="$port" -N -B -e "SELECT 1" >/dev/null 2>&1; do
            kill -0 $! 2>/dev/null || { echo "mariadbd exited, see $run/mysqld.log" >&2; exit 1; }
            sleep 0.1
        done' bash "$DIR/restore-hand" "$DIR/hand-run" "$hand_port" "$CNF" "$DIR/dumps/full.mbstream.zst" "${userarg[@]}"
    verify_db mariabackup restore tpch "$hand_port"
    [[ -f $DIR/hand-run/mariadbd.pid ]] && phys_stop "$(cat "$DIR/hand-run/mariadbd.pid")"
    [[ $KEEP == 1 ]] || rm -rf "$DIR/restore-hand" "$DIR/dumps/full.mbstream.zst"

    # --- 3. recover from the S3 copy alone
    log "recover: a DataX home and the database (logical full + binlogs), copied to S3 (moto)"
    # copy.sh's moto helpers, pointed at this run's folders
    # shellcheck disable=SC2034
    COPY_DIR=$DIR COPY_LOGDIR=$LOGDIR COPY_REPO_ROOT=$REPO_ROOT
    copy_start_moto
    copy_s3 make-bucket bench-dr || die "cannot create bucket bench-dr on moto"
    mkdir -p "$DIR/datax-home"
    cp -a "$datax_src/." "$DIR/datax-home/"
    # DataX's run logs are excluded by default: the tree compared is what is backed up
    rm -rf "$DIR/datax-home/log" "$DIR/datax-home/log_perf"
    cat >"$DIR/dr.toml" <<EOF
[repository.local]
url = "$DIR/dr-repo"
primary = true
password-file = "$DIR/pw"

[repository.s3]
url = "s3://bench-dr/dxbackup/etl-01"
endpoint = "$COPY_S3_ENDPOINT"
region = "us-east-1"
path-style = true
access-key-file = "$DIR/s3.keys"
password-file = "$DIR/pw"
offsite = true

[source.datax]
kind = "files"
root = "$DIR/datax-home"
tier = "important"

[source.tpch]
$src_mysql
binlog-flush = "1s"
tier = "critical"
EOF
    # the same two sources with a physical full (driver = "mariabackup"), in their own
    # repositories: recovered the fast way in step 4
    sed -e "s#$DIR/dr-repo#$DIR/drp-repo#" -e 's#dxbackup/etl-01#dxbackup/etl-02#' \
        -e 's#^binlog-flush = "1s"#driver = "mariabackup"\nbinlog-flush = "1s"#' "$DIR/dr.toml" >"$DIR/drp.toml"
    # the write load's table (step 3's binlogs), in the database recovered
    rootsql -e 'CREATE TABLE tpch.load_t (id BIGINT AUTO_INCREMENT PRIMARY KEY, w INT NOT NULL, n INT NOT NULL, client_ts DOUBLE NOT NULL, pad VARCHAR(100) NOT NULL) ENGINE=InnoDB'
    local dxr=(env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$DX_BIN" -c "$DIR/dr.toml" --state-dir "$DIR/dr-state")
    local dxrp=(env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$DX_BIN" -c "$DIR/drp.toml" --state-dir "$DIR/drp-state")
    setup_step dxrec init "${dxr[@]}" init
    setup_step dxrec backup "${dxr[@]}" backup
    setup_step dxrecp init "${dxrp[@]}" init
    setup_step dxrecp backup "${dxrp[@]}" backup
    [[ -z ${BROKEN[dxrec]:-} && -z ${BROKEN[dxrecp]:-} ]] || die "the recover setup failed (see $LOGDIR/dxrec*-*.log)"
    # the seed's dump of the same full: taken out of the repository (before any
    # binlog snapshot is the latest), gzipped once
    setup_step dxrec extract "${dxr[@]}" restore latest:tpch --target "$DIR/dumps/full"
    local dump
    dump=$(find "$DIR/dumps/full" -name dump.sql -type f | head -n 1)
    [[ -n $dump ]] || die "no dump.sql in the restored snapshot (see $LOGDIR/dxrec-extract.log)"
    # shellcheck disable=SC2016 # backquotes of SQL
    sed -e '/^CREATE DATABASE /d' -e 's/^USE `tpch`;/USE `tpch_zcat`;/' "$dump" | gzip -1 >"$DIR/dumps/tpch.sql.gz"
    local dump_mb=$(($(stat -c %s "$dump") / 1048576)) gz_mb=$(($(stat -c %s "$DIR/dumps/tpch.sql.gz") / 1048576))
    rm -rf "$DIR/dumps/full"

    # binlogs: writes before the chosen second and after it; the archiver runs meanwhile and is
    # stopped (SIGTERM: what was read is stored) once the writes after the second are in
    "${dxr[@]}" binlog tpch --duration 3600s >"$LOGDIR/dxrec-binlog.log" 2>&1 &
    ARCH_PID=$!
    "${dxrp[@]}" binlog tpch --duration 3600s >"$LOGDIR/dxrecp-binlog.log" 2>&1 &
    ARCHP_PID=$!
    sleep 4
    if ((WLOAD_SECS > 0)); then
        log "recover: write load, $WLOAD_TPS tx/s for ${WLOAD_SECS}s into tpch.load_t (archived by both)"
        local load_json
        load_json=$("$VENV_PY" "$HELPERS/db_load.py" load --port "$PORT" --password-file "$DIR/db-pw" \
            --database tpch --table load_t --tps "$WLOAD_TPS" --seconds "$WLOAD_SECS" --workers 4 \
            --out "$LOGDIR/load-samples.tsv" 2>"$LOGDIR/load-client.log") ||
            { tail -n 5 "$LOGDIR/load-client.log" >&2; die "the write load failed (see $LOGDIR/load-client.log)"; }
        WLOAD_DONE=$(python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print("%d transactions in %.0f s (%.0f tx/s)" % (d["transactions"], d["seconds"], d["tps"]))' "$load_json")
        log "write load: $WLOAD_DONE"
    fi
    rootsql -e "INSERT INTO tpch.nation SELECT n_nationkey + 1000, CONCAT('before ', n_name), n_regionkey, n_comment FROM tpch.nation;
                UPDATE tpch.orders SET o_comment = 'changed before the chosen second' WHERE o_orderkey % 100 = 0;
                DELETE FROM tpch.lineitem WHERE l_orderkey % 50 = 1"
    sleep 1.5
    local until
    until=$(date '+%Y-%m-%d %H:%M:%S')
    local t at_t=()
    for t in "${DB_TABLES[@]}" load_t; do
        at_t+=("$t=$(rootsql -e "SELECT COUNT(*) FROM tpch.$t")")
    done
    sleep 1.5
    rootsql -e "DELETE FROM tpch.nation WHERE n_nationkey >= 1000; DELETE FROM tpch.region WHERE r_regionkey = 4;
                INSERT INTO tpch.supplier SELECT s_suppkey + 10000000, s_name, s_address, s_nationkey, s_phone, s_acctbal, 'after' FROM tpch.supplier LIMIT 100"
    log "recover: the chosen second is $until (${at_t[*]}); stopping the archiver after its next flush"
    sleep 3
    local rc=0
    kill -TERM "$ARCH_PID" 2>/dev/null || true
    wait "$ARCH_PID" || rc=$?
    ARCH_PID=""
    ((rc == 0)) || { tail -n 5 "$LOGDIR/dxrec-binlog.log" >&2; die "dxbackup binlog exited $rc (see $LOGDIR/dxrec-binlog.log)"; }
    kill -TERM "$ARCHP_PID" 2>/dev/null || true
    wait "$ARCHP_PID" || rc=$?
    ARCHP_PID=""
    ((rc == 0)) || { tail -n 5 "$LOGDIR/dxrecp-binlog.log" >&2; die "dxbackup binlog exited $rc (see $LOGDIR/dxrecp-binlog.log)"; }
    local copy_t0=$SECONDS
    setup_step dxrec copy "${dxr[@]}" copy --to s3
    setup_step dxrecp copy "${dxrp[@]}" copy --to s3
    [[ -z ${BROKEN[dxrec]:-} && -z ${BROKEN[dxrecp]:-} ]] || die "dxbackup copy to S3 failed (see $LOGDIR/dxrec*-copy.log)"
    local copy_secs=$((SECONDS - copy_t0)) s3_bytes
    read -r s3_bytes _ < <(copy_s3 size bench-dr dxbackup/etl-01 || echo "0 0")
    log "copied to S3 in ${copy_secs}s ($((s3_bytes / 1048576)) MB)"

    # the new machine: an empty server, a fresh HOME and state dir, no config, the URL,
    # password and keys
    phys_start_new_server
    local newhome=$DIR/new/home
    mkdir -p "$newhome"
    cp "$DIR/pw" "$newhome/pw"
    cp "$DIR/s3.keys" "$newhome/keys"
    cp "$DIR/db-pw" "$newhome/dbpw"
    dbstep dxbackup recover env -i -C "$newhome" "PATH=$PATH" "HOME=$newhome" "TMPDIR=$TMPDIR" ${TZ:+"TZ=$TZ"} \
        "$DX_BIN" --state-dir "$newhome/state" -v recover --from s3://bench-dr/dxbackup/etl-01 \
        --endpoint "$COPY_S3_ENDPOINT" --region us-east-1 --password-file pw --access-key-file keys \
        --until "$until" --datax-home "$DIR/new/opt-datax" --into-server "127.0.0.1:$PHYS_NEW_PORT" \
        --mysql-password-file dbpw
    local src_counts=("${SRC_COUNTS[@]}")
    SRC_COUNTS=("${at_t[@]}")
    SOCK=$PHYS_NEW_SOCK verify_db dxbackup recover tpch
    if diff -r "$DIR/datax-home" "$DIR/new/opt-datax" >"$LOGDIR/datax.diff" 2>&1; then
        printf 'V\tdxbackup\trecover-datax\tOK\t\n' >>"$RESULTS"
        log "dxbackup recover: the DataX home is identical"
    else
        printf 'V\tdxbackup\trecover-datax\tFAIL\t%s\n' "$(wc -l <"$LOGDIR/datax.diff") differences, see $LOGDIR/datax.diff" >>"$RESULTS"
        log "dxbackup recover: the DataX home differs (see $LOGDIR/datax.diff)"
    fi
    # the seed's way into the same server: the full only (the recover also replayed binlogs)
    SRC_COUNTS=("${src_counts[@]}")
    SOCK=$PHYS_NEW_SOCK rootsql -e 'CREATE DATABASE tpch_zcat CHARACTER SET utf8mb4'
    # shellcheck disable=SC2016
    dbstep zcat recover bash -c \
        'set -o pipefail; { echo "SET SESSION sql_log_bin = 0;"; zcat "$2"; } | mariadb --defaults-extra-file="$1" --port="$3" --batch --binary-mode --default-character-set=utf8mb4 tpch_zcat' \
        bash "$CNF" "$DIR/dumps/tpch.sql.gz" "$PHYS_NEW_PORT"
    SOCK=$PHYS_NEW_SOCK verify_db zcat recover tpch_zcat

    # --- 4. recover of the physical full + the same binlogs from S3 alone, served
    log "recover (physical): the DataX home and the server's data directory, from S3 alone"
    local newphome=$DIR/new/home-phys rec_json=$LOGDIR/dxbackup-recover-phys.json
    mkdir -p "$newphome"
    cp "$DIR/pw" "$newphome/pw"
    cp "$DIR/s3.keys" "$newphome/keys"
    # shellcheck disable=SC2016
    dbstep dxbackup recover-phys bash -c 'out=$1; shift; "$@" >"$out"' bash "$rec_json" \
        env -i -C "$newphome" "PATH=$PATH" "HOME=$newphome" "TMPDIR=$TMPDIR" ${TZ:+"TZ=$TZ"} \
        "$DX_BIN" --state-dir "$newphome/state" -v --json recover --from s3://bench-dr/dxbackup/etl-02 \
        --endpoint "$COPY_S3_ENDPOINT" --region us-east-1 --password-file pw --access-key-file keys \
        --until "$until" --datax-home "$DIR/new/opt-datax-p" --mysql-datadir "$DIR/new/phys-datadir" --serve
    local rec_port=""
    if [[ -s $rec_json ]]; then
        read -r rec_port PHYS_SERVED_PID < <(python3 -c '
import json, sys
def find(v):
    if isinstance(v, dict):
        if isinstance(v.get("port"), int) and isinstance(v.get("pid"), int):
            return v
        v = list(v.values())
    if isinstance(v, list):
        for x in v:
            r = find(x)
            if r:
                return r
    return None
p = find(json.load(open(sys.argv[1])))
print(p["port"], p["pid"])' "$rec_json" 2>/dev/null) || true
    fi
    SRC_COUNTS=("${at_t[@]}")
    if [[ -n $rec_port ]]; then
        verify_db dxbackup recover-phys tpch "$rec_port"
        phys_stop "$PHYS_SERVED_PID"
        PHYS_SERVED_PID=""
    else
        printf 'V\tdxbackup\trecover-phys\tFAIL\tno served port in the --json output\n' >>"$RESULTS"
        log "dxbackup recover (physical): no served port in $rec_json"
    fi
    SRC_COUNTS=("${src_counts[@]}")
    if diff -r "$DIR/datax-home" "$DIR/new/opt-datax-p" >"$LOGDIR/datax-p.diff" 2>&1; then
        printf 'V\tdxbackup\trecover-phys-datax\tOK\t\n' >>"$RESULTS"
    else
        printf 'V\tdxbackup\trecover-phys-datax\tFAIL\t%s\n' "$(wc -l <"$LOGDIR/datax-p.diff") differences, see $LOGDIR/datax-p.diff" >>"$RESULTS"
    fi

    kill -TERM "$PHYS_SAMPLER_PID" 2>/dev/null || true
    wait "$PHYS_SAMPLER_PID" 2>/dev/null || true
    PHYS_SAMPLER_PID=""

    # --- report
    local load_end load_stats
    load_end=$(cut -d' ' -f1-3 /proc/loadavg)
    load_stats=$(awk '{ s += $2; n++; if ($2 > m) m = $2 } END { if (n) printf "mean %.2f, max %.2f over %d samples", s / n, m, n }' "$LOGDIR/loadavg.txt")
    local loaded=0
    awk -v c="$(nproc)" '{ s += $2; n++ } END { exit !(n && s / n > c) }' "$LOGDIR/loadavg.txt" && loaded=1
    # where restore-db's time went (its -v log)
    local ext prep phases=""
    ext=$(sed -n 's/.*physical full extracted secs=\([0-9.]*\).*/\1/p' "$LOGDIR/dxbackup-restore.log" | head -n 1)
    prep=$(sed -n 's/.*physical full prepared secs=\([0-9.]*\).*/\1/p' "$LOGDIR/dxbackup-restore.log" | head -n 1)
    if [[ -n $ext && -n $prep ]]; then
        phases=$(awk -v e="$ext" -v p="$prep" -v t="$(awk -F'\t' '$1 == "T" && $2 == "dxbackup" && $3 == "restore" { print $5 }' "$RESULTS")" \
            'BEGIN { printf "extract (repository -> mbstream -x) %.1f s, mariabackup --prepare %.1f s, the rest %.1f s (repository open and plan, a private scratch mariadbd started, COUNT(*) of every table, stopped, the served mariadbd started)", e, p, t - e - p }')
    fi
    local table
    table=$(awk -F'\t' -v sf="$SF" -v loaded="$loaded" '
        $1 == "T" { k = $2 SUBSEP $3; s[k] = $4; t[k] = $5; m[k] = $6 }
        $1 == "S" { z[$2 SUBSEP $3] = $4 }
        $1 == "V" { v[$2 SUBSEP $3] = $4 }
        function cell(k) { return (k in t) ? sprintf("%s s / %d MB%s", t[k], m[k] / 1024, s[k] == "OK" ? "" : " (" s[k] ")") : "-" }
        function ratio(a, b) { return (t[a] > 0 && t[b] > 0) ? sprintf("%.2f", t[a] / t[b]) : "-" }
        function ok(a) { return s[a] == "OK" || s[a] == "WARN:1" }
        function rel(a, b, bar,   r) {
            if (!(ok(a) && ok(b) && t[b] > 0)) return "not measured"
            r = t[a] / t[b]
            return (r <= bar ? "met" : "NOT met") sprintf(" (%.2fx; bar <= %.1fx)", r, bar)
        }
        function abs(a, bar,   w) {
            if (!ok(a)) return "not measured"
            w = (t[a] <= bar ? "met" : "NOT met") sprintf(" (%s s; bar <= %d s)", t[a], bar)
            if (sf != 1) w = w ", bar is for SF 1"
            if (loaded) w = w ", loaded machine: indicative"
            return w
        }
        END {
            D = "dxbackup"; M = "mariabackup"; Z = "zcat"
            print "| step | dxbackup | by hand | x by hand (dxbackup / by hand) | rows check (dxbackup; by hand) | bar |"
            print "|---|---|---|---:|---|---|"
            printf "| 1. physical full | %s | %s | %s | - | dxbackup <= 1.3x: %s |\n", cell(D SUBSEP "backup"), cell(M SUBSEP "backup"), ratio(D SUBSEP "backup", M SUBSEP "backup"), rel(D SUBSEP "backup", M SUBSEP "backup", 1.3)
            printf "| 1b. physical full, figures = \"drill\" (the copy alone) | %s | %s | %s | - | dxbackup <= 1.3x: %s |\n", cell(D SUBSEP "backup-drill"), cell(M SUBSEP "backup"), ratio(D SUBSEP "backup-drill", M SUBSEP "backup"), rel(D SUBSEP "backup-drill", M SUBSEP "backup", 1.3)
            printf "| size | %.1f MB (repository) | %.1f MB (.mbstream.zst) | %s | - | - |\n", z[D SUBSEP "backup"] / 1048576, z[M SUBSEP "backup"] / 1048576, (z[M SUBSEP "backup"] > 0) ? sprintf("%.2f", z[D SUBSEP "backup"] / z[M SUBSEP "backup"]) : "-"
            printf "| 2. physical restore, until the server answers | %s | %s | %s | %s; %s | <= 15 s: %s |\n", cell(D SUBSEP "restore"), cell(M SUBSEP "restore"), ratio(D SUBSEP "restore", M SUBSEP "restore"), v[D SUBSEP "restore"], v[M SUBSEP "restore"], abs(D SUBSEP "restore", 15)
            printf "| 4. recover from S3, physical full (DataX home + server + binlogs to a second, served) vs zcat \\| mariadb | %s | %s | %s | %s, DataX home %s; %s | <= 60 s: %s |\n", cell(D SUBSEP "recover-phys"), cell(Z SUBSEP "recover"), ratio(D SUBSEP "recover-phys", Z SUBSEP "recover"), v[D SUBSEP "recover-phys"], v[D SUBSEP "recover-phys-datax"], v[Z SUBSEP "recover"], abs(D SUBSEP "recover-phys", 60)
            printf "| 3. recover from S3 (DataX home + database + binlogs to a second) vs zcat \\| mariadb | %s | %s | %s | %s, DataX home %s; %s | <= 60 s: %s |\n", cell(D SUBSEP "recover"), cell(Z SUBSEP "recover"), ratio(D SUBSEP "recover", Z SUBSEP "recover"), v[D SUBSEP "recover"], v[D SUBSEP "recover-datax"], v[Z SUBSEP "recover"], abs(D SUBSEP "recover", 60)
        }' "$RESULTS")
    {
        echo "# dxbackup benchmark: physical backups and recover"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
        echo "- command: \`$cmdline\`"
        echo "- machine: $(nproc) CPUs ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, kernel $(uname -r)"
        echo "- load average (1/5/15 min): $load_start at the start, $load_end at the end; 1-min samples every 5 s: $load_stats$([[ $loaded == 1 ]] && echo " (more than the $(nproc) CPUs: a loaded machine)")"
        echo "- server: $(mariadbd --version | sed 's/^mariadbd *//'); $(mariabackup --version 2>&1 | head -n 1)"
        echo "- dxbackup: $("$DX_BIN" --version 2>/dev/null | head -n 1) ($DX_BIN, built $(date -u -r "$DX_BIN" '+%Y-%m-%d %H:%M UTC'))"
        echo "- data: TPC-H SF $SF, ${SRC_ROWS} rows (InnoDB estimate), $((DB_BYTES / 1048576)) MB InnoDB data + indexes; the logical full's dump: $dump_mb MB of SQL, $gz_mb MB gzipped (gzip -1); S3 copy: $((s3_bytes / 1048576)) MB, copied in ${copy_secs}s"
        echo "- write load while both archivers ran (db_load.py, 4 PyMySQL connections, single-row INSERT + COMMIT into tpch.load_t): $WLOAD_DONE"
        echo "- recover target: --until \"$until\" (writes before it and after it, archived by \`dxbackup binlog\`); at that second: ${at_t[*]}"
        echo "- total bench time: $((SECONDS - started))s"
        echo
        echo "$table"
        echo
        echo "Cells are wall time / peak RSS of the largest process (\`/usr/bin/time -f '%e %M'\`; servers not included)."
        echo "Commands (\`CNF\` = a 0600 client option file of the bench user):"
        echo
        echo "1. \`dxbackup backup phys\` (\`driver = \"mariabackup\"\`: the stream into the repository, then every table's row count and \`CHECKSUM TABLE\` for drills)"
        echo "   vs \`mariabackup --defaults-file=CNF --backup --stream=mbstream --target-dir=DIR | zstd -3 -T2 > full.mbstream.zst\`"
        echo "1b. the same \`dxbackup backup phys\` with \`figures = \"drill\"\` (and \`binlog = true\`) into its own repository: the stream alone, the figures left to drills"
        echo "2. \`dxbackup restore-db phys --datadir DIR --serve\` (extract, prepare, a throwaway mariadbd, no binlogs archived for this source)"
        echo "   vs \`zstd -dc full.mbstream.zst | mbstream -x -C DIR; mariabackup --prepare --target-dir=DIR; mariadbd --datadir=DIR --skip-log-bin --innodb-buffer-pool-size=256M &\`"
        echo "   until \`SELECT 1\` answers (dxbackup's served server has the same settings); both checked by the row counts of the 8 tables"
        [[ -z $phases ]] || echo "   dxbackup's time (its \`-v\` log): $phases"
        echo "3. \`dxbackup recover --from s3://... --endpoint MOTO --password-file pw --access-key-file keys --until T --datax-home DIR --into-server NEW --mysql-password-file dbpw\`"
        echo "   in a fresh HOME and state dir, no config (\`env -i\`), into an empty second mariadbd; the source: a files source (the DataX home,"
        echo "   $(du -sh "$DIR/datax-home" | cut -f1)) and the TPC-H database (\`driver = \"dump\"\` full + binlogs), backed up, archived, \`dxbackup copy --to s3\`"
        echo "   vs \`zcat tpch.sql.gz | mariadb\` of the same full's dump into the same empty server (one session, \`sql_log_bin = 0\`; the full only, no binlogs)"
    } >"$OUT"
    echo
    cat "$OUT"
    log "results written to $OUT; logs in $LOGDIR"
    ! grep -q $'\tFAIL' "$RESULTS"
}
