#!/usr/bin/env python3
"""Write load and binlog archive lag for `scripts/bench db`.

    db_load.py load --port P --password-file F --out SAMPLES.tsv [--tps 1500 --seconds 30 ...]
        Several worker processes, each with its own connection, run single-row
        `INSERT ...; COMMIT` transactions into bench_load.t, paced to --tps in total.
        Every --sample-every'th transaction of a worker is a sample: right after COMMIT
        returns, the client's clock (time.time()) is noted as its commit time, then
        `SELECT @@last_gtid` gives the GTID the server gave that very transaction.
        Prints one JSON line: transactions, seconds, tps, samples.

    db_load.py lag --samples SAMPLES.tsv --snapshots SNAPS.json --repo DIR --results RESULTS.tsv
        SNAPS.json is `dxbackup --json snapshots`. A binlog snapshot's description lists
        its parts with last_gtid (and last_event, unix seconds). A sample is readable in the
        repository once a snapshot holding a part whose last_gtid (same domain) reaches the
        sample's sequence number exists; the moment that snapshot became readable is the
        mtime of its file DIR/snapshots/<id> (a restic-format repository writes the
        snapshot file last, after the packs and the index). lag = that mtime - commit time.
        Appends `L key value` rows to RESULTS.tsv and prints them.

Needs PyMySQL for `load` (the harness installs it into a venv); `lag` uses the stdlib only.
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import sys
import time


# --------------------------------------------------------------------------- load

def worker(idx, args, start_at, q):
    import pymysql  # noqa: PLC0415 (only the load needs it)

    with open(args.password_file) as f:
        password = f.readline().rstrip("\n")
    conn = pymysql.connect(host=args.host, port=args.port, user=args.user, password=password,
                           database=args.database, autocommit=False)
    cur = conn.cursor()
    interval = args.workers / float(args.tps)
    samples = []
    n = 0
    # stagger the workers over one interval so the load is smooth
    t0 = start_at + idx * interval / args.workers
    end = start_at + args.seconds
    pad = "x" * 64
    while True:
        target = t0 + n * interval
        now = time.time()
        if target >= end or now >= end:
            break
        if target > now:
            time.sleep(target - now)
        cur.execute("INSERT INTO `%s` (w, n, client_ts, pad) VALUES (%%s, %%s, %%s, %%s)" % args.table,
                    (idx, n, time.time(), pad))
        conn.commit()
        if n % args.sample_every == 0:
            committed = time.time()
            cur.execute("SELECT @@last_gtid")
            gtid = cur.fetchone()[0] or ""
            samples.append((idx, n, committed, gtid))
        n += 1
    finished = time.time()
    conn.close()
    q.put((idx, n, finished, samples))


def cmd_load(args):
    q = mp.Queue()
    start_at = time.time() + 1.0  # time for every worker to connect
    procs = [mp.Process(target=worker, args=(i, args, start_at, q)) for i in range(args.workers)]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        sys.exit("load: a worker failed (exit %s)" % bad)
    total = sum(r[1] for r in results)
    last = max(r[2] for r in results)
    secs = last - start_at
    with open(args.out, "w") as f:
        for r in sorted(results):
            for (w, n, ts, gtid) in r[3]:
                f.write("%d\t%d\t%.6f\t%s\n" % (w, n, ts, gtid))
    print(json.dumps({"transactions": total, "seconds": round(secs, 3),
                      "tps": round(total / secs, 1) if secs > 0 else 0,
                      "samples": sum(len(r[3]) for r in results),
                      "workers": args.workers, "target_tps": args.tps}))


# --------------------------------------------------------------------------- lag

def parse_gtid(g):
    """'0-1-42' or {"domain":0,"server":1,"seq":42} -> (domain, seq)"""
    if g is None:
        return None
    if isinstance(g, dict):
        return (int(g["domain"]), int(g["seq"]))
    parts = str(g).strip().split("-")
    if len(parts) != 3:
        return None
    return (int(parts[0]), int(parts[2]))


def percentile(sorted_vals, p):
    """nearest-rank percentile of an ascending list"""
    if not sorted_vals:
        return None
    k = max(1, int(math.ceil(p / 100.0 * len(sorted_vals))))
    return sorted_vals[k - 1]


def cmd_lag(args):
    with open(args.snapshots) as f:
        snaps = json.load(f)
    binlog = []
    undescribed = 0
    for s in snaps:
        if s.get("kind") != "binlog":
            continue
        try:
            parts = json.loads(s.get("description") or "")["parts"]
        except (ValueError, KeyError, TypeError):
            undescribed += 1
            continue
        path = os.path.join(args.repo, "snapshots", s["id"])
        try:
            readable = os.stat(path).st_mtime
        except OSError:
            undescribed += 1
            continue
        gt = {}
        last_event = None
        for p in parts:
            g = parse_gtid(p.get("last_gtid"))
            if g is not None:
                gt[g[0]] = max(gt.get(g[0], -1), g[1])
            if p.get("last_event") is not None:
                last_event = max(last_event or 0, int(p["last_event"]))
        start = s.get("time")
        binlog.append({"id": s["id"], "readable": readable, "gtid": gt,
                       "last_event": last_event, "start": start})
    binlog.sort(key=lambda b: b["readable"])

    samples = []
    with open(args.samples) as f:
        for line in f:
            w, n, ts, gtid = (line.rstrip("\n").split("\t") + [""])[:4]
            samples.append((float(ts), parse_gtid(gtid) if gtid else None))

    by_gtid = all(g is not None for _, g in samples) and any(b["gtid"] for b in binlog)
    method = "gtid" if by_gtid else "last_event"
    lags, uncovered = [], 0
    for ts, g in samples:
        hit = None
        for b in binlog:
            if by_gtid:
                if b["gtid"].get(g[0], -1) >= g[1]:
                    hit = b
                    break
            # fallback: a part whose last event is from a later second than the commit holds
            # every event of the commit's second (an upper bound of the lag)
            elif b["last_event"] is not None and b["last_event"] >= math.floor(ts) + 1:
                hit = b
                break
        if hit is None:
            uncovered += 1
        else:
            lags.append(hit["readable"] - ts)
    lags.sort()
    rows = [("method", method), ("binlog_snapshots", len(binlog)),
            ("undescribed_snapshots", undescribed), ("samples", len(samples)),
            ("covered", len(lags)), ("uncovered", uncovered)]
    if lags:
        rows += [("min", "%.3f" % lags[0]), ("p50", "%.3f" % percentile(lags, 50)),
                 ("p90", "%.3f" % percentile(lags, 90)), ("p99", "%.3f" % percentile(lags, 99)),
                 ("max", "%.3f" % lags[-1]), ("mean", "%.3f" % (sum(lags) / len(lags)))]
    if len(binlog) > 1:
        gaps = [b["readable"] - a["readable"] for a, b in zip(binlog, binlog[1:])]
        rows.append(("snapshot_interval_mean", "%.3f" % (sum(gaps) / len(gaps))))
    with open(args.results, "a") as f:
        for k, v in rows:
            f.write("L\t%s\t%s\n" % (k, v))
    for k, v in rows:
        print("%s\t%s" % (k, v))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    lo = sub.add_parser("load")
    lo.add_argument("--host", default="127.0.0.1")
    lo.add_argument("--port", type=int, required=True)
    lo.add_argument("--user", default="bench")
    lo.add_argument("--password-file", required=True)
    lo.add_argument("--database", default="bench_load")
    lo.add_argument("--table", default="t")
    lo.add_argument("--tps", type=float, default=1500)
    lo.add_argument("--seconds", type=float, default=30)
    lo.add_argument("--workers", type=int, default=4)
    lo.add_argument("--sample-every", type=int, default=100)
    lo.add_argument("--out", required=True)
    la = sub.add_parser("lag")
    la.add_argument("--samples", required=True)
    la.add_argument("--snapshots", required=True)
    la.add_argument("--repo", required=True)
    la.add_argument("--results", required=True)
    args = ap.parse_args()
    if args.cmd == "load":
        cmd_load(args)
    else:
        cmd_lag(args)


if __name__ == "__main__":
    main()
