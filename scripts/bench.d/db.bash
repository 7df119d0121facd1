# shellcheck shell=bash
# `scripts/bench db`: dxbackup's mysql source vs mariadb-dump | gzip (the seed's method),
# mariadb-dump | zstd, mydumper/myloader and mariadb-dump | restic, on TPC-H data in a
# throwaway mariadbd; plus binlog archive lag under a write load.  Sourced by scripts/bench,
# which provides log, die, ensure_tools, measure, setup_step and record_size.

DB_TABLES=(region nation supplier customer part partsupp orders lineitem)
# the same options for every mariadb-dump run (dxbackup's own dump uses these plus --quick,
# a default, and --master-data=2 / --databases)
DUMP_OPTS=(--single-transaction --routines --triggers --events --hex-blob
           --default-character-set=utf8mb4)

db_usage() {
    cat <<'EOF'
  db       TPC-H (tpchgen-cli) in a throwaway mariadbd: full backup with dxbackup vs
           mariadb-dump | gzip, mariadb-dump | zstd -3 -T2, mydumper and
           mariadb-dump | restic backup --stdin; restore with dxbackup restore-db vs
           zcat | mariadb and myloader; dxbackup drill; binlog archive lag under a write
           load; table written as markdown to BENCH_OUT

environment (db):
  BENCH_SF=1               TPC-H scale factor (0.01 for a quick validation run)
  BENCH_DIR=/tmp/dxbench-db  work dir (tools/ with tpchgen-cli and a PyMySQL venv is kept)
  BENCH_OUT=<dir>/results-db.md   markdown results file
  BENCH_PORT=<free port>   port of the throwaway mariadbd (127.0.0.1 only)
  BENCH_BUFFER_POOL=1G     innodb_buffer_pool_size of the throwaway server
  BENCH_LOAD_TPS=1500      write load target (transactions/s) for the binlog lag test
  BENCH_LOAD_SECS=30       write load duration
  BENCH_LOAD_WORKERS=4     write load connections
  BENCH_FLUSH=1s           binlog-flush of the dxbackup source
  BENCH_MYDUMPER_COMPRESS=1   mydumper -c (gzip per file); 0 = plain SQL files
  BENCH_KEEP=1             keep data, dumps, repositories and the datadir afterwards
  DXBACKUP_BIN=<repo>/target/release/dxbackup
EOF
}

# ---------------------------------------------------------------------------

db_cleanup() {
    local pid child
    for pid in "${ARCH_PID:-}" "${SERVER_PID:-}"; do
        [[ -n $pid ]] || continue
        if kill -0 "$pid" 2>/dev/null; then
            # ARCH_PID is /usr/bin/time: stop the archiver under it first
            for child in $(ps -o pid= --ppid "$pid" 2>/dev/null || true); do
                kill -TERM "$child" 2>/dev/null || true
            done
            kill -TERM "$pid" 2>/dev/null || true
            local i
            for i in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                [[ $i -lt 100 ]] || kill -KILL "$pid" 2>/dev/null || true
                sleep 0.2
            done
            wait "$pid" 2>/dev/null || true
        fi
    done
    ARCH_PID="" SERVER_PID=""
    if [[ ${KEEP:-0} != 1 && -n ${DIR:-} && -f $DIR/.dxbench ]]; then
        log "cleaning up big dirs in $DIR (BENCH_KEEP=1 keeps them)"
        rm -rf "${BIG_PATHS[@]}"
    fi
}

# db_workdir NAME [TOOLS_DIR]: make BENCH_DIR's work dir DIR (refuses / and a non-empty dir
# without the .dxbench marker); sets OUT (BENCH_OUT or DIR/results-NAME.md), LOGDIR, RESULTS,
# TOOLS_DIR (TOOLS_DIR if not empty, else DIR/tools) and SOCK
db_workdir() {
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd -P)
    [[ $DIR != / ]] || die "BENCH_DIR must not be /"
    if [[ ! -f $DIR/.dxbench && -n $(ls -A "$DIR") ]]; then
        die "$DIR is not empty and was not created by scripts/bench (no .dxbench marker); pick another BENCH_DIR"
    fi
    touch "$DIR/.dxbench"
    OUT=${BENCH_OUT:-$DIR/results-$1.md}
    LOGDIR=$DIR/logs
    RESULTS=$LOGDIR/results.tsv
    TOOLS_DIR=${2:-$DIR/tools}
    SOCK=$DIR/mysql/mariadbd.sock
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# root over the socket: setup and checks only (measured tools use the bench user over TCP)
rootsql() { mariadb --no-defaults -uroot --socket="$SOCK" --default-character-set=utf8mb4 -N -B "$@"; }

