#!/usr/bin/env python3
"""bench_check.py: the checks of alexdb-bench's ctests that need more than an exit status
or a regular expression (bench/alexdb_bench/CMakeLists.txt runs them; label "bench").
Each runs alexdb-bench itself and exits 0 when the check holds, 1 with the reason when
it does not. No timing is asserted: only structure (files, XML, lines, order).

  bench_check.py plot BENCH JOBFILE WORKDIR
      --engine=all --plot: every job has its two SVG files, each well-formed XML with
      exactly one <polyline> per engine that ran (data-engine), all points inside the
      picture; and the text report gives a "% of device" for every engine and job.
  bench_check.py groups BENCH JOBFILE WORKDIR
      --output-format=json: jobs without stonewall share a group and its start; a group
      starts only after every job of the group before has ended; the counters of a job
      in a group of several say they cover the group (scope "group"), the others "job".
  bench_check.py ycsb BENCH JOBFILE WORKDIR
      the YCSB mixes (bench/jobs/ycsb.job) on every engine, JSON then text: each op kind
      has its own latencies, the kinds add up to the job (ops and mean), only the
      workload's kinds occur; raw runs YCSB E's scans; RocksDB's statistics tickers are
      parsed (its WAL writes equal the fill's puts) and printed on a "rocksdb:" line
      (environment ALEXDB_BENCH_HAVE_ROCKSDB=1: the build has RocksDB; else the text run
      is alexdb's); alexdb's own counters (ALEXDB_STATS) are all known, and on YCSB C
      (reads only, of keys that exist) it counts a lookup per read.
  bench_check.py load BENCH JOBFILE WORKDIR
      bench/jobs/smoke-load.job (bulkload, reads, multiget, recover, reads) on every engine
      as JSON: bulkload and recover ran on every engine but raw (which skips them), with
      their figures; recover's log files are known except on LMDB (no log) and alexdb says
      what it replayed; multiget is "native" (with its API) on RocksDB and "loop" on the
      others, and every key is found (raw, never loaded, finds none); alexdb and LMDB give inner bytes per leaf page; LMDB's, LevelDB's and
      SQLite's own counters are all there and known.
  bench_check.py progress BENCH WORKDIR
      the progress line: on a terminal (a pty as stderr) it is drawn with \\r and erased,
      and never reaches stdout; with --no-progress, or stderr not a terminal, it is absent.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import xml.dom.minidom


def fail(message):
    print("bench_check: FAIL: " + message)
    sys.exit(1)


def run(argv, **kwargs):
    print("bench_check: running " + " ".join(argv))
    proc = subprocess.run(argv, stdout=subprocess.PIPE, **kwargs)
    out = proc.stdout.decode()
    if proc.returncode != 0:
        print(out)
        fail("exit status %d" % proc.returncode)
    return out


def check_svg(path, engines):
    try:
        dom = xml.dom.minidom.parse(path)
    except Exception as e:  # any parse error is the failure being tested for
        fail("%s is not well-formed XML: %s" % (path, e))
    svg = dom.documentElement
    if svg.tagName != "svg":
        fail("%s: root element is %s" % (path, svg.tagName))
    width, height = float(svg.getAttribute("width")), float(svg.getAttribute("height"))
    lines = svg.getElementsByTagName("polyline")
    named = sorted(p.getAttribute("data-engine") for p in lines)
    if named != sorted(engines):
        fail("%s: polylines for %s, expected one each for %s" % (path, named, sorted(engines)))
    for p in lines:
        points = p.getAttribute("points").split()
        if not points:
            fail("%s: empty polyline" % path)
        for point in points:
            x, y = (float(v) for v in point.split(","))
            if not (0 <= x <= width and 0 <= y <= height):
                fail("%s: point %s outside %gx%g" % (path, point, width, height))


def check_plot(bench, jobfile, workdir):
    plots = os.path.join(workdir, "plots")
    shutil.rmtree(plots, ignore_errors=True)
    out = run([bench, jobfile, "--engine=all", "--directory=" + os.path.join(workdir, "db"),
               "--plot", plots])
    jobs = []
    engines = {}
    for job, engine in re.findall(r"^(\S+): \(engine=(\w+),", out, re.M):
        if job not in jobs:
            jobs.append(job)
        engines.setdefault(job, []).append(engine)
    if len(jobs) < 2 or len(engines[jobs[0]]) < 2:
        fail("expected at least two jobs on at least two engines, got %s" % engines)
    for index, job in enumerate(jobs):
        for kind in ("throughput", "latency"):
            path = os.path.join(plots, "%02d-%s-%s.svg" % (index + 1, job, kind))
            if not os.path.isfile(path):
                fail("missing " + path)
            check_svg(path, engines[job])
    device_rows = re.findall(r"^\s+% of device((?:\s+\S+ %)+)\s*$", out, re.M)
    if len(device_rows) != len(jobs):
        fail("%d '%% of device' rows in the table, expected %d" % (len(device_rows), len(jobs)))
    if any(len(row.split("%")) - 1 != len(engines[jobs[0]]) for row in device_rows):
        fail("a '%% of device' row lacks an engine: %s" % device_rows)
    device_lines = re.findall(r"^\s+device: [0-9.]+ % of raw", out, re.M)
    if len(device_lines) != len(jobs) * (len(engines[jobs[0]]) - 1):
        fail("%d 'device:' lines in the job reports, expected one per job and engine but raw"
             % len(device_lines))
    print("bench_check: plot: %d jobs x %d engines, %d SVG files checked"
          % (len(jobs), len(engines[jobs[0]]), 2 * len(jobs)))


def check_groups(bench, jobfile, workdir):
    out = run([bench, jobfile, "--engine=alexdb", "--directory=" + os.path.join(workdir, "db"),
               "--output-format=json"])
    jobs = json.loads(out)["jobs"]
    groups = {}
    for job in jobs:
        groups.setdefault(job["group"], []).append(job)
    concurrent = [g for g in groups.values() if len(g) > 1]
    if not concurrent:
        fail("no group holds more than one job: %s" % [(j["jobname"], j["group"]) for j in jobs])
    order = sorted(groups)
    for g in order:
        starts = {job["start_s"] for job in groups[g]}
        if len(starts) != 1:
            fail("group %d: jobs start at %s, not together" % (g, sorted(starts)))
    for job in jobs:
        want = ("group", len(groups[job["group"]])) if len(groups[job["group"]]) > 1 else ("job", 1)
        got = (job["counters"]["scope"], job["counters"]["group_jobs"])
        if got != want:
            fail("%s: counters scope %s, expected %s" % (job["jobname"], got, want))
    for before, after in zip(order, order[1:]):
        end = max(job["end_s"] for job in groups[before])
        start = groups[after][0]["start_s"]
        if start < end:
            fail("group %d starts at %g s before group %d ends at %g s" % (after, start, before, end))
    print("bench_check: groups: %d jobs in %d groups, %d concurrent" % (len(jobs), len(groups), len(concurrent)))


YCSB_KINDS = {  # the kinds each mix draws (README "alexdb-bench", the workload table)
    "ycsb-a": {"read", "update"}, "ycsb-b": {"read", "update"}, "ycsb-c": {"read"},
    "ycsb-d": {"read", "insert"}, "ycsb-e": {"scan", "insert"}, "ycsb-f": {"read", "read_modify_write"},
}
ALEXDB_STATS = ["lookup", "lookup.device.read", "device.read", "cache.miss"]
PEER_STATS = {  # each peer's own counters (engine_*.c), as engine_stats names them
    "lmdb": ["lmdb.depth", "lmdb.branch_pages", "lmdb.leaf_pages", "lmdb.overflow_pages", "lmdb.entries",
             "lmdb.last_pgno"],
    "leveldb": ["leveldb.sstables", "leveldb.level0.sstables", "leveldb.approximate-memory-usage",
                "leveldb.compaction.read.mb", "leveldb.compaction.write.mb"],
    "sqlite": ["sqlite.cache.hit", "sqlite.cache.miss", "sqlite.cache.write", "sqlite.cache.used"],
}
ROCKSDB_TICKERS = ["block.cache.hit", "block.cache.miss", "bloom.filter.useful", "bloom.filter.full.positive",
                   "bloom.filter.full.true.positive", "bytes.written", "wal.bytes", "wal.synced", "write.self",
                   "write.other", "write.wal", "flush.write.bytes", "compact.read.bytes", "compact.write.bytes"]


def close(a, b, rel=1e-4):  # the JSON has 6 significant digits
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-9)


def check_kind_lat(where, job, kind, lat):
    """One kind's latencies against the job's: inside its min..max, ordered percentiles."""
    lat_us, total = lat["lat_us"], job["lat_us"]
    if lat["ops"] == 0:
        if any(v is not None for k, v in lat_us.items() if k != "percentile"):
            fail("%s %s: no ops but latencies %s" % (where, kind, lat_us))
        return
    if not (total["min"] - 1e-9 <= lat_us["min"] <= lat_us["mean"] <= lat_us["max"] <= total["max"] + 1e-9):
        fail("%s %s: min/mean/max %s outside the job's %s..%s" % (where, kind, lat_us, total["min"], total["max"]))
    points = [lat_us["percentile"][p] for p in sorted(lat_us["percentile"], key=float)]
    if points != sorted(points) or not (0.98 * lat_us["min"] <= points[0] and points[-1] <= 1.02 * lat_us["max"]):
        fail("%s %s: percentiles %s do not lie ordered within min..max" % (where, kind, points))
    if not close(lat["iops"] * job["seconds"], lat["ops"], 1e-3):
        fail("%s %s: iops %s is not ops %d over the job's %s s" % (where, kind, lat["iops"], lat["ops"], job["seconds"]))


def check_ycsb_json(jobs):
    engines = sorted({job["engine"] for job in jobs})
    for job in jobs:
        where = "%s on %s" % (job["jobname"], job["engine"])
        if not job["ok"]:
            fail(where + ": did not run")
        kinds = job["ycsb_kinds"]
        if job["rw"] not in YCSB_KINDS:
            if kinds is not None:
                fail(where + ": ycsb_kinds on a job that is not YCSB")
            continue
        if sum(k["ops"] for k in kinds.values()) != job["ops"]:
            fail("%s: kinds' ops %s do not add up to %d" % (where, kinds, job["ops"]))
        mean = sum(k["ops"] * k["lat_us"]["mean"] for k in kinds.values() if k["ops"] > 0) / job["ops"]
        if not close(mean, job["lat_us"]["mean"]):
            fail("%s: the kinds' mean latency %g is not the job's %g" % (where, mean, job["lat_us"]["mean"]))
        for kind, lat in kinds.items():
            if lat["ops"] != job["ycsb_ops"][kind]:
                fail("%s %s: %d ops, ycsb_ops says %d" % (where, kind, lat["ops"], job["ycsb_ops"][kind]))
            if lat["ops"] > 0 and kind not in YCSB_KINDS[job["rw"]]:
                fail("%s: %d ops of kind %s" % (where, lat["ops"], kind))
            check_kind_lat(where, job, kind, lat)
        if job["rw"] == "ycsb-e" and not (kinds["scan"]["ops"] > 0 and job["keys_done"] > job["ops"]):
            fail("%s: YCSB E without scans (%d scans, %d keys)" % (where, kinds["scan"]["ops"], job["keys_done"]))
    for job in jobs:
        stats = job["counters"]["engine_stats"]
        if job["engine"] == "alexdb":
            if sorted(stats) != sorted("alexdb." + s for s in ALEXDB_STATS) or None in stats.values():
                fail("%s on alexdb: engine_stats %s" % (job["jobname"], stats))
            if job["rw"] == "ycsb-c" and stats["alexdb.lookup"] < job["ops"]:
                fail("ycsb-c on alexdb: %d reads, %d lookups" % (job["ops"], stats["alexdb.lookup"]))
            continue
        if job["engine"] in PEER_STATS:
            if sorted(stats) != sorted(PEER_STATS[job["engine"]]) or None in stats.values():
                fail("%s on %s: engine_stats %s" % (job["jobname"], job["engine"], stats))
            continue
        if job["engine"] != "rocksdb":
            if stats:
                fail("%s on %s: engine_stats %s" % (job["jobname"], job["engine"], stats))
            continue
        if sorted(stats) != sorted("rocksdb." + t for t in ROCKSDB_TICKERS) or None in stats.values():
            fail("%s on rocksdb: tickers %s" % (job["jobname"], stats))
        if job["rw"] == "fillrandom":
            puts = job["ops"]
            if stats["rocksdb.write.wal"] != puts or stats["rocksdb.write.self"] + stats["rocksdb.write.other"] != puts:
                fail("fill on rocksdb: %d puts, tickers %s" % (puts, stats))
            if stats["rocksdb.bytes.written"] < puts * (8 + job["value_size"]):
                fail("fill on rocksdb: bytes.written %d below the puts' bytes" % stats["rocksdb.bytes.written"])
            if job["counters"]["engine_write_amplification"] is None:
                fail("fill on rocksdb: no engine write amplification")
    return engines


def check_ycsb_text(out):
    """Every kind of every YCSB job: a fio-like IOPS line, then its lat and percentile lines."""
    blocks = re.split(r"^(?=\S+: \(engine=)", out, flags=re.M)
    seen = 0
    for block in blocks:
        m = re.match(r"(\S+): \(engine=(\w+), rw=(\S+),", block)
        if not m or m.group(3) not in YCSB_KINDS:
            continue
        ops = dict(re.findall(r"(\S+)=(\d+)", re.search(r"ycsb ops:(.*)", block).group(1)))
        for kind, count in ops.items():
            line = re.search(r"^    ycsb %s: IOPS=\S+ \(%s ops, [0-9.]+ %% of the job's\)\n"
                             r"      lat \(usec\): min=[0-9.]+, max=[0-9.]+, avg=[0-9.]+, stdev=[0-9.]+\n"
                             r"      lat percentiles \(usec\):\n       \|  1\.00th=\[" % (re.escape(kind), count),
                             block, re.M)
            if (line is None) != (count == "0"):
                fail("%s: kind %s (%s ops) %s" % (m.group(1), kind, count,
                                                   "has no latency block" if line is None else "has one"))
            seen += line is not None
        if m.group(2) == "rocksdb" and not re.search(r"^    rocksdb: block\.cache\.hit=\d+ block\.cache\.miss=\d+ ",
                                                     block, re.M):
            fail("%s on rocksdb: no rocksdb: statistics line" % m.group(1))
    if seen < 8:
        fail("only %d per-kind latency blocks in the text report" % seen)
    return seen


def check_ycsb(bench, jobfile, workdir):
    db = "--directory=" + os.path.join(workdir, "db")
    jobs = json.loads(run([bench, jobfile, "--engine=all", db, "--output-format=json"]))["jobs"]
    engines = check_ycsb_json(jobs)
    want_rocksdb = os.environ.get("ALEXDB_BENCH_HAVE_ROCKSDB") == "1"  # set by CMakeLists.txt
    if "raw" not in engines or want_rocksdb != ("rocksdb" in engines):
        fail("ran on %s; raw expected, rocksdb %sexpected" % (engines, "" if want_rocksdb else "not "))
    blocks = check_ycsb_text(run([bench, jobfile, "--engine=" + ("rocksdb" if want_rocksdb else "alexdb"), db]))
    print("bench_check: ycsb: %d jobs on %s, %d per-kind blocks in the text"
          % (len(jobs), ", ".join(engines), blocks))


def run_with_tty_stderr(argv, stdout_path):
    """Runs argv with a pty as stderr and stdout to a file; returns what the pty got."""
    master, slave = os.openpty()
    with open(stdout_path, "wb") as stdout:
        print("bench_check: running (stderr on a pty) " + " ".join(argv))
        proc = subprocess.Popen(argv, stdout=stdout, stderr=slave)
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed its side
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    if proc.wait() != 0:
        fail("exit status %d: %s" % (proc.returncode, got.decode(errors="replace")))
    return got.decode(errors="replace")


PROGRESS = re.compile(r"\r\[readrandom alexdb\] [0-9.]+s/[0-9.m]+s, [0-9.]+[kM]? ops, "
                      r"[0-9.]+[kM]? ops/s, ETA [0-9.m]+s")


def check_progress(bench, workdir):
    stdout_path = os.path.join(workdir, "stdout.txt")
    job = [bench, "--engine=alexdb", "--rw=readrandom", "--keys=1000", "--time_based",
           "--directory=" + os.path.join(workdir, "db")]
    tty = run_with_tty_stderr(job + ["--runtime=1500ms"], stdout_path)
    if not PROGRESS.search(tty):
        fail("no progress line on the terminal: %r" % tty)
    if not re.search(r"\r +\r$", tty):
        fail("the progress line was not erased at the end: %r" % tty[-200:])
    report = open(stdout_path).read()
    if "ETA" in report or "\r" in report or "IOPS=" not in report:
        fail("the report on stdout is missing or has progress in it: %r" % report[:300])
    quiet = run_with_tty_stderr(job + ["--runtime=1100ms", "--no-progress"], stdout_path)
    if "ETA" in quiet:
        fail("--no-progress still drew the progress line: %r" % quiet)
    piped = subprocess.run(job + ["--runtime=1100ms"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if piped.returncode != 0 or b"ETA" in piped.stderr + piped.stdout:
        fail("stderr not a terminal: exit %d, progress drawn: %r" % (piped.returncode, piped.stderr))
    print("bench_check: progress: drawn on a terminal, absent with --no-progress and on a pipe")


def check_load(bench, jobfile, workdir):
    out = run([bench, jobfile, "--engine=all", "--directory=" + os.path.join(workdir, "db"),
               "--output-format=json"])
    jobs = json.loads(out)["jobs"]
    engines = sorted({job["engine"] for job in jobs})
    for job in jobs:
        where = "%s on %s" % (job["jobname"], job["engine"])
        engine, rw = job["engine"], job["rw"]
        if rw in ("bulkload", "recover") and engine == "raw":
            if job["ok"]:
                fail(where + ": raw has no bulk load and no recovery, yet it ran")
            continue
        if not job["ok"]:
            fail(where + ": did not run")
        if rw == "bulkload":
            load = job["bulkload"]
            if load is None or not load["seconds"] > 0 or job["keys_done"] != job["keys"]:
                fail("%s: bulkload figures %s, %d of %d keys" % (where, load, job["keys_done"], job["keys"]))
        elif job["bulkload"] is not None:
            fail(where + ": bulkload figures on another job")
        if rw == "recover":
            rec = job["recover"]
            if rec is None or not rec["open_seconds"] >= 0 or not rec["fill_seconds"] > 0:
                fail("%s: recover figures %s" % (where, rec))
            if (rec["log_file_bytes"] is None) != (engine == "lmdb"):
                fail("%s: log files %s (LMDB alone has none)" % (where, rec["log_file_bytes"]))
            if engine == "alexdb" and not (rec["replayed_bytes"] or 0) > 0:
                fail("%s: alexdb replayed %s bytes of log" % (where, rec["replayed_bytes"]))
        elif job["recover"] is not None:
            fail(where + ": recover figures on another job")
        if rw == "multiget":
            want = "native" if engine == "rocksdb" else "loop"
            if job["multiget"] != want or (want == "native") != ("multiget_api" in job):
                fail("%s: multiget %s, expected %s" % (where, job["multiget"], want))
            if job["keys_done"] != job["ops"] * job["iodepth"] or (job["notfound"] != 0) != (engine == "raw"):
                fail("%s: %d keys for %d batches, %d not found" % (where, job["keys_done"], job["ops"],
                                                                   job["notfound"]))
        elif job["multiget"] is not None:
            fail(where + ": multiget set on another job")
        leaf = job["counters"]["inner_bytes_per_leaf_page"]
        if (leaf is not None and leaf > 0) != (engine in ("alexdb", "lmdb")):
            fail("%s: inner_bytes_per_leaf_page %s" % (where, leaf))
        stats = job["counters"]["engine_stats"]
        if engine in PEER_STATS and (sorted(stats) != sorted(PEER_STATS[engine]) or None in stats.values()):
            fail("%s: engine_stats %s" % (where, stats))
    print("bench_check: load: %d jobs on %s" % (len(jobs), ", ".join(engines)))


def main():
    if len(sys.argv) < 2:
        fail("usage: see the docstring")
    command, args = sys.argv[1], sys.argv[2:]
    if args:
        os.makedirs(args[-1], exist_ok=True)
    if command == "plot" and len(args) == 3:
        check_plot(*args)
    elif command == "groups" and len(args) == 3:
        check_groups(*args)
    elif command == "ycsb" and len(args) == 3:
        check_ycsb(*args)
    elif command == "load" and len(args) == 3:
        check_load(*args)
    elif command == "progress" and len(args) == 2:
        check_progress(*args)
    else:
        fail("bad arguments: %s" % sys.argv[1:])


if __name__ == "__main__":
    main()
