#!/usr/bin/env python3
"""Render scripts/bench results (a TSV written by the harness) as a markdown table.

Input lines (tab separated):
    T  tool  op      status  seconds  peak_rss_kib     timed operation
    S  tool  key     bytes                             size measurement
    V  tool  status  what  detail                      restore verification (what: content+modes|missing)
status of T rows: OK, WARN:1 (dxbackup finished with warnings), FAIL:<rc> or SKIP.  Tools never run simply have no rows.

usage: render.py RESULTS.tsv
"""
import sys

TOOLS = [("dxbackup", "dxbackup"), ("restic", "restic"), ("borg", "borg"), ("tar", "tar.gz")]
OPS = [("backup1", "first backup"), ("backup2", "no-change backup"),
       ("backup3", "1%-change backup"), ("restore", "full restore")]
SIZES = [("repo1", "repo size after first backup"), ("repo3", "repo size after 3 backups"),
         ("cache", "local cache/state size")]


def mib(n):
    return n / (1024 * 1024)


def main():
    timed, sizes, verify = {}, {}, {}
    ran = set()
    with open(sys.argv[1]) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] == "T":
                timed[(p[1], p[2])] = (p[3], float(p[4] or 0), int(p[5] or 0))
                ran.add(p[1])
            elif p[0] == "S":
                sizes[(p[1], p[2])] = int(p[3])
                ran.add(p[1])
            elif p[0] == "V":
                verify[p[1]] = (p[2], p[3] if len(p) > 3 else "", p[4] if len(p) > 4 else "")
                ran.add(p[1])

    def time_cell(tool, op):
        if tool not in ran:
            return "n/a"
        r = timed.get((tool, op))
        if r is None or r[0] == "SKIP":
            return "skipped"
        status, secs, kib = r
        cell = "%.2f s / %.0f MB" % (secs, kib / 1024)
        if status.startswith("WARN"):
            cell += " (exit 1: warnings)"
        elif status != "OK":
            cell = "FAIL (rc %s) %s" % (status.split(":", 1)[-1], cell)
        if op == "restore" and status != "SKIP" and not status.startswith("FAIL") \
                and verify.get(tool, ("?",))[0] != "OK":
            cell += " FAIL"
        return cell

    def ratio(tool, op):
        a, b = timed.get((tool, op)), timed.get(("dxbackup", op))
        ok = ("OK", "WARN:1")
        if not a or not b or a[0] not in ok or b[0] not in ok or b[1] <= 0 or a[1] <= 0:
            return "-"
        return "%.2fx" % (a[1] / b[1])

    def size_ratio(tool, key):
        a, b = sizes.get((tool, key)), sizes.get(("dxbackup", key))
        if not a or not b:
            return "-"
        return "%.2fx" % (a / b)

    header = ["operation"] + [label for _, label in TOOLS] + \
             ["restic/dxbackup", "borg/dxbackup", "tar/dxbackup"]
    rows = []
    for op, label in OPS:
        rows.append([label] + [time_cell(t, op) for t, _ in TOOLS] +
                    [ratio(t, op) for t in ("restic", "borg", "tar")])
    vrow = ["restore verified (byte-identical)"]
    for t, _ in TOOLS:
        if t not in ran:
            vrow.append("n/a")
        else:
            v = verify.get(t)
            vrow.append("skipped" if v is None else (v[0] if v[0] == "OK" else "FAIL (%s)" % v[1]))
    rows.append(vrow + ["", "", ""])
    for key, label in SIZES:
        rows.append([label] + ["%.1f MB" % mib(sizes[(t, key)]) if (t, key) in sizes else
                               ("n/a" if t not in ran else "-") for t, _ in TOOLS] +
                    [size_ratio(t, key) if key != "cache" else "-" for t in ("restic", "borg", "tar")])

    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def fmt(r):
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(r, widths))) + " |"
    print(fmt(header))
    print("|" + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1)
                         for i, w in enumerate(widths)) + "|")
    for r in rows:
        print(fmt(r))
    for (tool, op), (status, _, _) in sorted(timed.items()):
        if op not in dict(OPS) and status.startswith("FAIL"):
            print("\n**%s: setup step `%s` failed (exit %s); its later steps were skipped.**"
                  % (tool, op, status.split(":", 1)[-1]))
    for tool, v in sorted(verify.items()):
        if v[0] != "OK":
            print("\n**%s restore is NOT identical to the source (%s): %s**" % (tool, v[1], v[2]))


if __name__ == "__main__":
    main()
