#!/usr/bin/python3
"""The ETL benchmark's driver (bench/etl/run starts it; see docs/performance.md, "ETL").

The real workload of the e-commerce example: hivehook-gen's data set (30 daily transaction files
of 35,000 rows, 10,000 products, 100,000 customers by default), loaded

  * by hivehook-etl, one process per file exactly as the example's rules run it: the argv of
    rules/10-dimensions.yaml and rules/20-transactions.yaml, the environment a job gets
    (HIVEHOOK_KEY, HIVEHOOK_RUN_ID, HIVEHOOK_RESULT, HIVEHOOK_PART_*...), the S3 event on stdin,
    stdout and stderr piped; dimensions first, then the days in key order, one after another
    (the rules' concurrency is 1). Into SQLite, and into PostgreSQL when a server URL is given;
  * by DuckDB (duckdb_etl.mjs: the same contract in set-based SQL, all files in one process),
    with its default threads and with one: the faster is the reference of the ratios;
  * by pandas (pandas_etl.py, into SQLite; approximations listed in its docstring).

Every tool starts from an empty warehouse in every run. Measured per tool and run: wall time from
the first process start to the last exit (dimensions and every file included, process start-up
included), user+system CPU of the tool's processes, their peak RSS (the largest of hivehook-etl's
processes), and for PostgreSQL the server's CPU. The warehouse digest (facts, amount in cents,
cancelled/refunded facts, rejects, sum of reject line numbers) of every tool is compared with
hivehook-etl's, on the data set and on contract/ (the contract's edge cases). Medians over the
runs; ratios against DuckDB. Exit 1 when PostgreSQL's or DuckDB's digest differs.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DIGEST_KEYS = ["facts", "amount_cents", "cancelled_or_refunded", "rejects", "reject_lines"]


def spawn(argv, env=None, stdin=b""):
    """Runs argv to its end: stdin gets `stdin` then EOF, stdout/stderr go to files.

    Returns dict(wall_s, cpu_s, rss_kb, rc, out, err): the child's own rusage (os.wait4).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        r, w = os.pipe()
        os.write(w, stdin)  # the payload is a few hundred bytes: it fits in the pipe
        os.close(w)
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env if env is not None else os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, r, 0),
                                           (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                                           (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
        _, status, ru = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
        os.close(r)
        out.seek(0)
        err.seek(0)
        return {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "rss_kb": ru.ru_maxrss,
                "rc": os.waitstatus_to_exitcode(status), "out": out.read().decode(errors="replace"),
                "err": err.read().decode(errors="replace")}


def jobs(landing):
    """(rule, key, path) in the order the daemon would run them: dimensions, then days by key."""
    out = []
    for table, rule in (("dim_products", "dimensions"), ("dim_customers", "dimensions")):
        for name in sorted(os.listdir(os.path.join(landing, table))):
            out.append((rule, f"{table}/{name}"))
    days = []
    for root, _, files in os.walk(os.path.join(landing, "transactions")):
        for name in files:
            if name.endswith(".csv"):
                days.append(os.path.relpath(os.path.join(root, name), landing))
    out += [("transactions-etl", k) for k in sorted(days)]
    return [(rule, key, os.path.join(landing, key)) for rule, key in out]


def job_env(key, path, rule, run_id, result):
    """The environment hivehook gives a command job (jobs/job_context.cpp)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIVEHOOK_")}
    parts = key.split("/")
    env.update({"HIVEHOOK_PATH": path, "HIVEHOOK_KEY": key, "HIVEHOOK_BUCKET": "retail-landing",
                "HIVEHOOK_TABLE": parts[0], "HIVEHOOK_RULE": rule, "HIVEHOOK_RUN_ID": run_id,
                "HIVEHOOK_ATTEMPT": "1", "HIVEHOOK_RESULT": result})
    for p in parts[1:-1]:
        if "=" in p:
            name, value = p.split("=", 1)
            env["HIVEHOOK_PART_" + "".join(c.upper() if c.isalnum() else "_" for c in name)] = value
    return env


def s3_event(key, path):
    size = os.path.getsize(path)
    return json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                    "s3": {"bucket": {"name": "retail-landing"},
                                           "object": {"key": key, "size": size}}}]}).encode()


def run_hivehook(etl, landing, warehouse, work, tag):
    """Every file through its own hivehook-etl process, as the rules run them."""
    result = os.path.join(work, f"result-{tag}.json")
    per = []
    t0 = time.perf_counter()
    for i, (rule, key, path) in enumerate(jobs(landing)):
        command = "dims" if rule == "dimensions" else "transactions"
        argv = [etl, command, path, "--warehouse", warehouse]
        r = spawn(argv, job_env(key, path, rule, f"bench-{tag}-{i}", result), s3_event(key, path))
        if r["rc"] != 0:
            raise RuntimeError(f"hivehook-etl {command} {key} exited {r['rc']}: {r['err'].strip()}")
        per.append({"key": key, "wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "rss_kb": r["rss_kb"]})
        if command == "transactions":
            with open(result) as f:
                per[-1]["rows_read"] = json.load(f)["rows_read"]
    wall = time.perf_counter() - t0
    dims = [p for p in per if p["key"].startswith("dim_")]
    days = [p for p in per if not p["key"].startswith("dim_")]
    return {"wall_s": wall, "cpu_s": sum(p["cpu_s"] for p in per),
            "peak_rss_kb": max(p["rss_kb"] for p in per),
            "dims_s": sum(p["wall_s"] for p in dims), "files_s": sum(p["wall_s"] for p in days),
            "file_median_s": statistics.median(p["wall_s"] for p in days),
            "file_max_s": max(p["wall_s"] for p in days),
            "rows_read": sum(p["rows_read"] for p in days),
            "file_peak_rss_kb": [p["rss_kb"] for p in days]}


def digest_hivehook(etl, warehouse):
    r = spawn([etl, "report", "--warehouse", warehouse, os.path.join(HERE, "digest.sql")])
    if r["rc"] != 0:
        raise RuntimeError(f"digest: {r['err'].strip()}")
    lines = [l for l in r["out"].splitlines() if "|" in l]
    values = [v.strip() for v in lines[-1].split("|")]
    return dict(zip(DIGEST_KEYS, (int(v) for v in values)))


def run_peer(argv, env=None):
    r = spawn(argv, env)
    if r["rc"] != 0:
        raise RuntimeError(f"{os.path.basename(argv[1])} exited {r['rc']}: {r['err'].strip()[-400:]}")
    doc = json.loads(r["out"].strip().splitlines()[-1])
    res = {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "peak_rss_kb": r["rss_kb"],
           "dims_s": sum(doc.get("dims_s", [])), "files_s": sum(doc.get("files_s", []))}
    if doc.get("files_s"):
        res["file_median_s"] = statistics.median(doc["files_s"])
        res["file_max_s"] = max(doc["files_s"])
    return res, {k: int(doc["digest"][k]) for k in DIGEST_KEYS}


class PgServerCpu:
    """CPU seconds of a PostgreSQL cluster: its postmaster, live children, and reaped children."""

    def __init__(self, datadir):
        self.datadir = datadir
        self.tick = os.sysconf("SC_CLK_TCK")

    def seconds(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                pm = int(f.readline())
        except OSError:
            return None
        total = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ppid, ut, st, cut, cst = int(fields[1]), *(int(x) for x in fields[11:15])
            if int(pid) == pm:
                total += ut + st + cut + cst
            elif ppid == pm:
                total += ut + st
        return total / self.tick


def psql(url, sql):
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                   stdout=subprocess.DEVNULL, env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))


def median_of(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--landing", required=True)
    ap.add_argument("--etl", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pg-url")
    ap.add_argument("--pg-datadir")
    ap.add_argument("--no-duckdb", help="why DuckDB is skipped (it runs otherwise)")
    ap.add_argument("--json", required=True)
    ap.add_argument("--describe", default="")
    ap.add_argument("--tools", default="hivehook-sqlite,hivehook-pg,duckdb,duckdb-1t,pandas",
                    help="which of hivehook-sqlite, hivehook-pg, duckdb, duckdb-1t, pandas to run")
    args = ap.parse_args()

    tools = [("hivehook-etl → SQLite", "hivehook-sqlite")]
    if args.pg_url:
        tools.append(("hivehook-etl → PostgreSQL", "hivehook-pg"))
    skipped = {}
    # DuckDB twice: with its default worker threads (one per core) and with one. On an idle
    # machine the first is its best; on a busy one its parallel operators wait for each other and
    # one thread can be twice as fast. The ratios use the faster of the two (its best shot).
    if not args.no_duckdb:
        tools.append(("DuckDB (node-api, SQL)", "duckdb"))
        tools.append(("DuckDB, 1 thread", "duckdb-1t"))
    else:
        skipped["DuckDB (node-api, SQL)"] = args.no_duckdb
    if subprocess.run(["/usr/bin/python3", "-c", "import pandas"], capture_output=True).returncode == 0:
        tools.append(("pandas → SQLite", "pandas"))
    else:
        skipped["pandas → SQLite"] = "python3-pandas not installed (scripts/install-deps --bench)"

    csv_bytes = sum(os.path.getsize(p) for _, k, p in jobs(args.landing) if k.startswith("transactions/"))
    wanted = set(args.tools.split(","))
    tools = [(n, k) for n, k in tools if k in wanted]
    results = {name: [] for name, _ in tools}
    digests = {name: None for name, _ in tools}
    pg_cpu = PgServerCpu(args.pg_datadir) if args.pg_datadir else None

    # The peers implement the same contract: on a landing made of its edge cases (contract/:
    # CR CR LF, NUL, BOM, quoted line breaks, an unclosed quote, every reject reason, ties across
    # days) each warehouse must hold the same digest as hivehook-etl's.
    contract = os.path.join(HERE, "contract")
    contract_ok = {}
    wh = "sqlite:" + os.path.join(args.work, "contract.db")
    run_hivehook(args.etl, contract, wh, args.work, "contract")
    reference_contract = digest_hivehook(args.etl, wh)
    for name, kind in tools:
        try:
            if kind == "duckdb":  # the same SQL whatever the threads: checked once
                _, d = run_peer(["/usr/bin/env", "node", os.path.join(HERE, "duckdb_etl.mjs"),
                                 os.path.join(args.work, "contract.duckdb"), contract])
            elif kind == "pandas":
                _, d = run_peer(["/usr/bin/python3", os.path.join(HERE, "pandas_etl.py"),
                                 os.path.join(args.work, "contract-pandas.db"), contract])
            elif kind == "hivehook-pg":  # the second warehouse of hivehook-etl, on the same edge cases
                psql(args.pg_url, "DROP DATABASE IF EXISTS bench_contract")
                psql(args.pg_url, "CREATE DATABASE bench_contract")
                url = args.pg_url.rsplit("/", 1)[0] + "/bench_contract"
                run_hivehook(args.etl, contract, url, args.work, "contract-pg")
                d = digest_hivehook(args.etl, url)
            else:
                continue
            contract_ok[name] = d == reference_contract
            verdict = "same digest" if contract_ok[name] else f"differs: {d}"
        except RuntimeError as e:
            contract_ok[name] = False
            verdict = "fails: " + str(e).strip().splitlines()[-1][:160]
        print(f"  contract check  {name:<26} {verdict}", flush=True)
    for run in range(1, args.runs + 1):
        for name, kind in tools:
            tag = f"{kind}-{run}"
            if kind == "hivehook-sqlite":
                wh = "sqlite:" + os.path.join(args.work, f"{tag}.db")
                res = run_hivehook(args.etl, args.landing, wh, args.work, tag)
                dig = digest_hivehook(args.etl, wh)
            elif kind == "hivehook-pg":
                db = f"bench_{run}"
                psql(args.pg_url, f"DROP DATABASE IF EXISTS {db}")
                psql(args.pg_url, f"CREATE DATABASE {db}")
                url = args.pg_url.rsplit("/", 1)[0] + "/" + db
                before = pg_cpu.seconds() if pg_cpu else None
                res = run_hivehook(args.etl, args.landing, url, args.work, tag)
                after = pg_cpu.seconds() if pg_cpu else None
                if before is not None and after is not None:
                    res["server_cpu_s"] = after - before
                dig = digest_hivehook(args.etl, url)
                psql(args.pg_url, f"DROP DATABASE IF EXISTS {db}")
            elif kind in ("duckdb", "duckdb-1t"):
                env = dict(os.environ, DUCKDB_THREADS="1") if kind == "duckdb-1t" else None
                res, dig = run_peer(["/usr/bin/env", "node", os.path.join(HERE, "duckdb_etl.mjs"),
                                     os.path.join(args.work, f"{tag}.duckdb"), args.landing], env)
            else:
                res, dig = run_peer(["/usr/bin/python3", os.path.join(HERE, "pandas_etl.py"),
                                     os.path.join(args.work, f"{tag}.db"), args.landing])
            for f in os.listdir(args.work):  # each run starts empty; keep the disk small
                if f.startswith(tag):
                    os.unlink(os.path.join(args.work, f))
            res["digest"] = dig
            results[name].append(res)
            digests[name] = dig
            print(f"  run {run}/{args.runs}  {name:<26} {res['wall_s']:7.2f} s wall  "
                  f"{res['cpu_s']:6.2f} s CPU  {res['peak_rss_kb'] / 1024:7.1f} MB peak", flush=True)

    rows = next((r[0]["rows_read"] for r in results.values() if r and "rows_read" in r[0]), None)
    if rows is None:
        raise SystemExit("bench_etl: run hivehook-sqlite or hivehook-pg too (they count the rows)")
    reference = digests[tools[0][0]]  # hivehook-etl → SQLite when it ran
    summary = []
    for name, kind in tools:
        runs = results[name]
        s = {"tool": name, "kind": kind, "runs": runs}
        for key in ("wall_s", "cpu_s", "peak_rss_kb", "dims_s", "files_s", "file_median_s",
                    "file_max_s", "server_cpu_s"):
            v = median_of(runs, key)
            if v is not None:
                s[key] = v
        s["rows_per_s"] = rows / s["wall_s"]
        d = digests[name]
        s["digest_matches"] = d == reference
        if name in contract_ok:
            s["contract_check"] = contract_ok[name]
        elif kind == "duckdb-1t" and "DuckDB (node-api, SQL)" in contract_ok:
            s["contract_check"] = contract_ok["DuckDB (node-api, SQL)"]
        s["digest_diff"] = {k: [d[k], reference[k]] for k in DIGEST_KEYS if d[k] != reference[k]}
        summary.append(s)
    for name, why in skipped.items():
        summary.append({"tool": name, "skipped": why})

    ducks = [s for s in summary if s.get("kind") in ("duckdb", "duckdb-1t")]
    duck = min(ducks, key=lambda s: s["wall_s"]) if ducks else None
    if duck:
        duck["reference"] = True
    lines = [f"ETL on the real workload: {args.describe}",
             f"{rows:,} transaction rows, {csv_bytes / 1e6:.1f} MB of CSV; medians of {args.runs} runs "
             f"(each from an empty warehouse); {os.cpu_count()} cores, load average "
             f"{os.getloadavg()[0]:.2f}.", "",
             f"| tool | total s | dims s | files s | per file s (median / max) | CPU s | peak RSS MB "
             f"| rows/s | speed vs DuckDB | DuckDB's memory ÷ this | digest |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        if "skipped" in s:
            lines.append(f"| {s['tool']} | skipped: {s['skipped']} | | | | | | | | | |")
            continue
        cpu = f"{s['cpu_s']:.2f}" + (f" (+ server {s['server_cpu_s']:.2f})" if "server_cpu_s" in s else "")
        per_file = (f"{s['file_median_s']:.3f} / {s['file_max_s']:.3f}" if "file_median_s" in s else "")
        vs = mem = ""
        if duck and "wall_s" in duck:
            vs = f"{duck['wall_s'] / s['wall_s']:.2f}×"
            mem = f"{duck['peak_rss_kb'] / s['peak_rss_kb']:.1f}×"
        dig = "same" if s["digest_matches"] else "differs: " + ", ".join(
            f"{k} {a} vs {b}" for k, (a, b) in s["digest_diff"].items())
        if "contract_check" in s:
            dig += "; contract check " + ("same" if s["contract_check"] else "differs")
        lines.append(f"| {s['tool']}{' (reference)' if s.get('reference') else ''} | {s['wall_s']:.2f} | {s['dims_s']:.2f} | {s['files_s']:.2f} | "
                     f"{per_file} | {cpu} | {s['peak_rss_kb'] / 1024:.1f} | {s['rows_per_s']:,.0f} | "
                     f"{vs} | {mem} | {dig} |")
    lines += ["", "total: first process start to last exit, dimensions and every file, process "
              "start-up included. hivehook-etl: one process per file as the rules run it; its peak "
              "RSS is its largest process's (the PostgreSQL server's memory is not counted, its CPU "
              "is shown apart). DuckDB: one process for everything, into a DuckDB file, with its default "
              "threads and with one; the faster is the reference of the ratios. digest: "
              "facts, amount, cancelled/refunded, rejects and their line numbers, against "
              "hivehook-etl → SQLite's, on this data set and on bench/etl/contract (the contract's "
              "edge cases)."]
    text = "\n".join(lines)
    print("\n" + text)
    doc = {"rows": rows, "csv_bytes": csv_bytes, "describe": args.describe, "runs": args.runs,
           "machine": {"nproc": os.cpu_count(), "kernel": platform.release(),
                       "loadavg_end": os.getloadavg()[0]},
           "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "table_md": text,
           # bench/bench.py reads tool, wall_s, rows_per_s, peak_rss_kb.
           "results": summary}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=2)
    print(f"raw figures: {args.json}")
    exact = [s for s in summary if s.get("kind") in ("hivehook-pg", "duckdb", "duckdb-1t")]
    return 0 if all(s["digest_matches"] and s.get("contract_check", True) for s in exact) else 1


if __name__ == "__main__":
    sys.exit(main())
