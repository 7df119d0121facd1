# shellcheck shell=bash
# `scripts/bench copy`: copy throughput of a dxbackup repository to an SFTP target and to an
# S3 target on loopback (a private sshd and moto's S3 server on 127.0.0.1), side by side with
# `restic copy` and `rclone sync` of the repository folder, in one run.  See docs/BENCHMARKS.md
# ("Copy").
#
# Self-contained: sourced by scripts/bench (`copy) shift; cmd_copy "$@" ;;`), it needs nothing
# from it; REPO_ROOT is used when set.  Every helper is prefixed `copy_` / `COPY_` so it cannot
# clash with the harness's own (log, die, measure, DIR, RESULTS, ...).  It can also be run
# directly: `bash scripts/bench.d/copy.sh`.
#
# Environment: BENCH_COPY_MB (1024), BENCH_DIR (/tmp/dxbench-copy), BENCH_OUT
# (<dir>/results-copy.md), BENCH_SEED (42), BENCH_KEEP, DXBACKUP_BIN; see copy_usage.
set -euo pipefail

copy_usage() {
    cat <<'EOF'
  copy     copy one dxbackup repository (a generated ~BENCH_COPY_MB MB tree, backed up once)
           to an SFTP target (private sshd on 127.0.0.1) and an S3 target (moto_server on
           127.0.0.1) with `dxbackup copy`, `restic copy` and `rclone sync` of the repository
           folder; a second, no-op copy of each; `restic check --read-data` of dxbackup's
           copies; table written as markdown to BENCH_OUT

environment (copy):
  BENCH_COPY_MB=1024       size of the generated tree in MB (64 for a quick run)
  BENCH_DIR=/tmp/dxbench-copy   work dir (tools/ with a moto venv is kept between runs)
  BENCH_OUT=<dir>/results-copy.md   markdown results file
  BENCH_SEED=42            generator seed
  BENCH_KEEP=1             keep tree, repositories and targets afterwards (servers are stopped)
  DXBACKUP_BIN=<repo>/target/release/dxbackup   (built with `cargo build --release` if
                           missing and DXBACKUP_BIN is not set; must have `copy`)
EOF
}

