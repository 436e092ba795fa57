#!/usr/bin/python3
"""Issue 18's profile driver (docs/performance.md, "Into PostgreSQL: the remaining distance, profiled"):
one hivehook-etl -> PostgreSQL load exactly as bench/etl/bench_etl.py runs it (its run_hivehook: the
dimensions, then every day, one process per file, into a fresh database), measuring wall time,
client user/sys and page faults (getrusage of the children), the server's user/sys and faults by
process role (/proc/<postmaster>/stat and its children), pg_stat_wal and pg_stat_statements deltas,
and a pid -> role map (for bench/etl/perf_groups.py).

  pg_profile.py --url postgresql://postgres@127.0.0.1:PORT/postgres --datadir PGDATA \
      --etl build/examples/ecommerce/hivehook-etl --landing LANDING --out PREFIX [--keep]

The server as the doc's figures had it: the bench's durable settings (fsync, full_page_writes,
synchronous_commit on: see bench/etl/run), plus for the per-statement and WAL timings
`-c shared_preload_libraries=pg_stat_statements -c track_io_timing=on -c track_wal_io_timing=on`
(without them those figures are left out and the rest is measured). LANDING is hivehook-gen's
output (bench/etl/run's --seed 1 data set). The cost of one page fault on the host, which the doc's
argument rests on, is measured by bench/etl/page_fault_cost.c.
"""
import argparse, json, os, resource, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_etl  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def q(url, sql):
    return subprocess.run(["psql", "-qAt", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                          capture_output=True, text=True,
                          env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning")).stdout


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), [int(x) for x in fields[11:15]]


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def role(cmd):
    if "autovacuum worker" in cmd: return "autovacuum worker"
    if "autovacuum launcher" in cmd: return "autovacuum launcher"
    for r in ("walwriter", "checkpointer", "background writer", "logical replication", "stats"):
        if r in cmd: return r
    if "postgres:" in cmd: return "backend"
    return "postmaster"


def server(datadir):
    with open(os.path.join(datadir, "postmaster.pid")) as f:
        pm = int(f.readline())
    _, (ut, st, cut, cst) = stat(pm)
    with open(f"/proc/{pm}/stat") as f:
        fl = f.read().rsplit(")", 1)[1].split()
    out = {"pm_minflt": int(fl[7]), "reaped_minflt": int(fl[8]),"pm_user": ut / TICK, "pm_sys": st / TICK, "reaped_user": cut / TICK, "reaped_sys": cst / TICK,
           "live": {}}
    for pid in os.listdir("/proc"):
        if not pid.isdigit(): continue
        try:
            ppid, (u, s, _, _) = stat(pid)
        except OSError:
            continue
        if ppid == pm:
            out["live"][pid] = (role(cmdline(pid)), u / TICK, s / TICK)
    return pm, out


class Sampler(threading.Thread):
    def __init__(self, pm):
        super().__init__(daemon=True)
        self.pm, self.roles, self.stop = pm, {}, False
    def run(self):
        while not self.stop:
            for pid in os.listdir("/proc"):
                if not pid.isdigit() or pid in self.roles: continue
                try:
                    ppid, _ = stat(pid)
                except OSError:
                    continue
                if ppid == self.pm:
                    c = cmdline(pid)
                    if c: self.roles[pid] = (role(c), c)
            time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--datadir", required=True)
    ap.add_argument("--etl", required=True)
    ap.add_argument("--landing", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--db", default="prof")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--ready", help="a file to create when the load starts (to start perf record then)")
    a = ap.parse_args()
    q(a.url, f"DROP DATABASE IF EXISTS {a.db}")
    q(a.url, f"CREATE DATABASE {a.db}")
    url = a.url.rsplit("/", 1)[0] + "/" + a.db
    pss = False
    try:
        q(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        q(url, "SELECT pg_stat_statements_reset()")
        pss = True
    except subprocess.CalledProcessError:
        pass
    wal0 = q(url, "SELECT row_to_json(w) FROM pg_stat_wal w")
    bg0 = q(url, "SELECT row_to_json(b) FROM pg_stat_bgwriter b")
    pm, s0 = server(a.datadir)
    samp = Sampler(pm); samp.start()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if a.ready: open(a.ready, "w").close()
    t0 = time.perf_counter()
    res = bench_etl.run_hivehook(a.etl, a.landing, url, os.path.dirname(a.out), "prof")
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    _, s1 = server(a.datadir)
    time.sleep(0.2); samp.stop = True; samp.join()
    wal1 = q(url, "SELECT row_to_json(w) FROM pg_stat_wal w")
    bg1 = q(url, "SELECT row_to_json(b) FROM pg_stat_bgwriter b")
    out = {"wall_s": wall, "client_user_s": r1.ru_utime - r0.ru_utime, "client_sys_s": r1.ru_stime - r0.ru_stime,
           "client_minflt": r1.ru_minflt - r0.ru_minflt, "client_nvcsw": r1.ru_nvcsw - r0.ru_nvcsw,
           "client_nivcsw": r1.ru_nivcsw - r0.ru_nivcsw,
           "files": res, "wal0": json.loads(wal0), "wal1": json.loads(wal1),
           "bgwriter0": json.loads(bg0), "bgwriter1": json.loads(bg1), "roles": samp.roles}
    # server CPU split: reaped children (backends + autovacuum workers that exited), postmaster, live
    sv = {"postmaster": [s1["pm_user"] - s0["pm_user"], s1["pm_sys"] - s0["pm_sys"]],
          "reaped (backends, av workers)": [s1["reaped_user"] - s0["reaped_user"], s1["reaped_sys"] - s0["reaped_sys"]]}
    for pid, (rl, u, s) in s1["live"].items():
        u0, st0 = (s0["live"][pid][1], s0["live"][pid][2]) if pid in s0["live"] else (0, 0)
        k = "live " + rl
        sv.setdefault(k, [0, 0]); sv[k][0] += u - u0; sv[k][1] += s - st0
    out["server"] = sv
    out["server_reaped_minflt"] = s1["reaped_minflt"] - s0["reaped_minflt"]
    out["server_total_s"] = sum(u + s for u, s in sv.values())
    out["digest"] = bench_etl.digest_hivehook(a.etl, url)
    if pss:
        out["pss"] = json.loads(q(url, "SELECT coalesce(json_agg(x ORDER BY x.total_exec_time DESC), '[]') FROM ("
                                  "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query, calls, "
                                  "round(total_exec_time::numeric, 1) AS total_exec_time, "
                                  "round(total_plan_time::numeric, 1) AS total_plan_time, rows, wal_records, "
                                  "wal_fpi, wal_bytes, shared_blks_hit, shared_blks_read, shared_blks_dirtied, "
                                  "shared_blks_written, temp_blks_written, local_blks_written "
                                  "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) x"))
    if not a.keep:
        q(a.url, f"DROP DATABASE IF EXISTS {a.db}")
    with open(a.out + ".json", "w") as f:
        json.dump(out, f, indent=1)
    print(f"wall {wall:.2f}s client user {out['client_user_s']:.2f} sys {out['client_sys_s']:.2f} "
          f"server {out['server_total_s']:.2f}: " +
          ", ".join(f"{k} {u:.2f}u/{s:.2f}s" for k, (u, s) in sv.items() if u + s > 0.005))
    print("client minflt", out["client_minflt"], "server reaped minflt", out["server_reaped_minflt"])
    w0, w1 = out["wal0"], out["wal1"]
    print("wal: " + ", ".join(f"{k} {w1[k] - w0[k]}" for k in w0 if isinstance(w0[k], (int, float))))
    print("digest", out["digest"], "median file", round(res["file_median_s"], 3), "dims", round(res["dims_s"], 2))


if __name__ == "__main__":
    main()
