#!/usr/bin/env python3
"""Deterministic generator for a DataX-like installation tree (used by scripts/bench).

    datax_tree.py generate ROOT [--scale S] [--seed N] [--jobs J]
    datax_tree.py modify   ROOT [--scale S] [--seed N]

`generate` writes (scale 1.0, about 2 GB in total):
  conf/core.json, conf/logback.xml
  job/<line>/<db>/<table>.json      ~16,000 DataX job files, 0.5-4 KB
  script/<line>/*.sh                 ~4,000 shell scripts (mode 0755)
  plugin/{reader,writer}/<name>/     plugin.json, plugin_job_template.json, a
                                     random (incompressible) main jar, and libs/
                                     with third-party jars shared byte-for-byte
                                     between plugins (like a real DataX install)
  dumps/*.sql                        8 mysqldump-style files of 200 MB each,
                                     extended INSERTs with varied data (~3-5x gzip)

`modify` applies the "1% change" deterministically: rewrites ~1% of the small
files, adds ~0.1% new job files, overwrites 1 MiB in the middle of the first dump
and appends ~8 MiB of new INSERTs to it.

The output depends only on (seed, scale); the same Python version always
produces byte-identical trees.  Scale multiplies the dump size, the number of
small files and the jar sizes (the number of plugins and dumps is fixed).
"""

import argparse
import json
import os
import random
import sys
from multiprocessing import Pool

LINES = ["trade", "user", "risk", "finance", "logistics", "marketing", "crm", "ops",
         "report", "search", "payment", "inventory", "ads", "hr", "audit", "bi"]
DBS = ["ods", "dwd", "dws", "ads", "dim", "tmp", "src", "mart"]
NOUNS = ["order", "order_item", "user", "user_profile", "account", "payment", "refund",
         "coupon", "sku", "spu", "shop", "warehouse", "shipment", "invoice", "contract",
         "customer", "supplier", "campaign", "click", "impression", "session", "device",
         "address", "region", "category", "brand", "price", "stock", "ledger", "voucher",
         "balance", "transfer", "risk_event", "blacklist", "login", "message", "ticket",
         "employee", "department", "budget", "settlement", "commission", "review"]
SUFFIXES = ["", "_di", "_df", "_hi", "_snapshot", "_detail", "_summary", "_log", "_his",
            "_tmp", "_v2", "_bak", "_stat", "_daily", "_monthly"]
COLS = ["id", "gmt_create", "gmt_modified", "user_id", "shop_id", "sku_id", "order_id",
        "status", "amount", "currency", "quantity", "price", "discount", "province",
        "city", "district", "address", "mobile", "email", "nick_name", "real_name",
        "gender", "birthday", "level", "score", "channel", "source", "remark", "ext_info",
        "is_deleted", "version", "creator", "modifier", "biz_date", "pay_time",
        "ship_time", "finish_time", "refund_amount", "tax", "fee", "category_id",
        "brand_id", "title", "description", "tags", "latitude", "longitude", "ip",
        "user_agent", "device_id", "os", "app_version", "trace_id", "batch_no",
        "partition_key", "tenant_id", "region_code", "warehouse_id", "supplier_id"]
HOSTS = ["10.12.%d.%d" % (a, b) for a in range(1, 9) for b in range(10, 40, 7)] + \
        ["mysql-%s-%02d.db.internal" % (l, i) for l in LINES[:8] for i in range(1, 4)]
READERS = ["mysqlreader", "oraclereader", "postgresqlreader", "sqlserverreader",
           "drdsreader", "hdfsreader", "odpsreader", "txtfilereader", "streamreader",
           "mongodbreader", "hbase11xreader", "ftpreader"]
WRITERS = ["mysqlwriter", "oraclewriter", "postgresqlwriter", "sqlserverwriter",
           "drdswriter", "hdfswriter", "odpswriter", "txtfilewriter", "streamwriter",
           "mongodbwriter", "hbase11xwriter", "elasticsearchwriter"]