copy_log() { printf '[bench copy %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
copy_die() { copy_log "error: $*"; exit 1; }

# copy_apt PACKAGE...: apt-get install (as root on Debian), updating the lists only if needed
copy_apt() {
    copy_log "installing missing packages: $*"
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        copy_die "missing $*; install them (Debian: apt-get install -y $*) or run as root"
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq "$@" >&2; then
        apt-get update -qq >&2
        apt-get install -y -qq "$@" >&2
    fi
}

# copy_ensure_pkgs cmd:debian-package ...   (install only what is missing; cmd may be a path)
copy_ensure_pkgs() {
    local missing=() spec cmd pkg
    for spec in "$@"; do
        cmd=${spec%%:*}
        pkg=${spec#*:}
        if [[ $cmd == /* ]]; then
            [[ -x $cmd ]] || missing+=("$pkg")
        elif ! command -v "$cmd" >/dev/null 2>&1; then
            missing+=("$pkg")
        fi
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    # one package may provide several of the commands
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    copy_apt "${missing[@]}"
}

copy_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# copy_wait_port PORT PID WHAT: wait until 127.0.0.1:PORT accepts connections
copy_wait_port() {
    local port=$1 pid=$2 what=$3 i
    for i in $(seq 1 300); do
        if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || copy_die "$what exited before listening on 127.0.0.1:$port (see $COPY_LOGDIR)"
        [[ $i -lt 300 ]] && sleep 0.1
    done
    copy_die "$what did not listen on 127.0.0.1:$port within 30 s"
}

# copy_cmdline SUBCOMMAND VAR...: the exact command for a results file: each VAR that is set,
# as VAR=value (single-quoted when needed), then `scripts/bench SUBCOMMAND`
copy_cmdline() {
    local sub=$1 cmdline="" v
    shift
    for v in "$@"; do
        [[ -n ${!v+x} ]] || continue
        if [[ ${!v} =~ ^[A-Za-z0-9_./:,=+-]+$ ]]; then
            cmdline+="$v=${!v} "
        else
            cmdline+="$v='${!v//\'/\'\\\'\'}' "
        fi
    done
    printf '%s' "${cmdline}scripts/bench $sub"
}

# copy_kill_tree PID: SIGTERM a process and all its descendants (sshd forks one per connection)
copy_kill_tree() {
    local pid=$1 all=("$1") i=0 child
    while [[ $i -lt ${#all[@]} ]]; do
        for child in $(ps -o pid= --ppid "${all[$i]}" 2>/dev/null || true); do
            all+=("$child")
        done
        i=$((i + 1))
    done
    kill -TERM "${all[@]}" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "${all[@]}" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

copy_cleanup() {
    local pid
    for pid in "${COPY_SSHD_PID:-}" "${COPY_MOTO_PID:-}"; do
        [[ -n $pid ]] && copy_kill_tree "$pid"
    done
    COPY_SSHD_PID="" COPY_MOTO_PID=""
    if [[ ${COPY_KEEP:-0} != 1 && -n ${COPY_DIR:-} && -f $COPY_DIR/.dxbench ]]; then
        copy_log "cleaning up big dirs in $COPY_DIR (BENCH_KEEP=1 keeps them)"
        rm -rf "${COPY_BIG_PATHS[@]}"
    fi
}

# ---------------------------------------------------------------------------
# servers

copy_start_sshd() {
    local d=$COPY_DIR/ssh sshd=/usr/sbin/sshd sftp_server k kind key
    [[ -x $sshd ]] || sshd=$(command -v sshd)
    rm -rf "$d"
    mkdir -p "$d" "$COPY_DIR/bin"
    chmod 700 "$d"
    for k in host_key client_key; do
        ssh-keygen -q -t ed25519 -N '' -C "dxbench-$k" -f "$d/$k" >/dev/null
    done
    cp "$d/client_key.pub" "$d/authorized_keys"
    COPY_SSH_PORT=$(copy_free_port)
    read -r kind key _ <"$d/host_key.pub"
    printf '[127.0.0.1]:%s %s %s\n' "$COPY_SSH_PORT" "$kind" "$key" >"$d/known_hosts"
    sftp_server=internal-sftp
    for k in /usr/lib/openssh/sftp-server /usr/libexec/sftp-server /usr/libexec/openssh/sftp-server; do
        if [[ -x $k ]]; then sftp_server=$k; break; fi
    done
    cat >"$d/sshd_config" <<EOF
Port $COPY_SSH_PORT
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
AllowUsers $COPY_USER
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
MaxStartups 100
MaxSessions 100
LogLevel ERROR
Subsystem sftp $sftp_server
EOF
    # sshd refuses to start without its privilege separation folder
    mkdir -p /run/sshd 2>/dev/null || true
    "$sshd" -t -f "$d/sshd_config" >"$COPY_LOGDIR/sshd-t.log" 2>&1 ||
        { cat "$COPY_LOGDIR/sshd-t.log" >&2; copy_die "sshd -t rejected $d/sshd_config"; }
    "$sshd" -D -e -f "$d/sshd_config" </dev/null >>"$COPY_LOGDIR/sshd.log" 2>&1 &
    COPY_SSHD_PID=$!
    copy_wait_port "$COPY_SSH_PORT" "$COPY_SSHD_PID" sshd
    COPY_SSH_KEY=$d/client_key
    COPY_KNOWN_HOSTS=$d/known_hosts
    # The `ssh` dxbackup runs (OpenDAL's SFTP service runs `ssh` from PATH): the real one, told
    # to trust this server's host key only, so host keys are checked strictly (known-hosts =
    # "strict") and ~/.ssh/known_hosts is left alone.
    cat >"$COPY_DIR/bin/ssh" <<EOF
#!/bin/sh
exec $(command -v ssh) -o UserKnownHostsFile=$COPY_KNOWN_HOSTS "\$@"
EOF
    chmod 755 "$COPY_DIR/bin/ssh"
    # fail early if key authentication does not work
    ssh -p "$COPY_SSH_PORT" -i "$COPY_SSH_KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$COPY_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
        "$COPY_USER@127.0.0.1" true </dev/null >"$COPY_LOGDIR/ssh-probe.log" 2>&1 ||
        { cat "$COPY_LOGDIR/ssh-probe.log" >&2; copy_die "cannot log in to the bench sshd with the bench key"; }
    copy_log "sshd on 127.0.0.1:$COPY_SSH_PORT (pid $COPY_SSHD_PID, key auth for $COPY_USER only)"
}

# moto_server: $DXBACKUP_TEST_MOTO, the venv scripts/test makes, one on PATH, or a venv in
# BENCH_DIR/tools (created once, kept between runs)
copy_find_moto() {
    local venv=$COPY_DIR/tools/moto-venv c
    for c in "${DXBACKUP_TEST_MOTO:-}" "$COPY_REPO_ROOT/target/test-venv/bin/moto_server" \
             "$venv/bin/moto_server" "$(command -v moto_server 2>/dev/null || true)"; do
        if [[ -n $c && -x $c ]]; then
            COPY_MOTO=$c
            return 0
        fi
    done
    copy_log "installing moto[server] from PyPI into $venv (once)"
    rm -rf "$venv"
    mkdir -p "$COPY_DIR/tools"
    python3 -m venv "$venv" >"$COPY_LOGDIR/moto-venv.log" 2>&1 ||
        { cat "$COPY_LOGDIR/moto-venv.log" >&2; copy_die "python3 -m venv failed (Debian: apt-get install python3-venv)"; }
    "$venv/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5,<6' >>"$COPY_LOGDIR/moto-venv.log" 2>&1 ||
        { tail -n 20 "$COPY_LOGDIR/moto-venv.log" >&2; copy_die "pip install moto[server] failed"; }
    COPY_MOTO=$venv/bin/moto_server
}

copy_moto_version() {
    local py
    py=$(head -n 1 "$COPY_MOTO" | sed -n 's/^#! *//p' | awk '{print $1}')
    [[ $py == *python* && -x $py ]] || py=python3
    "$py" -c 'import moto; print("moto " + moto.__version__)' 2>/dev/null || echo "moto (version unknown)"
}

copy_start_moto() {
    copy_find_moto
    COPY_S3_PORT=$(copy_free_port)
    mkdir -p "$COPY_DIR/moto-tmp"
    # objects larger than moto's in-memory buffer spill to TMPDIR: keep them in the work dir
    TMPDIR=$COPY_DIR/moto-tmp "$COPY_MOTO" -H 127.0.0.1 -p "$COPY_S3_PORT" </dev/null >>"$COPY_LOGDIR/moto.log" 2>&1 &
    COPY_MOTO_PID=$!
    copy_wait_port "$COPY_S3_PORT" "$COPY_MOTO_PID" moto_server
    COPY_S3_ENDPOINT=http://127.0.0.1:$COPY_S3_PORT
    copy_log "moto_server on $COPY_S3_ENDPOINT (pid $COPY_MOTO_PID, $COPY_MOTO)"
}

# copy_s3 make-bucket BUCKET | size BUCKET PREFIX   (moto accepts unsigned requests)
copy_s3() {
    python3 - "$COPY_S3_PORT" "$@" <<'PY'
import http.client, sys, urllib.parse, xml.etree.ElementTree as ET
port, op, bucket = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def req(method, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, headers={"Content-Length": "0"})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        sys.exit("%s %s: HTTP %d %s" % (method, path, r.status, body[:300]))
    return body
if op == "make-bucket":
    req("PUT", "/" + bucket)
elif op == "size":
    prefix = sys.argv[4].strip("/") + "/"
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    total = count = 0
    token = None
    while True:
        q = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
        if token:
            q["continuation-token"] = token
        root = ET.fromstring(req("GET", "/%s?%s" % (bucket, urllib.parse.urlencode(q))))
        for c in root.iter(ns + "Contents"):
            total += int(c.find(ns + "Size").text)
            count += 1
        t = root.find(ns + "NextContinuationToken")
        if t is None or not t.text:
            break
        token = t.text
    print(total, count)
PY
}

# ---------------------------------------------------------------------------
# data

# copy_generate TREE MB SEED: deterministic DataX-like tree of about MB MiB: ~10 % small
# files (job JSON, scripts, conf), ~45 % incompressible jars, ~45 % compressible (~2x) dumps
copy_generate() {
    python3 - "$@" <<'PY'
import os, random, sys
root, mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
total = mb << 20
small_total = total // 10
jar_total = total * 45 // 100
dump_total = total - small_total - jar_total
CHUNK = 4 << 20

def put(rel, data, mode=0o644):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, mode)

def put_stream(rel, size, gen):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        left = size
        while left > 0:
            n = min(CHUNK, left)
            f.write(gen(n))
            left -= n

put("conf/core.json", b'{"core": {"transport": {"channel": {"speed": {"byte": 1048576}}}}}\n')
put("conf/logback.xml", b"<configuration>\n" + b"  <logger name=\"com.alibaba.datax\" level=\"INFO\"/>\n" * 40 + b"</configuration>\n")

readers = ["mysqlreader", "postgresqlreader", "oraclereader", "hdfsreader", "odpsreader"]
writers = ["mysqlwriter", "postgresqlwriter", "hdfswriter", "odpswriter", "streamwriter"]
written = n = 0
while written < small_total:
    line, db, table = "line%02d" % (n // 500), "db%02d" % rng.randrange(40), "t%06d" % n
    cols = ", ".join('"c%d_%s"' % (i, rng.randbytes(3).hex()) for i in range(rng.randrange(4, 40)))
    body = ('{"job": {"setting": {"speed": {"channel": %d}}, "content": [{"reader": {"name": "%s", '
            '"parameter": {"username": "etl", "password": "%s", "column": [%s], "connection": '
            '[{"table": ["%s"], "jdbcUrl": ["jdbc:mysql://10.0.%d.%d:3306/%s"]}]}}, "writer": '
            '{"name": "%s", "parameter": {"column": [%s], "preSql": ["delete from %s where dt = '
            '\'${bizdate}\'"]}}}]}}\n') % (
        rng.randrange(1, 9), rng.choice(readers), rng.randbytes(8).hex(), cols, table,
        rng.randrange(256), rng.randrange(256), db, rng.choice(writers), cols, table)
    data = body.encode()
    if n % 5 == 4:
        put("script/%s/%s.sh" % (line, table),
            b"#!/bin/sh\nexec python /opt/datax/bin/datax.py -p \"-Dbizdate=$1\" " +
            ("/opt/datax/job/%s/%s/%s.json\n" % (line, db, table)).encode(), 0o755)
        written += 120
    put("job/%s/%s/%s.json" % (line, db, table), data)
    written += len(data)
    n += 1

# incompressible jars, 3 files
for i in range(3):
    put_stream("plugin/reader/plugin%d/libs/lib%d.jar" % (i, i), jar_total // 3, rng.randbytes)

# compressible dumps (~2x with zstd), 3 files: random bytes mapped onto a small, skewed alphabet
alphabet = b"0123456789" * 5 + b",,,,,''()   \n"
table = bytes(alphabet[i % len(alphabet)] for i in range(256))
for i in range(3):
    put_stream("dumps/orders_%d.sql" % i, dump_total // 3,
               lambda k: b"INSERT INTO orders VALUES (" + rng.randbytes(k - 27).translate(table))
print("%d small files" % n)
PY
}

copy_bytes_of() { du -sb "$1" 2>/dev/null | cut -f1; }

# ---------------------------------------------------------------------------
# measurement

# copy_measure TOOL OP CMD...   -> T row: tool op status secs kib; stdout in LOGDIR/TOOL-OP.out
copy_measure() {
    local tool=$1 op=$2
    shift 2
    local base="$COPY_LOGDIR/$tool-$op" rc=0 secs=0 kib=0 status=OK
    sync
    /usr/bin/time -f '%e %M' -o "$base.time" "$@" </dev/null >"$base.out" 2>"$base.log" || rc=$?
    # on failure GNU time writes "Command exited with non-zero status N" first
    read -r secs kib < <(tail -n 1 "$base.time" 2>/dev/null) || true
    [[ $secs =~ ^[0-9.]+$ && $kib =~ ^[0-9]+$ ]] || { secs=0 kib=0; }
    if [[ $rc -ne 0 ]]; then
        status="FAIL:$rc"
        copy_log "$tool $op: FAILED (exit $rc) after ${secs} s, see $base.log"
        tail -n 5 "$base.log" >&2 || true
    else
        copy_log "$tool $op: ${secs} s, peak RSS $((kib / 1024)) MB"
    fi
    printf 'T\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$op" "$status" "$secs" "$kib" >>"$COPY_RESULTS"
}

# copy_setup NAME CMD...: untimed step that must work
copy_setup() {
    local name=$1
    shift
    local rc=0
    "$@" </dev/null >"$COPY_LOGDIR/$name.log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        tail -n 20 "$COPY_LOGDIR/$name.log" >&2
        copy_die "$name failed (exit $rc), see $COPY_LOGDIR/$name.log"
    fi
}

# dxbackup's `--json copy` report: bytes sent and snapshots copied -> B row
copy_dx_sent() {
    local op=$1 sent bytes n present
    sent=$(python3 -c '
import json, sys
try:
    r = json.load(open(sys.argv[1]))[0]
    print(r["bytes"], len(r["copied"]), r["present"])
except Exception:
    print("? ? ?")' "$COPY_LOGDIR/dxbackup-$op.out")
    read -r bytes n present <<<"$sent"
    printf 'B\t%s\t%s\t%s\t%s\n' "$op" "$bytes" "$n" "$present" >>"$COPY_RESULTS"
}

copy_size_row() { # TOOL TARGET BYTES
    printf 'S\t%s\t%s\t%s\n' "$1" "$2" "${3:-0}" >>"$COPY_RESULTS"
}

# copy_check TARGET RESTIC_REPO_ARGS...: `restic check --read-data` of dxbackup's copy, and
# the same snapshots as the primary -> V row
copy_check() {
    local target=$1 status=PASS detail="" rc=0 n_primary n_target
    shift
    restic "$@" --cache-dir "$COPY_DIR/restic-cache-check" check --read-data </dev/null \
        >"$COPY_LOGDIR/check-$target.log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        status=FAIL
        detail="restic check --read-data exit $rc, see logs/check-$target.log"
    fi
    n_primary=$(restic -r "$COPY_PRIMARY" --no-cache snapshots --json 2>/dev/null |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' || echo "?")
    n_target=$(restic "$@" --no-cache snapshots --json 2>/dev/null |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' || echo "?")
    if [[ $n_target != "$n_primary" || $n_target == "?" ]]; then
        status=FAIL
        detail+="${detail:+; }$n_target snapshot(s) in the target, $n_primary in the primary"
    else
        detail+="${detail:+; }$n_target/$n_primary snapshot(s)"
    fi
    printf 'V\t%s\t%s\t%s\n' "$target" "$status" "$detail" >>"$COPY_RESULTS"
    copy_log "restic check --read-data of dxbackup's $target copy: $status ($detail)"
}

copy_render() {
    python3 - "$COPY_RESULTS" <<'PY'
import sys
timed, sizes, sent, verify = {}, {}, {}, {}
for line in open(sys.argv[1]):
    p = line.rstrip("\n").split("\t")
    if p[0] == "T":
        timed[(p[1], p[2])] = (p[3], float(p[4] or 0), int(p[5] or 0))
    elif p[0] == "S":
        sizes[(p[1], p[2])] = int(p[3])
    elif p[0] == "B":
        sent[p[1]] = p[2:]
    elif p[0] == "V":
        verify[p[1]] = (p[2], p[3] if len(p) > 3 else "")
MiB = 1024 * 1024
repo = sizes.get(("primary", "repo"), 0)
TOOLS = [("dxbackup", "dxbackup copy"), ("restic", "restic copy"), ("rclone", "rclone sync")]
TARGETS = [("sftp", "SFTP"), ("s3", "S3")]

def cell(tool, op, rate):
    r = timed.get((tool, op))
    if r is None:
        return "n/a"
    status, secs, kib = r
    parts = ["%.2f s" % secs]
    if rate and secs > 0 and status == "OK":
        parts.append("%.1f MB/s" % (repo / MiB / secs))
    parts.append("%.0f MB" % (kib / 1024))
    c = " · ".join(parts)
    return c if status == "OK" else "FAIL (rc %s) %s" % (status.split(":", 1)[-1], c)

def ratio(tool, op):
    a, b = timed.get((tool, op)), timed.get(("dxbackup", op))
    if not a or not b or a[0] != "OK" or b[0] != "OK" or b[1] <= 0:
        return ""
    return "%.2f" % (a[1] / b[1])

rows = [("copy to %s" % name, "copy-" + t, True) for t, name in TARGETS]
rows += [("no-op copy to %s (2nd run)" % name, "noop-" + t, False) for t, name in TARGETS]
out = ["| step | dxbackup copy | restic copy | rclone sync | restic / dxbackup | rclone / dxbackup |",
       "|---|---|---|---|---|---|"]
for label, op, rate in rows:
    out.append("| %s | %s | %s | %s | %s | %s |" % (
        label, cell("dxbackup", op, rate), cell("restic", op, rate), cell("rclone", op, rate),
        ratio("restic", op), ratio("rclone", op)))
for t, name in TARGETS:
    cells = []
    for tool, _ in TOOLS:
        b = sizes.get((tool, t))
        cells.append("n/a" if b is None else "%.1f MB" % (b / MiB))
    out.append("| target size, %s | %s | %s | %s | | |" % (name, *cells))
for t, name in TARGETS:
    s = sent.get("copy-" + t)
    n = sent.get("noop-" + t)
    def fmt(x):
        if not x or x[0] == "?":
            return "?"
        return "%.1f MB, %s snapshot(s)" % (int(x[0]) / MiB, x[1])
    out.append("| sent by dxbackup (its report), %s: copy / no-op | %s / %s | | | | |" % (name, fmt(s), fmt(n)))
for t, name in TARGETS:
    v = verify.get(t)
    out.append("| `restic check --read-data` of dxbackup's %s copy | %s | | | | |" % (
        name, "n/a" if v is None else "%s (%s)" % v))
print("\n".join(out))
print()
print("Bar: `dxbackup copy` at least as fast as `restic copy` to the same target:")
for t, name in TARGETS:
    r = ratio("restic", "copy-" + t)
    if not r:
        print("- %s: not measured (a copy failed)" % name)
    else:
        print("- %s: %s (restic / dxbackup = %s)" % (name, "met" if float(r) >= 1.0 else "NOT met", r))
PY
}

# ---------------------------------------------------------------------------

cmd_copy() {
    [[ $# -eq 0 ]] || { copy_usage >&2; return 2; }
    local mb=${BENCH_COPY_MB:-1024} seed=${BENCH_SEED:-42}
    COPY_DIR=${BENCH_DIR:-/tmp/dxbench-copy}
    COPY_KEEP=${BENCH_KEEP:-0}
    COPY_REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
    [[ $mb =~ ^[1-9][0-9]*$ ]] || copy_die "BENCH_COPY_MB must be a positive integer, got '$mb'"
    [[ $seed =~ ^[0-9]+$ ]] || copy_die "BENCH_SEED must be an integer"

    # the exact command, for the results file
    local cmdline
    cmdline=$(copy_cmdline copy BENCH_COPY_MB BENCH_DIR BENCH_OUT BENCH_SEED BENCH_KEEP DXBACKUP_BIN)

    # --- dependencies (apt-get only what is missing)
    copy_ensure_pkgs python3:python3 restic:restic rclone:rclone /usr/bin/time:time \
        /usr/sbin/sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client
    if [[ -z ${DXBACKUP_TEST_MOTO:-} && ! -x $COPY_REPO_ROOT/target/test-venv/bin/moto_server ]] &&
       ! command -v moto_server >/dev/null 2>&1 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        copy_apt python3-venv
    fi

    COPY_DX_BIN=${DXBACKUP_BIN:-$COPY_REPO_ROOT/target/release/dxbackup}
    if [[ ! -x $COPY_DX_BIN ]]; then
        [[ -z ${DXBACKUP_BIN:-} ]] || copy_die "DXBACKUP_BIN=$DXBACKUP_BIN is not executable"
        command -v cargo >/dev/null 2>&1 || copy_die "$COPY_DX_BIN missing and cargo not found; build it or set DXBACKUP_BIN"
        copy_log "building dxbackup (cargo build --release)"
        (cd "$COPY_REPO_ROOT" && cargo build --release) || copy_die "cargo build --release failed"
        [[ -x $COPY_DX_BIN ]] || copy_die "$COPY_DX_BIN still missing after cargo build"
    fi
    COPY_DX_BIN=$(realpath "$COPY_DX_BIN")
    "$COPY_DX_BIN" copy --help >/dev/null 2>&1 ||
        copy_die "$COPY_DX_BIN has no copy command (a build older than the targets merge); rebuild it (cargo build --release) or set DXBACKUP_BIN"

    # --- work dir
    mkdir -p "$COPY_DIR"
    COPY_DIR=$(cd "$COPY_DIR" && pwd -P)
    [[ $COPY_DIR != / ]] || copy_die "BENCH_DIR must not be /"
    # the dir ends up in restic's sftp.command and rclone paths, which split on spaces
    [[ $COPY_DIR =~ ^[A-Za-z0-9_./+-]+$ ]] || copy_die "BENCH_DIR must not contain spaces or special characters: '$COPY_DIR'"
    if [[ ! -f $COPY_DIR/.dxbench && -n $(ls -A "$COPY_DIR") ]]; then
        copy_die "$COPY_DIR is not empty and was not created by scripts/bench (no .dxbench marker); pick another BENCH_DIR"
    fi
    touch "$COPY_DIR/.dxbench"
    local out=${BENCH_OUT:-$COPY_DIR/results-copy.md}
    local tree=$COPY_DIR/tree state=$COPY_DIR/dx-state cfg=$COPY_DIR/dx.toml pw=$COPY_DIR/pw
    COPY_PRIMARY=$COPY_DIR/primary
    COPY_LOGDIR=$COPY_DIR/logs
    COPY_RESULTS=$COPY_LOGDIR/results.tsv
    COPY_USER=$(id -un)
    COPY_BIG_PATHS=("$tree" "$COPY_PRIMARY" "$state" "$COPY_DIR/dx-sftp" "$COPY_DIR/restic-sftp"
        "$COPY_DIR/rclone-sftp" "$COPY_DIR/moto-tmp" "$COPY_DIR/restic-cache-sftp"
        "$COPY_DIR/restic-cache-s3" "$COPY_DIR/restic-cache-check" "$COPY_DIR/ssh" "$COPY_DIR/bin")
    rm -rf "${COPY_BIG_PATHS[@]}" "$COPY_LOGDIR"
    mkdir -p "$COPY_LOGDIR"
    : >"$COPY_RESULTS"
    trap copy_cleanup EXIT
    trap 'exit 130' INT TERM

    local need_kb avail_kb
    need_kb=$((mb * 1024 * 7 + 512 * 1024))
    avail_kb=$(df -Pk "$COPY_DIR" | awk 'NR == 2 { print $4 }')
    ((avail_kb > need_kb)) || copy_die "need ~$((need_kb / 1024)) MB free in $COPY_DIR, have $((avail_kb / 1024)) MB"

    # --- secrets: files and environment only, never argv
    (
        umask 077
        printf 'dxbench-copy-password-%s\n' "$seed" >"$pw"
        printf 'AKIADXBENCHCOPY:dxbench-copy-secret\n' >"$COPY_DIR/s3.keys"
    )
    export RESTIC_PASSWORD_FILE=$pw RESTIC_FROM_PASSWORD_FILE=$pw
    export AWS_ACCESS_KEY_ID=AKIADXBENCHCOPY AWS_SECRET_ACCESS_KEY=dxbench-copy-secret AWS_DEFAULT_REGION=us-east-1
    export RCLONE_CONFIG=$COPY_DIR/rclone.conf
    : >"$RCLONE_CONFIG"

    local started=$SECONDS load_start
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)

    # --- servers
    copy_start_sshd
    copy_start_moto
    local b
    for b in bench-dx bench-restic bench-rclone; do
        copy_s3 make-bucket "$b" || copy_die "cannot create bucket $b on moto"
    done

    # rclone remotes, from the environment
    export RCLONE_CONFIG_DXSFTP_TYPE=sftp RCLONE_CONFIG_DXSFTP_HOST=127.0.0.1
    export RCLONE_CONFIG_DXSFTP_PORT=$COPY_SSH_PORT RCLONE_CONFIG_DXSFTP_USER=$COPY_USER
    export RCLONE_CONFIG_DXSFTP_KEY_FILE=$COPY_SSH_KEY RCLONE_CONFIG_DXSFTP_KNOWN_HOSTS_FILE=$COPY_KNOWN_HOSTS
    export RCLONE_CONFIG_DXS3_TYPE=s3 RCLONE_CONFIG_DXS3_PROVIDER=Other
    export RCLONE_CONFIG_DXS3_ENDPOINT=$COPY_S3_ENDPOINT RCLONE_CONFIG_DXS3_REGION=us-east-1
    export RCLONE_CONFIG_DXS3_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_DXS3_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
    export RCLONE_CONFIG_DXS3_FORCE_PATH_STYLE=true

    # --- source repository
    copy_log "generating a ~$mb MB tree in $tree (seed $seed)"
    local gen_start=$SECONDS gen_secs small
    small=$(copy_generate "$tree" "$mb" "$seed")
    gen_secs=$((SECONDS - gen_start))
    local tree_bytes tree_files
    tree_bytes=$(copy_bytes_of "$tree")
    tree_files=$(find "$tree" -type f | wc -l)
    copy_log "tree: $tree_files files ($small), $((tree_bytes / 1024 / 1024)) MB, generated in ${gen_secs}s"

    cat >"$cfg" <<EOF
# written by scripts/bench copy
[repository.local]
url = "$COPY_PRIMARY"
primary = true
password-file = "$pw"
medium = "disk"

[repository.sftp]
url = "sftp://$COPY_USER@127.0.0.1:$COPY_SSH_PORT$COPY_DIR/dx-sftp"
password-file = "$pw"
ssh-key = "$COPY_SSH_KEY"
known-hosts = "strict"   # the bench's ssh wrapper (PATH) pins this sshd's host key
medium = "nas"

[repository.s3]
url = "s3://bench-dx/dx"
endpoint = "$COPY_S3_ENDPOINT"
region = "us-east-1"
path-style = true
access-key-file = "$COPY_DIR/s3.keys"
password-file = "$pw"
medium = "cloud"
offsite = true

[source.tree]
kind = "files"
root = "$tree"
include = ["conf/", "job/", "plugin/", "script/", "dumps/"]
exclude = []
EOF
    # RUST_BACKTRACE (set in some CI images) makes every OpenDAL error capture a backtrace:
    # measure dxbackup as users run it
    local dx=(env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "PATH=$COPY_DIR/bin:$PATH" "$COPY_DX_BIN"
        -c "$cfg" --state-dir "$state")
    # rclone's AWS SDK refuses to start when AWS_CA_BUNDLE is set (some CI images set it),
    # even for a plain-http endpoint
    local rclone=(env -u AWS_CA_BUNDLE rclone)
    copy_setup dxbackup-config-check "${dx[@]}" config check
    copy_setup dxbackup-init "${dx[@]}" init
    copy_setup dxbackup-backup "${dx[@]}" backup
    local repo_bytes repo_files
    repo_bytes=$(copy_bytes_of "$COPY_PRIMARY")
    repo_files=$(find "$COPY_PRIMARY" -type f | wc -l)
    copy_size_row primary repo "$repo_bytes"
    copy_log "primary repository: $((repo_bytes / 1024 / 1024)) MB in $repo_files files"

    # restic's destinations, initialised (untimed, like dxbackup's init) with the primary's
    # chunker parameters
    local restic_sftp=(-r "sftp:$COPY_USER@127.0.0.1:$COPY_DIR/restic-sftp"
        -o "sftp.command=ssh -p $COPY_SSH_PORT -i $COPY_SSH_KEY -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$COPY_KNOWN_HOSTS -o StrictHostKeyChecking=yes $COPY_USER@127.0.0.1 -s sftp")
    local restic_s3=(-r "s3:$COPY_S3_ENDPOINT/bench-restic/restic")
    copy_setup restic-init-sftp restic "${restic_sftp[@]}" init --copy-chunker-params --from-repo "$COPY_PRIMARY"
    copy_setup restic-init-s3 restic "${restic_s3[@]}" init --copy-chunker-params --from-repo "$COPY_PRIMARY"

    # warm page cache for every tool: read the primary once
    find "$COPY_PRIMARY" -type f -exec cat {} + >/dev/null

    # --- the copies: per target, dxbackup, restic copy, rclone sync; then the no-op runs
    local t op
    for t in sftp s3; do
        op=copy-$t
        copy_measure dxbackup "$op" "${dx[@]}" --json copy --to "$t"
        copy_dx_sent "$op"
        if [[ $t == sftp ]]; then
            copy_measure restic "$op" restic "${restic_sftp[@]}" --cache-dir "$COPY_DIR/restic-cache-$t" copy --from-repo "$COPY_PRIMARY"
            copy_measure rclone "$op" "${rclone[@]}" sync "$COPY_PRIMARY" "dxsftp:$COPY_DIR/rclone-sftp"
        else
            copy_measure restic "$op" restic "${restic_s3[@]}" --cache-dir "$COPY_DIR/restic-cache-$t" copy --from-repo "$COPY_PRIMARY"
            copy_measure rclone "$op" "${rclone[@]}" sync "$COPY_PRIMARY" "dxs3:bench-rclone/repo"
        fi
    done
    for t in sftp s3; do
        op=noop-$t
        copy_measure dxbackup "$op" "${dx[@]}" --json copy --to "$t"
        copy_dx_sent "$op"
        if [[ $t == sftp ]]; then
            copy_measure restic "$op" restic "${restic_sftp[@]}" --cache-dir "$COPY_DIR/restic-cache-$t" copy --from-repo "$COPY_PRIMARY"
            copy_measure rclone "$op" "${rclone[@]}" sync "$COPY_PRIMARY" "dxsftp:$COPY_DIR/rclone-sftp"
        else
            copy_measure restic "$op" restic "${restic_s3[@]}" --cache-dir "$COPY_DIR/restic-cache-$t" copy --from-repo "$COPY_PRIMARY"
            copy_measure rclone "$op" "${rclone[@]}" sync "$COPY_PRIMARY" "dxs3:bench-rclone/repo"
        fi
    done

    # --- sizes of what each tool left in each target
    copy_size_row dxbackup sftp "$(copy_bytes_of "$COPY_DIR/dx-sftp")"
    copy_size_row restic sftp "$(copy_bytes_of "$COPY_DIR/restic-sftp")"
    copy_size_row rclone sftp "$(copy_bytes_of "$COPY_DIR/rclone-sftp")"
    local tool bucket prefix bytes _objects
    for t in dxbackup:bench-dx:dx restic:bench-restic:restic rclone:bench-rclone:repo; do
        IFS=: read -r tool bucket prefix <<<"$t"
        read -r bytes _objects < <(copy_s3 size "$bucket" "$prefix" || echo "0 0")
        copy_size_row "$tool" s3 "$bytes"
    done

    # --- dxbackup's copies are restic repositories that pass restic's full check
    copy_check sftp "${restic_sftp[@]}"
    copy_check s3 -r "s3:$COPY_S3_ENDPOINT/bench-dx/dx"

    # --- report
    local table total_secs=$((SECONDS - started))
    table=$(copy_render)
    {
        echo "# dxbackup benchmark: copy"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
        echo "- command: \`$cmdline\`"
        echo "- machine: $(nproc) CPUs ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)), kernel $(uname -r); load average at start $load_start"
        echo "- tree: $tree_files files, $((tree_bytes / 1024 / 1024)) MB (~10 % small job/script/conf files, ~45 % incompressible jars, ~45 % ~2x-compressible dumps; seed $seed, generated in ${gen_secs}s)"
        echo "- source repository (dxbackup primary, one snapshot): $((repo_bytes / 1024 / 1024)) MB in $repo_files files; MB/s below = this size / wall time"
        echo "- total bench time: ${total_secs}s"
        echo
        echo '```'
        echo "\$ free -g"
        free -g
        echo '```'
        echo
        echo "Versions:"
        echo
        echo "- dxbackup: $("$COPY_DX_BIN" --version 2>/dev/null | head -n 1) ($COPY_DX_BIN, built $(date -u -r "$COPY_DX_BIN" '+%Y-%m-%d %H:%M UTC'))"
        echo "- restic: $(restic version | head -n 1)"
        echo "- rclone: $(rclone version 2>/dev/null | head -n 1)"
        echo "- OpenSSH: $(ssh -V 2>&1 | head -n 1)"
        echo "- S3 server: $(copy_moto_version) ($COPY_MOTO)"
        echo
        echo "$table"
        echo
        echo "Notes:"
        echo
        echo "- cells are wall time · MB/s (primary repository size / wall time) · peak RSS"
        echo "  (\`/usr/bin/time -f '%e %M'\`: the largest single process, e.g. restic or its \`ssh\`; dxbackup's"
        echo "  \`ssh\` masters are not its children and not counted). MB = MiB. Ratio columns are the other"
        echo "  tool's time divided by dxbackup's (>1 means dxbackup is faster)."
        echo "- the same source repository for everyone: dxbackup's primary (local folder, warm page cache),"
        echo "  \`sync\` before every measurement. Fresh targets: dxbackup's and restic's are initialised"
        echo "  before the timed copy (\`dxbackup init\`; \`restic init --copy-chunker-params --from-repo\`), rclone's are empty."
        echo "- dxbackup: \`dxbackup --json copy --to sftp|s3\` (config $cfg; SFTP through the system \`ssh\`"
        echo "  with the bench key, host key pinned; S3 with endpoint, path-style, access-key-file)."
        echo "- restic: \`restic -r sftp:$COPY_USER@127.0.0.1:DIR/restic-sftp -o sftp.command='ssh -p PORT -i KEY ... -s sftp' copy --from-repo PRIMARY\`"
        echo "  and \`restic -r s3:ENDPOINT/bench-restic/restic copy --from-repo PRIMARY\`; defaults (5 connections), passwords from"
        echo "  RESTIC_PASSWORD_FILE/RESTIC_FROM_PASSWORD_FILE, a fresh cache dir per target. Like dxbackup it decrypts and"
        echo "  re-encrypts every blob into new packs."
        echo "- rclone: \`rclone sync PRIMARY dxsftp:DIR/rclone-sftp\` and \`rclone sync PRIMARY dxs3:bench-rclone/repo\`,"
        echo "  remotes from RCLONE_CONFIG_* environment variables, defaults (4 transfers, 8 checkers; on SFTP"
        echo "  rclone's own Go SSH client and a remote md5sum/sha1sum check per file). A file copy, not a restic"
        echo "  copy: the bytes are the primary's, with its key; the floor for moving the repository."
        echo "- no-op: the same command again with nothing new (dxbackup and restic list and compare snapshots;"
        echo "  rclone compares sizes and modification times)."
        echo "- check: \`restic -r <dxbackup's target> check --read-data\` plus the snapshot count against the primary."
        echo "- loopback: sshd and moto_server run on 127.0.0.1 on the same machine, so both ends share the CPUs"
        echo "  (and SFTP pays for SSH encryption on both ends); moto is a Python S3 server that keeps objects in"
        echo "  memory (larger ones spill to a temp dir). No network latency: compare the tools with each other,"
        echo "  not with a real NAS or bucket."
    } >"$out"
    echo
    cat "$out"
    echo
    copy_log "results written to $out; logs in $COPY_LOGDIR"
    local failed=0
    grep -q $'\tFAIL' "$COPY_RESULTS" && failed=1
    return "$failed"
}

# run directly: bash scripts/bench.d/copy.sh
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    cmd_copy "$@"
fi
