"""hivehook on its two state backends, on the same work, on the same machine, in the same run:
SQLite (the default, a WAL file beside the config) and PostgreSQL (a throwaway server on loopback,
tests/support/pg-cluster, fsync off as in the tests; one database for each run).

What is measured (the same two workloads bench.py runs for the watchers):
  latency  N files renamed into one partition GAP ms apart; rename -> job start (the stamp job's
           first line), p50/p90/p99.
  burst    N files renamed at once into 10 partitions; files/s from the first rename until the last
           job started, and until the last object was archived (the store's updated_at); the
           daemon's CPU seconds.
The ratio printed is PostgreSQL / SQLite (latency: higher is slower; files/s: lower is slower).
Cluster mode's 1/2/3-node figures are bench/cluster/bench_nodes.py's.

Called by bench/run (which builds the stamp tool); alone:
  /usr/bin/python3 bench/bench_state.py --hivehook build/hivehook --stamp STAMP [--quick] [--results DIR]
"""
import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench as B  # noqa: E402
import peers as P  # noqa: E402

PG_CLUSTER = HERE.parent / "tests" / "support" / "pg-cluster"


class Server:
    """A throwaway PostgreSQL server and a fresh byte-transparent database per run."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hivehook-bench-pg-")
        r = subprocess.run([str(PG_CLUSTER), "start", self.dir], capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            raise RuntimeError(f"pg-cluster start failed: {r.stderr}")
        self.url = r.stdout.strip()
        self.n = 0

    def database(self):
        import psycopg2
        self.n += 1
        name = f"bench_{os.getpid()}_{self.n}"
        con = psycopg2.connect(self.url)
        con.autocommit = True
        con.cursor().execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'SQL_ASCII' "
                             "LC_COLLATE 'C' LC_CTYPE 'C'")
        con.close()
        return self.url.rsplit("/", 1)[0] + "/" + name

    def stop(self):
        subprocess.run([str(PG_CLUSTER), "stop", self.dir], capture_output=True, timeout=120)
        subprocess.run(["rm", "-rf", self.dir])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hivehook", required=True)
    ap.add_argument("--stamp", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--results", default=None)
    a = ap.parse_args()
    tools = {"hivehook": a.hivehook, "stamp": a.stamp}
    lat_n, gap = (100, 0.02) if a.quick else (300, 0.02)
    burst_n = 1000 if a.quick else 5000
    server = Server()
    base = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-bench-state-"))
    res = {}
    try:
        for label, state in (("SQLite", None), ("PostgreSQL", "pg")):
            B.log(f"-- {label}: latency ({lat_n} files, {int(gap * 1000)} ms apart)")
            _, lat = B.run_peer("hivehook", {"state": state and server.database()}, tools, base,
                                lambda p: B.bench_latency(p, lat_n, gap))
            B.log(f"-- {label}: burst ({burst_n} files, 10 partitions)")
            _, burst = B.run_peer("hivehook", {"state": state and server.database()}, tools, base,
                                  lambda p: B.bench_burst(p, burst_n, 10, 20, 600))
            res[label] = {"latency": lat, "burst": burst}
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(base)])

    def g(label, part, k):
        v = res.get(label, {}).get(part, {}).get(k)
        return v if isinstance(v, (int, float)) else None

    rows = [("latency p50 ms", "latency", "p50_ms"), ("latency p90 ms", "latency", "p90_ms"),
            ("latency p99 ms", "latency", "p99_ms"), ("burst files/s (jobs started)", "burst", "files_per_s"),
            ("burst files/s (archived)", "burst", "archived_per_s"), ("burst daemon CPU s", "burst", "daemon_cpu_s"),
            ("lost files", "burst", "lost")]
    lines = ["| measure | SQLite | PostgreSQL | PostgreSQL / SQLite |", "| --- | --- | --- | --- |"]
    for title, part, k in rows:
        s, p = g("SQLite", part, k), g("PostgreSQL", part, k)
        ratio = f"{p / s:.2f}" if s and p is not None else "-"
        lines.append(f"| {title} | {B.fmt(s)} | {B.fmt(p)} | {ratio} |")
    for label in res:
        for part in ("latency", "burst"):
            if "error" in res[label][part]:
                lines.append(f"\n{label} {part}: error: {res[label][part]['error']}")
    table = "\n".join(lines)
    load = os.getloadavg()[0]
    print(f"\nState backends: hivehook single node, stamp job, {os.cpu_count()} cores, load average {load:.2f}\n")
    print(table)
    if a.results:
        out = pathlib.Path(a.results)
        out.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        (out / f"state-{stamp}.json").write_text(json.dumps(res, indent=2))
        (out / f"state-{stamp}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
