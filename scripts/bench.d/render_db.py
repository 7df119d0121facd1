#!/usr/bin/env python3
"""Render `scripts/bench db` results (a TSV written by the harness) as markdown.

Input lines (tab separated):
    T  tool  op     status  seconds  peak_rss_kib   timed operation (status OK, WARN:1, FAIL:<rc>, SKIP)
    S  tool  key    bytes                           size (key: backup)
    V  tool  op     status  detail                  verification of a restore (status OK or FAIL)
    L  key   value                                  binlog lag figures (db_load.py lag)
    I  key   value                                  facts (flush_secs, load_tps, load_transactions, ...)
tools: dxbackup, dxmyd (dxbackup with driver = "mydumper"), gzip (mariadb-dump | gzip), zstd (mariadb-dump | zstd), mydumper, restic
ops: backup, restore, drill (dxbackup), binlog (dxbackup, the archiver's whole run)

usage: render_db.py RESULTS.tsv     prints the side-by-side table, the bars and the binlog figures
"""
import sys

TOOLS = [
    ("dxbackup", "dxbackup"),
    ("dxmyd", "dxbackup, driver mydumper"),
    ("gzip", "mariadb-dump \\| gzip"),
    ("zstd", "mariadb-dump \\| zstd -3 -T2"),
    ("mydumper", "mydumper / myloader"),
    ("restic", "mariadb-dump \\| restic --stdin"),
]
OTHERS = ["gzip", "zstd", "mydumper", "restic"]