# third-party jars shipped in every plugin's libs/ (name, size in KiB at scale 1)
SHARED_LIBS = [("fastjson-1.2.83.jar", 660), ("guava-18.0.jar", 2200),
               ("commons-lang3-3.3.2.jar", 420), ("commons-io-2.4.jar", 190),
               ("logback-classic-1.0.13.jar", 260), ("logback-core-1.0.13.jar", 410),
               ("slf4j-api-1.7.10.jar", 32), ("datax-common-0.0.1-SNAPSHOT.jar", 160),
               ("plugin-rdbms-util-0.0.1-SNAPSHOT.jar", 120), ("druid-1.0.15.jar", 2000)]
DRIVER_LIBS = {"mysql": ("mysql-connector-java-5.1.47.jar", 1000),
               "oracle": ("ojdbc6-11.2.0.3.jar", 2700),
               "postgresql": ("postgresql-9.3-1102-jdbc4.jar", 580),
               "sqlserver": ("sqljdbc4-4.0.jar", 570),
               "hdfs": ("hadoop-common-2.7.1.jar", 3400),
               "hbase11x": ("hbase-client-1.1.3.jar", 1300),
               "mongodb": ("mongo-java-driver-3.2.2.jar", 1400),
               "elasticsearch": ("jest-common-2.4.0.jar", 300)}

FIRST = ["wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang", "yong",
         "yan", "jie", "tao", "ming", "chao", "xiu", "hua", "ping", "gang", "james",
         "mary", "john", "linda", "david", "susan", "peter", "anna", "paul", "laura"]
LAST = ["wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu",
        "sun", "ma", "zhu", "hu", "guo", "he", "lin", "gao", "luo", "smith", "brown",
        "miller", "davis", "garcia", "wilson", "moore", "taylor", "lee", "white"]
CITIES = ["beijing", "shanghai", "guangzhou", "shenzhen", "hangzhou", "chengdu", "wuhan",
          "xian", "nanjing", "tianjin", "suzhou", "chongqing", "qingdao", "xiamen",
          "dalian", "shenyang", "changsha", "zhengzhou", "jinan", "hefei", "fuzhou"]
STATUSES = ["CREATED", "PAID", "SHIPPED", "FINISHED", "CLOSED", "REFUNDING", "REFUNDED"]
DOMAINS = ["qq.com", "163.com", "gmail.com", "126.com", "sina.com", "outlook.com",
           "example.cn", "corp.internal"]
WORDS = ("quick delivery good quality will buy again package damaged refund requested "
         "color differs size fits well customer service slow invoice needed gift wrap "
         "urgent fragile handle with care leave at door call before arrival weekend only "
         "promotion price match coupon applied member discount bulk order sample free "
         "replacement sent address changed phone unreachable returned to sender "
         "signed by neighbor partial shipment backorder preorder limited edition").split()


