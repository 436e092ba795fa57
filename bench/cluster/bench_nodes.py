"""Cluster mode (docs/cluster.md): 1, 2 and 3 daemons (`run --node`) on one PostgreSQL state (a
throwaway server on loopback, tests/support/pg-cluster) and one landing tree, on the same work, in the
same run. The peer is hivehook itself: one node is the baseline a cluster must not fall behind.

What is measured: N files (64 KiB each, prestaged, then renamed into landing at once across 10
partitions); each job does real work — sha256sum of the file, 5 times over — under `workers: 2`
per node. Files/s from the first rename until the last object is archived (the store's updated_at),
and the ratio to one node. On this machine's 2 cores the nodes share the same CPUs: the point is
correctness and overhead (a second node must not make it slower by much), not speed-up.

  /usr/bin/python3 bench/cluster/bench_nodes.py --hivehook build/hivehook [--files 1000]
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import psycopg2

HERE = pathlib.Path(__file__).resolve().parent
PG_CLUSTER = HERE.parent.parent / "tests" / "support" / "pg-cluster"
RULES = """\
rules:
  - name: digest
    match: {prefix: p}
    job:
      command: [/bin/sh, -c, 'for i in 1 2 3 4 5; do sha256sum "$0" > /dev/null; done', "{path}"]
      timeout: 120s
"""


def run_once(bin_, url, nodes, files, base):
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"hivehook-bench-{nodes}n-", dir=base))
    landing, staging = work / "landing", work / "staging"
    for d in (landing, staging, work / "rules"):
        d.mkdir(parents=True)
    (work / "rules" / "rules.yaml").write_text(RULES)
    procs = []
    for i in range(nodes):
        cfg = work / f"node{i}.yaml"
        cfg.write_text(f"landing: landing\narchive: archive\nquarantine: quarantine\nstate: {url}\n"
                       f"rules: rules\nstate_dir: state-{i}\naudit_log: state-{i}/audit.jsonl\nworkers: 2\n"
                       "node_lease: 15s\n")
        log = open(work / f"node{i}.log", "wb")
        procs.append((subprocess.Popen([bin_, "run", "--node", f"n{i}", "-c", str(cfg)], stdout=log, stderr=log), log))
    deadline = time.monotonic() + 120
    while not all((work / f"node{i}.log").read_text(errors="replace").count("watching ") for i in range(nodes)):
        if time.monotonic() > deadline:
            raise RuntimeError("nodes not ready")
        time.sleep(0.1)
    payload = os.urandom(64 * 1024)
    names = []
    for k in range(files):
        part = f"p{k % 10}"
        (staging / part).mkdir(exist_ok=True)
        (staging / part / f"f{k:05d}.bin").write_bytes(payload)
        names.append(f"{part}/f{k:05d}.bin")
    for p in range(10):
        (landing / f"p{p}").mkdir()
    con = psycopg2.connect(url)
    con.autocommit = True
    cur = con.cursor()
    cur.execute("SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)")
    t0 = cur.fetchone()[0]
    for n in names:
        os.rename(staging / n, landing / n)
    deadline = time.monotonic() + 900
    while True:
        cur.execute("SELECT COUNT(*), MAX(updated_at) FROM objects WHERE state = 'archived'")
        done, last = cur.fetchone()
        if done >= files:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {files} archived")
        time.sleep(0.2)
    cur.execute("SELECT node, COUNT(*) FROM runs WHERE state = 'succeeded' GROUP BY node ORDER BY node")
    by_node = dict(cur.fetchall())
    cur.execute("SELECT COUNT(*) FROM (SELECT object_id FROM runs WHERE state = 'succeeded' GROUP BY object_id"
                " HAVING COUNT(*) > 1) x")
    twice = cur.fetchone()[0]
    con.close()
    for p, log in procs:
        p.terminate()
    for p, log in procs:
        p.wait(timeout=120)
        log.close()
    shutil.rmtree(work, ignore_errors=True)
    secs = (last - t0) / 1000.0
    return {"nodes": nodes, "files": files, "seconds": secs, "files_per_s": files / secs, "by_node": by_node,
            "run_twice": twice}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hivehook", required=True)
    ap.add_argument("--files", type=int, default=1000)
    a = ap.parse_args()
    sdir = tempfile.mkdtemp(prefix="hivehook-bench-pg-")
    r = subprocess.run([str(PG_CLUSTER), "start", sdir], capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        sys.exit(f"pg-cluster start failed: {r.stderr}")
    server = r.stdout.strip()
    base = tempfile.mkdtemp(prefix="hivehook-bench-cluster-")
    out = []
    try:
        for nodes in (1, 2, 3):
            name = f"bench_nodes_{os.getpid()}_{nodes}"
            con = psycopg2.connect(server)
            con.autocommit = True
            con.cursor().execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'SQL_ASCII' "
                                 "LC_COLLATE 'C' LC_CTYPE 'C'")
            con.close()
            res = run_once(a.hivehook, server.rsplit("/", 1)[0] + "/" + name, nodes, a.files, base)
            print(f"-- {nodes} node(s): {res}", flush=True)
            out.append(res)
    finally:
        subprocess.run([str(PG_CLUSTER), "stop", sdir], capture_output=True, timeout=120)
        shutil.rmtree(sdir, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)
    one = out[0]["files_per_s"]
    print(f"\nCluster: {a.files} files of 64 KiB, job = sha256sum x5, workers 2 per node, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print("| nodes | seconds | files/s | / 1 node | runs by node | objects run twice |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in out:
        by = ", ".join(f"{k}: {v}" for k, v in r["by_node"].items())
        print(f"| {r['nodes']} | {r['seconds']:.2f} | {r['files_per_s']:.1f} | {r['files_per_s'] / one:.2f} | {by} | {r['run_twice']} |")


if __name__ == "__main__":
    main()