def main():
    timed, sizes, verify, lag, info = {}, {}, {}, {}, {}
    with open(sys.argv[1]) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] == "T":
                timed[(p[1], p[2])] = (p[3], float(p[4] or 0), int(p[5] or 0))
            elif p[0] == "S":
                sizes[(p[1], p[2])] = int(p[3])
            elif p[0] == "V":
                verify[(p[1], p[2])] = (p[3], p[4] if len(p) > 4 else "")
            elif p[0] == "L":
                lag[p[1]] = p[2]
            elif p[0] == "I":
                info[p[1]] = p[2]

    ok = ("OK", "WARN:1")

    def good(tool, op):
        r = timed.get((tool, op))
        return r is not None and r[0] in ok and r[1] > 0 and \
            verify.get((tool, op), ("OK",))[0] == "OK"

    def time_cell(tool, op):
        r = timed.get((tool, op))
        if r is None:
            return "n/a"
        status, secs, kib = r
        if status == "SKIP":
            return "skipped"
        cell = "%.2f s / %.0f MB" % (secs, kib / 1024)
        if status.startswith("WARN"):
            cell += " (exit 1: warnings)"
        elif status != "OK":
            cell = "FAIL (rc %s) %s" % (status.split(":", 1)[-1], cell)
        return cell

    def ratio(tool, op, dx_op=None):
        """other tool's time / dxbackup's: >1 means dxbackup is faster"""
        a, b = timed.get((tool, op)), timed.get(("dxbackup", dx_op or op))
        if not good(tool, op) or not good("dxbackup", dx_op or op):
            return "-"
        return "%.2fx" % (a[1] / b[1])

    def verify_cell(tool, op):
        if (tool, op) not in timed:
            return "n/a"
        v = verify.get((tool, op))
        if v is None:
            return "skipped"
        return "OK" if v[0] == "OK" else "FAIL"

    header = ["operation"] + [label for _, label in TOOLS] + ["%s/dxbackup" % t for t in OTHERS]
    rows = [
        ["full backup"] + [time_cell(t, "backup") for t, _ in TOOLS] +
        [ratio(t, "backup") for t in OTHERS],
        ["backup size"] + ["%.1f MB" % (sizes[(t, "backup")] / 1048576) if (t, "backup") in sizes
                           else "-" for t, _ in TOOLS] +
        ["%.2fx" % (sizes[(t, "backup")] / sizes[("dxbackup", "backup")])
         if (t, "backup") in sizes and sizes.get(("dxbackup", "backup")) else "-"
         for t in OTHERS],
        ["restore into a fresh database"] + [time_cell(t, "restore") for t, _ in TOOLS] +
        [ratio(t, "restore") for t in OTHERS],
        ["restore verified (row counts)"] + [verify_cell(t, "restore") for t, _ in TOOLS] +
        [""] * len(OTHERS),
        ["drill (restore + check + drop)"] + [time_cell("dxbackup", "drill")] +
        ["n/a"] * (len(TOOLS) - 1) + [ratio("gzip", "restore", "drill")] + ["-"] * (len(OTHERS) - 1),
        ["drill verdict"] + [verify_cell("dxbackup", "drill")] + [""] * (len(TOOLS) - 1 + len(OTHERS)),
    ]
    print_table(header, rows)

    # ---- bars
    print()
    print("Bars (issue 3):")
    print()
    bars = []

    def time_of(tool, op):
        return timed[(tool, op)][1] if good(tool, op) else None

    dx_b, gz_b, zs_b = time_of("dxbackup", "backup"), time_of("gzip", "backup"), time_of("zstd", "backup")
    if dx_b and gz_b:
        r = gz_b / dx_b
        bars.append(["full backup vs mariadb-dump \\| gzip", "%.3fx as fast" % r, ">= 3x as fast",
                     "PASS" if r >= 3 else "FAIL"])
    else:
        bars.append(["full backup vs mariadb-dump \\| gzip", "not measured", ">= 3x as fast", "-"])
    if dx_b and zs_b:
        r = dx_b / zs_b
        bars.append(["full backup vs mariadb-dump \\| zstd -3 -T2", "%.3fx the time" % r,
                     "<= 1.5x the time", "PASS" if r <= 1.5 else "FAIL"])
    else:
        bars.append(["full backup vs mariadb-dump \\| zstd -3 -T2", "not measured", "<= 1.5x the time", "-"])
    dr, zc = time_of("dxbackup", "drill"), time_of("gzip", "restore")
    if dr and zc:
        r = dr / zc
        bars.append(["drill vs zcat \\| mariadb", "%.3fx the time" % r, "<= 1.2x the time",
                     "PASS" if r <= 1.2 else "FAIL"])
    else:
        bars.append(["drill vs zcat \\| mariadb", "not measured", "<= 1.2x the time", "-"])
    flush = float(info.get("flush_secs", "1"))
    tps = float(info.get("load_tps", "0") or 0)
    target = "<= %.0f s (binlog-flush %.0f s + 2 s) at >= 1000 tx/s" % (flush + 2, flush)
    if "p99" in lag and int(lag.get("uncovered", "0")) == 0:
        p99 = float(lag["p99"])
        verdict = "PASS" if p99 <= flush + 2 and tps >= 1000 else "FAIL"
        bars.append(["binlog archive lag p99", "%.2f s at %.0f tx/s" % (p99, tps), target, verdict])
    elif "p99" in lag:
        bars.append(["binlog archive lag p99", "%s of %s samples never archived" %
                     (lag.get("uncovered"), lag.get("samples")), target, "FAIL"])
    else:
        bars.append(["binlog archive lag p99", "not measured", target, "-"])
    print_table(["bar", "measured", "target", "verdict"], bars)

    # ---- binlog detail
    print()
    if lag or info.get("load_transactions"):
        print("Binlog archiving under write load:")
        print()
        print("- write load: %s transactions in %s s = **%s tx/s** (target %s, %s connections, "
              "single-row INSERT + COMMIT each)" % (info.get("load_transactions", "?"),
                                                     info.get("load_seconds", "?"),
                                                     info.get("load_tps", "?"),
                                                     info.get("load_target_tps", "?"),
                                                     info.get("load_workers", "?")))
        if "p50" in lag:
            print("- lag (commit -> segment readable in the repository), %s samples: "
                  "min %s s, p50 **%s s**, p90 %s s, p99 **%s s**, max %s s (method: %s)"
                  % (lag.get("covered"), lag.get("min"), lag.get("p50"), lag.get("p90"),
                     lag.get("p99"), lag.get("max"), lag.get("method")))
        print("- samples never seen in the repository: %s of %s; binlog snapshots: %s "
              "(mean interval %s s); snapshots without a readable description: %s"
              % (lag.get("uncovered", "?"), lag.get("samples", "?"),
                 lag.get("binlog_snapshots", "?"), lag.get("snapshot_interval_mean", "-"),
                 lag.get("undescribed_snapshots", "?")))
        if ("dxbackup", "binlog") in timed:
            print("- archiver (`dxbackup binlog`): %s" % time_cell("dxbackup", "binlog"))
    for (tool, op), (status, _, _) in sorted(timed.items()):
        if status.startswith("FAIL"):
            print("\n**%s %s failed (exit %s); see logs/%s-%s.log.**"
                  % (tool, op, status.split(":", 1)[-1], tool, op))
    for (tool, op), v in sorted(verify.items()):
        if v[0] != "OK":
            print("\n**%s %s verification FAILED: %s**" % (tool, op, v[1]))


def print_table(header, rows):
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def fmt(r):
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(r, widths))) + " |"
    print(fmt(header))
    print("|" + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1)
                         for i, w in enumerate(widths)) + "|")
    for r in rows:
        print(fmt(r))


if __name__ == "__main__":
    main()