def write(path, data, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    if mode is not None:
        os.chmod(path, mode)


def core_json():
    return json.dumps({"datax": {
        "common": {"column": {"datetimeFormat": "yyyy-MM-dd HH:mm:ss", "timeFormat": "HH:mm:ss",
                              "dateFormat": "yyyy-MM-dd", "extraFormats": ["yyyyMMdd"],
                              "timeZone": "GMT+8", "encoding": "utf-8"}},
        "core": {
            "dataXServer": {"address": "http://localhost:7001/api", "timeout": 10000,
                            "reportDataxLog": False, "reportPerfLog": False},
            "transport": {"channel": {
                "class": "com.alibaba.datax.core.transport.channel.memory.MemoryChannel",
                "speed": {"byte": -1, "record": -1}, "flowControlInterval": 20,
                "capacity": 512, "byteCapacity": 67108864},
                "exchanger": {"class": "com.alibaba.datax.core.plugin.BufferedRecordExchanger",
                              "bufferSize": 32}},
            "container": {"job": {"reportInterval": 10000},
                          "taskGroup": {"channel": 5}, "trace": {"enable": "false"}},
            "statistics": {"collector": {"plugin": {
                "taskClass": "com.alibaba.datax.core.statistics.plugin.task.StdoutPluginCollector",
                "maxDirtyNumber": 10}}}}}}, indent=4) + "\n"


LOGBACK = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
    <property name="log.dir" value="${datax.home}/log/" />
    <property name="perf.dir" value="${datax.home}/log_perf/" />
    <timestamp key="ymd" datePattern="yyyy-MM-dd"/>
    <timestamp key="byMillionSecond" datePattern="HH_mm_ss.SSS"/>
    <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
        <encoder>
            <pattern>%d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level %logger{0} - %msg%n</pattern>
        </encoder>
    </appender>
    <appender name="FILE" class="ch.qos.logback.core.FileAppender">
        <file>${log.dir}/${ymd}/${log.file.name}-${byMillionSecond}.log</file>
        <append>false</append>
        <encoder>
            <pattern>%d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level %logger{0} - %msg%n</pattern>
        </encoder>
    </appender>
    <appender name="PERF" class="ch.qos.logback.core.FileAppender">
        <file>${perf.dir}/${ymd}/${log.file.name}-${byMillionSecond}.log</file>
        <append>false</append>
        <encoder><pattern>%msg%n</pattern></encoder>
    </appender>
    <logger name="PerfTrace" level="INFO" additivity="false">
        <appender-ref ref="PERF" />
    </logger>
    <root level="INFO">
        <appender-ref ref="STDOUT" />
        <appender-ref ref="FILE" />
    </root>
</configuration>
"""


def job_json(rng, table, db, revision=0):
    ncols = rng.randint(2, 22) if rng.random() < 0.9 else rng.randint(23, 34)
    cols = ["id"] + rng.sample(COLS[1:], min(ncols, len(COLS) - 1))
    src_host, dst_host = rng.choice(HOSTS), rng.choice(HOSTS)
    kind = rng.random()
    reader_name, writer_name = "mysqlreader", "mysqlwriter"
    if kind > 0.85:
        reader_name = rng.choice(["postgresqlreader", "oraclereader", "sqlserverreader"])
    if kind < 0.12:
        writer_name = rng.choice(["hdfswriter", "odpswriter", "postgresqlwriter"])
    reader = {"name": reader_name, "parameter": {
        "username": "dx_%s" % db, "password": "${%s_password}" % db,
        "column": cols, "splitPk": "id",
        "connection": [{"table": [table],
                        "jdbcUrl": ["jdbc:mysql://%s:3306/%s_%s?useUnicode=true&characterEncoding=utf8"
                                    % (src_host, db, rng.randint(0, 31))]}]}}
    if rng.random() < 0.6:
        reader["parameter"]["where"] = "gmt_modified >= '${bizdate} 00:00:00' AND gmt_modified < '${nextdate} 00:00:00'"
    if rng.random() < 0.15:
        reader["parameter"]["fetchSize"] = rng.choice([1024, 2048, 4096])
    if writer_name == "hdfswriter":
        writer = {"name": writer_name, "parameter": {
            "defaultFS": "hdfs://nameservice1", "fileType": rng.choice(["orc", "text", "parquet"]),
            "path": "/user/hive/warehouse/%s.db/%s/dt=${bizdate}" % (db, table),
            "fileName": table, "writeMode": "truncate", "fieldDelimiter": "\t",
            "compress": rng.choice(["NONE", "SNAPPY", "GZIP"]),
            "column": [{"name": c, "type": rng.choice(["bigint", "string", "double", "timestamp"])}
                       for c in cols]}}
    else:
        writer = {"name": writer_name, "parameter": {
            "writeMode": rng.choice(["insert", "replace", "update"]),
            "username": "dx_w_%s" % db, "password": "${w_password}", "column": cols,
            "session": ["set session sql_mode='ANSI'"] if rng.random() < 0.3 else [],
            "preSql": ["delete from @table where biz_date='${bizdate}'"] if rng.random() < 0.5 else [],
            "batchSize": rng.choice([256, 512, 1024, 2048]),
            "connection": [{"jdbcUrl": "jdbc:mysql://%s:3306/dw_%s" % (dst_host, db),
                            "table": [table]}]}}
    job = {"job": {
        "setting": {"speed": {"channel": rng.choice([1, 2, 3, 4, 8]) + revision,
                              "byte": rng.choice([-1, 1048576, 10485760])},
                    "errorLimit": {"record": rng.choice([0, 10, 100]), "percentage": 0.02}},
        "content": [{"reader": reader, "writer": writer}]}}
    if revision:
        job["job"]["setting"]["revision"] = revision
    return json.dumps(job, indent=rng.choice([None, 2, 2, 4])) + "\n"


def script_sh(rng, line, tables, revision=0):
    out = ["#!/bin/bash", "# %s sync, generated by dx-scheduler" % line, "set -e",
           'DATAX_HOME=${DATAX_HOME:-/opt/datax}',
           'bizdate=${1:-$(date -d "-1 day" +%Y-%m-%d)}',
           'nextdate=$(date -d "$bizdate +1 day" +%Y-%m-%d)', ""]
    for db, table in tables:
        out.append('python "$DATAX_HOME/bin/datax.py" -p"-Dbizdate=$bizdate -Dnextdate=$nextdate'
                   ' -D%s_password=$%s_PW" "$DATAX_HOME/job/%s/%s/%s.json" >> "$DATAX_HOME/log/%s_%s.log" 2>&1'
                   % (db, db.upper(), line, db, table, table, "${bizdate}"))
        if rng.random() < 0.3:
            out.append('echo "$(date +%%F\\ %%T) %s.%s done" >> "$DATAX_HOME/log/%s.done"' % (db, table, line))
    if revision:
        out.append("# revision %d: retry once on failure" % revision)
    out.append("exit 0")
    return "\n".join(out) + "\n"


def small_files(rng, n_small):
    """Yield (relpath, kind, args) for all small files, deterministic order."""
    n_jobs = int(n_small * 0.8)
    n_scripts = n_small - n_jobs
    jobs_by_line = {}
    seen = set()
    for i in range(n_jobs):
        line = LINES[i % len(LINES)]
        db = rng.choice(DBS)
        while True:
            table = "%s_%s%s" % (db, rng.choice(NOUNS), rng.choice(SUFFIXES))
            if rng.random() < 0.5:
                table += "_%02d" % rng.randint(0, 63)
            if (line, db, table) not in seen:
                seen.add((line, db, table))
                break
        jobs_by_line.setdefault(line, []).append((db, table))
        yield "job/%s/%s/%s.json" % (line, db, table), "job", (table, db)
    for i in range(n_scripts):
        line = LINES[i % len(LINES)]
        pool = jobs_by_line.get(line) or [("ods", "t")]
        k = rng.randint(1, 12)
        yield "script/%s/sync_%s_%04d.sh" % (line, line, i), "sh", (line, [rng.choice(pool) for _ in range(k)])


def render_small(rng, kind, args, revision=0):
    if kind == "job":
        return job_json(rng, args[0], args[1], revision)
    return script_sh(rng, args[0], args[1], revision)


def gen_small(root, scale, seed):
    layout = random.Random(seed)  # names only, so `modify` can replay the layout
    rng = random.Random(seed + 100)
    n_small = max(50, int(20000 * scale))
    count = 0
    for rel, kind, args in small_files(layout, n_small):
        write(os.path.join(root, rel), render_small(rng, kind, args),
              0o755 if kind == "sh" else None)
        count += 1
    return count


def gen_plugins(root, scale, seed):
    rng = random.Random(seed + 1)
    kib = lambda k: max(16, int(k * scale)) * 1024  # noqa: E731
    shared = {name: rng.randbytes(kib(size)) for name, size in SHARED_LIBS}
    drivers = {k: (name, rng.randbytes(kib(size))) for k, (name, size) in DRIVER_LIBS.items()}
    for kind, names in (("reader", READERS), ("writer", WRITERS)):
        for name in names:
            d = os.path.join(root, "plugin", kind, name)
            base = name[:-len(kind)]
            meta = {"name": name,
                    "class": "com.alibaba.datax.plugin.%s.%s.%s" % (kind, name, name.capitalize()),
                    "description": "useScene: prod. mechanism: jdbc connection using the database, execute select sql.",
                    "developer": "alibaba"}
            write(os.path.join(d, "plugin.json"), json.dumps(meta, indent=4) + "\n")
            write(os.path.join(d, "plugin_job_template.json"), json.dumps(
                {"name": name, "parameter": {"username": "", "password": "", "column": [],
                                             "connection": [{"jdbcUrl": [], "table": []}]}},
                indent=4) + "\n")
            write(os.path.join(d, "%s-0.0.1-SNAPSHOT.jar" % name), rng.randbytes(kib(rng.randint(40, 400))))
            for lib in rng.sample(sorted(shared), rng.randint(5, len(shared))):
                write(os.path.join(d, "libs", lib), shared[lib])
            if base in drivers:
                lib, data = drivers[base]
                write(os.path.join(d, "libs", lib), data)


class RowGen:
    """Fast-ish generator of mysqldump extended INSERT statements."""

    def __init__(self, seed, next_id=1):
        self.rng = random.Random(seed)
        r = self.rng
        self.names = ["%s %s" % (r.choice(FIRST), r.choice(LAST)) for _ in range(4000)]
        self.emails = ["%s.%s%d@%s" % (r.choice(FIRST), r.choice(LAST), r.randint(1, 9999), r.choice(DOMAINS))
                       for _ in range(20000)]
        self.notes = [" ".join(r.choice(WORDS) for _ in range(r.randint(2, 9))) for _ in range(3000)] + [""] * 3000
        self.next_id = next_id
        self.ts = 1_600_000_000 + r.randint(0, 10_000_000)

    def statement(self, table, nrows):
        r = self.rng
        rnd = r.random
        rint = r.randint
        names, emails, notes = self.names, self.emails, self.notes
        rows = []
        i = self.next_id
        ts = self.ts
        for _ in range(nrows):
            ts += rint(0, 40)
            t = ts % 86400
            d = 1 + (ts // 86400) % 28
            m = 1 + (ts // 2419200) % 12
            rows.append("(%d,%d,'%s','%s','%s',%d.%02d,%d,'2023-%02d-%02d %02d:%02d:%02d','%s','%s',%d)" % (
                i, rint(100000, 9999999), names[int(rnd() * 4000)], emails[int(rnd() * 20000)],
                CITIES[int(rnd() * 21)], rint(0, 99999), rint(0, 99), rint(1, 20),
                m, d, t // 3600, (t // 60) % 60, t % 60,
                STATUSES[int(rnd() * 7)], notes[int(rnd() * 6000)], rint(0, 1)))
            i += 1
        self.next_id = i
        self.ts = ts
        return "INSERT INTO `%s` VALUES %s;\n" % (table, ",".join(rows))

    def chunk(self, table, nbytes):
        out, size = [], 0
        while size < nbytes:
            s = self.statement(table, self.rng.randint(60, 240))
            out.append(s)
            size += len(s)
        return "".join(out).encode()


DDL = """
--
-- Table structure for table `%(t)s`
--

DROP TABLE IF EXISTS `%(t)s`;
CREATE TABLE `%(t)s` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `user_id` bigint(20) NOT NULL,
  `real_name` varchar(64) DEFAULT NULL,
  `email` varchar(128) DEFAULT NULL,
  `city` varchar(32) DEFAULT NULL,
  `amount` decimal(12,2) NOT NULL DEFAULT '0.00',
  `quantity` int(11) NOT NULL DEFAULT '1',
  `gmt_create` datetime NOT NULL,
  `status` varchar(16) NOT NULL,
  `remark` varchar(255) DEFAULT NULL,
  `is_deleted` tinyint(4) NOT NULL DEFAULT '0',
  PRIMARY KEY (`id`),
  KEY `idx_user` (`user_id`),
  KEY `idx_gmt_create` (`gmt_create`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

--
-- Dumping data for table `%(t)s`
--

LOCK TABLES `%(t)s` WRITE;
/*!40000 ALTER TABLE `%(t)s` DISABLE KEYS */;
"""


def dump_name(i):
    return "dumps/%s_%s_20240%d15.sql" % (DBS[i % len(DBS)], LINES[i], 1 + i % 9)


def gen_dump(task):
    root, i, size, seed = task
    g = RowGen(seed * 1000 + i)
    path = os.path.join(root, dump_name(i))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    written = 0
    with open(path, "wb") as f:
        hdr = ("-- MySQL dump 10.13  Distrib 5.7.44, for Linux (x86_64)\n--\n-- Host: %s    Database: %s\n"
               "-- ------------------------------------------------------\n-- Server version\t5.7.44-log\n\n"
               "/*!40101 SET NAMES utf8mb4 */;\n/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n"
               % (HOSTS[i], DBS[i % len(DBS)])).encode()
        f.write(hdr)
        written += len(hdr)
        tables = ["%s%s" % (n, s) for n, s in zip(g.rng.sample(NOUNS, 6), g.rng.sample(SUFFIXES, 6))]
        per_table = max(1, (size - written) // len(tables))
        for t in tables:
            ddl = (DDL % {"t": t}).encode()
            f.write(ddl)
            written += len(ddl)
            target = min(size, written + per_table)
            while written < target:
                c = g.chunk(t, min(4 << 20, target - written))
                f.write(c)
                written += len(c)
            tail = ("/*!40000 ALTER TABLE `%s` ENABLE KEYS */;\nUNLOCK TABLES;\n" % t).encode()
            f.write(tail)
            written += len(tail)
        f.write(b"-- Dump completed on 2024-01-15  3:00:01\n")
    return path


def n_dumps():
    return 8


def cmd_generate(a):
    root = a.root
    if os.path.exists(root) and os.listdir(root):
        sys.exit("refusing to generate into non-empty %s" % root)
    os.makedirs(root, exist_ok=True)
    size = max(1 << 20, int(200 * (1 << 20) * a.scale))
    tasks = [(root, i, size, a.seed) for i in range(n_dumps())]
    with Pool(a.jobs) as pool:
        res = pool.map_async(gen_dump, tasks)
        write(os.path.join(root, "conf", "core.json"), core_json())
        write(os.path.join(root, "conf", "logback.xml"), LOGBACK)
        n = gen_small(root, a.scale, a.seed)
        gen_plugins(root, a.scale, a.seed)
        res.get()
    print("generated %d small files, %d dumps of %d MiB, plugins in %s" % (n, n_dumps(), size >> 20, root))


def cmd_modify(a):
    root = a.root
    rng = random.Random(a.seed + 7)
    n_small = max(50, int(20000 * a.scale))
    entries = list(small_files(random.Random(a.seed), n_small))
    picked = sorted(rng.sample(range(len(entries)), max(1, round(len(entries) * 0.01))))
    for idx in picked:
        rel, kind, args = entries[idx]
        write(os.path.join(root, rel), render_small(rng, kind, args, revision=1),
              0o755 if kind == "sh" else None)
    n_new = max(1, round(len(entries) * 0.001))
    for k in range(n_new):
        table = "new_%s_%03d" % (rng.choice(NOUNS), k)
        write(os.path.join(root, "job", "onboarding", "ods", table + ".json"), job_json(rng, table, "ods"))
    # one big file: overwrite 1 MiB in the middle (same length) and append new rows
    path = os.path.join(root, dump_name(0))
    size = os.path.getsize(path)
    g = RowGen(a.seed * 1000 + 999, next_id=50_000_000)
    patch = g.chunk("patched_rows", 1 << 20)[: min(1 << 20, size // 4)]
    with open(path, "r+b") as f:
        f.seek(size // 2)
        f.write(patch)
    append = g.chunk("appended_rows", max(64 << 10, int((8 << 20) * a.scale)))
    with open(path, "ab") as f:
        f.write(append)
    print("modified %d of %d small files, added %d job files, patched %d KiB + appended %d KiB to %s"
          % (len(picked), len(entries), n_new, len(patch) >> 10, len(append) >> 10, dump_name(0)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("generate", "modify"):
        s = sub.add_parser(name)
        s.add_argument("root")
        s.add_argument("--scale", type=float, default=1.0)
        s.add_argument("--seed", type=int, default=42)
        s.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = p.parse_args()
    {"generate": cmd_generate, "modify": cmd_modify}[a.cmd](a)


if __name__ == "__main__":
    main()