start_server() {
    local my=$DIR/mysql userarg=()
    rm -rf "$my"
    mkdir -p "$my"
    [[ $(id -u) -eq 0 ]] && userarg=(--user=root)
    log "initialising a throwaway MariaDB datadir in $my/data"
    mariadb-install-db --no-defaults --auth-root-authentication-method=normal --skip-test-db \
        "${userarg[@]}" --datadir="$my/data" >"$LOGDIR/mariadb-install-db.log" 2>&1 ||
        { tail -n 20 "$LOGDIR/mariadb-install-db.log" >&2; die "mariadb-install-db failed"; }
    SERVER_ARGS=(--no-defaults --datadir="$my/data" --port="$PORT" --bind-address=127.0.0.1
        --socket="$SOCK" --pid-file="$my/mariadbd.pid" --log-error="$my/error.log"
        --log-bin="$my/data/mysql-bin" --server-id=1 --binlog-format=ROW
        --innodb-buffer-pool-size="$BUFFER_POOL" --innodb-log-file-size=512M
        --innodb-flush-log-at-trx-commit=2 --local-infile=1 --max-allowed-packet=256M
        --skip-name-resolve --event-scheduler=OFF "${userarg[@]}")
    log "starting mariadbd on 127.0.0.1:$PORT (socket $SOCK)"
    mariadbd "${SERVER_ARGS[@]}" >>"$LOGDIR/mariadbd.out" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 300); do
        rootsql -e 'SELECT 1' >/dev/null 2>&1 && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.2
    done
    tail -n 20 "$my/error.log" >&2 || true
    die "mariadbd did not start (see $my/error.log)"
}

ensure_tpchgen() {
    TPCHGEN=$TOOLS_DIR/bin/tpchgen-cli
    if [[ ! -x $TPCHGEN ]] && command -v tpchgen-cli >/dev/null 2>&1; then
        TPCHGEN=$(command -v tpchgen-cli)
    fi
    if [[ ! -x $TPCHGEN ]]; then
        command -v cargo >/dev/null 2>&1 || die "tpchgen-cli missing and cargo not found (install Rust, or put tpchgen-cli on PATH)"
        log "installing tpchgen-cli (cargo install --locked --root $TOOLS_DIR; a few minutes, once)"
        TPCHGEN=$TOOLS_DIR/bin/tpchgen-cli
        # from the work dir, so no project's .cargo/config applies
        (cd "$DIR" && cargo install --locked --root "$TOOLS_DIR" tpchgen-cli) \
            >"$LOGDIR/tpchgen-install.log" 2>&1 ||
            { tail -n 20 "$LOGDIR/tpchgen-install.log" >&2; die "cargo install tpchgen-cli failed"; }
    fi
}

ensure_pymysql() {
    VENV_PY=$TOOLS_DIR/venv/bin/python
    if [[ -x $VENV_PY ]] && "$VENV_PY" -c 'import pymysql' 2>/dev/null; then
        return 0
    fi
    log "creating a venv with PyMySQL in $TOOLS_DIR/venv"
    rm -rf "$TOOLS_DIR/venv"
    python3 -m venv "$TOOLS_DIR/venv" >"$LOGDIR/venv.log" 2>&1 ||
        { cat "$LOGDIR/venv.log" >&2; die "python3 -m venv failed (Debian: apt-get install python3-venv)"; }
    "$TOOLS_DIR/venv/bin/pip" install --quiet PyMySQL >>"$LOGDIR/venv.log" 2>&1 ||
        { tail -n 20 "$LOGDIR/venv.log" >&2; die "pip install PyMySQL failed"; }
}

generate_and_load() {
    local data=$DIR/tpch-data t expected actual
    rm -rf "$data"
    mkdir -p "$data"
    log "generating TPC-H SF $SF with tpchgen-cli into $data"
    local t0=$SECONDS
    "$TPCHGEN" tbl --scale-factor "$SF" --output-dir "$data" --no-progress >"$LOGDIR/tpchgen.log" 2>&1 ||
        { tail -n 20 "$LOGDIR/tpchgen.log" >&2; die "tpchgen-cli failed"; }
    GEN_SECS=$((SECONDS - t0))
    for t in "${DB_TABLES[@]}"; do
        [[ -f $data/$t.tbl ]] || die "tpchgen-cli wrote no $data/$t.tbl (see $LOGDIR/tpchgen.log)"
    done
    TBL_BYTES=$(du -scb "$data"/*.tbl | tail -n 1 | cut -f1)

    log "loading TPC-H into database tpch ($((TBL_BYTES / 1048576)) MB of .tbl files)"
    t0=$SECONDS
    rootsql -e 'CREATE DATABASE tpch CHARACTER SET utf8mb4'
    rootsql tpch <"$HELPERS/tpch_schema.sql"
    {
        # the load is not logged: the binlog then holds only what happens after the backups
        echo "SET SESSION sql_log_bin = 0; SET SESSION unique_checks = 0; SET SESSION foreign_key_checks = 0;"
        for t in "${DB_TABLES[@]}"; do
            # .tbl lines end in '|': it is part of the line terminator
            printf "LOAD DATA LOCAL INFILE '%s' INTO TABLE %s CHARACTER SET utf8mb4 FIELDS TERMINATED BY '|' LINES TERMINATED BY '|\\\\n';\n" \
                "$data/$t.tbl" "$t"
        done
    } >"$LOGDIR/load.sql"
    rootsql --local-infile=1 tpch <"$LOGDIR/load.sql" >"$LOGDIR/load.log" 2>&1 ||
        { tail -n 20 "$LOGDIR/load.log" >&2; die "loading TPC-H failed"; }
    LOAD_SECS=$((SECONDS - t0))
    SRC_COUNTS=()
    for t in "${DB_TABLES[@]}"; do
        expected=$(wc -l <"$data/$t.tbl")
        actual=$(rootsql -e "SELECT COUNT(*) FROM tpch.$t")
        [[ $expected == "$actual" ]] || die "tpch.$t has $actual rows after loading $expected lines"
        SRC_COUNTS+=("$t=$actual")
    done
    SRC_ROWS=$(rootsql -e "SELECT SUM(TABLE_ROWS) FROM information_schema.TABLES WHERE TABLE_SCHEMA='tpch'")
    DB_BYTES=$(rootsql -e "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA='tpch'")
    log "loaded in ${LOAD_SECS}s: ${SRC_COUNTS[*]}"
    [[ $KEEP == 1 ]] || rm -rf "$data"

    # settle: write the load's dirty pages out before anything is timed (innodb_io_capacity
    # raised meanwhile: at its default of 200 pages/s SF 1 would take minutes), then start a
    # fresh binlog (the dxbackup full records its coordinates there; the archiver starts there)
    t0=$SECONDS
    rootsql -e 'SET GLOBAL innodb_io_capacity_max = 50000; SET GLOBAL innodb_io_capacity = 50000;
                SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0; SET GLOBAL innodb_max_dirty_pages_pct = 0'
    local i dirty=0
    for i in $(seq 1 300); do
        dirty=$(rootsql -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='INNODB_BUFFER_POOL_PAGES_DIRTY'")
        ((dirty < 100)) && break
        sleep 1
    done
    rootsql -e 'SET GLOBAL innodb_max_dirty_pages_pct = DEFAULT; SET GLOBAL innodb_max_dirty_pages_pct_lwm = DEFAULT;
                SET GLOBAL innodb_io_capacity = DEFAULT; SET GLOBAL innodb_io_capacity_max = DEFAULT; FLUSH BINARY LOGS'
    log "dirty pages written out in $((SECONDS - t0))s ($dirty left)"
}

# db_bench_user: the bench user (a random password, all privileges) on the server at SOCK and
# its 0600 files: DIR/db-pw, DIR/pw (the repository password) and CNF = DIR/client.cnf (the
# client option file, TCP to 127.0.0.1:PORT: the password never appears in any argv)
db_bench_user() {
    local dbpw
    dbpw=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    (
        umask 077
        printf '%s\n' "$dbpw" >"$DIR/db-pw"
        printf 'dxbench-repo-password\n' >"$DIR/pw"
        printf '[client]\nuser=bench\npassword=%s\nhost=127.0.0.1\nport=%s\nprotocol=TCP\n' "$dbpw" "$PORT" >"$DIR/client.cnf"
    )
    chmod 600 "$DIR/db-pw" "$DIR/pw" "$DIR/client.cnf"
    # on stdin, not -e: not even the setup puts the password in an argv
    rootsql <<<"CREATE USER 'bench'@'%' IDENTIFIED BY '$dbpw'; GRANT ALL ON *.* TO 'bench'@'%';
                CREATE USER 'bench'@'localhost' IDENTIFIED BY '$dbpw'; GRANT ALL ON *.* TO 'bench'@'localhost';"
    CNF=$DIR/client.cnf
}

# verify_db TOOL OP DB [PORT]: the 8 tables' row counts against the source's; drops DB
# afterwards.  With PORT: on the server at 127.0.0.1:PORT (a restored one) as the bench user
# (CNF) over TCP, and nothing dropped
verify_db() {
    local tool=$1 op=$2 db=$3 port=${4:-} t want got bad=() sql=(rootsql)
    [[ -z $port ]] || sql=(mariadb --defaults-extra-file="$CNF" --port="$port" --default-character-set=utf8mb4 -N -B)
    local status
    status=$(awk -F'\t' -v t="$tool" -v o="$op" '$1 == "T" && $2 == t && $3 == o { s = $4 } END { print s }' "$RESULTS")
    if [[ $status == OK || $status == WARN:1 ]]; then
        for t in "${SRC_COUNTS[@]}"; do
            want=${t#*=}
            got=$("${sql[@]}" -e "SELECT COUNT(*) FROM \`$db\`.\`${t%%=*}\`" 2>/dev/null || echo missing)
            [[ $got == "$want" ]] || bad+=("${t%%=*}: $got rows, source $want")
        done
        if [[ ${#bad[@]} -eq 0 ]]; then
            printf 'V\t%s\t%s\tOK\t\n' "$tool" "$op" >>"$RESULTS"
            log "$tool $op: row counts of all ${#DB_TABLES[@]} tables match the source"
        else
            local IFS=';'
            printf 'V\t%s\t%s\tFAIL\t%s\n' "$tool" "$op" "${bad[*]}" >>"$RESULTS"
            log "$tool $op: FAIL: row counts differ: ${bad[*]}"
        fi
    fi
    [[ -n $port || $KEEP == 1 ]] || rootsql -e "DROP DATABASE IF EXISTS \`$db\`" || true
}

# dbstep TOOL OP CMD...: measure; a failed restore does not skip the tool's other restores
dbstep() {
    local tool=$1 saved=${BROKEN[$1]:-}
    measure "$@"
    [[ $2 == backup ]] || BROKEN[$tool]=$saved
}

db_tool_versions() {
    echo "- server: $(mariadbd --version | sed 's/^mariadbd *//')"
    echo "- dxbackup: $("$DX_BIN" --version 2>/dev/null | head -n 1) ($DX_BIN, built $(date -u -r "$DX_BIN" '+%Y-%m-%d %H:%M UTC'))"
    echo "- mariadb-dump: $(mariadb-dump --version)"
    echo "- gzip: $(gzip --version | head -n 1); zstd: $(zstd --version | sed 's/^\** *//; s/ *\**$//')"
    echo "- mydumper: $(mydumper --version 2>&1 | head -n 1); $(myloader --version 2>&1 | head -n 1)"
    echo "- restic: $(restic version | head -n 1)"
    echo "- tpchgen-cli: $("$TPCHGEN" --version 2>/dev/null | head -n 1)"
    echo "- load client: PyMySQL $("$VENV_PY" -c 'import pymysql; print(pymysql.__version__)'), $("$VENV_PY" --version)"
}

cmd_db() {
    [[ $# -eq 0 ]] || { usage >&2; exit 2; }
    SF=${BENCH_SF:-1}
    DIR=${BENCH_DIR:-/tmp/dxbench-db}
    KEEP=${BENCH_KEEP:-0}
    BUFFER_POOL=${BENCH_BUFFER_POOL:-1G}
    LOAD_TPS=${BENCH_LOAD_TPS:-1500}
    LOAD_SECS_RUN=${BENCH_LOAD_SECS:-30}
    LOAD_WORKERS=${BENCH_LOAD_WORKERS:-4}
    FLUSH=${BENCH_FLUSH:-1s}
    MYDUMPER_COMPRESS=${BENCH_MYDUMPER_COMPRESS:-1}
    [[ $SF =~ ^[0-9]*\.?[0-9]+$ ]] || die "BENCH_SF must be a positive number, got '$SF'"
    [[ $LOAD_TPS =~ ^[0-9]+$ && $LOAD_SECS_RUN =~ ^[0-9]+$ && $LOAD_WORKERS =~ ^[0-9]+$ ]] ||
        die "BENCH_LOAD_TPS, BENCH_LOAD_SECS and BENCH_LOAD_WORKERS must be integers"
    [[ $FLUSH =~ ^([0-9]+)s$ ]] || die "BENCH_FLUSH must be whole seconds like 1s, got '$FLUSH'"
    local flush_secs=${BASH_REMATCH[1]}
    [[ $BUFFER_POOL =~ ^[0-9]+[KMG]?$ ]] || die "BENCH_BUFFER_POOL must look like 1G or 512M"

    local cmdline
    cmdline=$(copy_cmdline db BENCH_SF BENCH_DIR BENCH_OUT BENCH_PORT BENCH_BUFFER_POOL BENCH_LOAD_TPS \
        BENCH_LOAD_SECS BENCH_LOAD_WORKERS BENCH_FLUSH BENCH_MYDUMPER_COMPRESS BENCH_KEEP DXBACKUP_BIN)

    # --- dependencies
    local specs=(python3:python3 gzip:gzip zcat:gzip
        mariadbd:mariadb-server mariadb-install-db:mariadb-server
        mariadb:mariadb-client mariadb-dump:mariadb-client mariadb-binlog:mariadb-client
        zstd:zstd mydumper:mydumper myloader:mydumper restic:restic)
    [[ -x /usr/bin/time ]] || specs+=(/usr/bin/time:time)
    ensure_tools "${specs[@]}"

    DX_BIN=${DXBACKUP_BIN:-$REPO_ROOT/target/release/dxbackup}
    if [[ ! -x $DX_BIN ]]; then
        [[ -z ${DXBACKUP_BIN:-} ]] || die "DXBACKUP_BIN=$DXBACKUP_BIN is not executable"
        command -v cargo >/dev/null 2>&1 || die "$DX_BIN missing and cargo not found; build it or set DXBACKUP_BIN"
        log "building dxbackup (cargo build --release)"
        (cd "$REPO_ROOT" && cargo build --release) || die "cargo build --release failed"
        [[ -x $DX_BIN ]] || die "$DX_BIN still missing after cargo build"
    fi
    DX_BIN=$(realpath "$DX_BIN")
    "$DX_BIN" restore-db --help >/dev/null 2>&1 ||
        die "$DX_BIN has no restore-db command (a build older than the mysql source?); rebuild it (cargo build --release) or set DXBACKUP_BIN"

    # --- work dir
    db_workdir db
    DUMPS=$DIR/dumps
    BIG_PATHS=("$DIR/mysql" "$DIR/tpch-data" "$DUMPS" "$DIR/dx-repo" "$DIR/dx-state"
               "$DIR/dxm-repo" "$DIR/dxm-state"
               "$DIR/restic-repo" "$DIR/restic-cache")
    # a server left over by an interrupted run would hold the datadir
    if [[ -f $DIR/mysql/mariadbd.pid ]]; then
        local old
        old=$(cat "$DIR/mysql/mariadbd.pid")
        if [[ $old =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$old/comm" 2>/dev/null) == mariadbd ]]; then
            die "a mariadbd (pid $old) from an earlier run still uses $DIR/mysql; stop it first"
        fi
    fi
    rm -rf "${BIG_PATHS[@]}" "$LOGDIR"
    mkdir -p "$LOGDIR" "$TOOLS_DIR" "$DUMPS"
    : >"$RESULTS"
    ARCH_PID="" SERVER_PID=""
    trap db_cleanup EXIT
    trap 'exit 130' INT TERM

    local need_kb avail_kb
    need_kb=$(python3 -c "print(int(9 * 1024 * 1024 * float('$SF')) + 1024 * 1024)")
    avail_kb=$(df -Pk "$DIR" | awk 'NR == 2 { print $4 }')
    ((avail_kb > need_kb)) || die "need ~$((need_kb / 1024 / 1024)) GB free in $DIR, have $((avail_kb / 1024 / 1024)) GB"

    ensure_tpchgen
    ensure_pymysql

    PORT=${BENCH_PORT:-$(free_port)}
    [[ $PORT =~ ^[0-9]+$ ]] || die "BENCH_PORT must be a port number"
    declare -gA BROKEN=()
    local started=$SECONDS

    # --- server, data, user, configs
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
binlog-flush = "$FLUSH"
EOF
    # the same source through the mydumper driver, in its own repository
    sed -e "s#$DIR/dx-repo#$DIR/dxm-repo#" -e 's/^databases = .*/&\ndriver = "mydumper"/' \
        "$DIR/dx.toml" >"$DIR/dxm.toml"
    DX=("$DX_BIN" -c "$DIR/dx.toml" --state-dir "$DIR/dx-state")
    DXM=("$DX_BIN" -c "$DIR/dxm.toml" --state-dir "$DIR/dxm-state")
    local restic_env=("RESTIC_REPOSITORY=$DIR/restic-repo" "RESTIC_PASSWORD_FILE=$DIR/pw"
                      "RESTIC_CACHE_DIR=$DIR/restic-cache")
    local mydumper_conn=(--defaults-file="$CNF" -h 127.0.0.1 -P "$PORT" -u bench)
    local mydumper_c=() mydumper_label="2 threads, plain SQL files"
    if [[ $MYDUMPER_COMPRESS == 1 ]]; then
        mydumper_c=(-c)
        mydumper_label="2 threads, gzip-compressed files"
    fi

    setup_step dxbackup init "${DX[@]}" init
    setup_step dxmyd init "${DXM[@]}" init
    setup_step restic init env "${restic_env[@]}" restic init

    # warm-up: one untimed dump, so every timed tool sees the same buffer pool and page cache
    log "warm-up dump (untimed)"
    mariadb-dump --defaults-extra-file="$CNF" "${DUMP_OPTS[@]}" tpch >/dev/null || die "warm-up dump failed"

    # --- full backups
    log "full backups"
    sleep 1
    dbstep dxbackup backup "${DX[@]}" backup tpch
    record_size dxbackup backup "$DIR/dx-repo"
    # shellcheck disable=SC2016 # expanded by the inner bash
    dbstep gzip backup bash -c 'set -o pipefail; mariadb-dump --defaults-extra-file="$1" "${@:3}" | gzip >"$2"' \
        bash "$CNF" "$DUMPS/tpch.sql.gz" "${DUMP_OPTS[@]}" tpch
    record_size gzip backup "$DUMPS/tpch.sql.gz"
    # shellcheck disable=SC2016
    dbstep zstd backup bash -c 'set -o pipefail; mariadb-dump --defaults-extra-file="$1" "${@:3}" | zstd -q -3 -T2 >"$2"' \
        bash "$CNF" "$DUMPS/tpch.sql.zst" "${DUMP_OPTS[@]}" tpch
    record_size zstd backup "$DUMPS/tpch.sql.zst"
    dbstep mydumper backup mydumper "${mydumper_conn[@]}" -B tpch -o "$DUMPS/mydumper" -t 2 \
        -r 500000 "${mydumper_c[@]}" -R -G -E -v 2
    record_size mydumper backup "$DUMPS/mydumper"
    dbstep dxmyd backup "${DXM[@]}" backup tpch
    record_size dxmyd backup "$DIR/dxm-repo"
    # shellcheck disable=SC2016
    dbstep restic backup env "${restic_env[@]}" bash -c \
        'set -o pipefail; mariadb-dump --defaults-extra-file="$1" "${@:2}" | restic backup --quiet --stdin --stdin-filename tpch.sql' \
        bash "$CNF" "${DUMP_OPTS[@]}" tpch
    record_size restic backup "$DIR/restic-repo"

    # --- restores, each into a fresh database, checked against the source's row counts
    log "restores"
    dbstep dxbackup restore "${DX[@]}" restore-db tpch --into tpch_dx --force
    verify_db dxbackup restore tpch_dx
    rootsql -e 'CREATE DATABASE tpch_zcat CHARACTER SET utf8mb4'
    # like dxbackup's restore: one client session, restored rows not written to the binlog
    # shellcheck disable=SC2016
    dbstep gzip restore bash -c \
        'set -o pipefail; { echo "SET SESSION sql_log_bin = 0;"; zcat "$2"; } | mariadb --defaults-extra-file="$1" --batch --binary-mode --default-character-set=utf8mb4 tpch_zcat' \
        bash "$CNF" "$DUMPS/tpch.sql.gz"
    verify_db gzip restore tpch_zcat
    # myloader: binlog off by default (-e would turn it on); creates the database
    dbstep mydumper restore myloader "${mydumper_conn[@]}" -d "$DUMPS/mydumper" -s tpch -B tpch_myl -t 2 -v 2
    verify_db mydumper restore tpch_myl
    dbstep dxmyd restore "${DXM[@]}" restore-db tpch --into tpch_dxm --force
    verify_db dxmyd restore tpch_dxm
    # the drill checks row counts and CHECKSUM TABLE against the manifest itself (exit 2 if not)
    dbstep dxbackup drill "${DX[@]}" drill tpch
    local drill_status
    drill_status=$(awk -F'\t' '$1 == "T" && $2 == "dxbackup" && $3 == "drill" { s = $4 } END { print s }' "$RESULTS")
    if [[ $drill_status == OK ]]; then
        printf 'V\tdxbackup\tdrill\tOK\t\n' >>"$RESULTS"
    elif [[ $drill_status == FAIL:* || $drill_status == WARN:* ]]; then
        printf 'V\tdxbackup\tdrill\tFAIL\tdrill exit %s: %s\n' "${drill_status#*:}" \
            "$(grep -i 'fail\|differ\|error' "$LOGDIR/dxbackup-drill.log" | head -n 3 | tr '\t\n' '  ')" >>"$RESULTS"
    fi

    # --- binlog archive lag under a write load
    local arch_secs=$((LOAD_SECS_RUN + 30))
    printf 'I\tflush_secs\t%s\n' "$flush_secs" >>"$RESULTS"
    if [[ -n ${BROKEN[dxbackup]:-} ]]; then
        log "binlog lag: skipped (the dxbackup full backup failed)"
    else
        rootsql -e 'CREATE DATABASE bench_load; CREATE TABLE bench_load.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, w INT NOT NULL, n INT NOT NULL, client_ts DOUBLE NOT NULL, pad VARCHAR(100) NOT NULL) ENGINE=InnoDB'
        log "binlog: starting dxbackup binlog tpch --duration ${arch_secs}s (binlog-flush $FLUSH)"
        /usr/bin/time -f '%e %M' -o "$LOGDIR/dxbackup-binlog.time" \
            "${DX[@]}" -v binlog tpch --duration "${arch_secs}s" >"$LOGDIR/dxbackup-binlog.log" 2>&1 &
        ARCH_PID=$!
        sleep 5
        if ! kill -0 "$ARCH_PID" 2>/dev/null; then
            local rc=0
            wait "$ARCH_PID" || rc=$?
            ARCH_PID=""
            printf 'T\tdxbackup\tbinlog\tFAIL:%s\t0\t0\n' "$rc" >>"$RESULTS"
            log "dxbackup binlog: exited early (exit $rc), see $LOGDIR/dxbackup-binlog.log"
            tail -n 5 "$LOGDIR/dxbackup-binlog.log" >&2 || true
        else
            log "binlog: write load, $LOAD_TPS tx/s target for ${LOAD_SECS_RUN}s over $LOAD_WORKERS connections"
            local load_json rc=0
            load_json=$("$VENV_PY" "$HELPERS/db_load.py" load --port "$PORT" --password-file "$DIR/db-pw" \
                --tps "$LOAD_TPS" --seconds "$LOAD_SECS_RUN" --workers "$LOAD_WORKERS" \
                --out "$LOGDIR/lag-samples.tsv" 2>"$LOGDIR/load-client.log") || rc=$?
            if [[ $rc -ne 0 ]]; then
                log "write load failed (exit $rc), see $LOGDIR/load-client.log"
                tail -n 5 "$LOGDIR/load-client.log" >&2 || true
            else
                log "write load: $load_json"
                python3 - "$load_json" "$LOAD_TPS" >>"$RESULTS" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
for k in ("transactions", "seconds", "tps", "workers"):
    print("I\tload_%s\t%s" % (k, d[k]))
print("I\tload_target_tps\t%s" % sys.argv[2])
PY
            fi
            log "binlog: waiting for the archiver to finish (its --duration)"
            rc=0
            wait "$ARCH_PID" || rc=$?
            ARCH_PID=""
            local secs=0 kib=0 status=OK
            read -r secs kib < <(tail -n 1 "$LOGDIR/dxbackup-binlog.time" 2>/dev/null) || true
            [[ $secs =~ ^[0-9.]+$ && $kib =~ ^[0-9]+$ ]] || { secs=0 kib=0; }
            if [[ $rc -eq 1 ]]; then
                status=WARN:1
            elif [[ $rc -ne 0 ]]; then
                status=FAIL:$rc
                log "dxbackup binlog: FAILED (exit $rc), see $LOGDIR/dxbackup-binlog.log"
                tail -n 5 "$LOGDIR/dxbackup-binlog.log" >&2 || true
            fi
            printf 'T\tdxbackup\tbinlog\t%s\t%s\t%s\n' "$status" "$secs" "$kib" >>"$RESULTS"
            if [[ -s $LOGDIR/lag-samples.tsv ]]; then
                rc=0
                "${DX[@]}" --json snapshots --source tpch >"$LOGDIR/snapshots.json" 2>"$LOGDIR/snapshots.err" || rc=$?
                if [[ $rc -eq 0 ]]; then
                    python3 "$HELPERS/db_load.py" lag --samples "$LOGDIR/lag-samples.tsv" \
                        --snapshots "$LOGDIR/snapshots.json" --repo "$DIR/dx-repo" \
                        --results "$RESULTS" >"$LOGDIR/lag.log" 2>&1 ||
                        { log "lag analysis failed, see $LOGDIR/lag.log"; tail -n 5 "$LOGDIR/lag.log" >&2; }
                    log "binlog lag: $(tr '\n' ' ' <"$LOGDIR/lag.log")"
                else
                    printf 'T\tdxbackup\tsnapshots\tFAIL:%s\t0\t0\n' "$rc" >>"$RESULTS"
                    log "dxbackup snapshots --json failed (exit $rc): $(cat "$LOGDIR/snapshots.err")"
                fi
            fi
        fi
    fi

    # --- report
    local table total_secs=$((SECONDS - started))
    table=$(python3 "$HELPERS/render_db.py" "$RESULTS")
    {
        echo "# dxbackup benchmark: databases"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
        echo "- command: \`$cmdline\`"
        echo "- machine: $(nproc) CPUs ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, kernel $(uname -r)"
        echo "- data: TPC-H SF $SF from tpchgen-cli: $((TBL_BYTES / 1048576)) MB of .tbl files, ${SRC_ROWS} rows (InnoDB estimate), $((DB_BYTES / 1048576)) MB InnoDB data + indexes; generated in ${GEN_SECS}s, loaded in ${LOAD_SECS}s"
        echo "- row counts: ${SRC_COUNTS[*]}"
        echo "- server: throwaway mariadbd on 127.0.0.1, own datadir, log-bin, server-id 1, binlog_format ROW, innodb_buffer_pool_size $BUFFER_POOL, innodb_log_file_size 512M, innodb_flush_log_at_trx_commit 2; every tool connects over TCP as user \`bench\` (password from an option file)"
        echo "- total bench time: ${total_secs}s"
        echo
        echo "Tool versions:"
        echo
        db_tool_versions
        echo
        echo "$table"
        echo
        echo "Notes:"
        echo
        echo "- cells are wall time / peak RSS (\`/usr/bin/time -f '%e %M'\`: of the largest single process of"
        echo "  the command, e.g. max(mariadb-dump, gzip); the server's memory is never included). MB = MiB."
        echo "  Ratio columns are the other tool's time divided by dxbackup's (>1 means dxbackup is faster;"
        echo "  on the drill row: zcat | mariadb divided by the drill). On the size row >1 means dxbackup's"
        echo "  backup is smaller. Sizes: dxbackup and restic = the repository (\`du -sb\`), others = the dump."
        echo "- one untimed warm-up dump runs first; \`sync\` runs before every measurement."
        echo "- commands (\`CNF\` = a 0600 option file with user, password, host, port; \`OPTS\` ="
        echo "  \`${DUMP_OPTS[*]}\`):"
        echo "  - dxbackup: \`dxbackup backup tpch\` (after \`init\`); restore \`dxbackup restore-db tpch --into tpch_dx --force\`; \`dxbackup drill tpch\`"
        echo "    (restores the latest full into a scratch database, compares row counts and CHECKSUM TABLE with the manifest, drops it). Config: $DIR/dx.toml"
        echo "  - dxbackup, driver mydumper: the same source with \`driver = \"mydumper\"\` in its own repository ($DIR/dxm.toml): \`dxbackup backup tpch\` (mydumper with 2 threads and \`--rows 500000\` into a spool, then stored), restore \`dxbackup restore-db tpch --into tpch_dxm --force\` (myloader, 2 threads)"
        echo "  - gzip (the seed's method): \`mariadb-dump --defaults-extra-file=CNF OPTS tpch | gzip > tpch.sql.gz\`; restore"
        echo "    \`{ echo 'SET SESSION sql_log_bin = 0;'; zcat tpch.sql.gz; } | mariadb --defaults-extra-file=CNF --batch --binary-mode --default-character-set=utf8mb4 tpch_zcat\`"
        echo "    (binlog off like dxbackup's restore and myloader's default)"
        echo "  - zstd: \`mariadb-dump --defaults-extra-file=CNF OPTS tpch | zstd -3 -T2 > tpch.sql.zst\` (no restore timed)"
        echo "  - mydumper: \`mydumper --defaults-file=CNF -B tpch -t 2 -r 500000 ${mydumper_c[*]} -R -G -E -o DIR\` ($mydumper_label);"
        echo "    restore \`myloader --defaults-file=CNF -d DIR -s tpch -B tpch_myl -t 2\`"
        echo "  - restic: \`mariadb-dump --defaults-extra-file=CNF OPTS tpch | restic backup --stdin --stdin-filename tpch.sql\` into a fresh repository (no restore timed)"
        echo "- every restore goes into a fresh database and is checked: the row counts of the 8 tables must equal the source's."
        echo "- binlog lag method: \`dxbackup binlog tpch --duration ${arch_secs}s\` (binlog-flush $FLUSH) runs in the background;"
        echo "  5 s later a write load starts (db_load.py: $LOAD_WORKERS PyMySQL connections, paced single-row INSERT + COMMIT"
        echo "  into bench_load.t for ${LOAD_SECS_RUN} s). Every 100th transaction of each connection is a sample: its commit time"
        echo "  is the client's clock right after COMMIT returns, and \`SELECT @@last_gtid\` gives its GTID. After the run,"
        echo "  \`dxbackup --json snapshots\` lists the binlog snapshots, whose descriptions give each part's last GTID; a sample"
        echo "  is readable once a snapshot whose parts reach its GTID exists, at the mtime of that snapshot's file in"
        echo "  \`REPO/snapshots/\` (written last, after packs and index). lag = that time - commit time. Samples never covered"
        echo "  count as failures of the bar."
    } >"$OUT"
    echo
    cat "$OUT"
    echo
    log "results written to $OUT; logs in $LOGDIR"
    local failed=0
    grep -q $'\tFAIL' "$RESULTS" && failed=1
    return "$failed"
}
