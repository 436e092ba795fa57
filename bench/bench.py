"""hivehook beside its peers, on the same work, on the same machine, in the same run.

Called by bench/run (which builds the stamp job and the ceilings probe). Prints one table plus
ratios and the targets of issue 7, and saves raw JSON and a dated markdown table in --results (the build folder's bench/).
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import peers as P  # noqa: E402

PEERS = [("inotifywait", {}), ("incrond", {}), ("watchman", {"settle_ms": None}), ("watchman", {"settle_ms": 0}),
         ("hivehook", {})]
# Burst only: hivehook with more workers than its default 4 (the daemon's CPU overlaps the jobs').
EXTRA_BURST = [("hivehook", {"workers": 8})]


def log(msg):
    print(msg, flush=True)


# --- helpers -------------------------------------------------------------------------------------
def read_stamps(path):
    """name -> first job start (unix seconds, float); and the number of lines (runs)."""
    first, lines = {}, 0
    try:
        data = open(path, "rb").read().decode(errors="replace")
    except FileNotFoundError:
        return first, 0
    for line in data.splitlines():
        ts, _, name = line.partition(" ")
        if not name:
            continue
        lines += 1
        t = float(ts)
        if name not in first or t < first[name]:
            first[name] = t
    return first, lines


def count_lines(path, prefix):
    """Cheap progress while waiting (parsing is left to the end): lines naming `prefix` files."""
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return 0
    return data.count(b" " + prefix.encode())


def prestage(staging, names):
    staging.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in names:
        p = staging / n
        with open(p, "wb") as f:
            f.write(b"x\n")
        paths.append(p)
    return paths


def percentile(values, q):
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def make_work(base, label):
    w = pathlib.Path(tempfile.mkdtemp(prefix=label.replace(" ", "-").replace("(", "").replace(")", "") + "-",
                                      dir=base))
    (w / "landing").mkdir()
    (w / "staging").mkdir()
    return w


def probe_until_live(peer, folder, t0_mono, timeout=60.0):
    """Renames a probe file into `folder` every 50 ms until one has been run. Returns the seconds from
    t0_mono to that first job, or None."""
    staging = peer.work / "staging"
    deadline = time.monotonic() + timeout
    k = 0
    while time.monotonic() < deadline:
        name = f"probe-{k:04d}.csv"
        src = staging / name
        src.write_bytes(b"p\n")
        os.rename(src, folder / name)
        k += 1
        end = time.monotonic() + 0.05
        while time.monotonic() < end:
            first, _ = read_stamps(peer.log)
            if any(n.startswith("probe-") for n in first):
                return time.monotonic() - t0_mono
            time.sleep(0.005)
    return None


def wait_progress(count_fn, target, stall_s, cap_s):
    """Waits until count_fn() >= target, or no progress for stall_s, or cap_s in all."""
    start = time.monotonic()
    last_n, last_change = -1, time.monotonic()
    while True:
        n = count_fn()
        now = time.monotonic()
        if n >= target:
            return n, True
        if n != last_n:
            last_n, last_change = n, now
        if now - last_change > stall_s or now - start > cap_s:
            return n, False
        time.sleep(0.1)


def run_peer(kind, kw, tools, base, body):
    t0 = time.monotonic()
    peer = P.make(kind, tools, make_work(base, kind + str(kw.get("settle_ms", ""))), **kw)
    try:
        return peer, body(peer)
    except Exception as e:  # a peer that cannot run is reported, never hides the others
        return peer, {"error": str(e)}
    finally:
        peer.stop()
        peer.elapsed = time.monotonic() - t0


# --- 1. latency ----------------------------------------------------------------------------------
def bench_latency(peer, n, gap_s):
    part = peer.landing / "t" / "day=01"
    part.mkdir(parents=True)
    names = [f"lat-{i:04d}.csv" for i in range(n)]
    srcs = prestage(peer.work / "staging", names)
    peer.start()
    if probe_until_live(peer, part, time.monotonic()) is None:
        return {"error": "never ran a probe file"}
    renamed = {}
    t_next = time.monotonic()
    for name, src in zip(names, srcs):
        os.rename(src, part / name)
        renamed[name] = time.time_ns() / 1e9
        t_next += gap_s
        delay = t_next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    wait_progress(lambda: count_lines(peer.log, "lat-"), n, 5, 60)
    first, _ = read_stamps(peer.log)
    lat = [(first[k] - renamed[k]) * 1000 for k in names if k in first]
    return {"files": n, "ran": len(lat), "lost": n - len(lat),
            "p50_ms": percentile(lat, .5), "p90_ms": percentile(lat, .9), "p99_ms": percentile(lat, .99),
            "max_ms": max(lat) if lat else None, "mean_ms": statistics.fmean(lat) if lat else None}


# --- 2/4. burst ----------------------------------------------------------------------------------
def bench_burst(peer, n, parts, stall_s, cap_s):
    for p in range(parts):
        (peer.landing / "t" / f"p={p}").mkdir(parents=True)
    names = [f"b-{i:05d}.csv" for i in range(n)]
    srcs = prestage(peer.work / "staging", names)
    peer.start()
    noop = getattr(peer, "noop", False)
    probes = 0
    if not noop:
        if probe_until_live(peer, peer.landing / "t" / "p=0", time.monotonic()) is None:
            return {"error": "never ran a probe file"}
        probes = sum(1 for k in read_stamps(peer.log)[0] if k.startswith("probe-"))
    else:
        time.sleep(0.2)
    t_first = time.time()
    for i, (name, src) in enumerate(zip(names, srcs)):
        os.rename(src, peer.landing / "t" / f"p={i % parts}" / name)
    t_renamed = time.time()
    out = {"files": n, "partitions": parts, "rename_s": t_renamed - t_first}
    if not noop:
        wait_progress(lambda: count_lines(peer.log, "b-"), n, stall_s, cap_s)
        first, lines = read_stamps(peer.log)
        times = [first[k] for k in names if k in first]
        ran = len(times)
        out.update({"ran": ran, "lost": n - ran, "runs_logged": lines,
                    "files_per_s": ran / (max(times) - t_first) if times else 0.0,
                    "last_job_s": (max(times) - t_first) if times else None})
    if isinstance(peer, P.Hivehook):
        total = n + probes
        got, _ = wait_progress(lambda: peer.archived()[0], total, stall_s, cap_s)
        cnt, last_ms = peer.archived()
        out.update({"archived": cnt - probes, "archived_per_s": (cnt - probes) / (last_ms / 1000 - t_first)
                    if last_ms else 0.0, "archived_last_s": last_ms / 1000 - t_first if last_ms else None,
                    "left_in_landing": sum(len(f) for _, _, f in os.walk(peer.landing))})
        if noop:
            out["files_per_s"] = out["archived_per_s"]
            out["lost"] = n - out["archived"]
            out["ran"] = out["archived"]
        out["daemon_cpu_s"] = cpu_seconds(peer.proc.pid)
    return out


def cpu_seconds(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


# --- 3. new-partition race -----------------------------------------------------------------------
def bench_race(peer, parts, per):
    (peer.landing / "t" / "probe=1").mkdir(parents=True)
    names = [f"r-{p:03d}-{i:02d}.csv" for p in range(parts) for i in range(per)]
    srcs = prestage(peer.work / "staging", names)
    peer.start()
    if probe_until_live(peer, peer.landing / "t" / "probe=1", time.monotonic()) is None:
        return {"error": "never ran a probe file"}
    it = iter(zip(names, srcs))
    for p in range(parts):
        d = peer.landing / "t" / f"day={p:03d}"
        d.mkdir()
        for _ in range(per):
            name, src = next(it)
            os.rename(src, d / name)
    wait_progress(lambda: count_lines(peer.log, "r-"), len(names), 5, 60)
    ran = sum(1 for k in read_stamps(peer.log)[0] if k.startswith("r-"))
    return {"files": len(names), "partitions": parts, "ran": ran, "lost": len(names) - ran}


# --- 5. footprint --------------------------------------------------------------------------------
def bench_footprint(peer, outer, inner):
    for a in range(outer):
        for b in range(inner):
            (peer.landing / "t" / f"year={2000 + a}" / f"day={b:03d}").mkdir(parents=True)
    last = peer.landing / "t" / f"year={2000 + outer - 1}" / f"day={inner - 1:03d}"
    t0 = time.monotonic()
    peer.start()
    first = probe_until_live(peer, last, t0, timeout=120)
    time.sleep(1.0)  # idle
    pss, private = peer.rollup_kb()
    return {"partitions": outer * inner, "ready_s": peer.ready_signal(), "first_job_s": first,
            "idle_rss_kb": peer.rss_kb(), "idle_pss_kb": pss, "idle_private_kb": private}


# --- report --------------------------------------------------------------------------------------
def fmt(v, spec=".2f", none="-"):
    return none if v is None else format(v, spec)


def table(res):
    lines = []
    hdr = ("| peer | latency p50 ms | p90 | p99 | max | burst files/s | burst lost | race lost | "
           "idle RSS MB | PSS / private MB | ready s | first job s |")
    lines.append(hdr)
    lines.append("|" + "|".join(["---"] * 12) + "|")
    for name in res["peers"]:
        la = res["latency"].get(name, {})
        bu = res["burst"].get(name, {})
        ra = res["race"].get(name, {})
        fp = res["footprint"].get(name, {})
        rss = fp.get("idle_rss_kb")
        lines.append(f"| {name} | {fmt(la.get('p50_ms'))} | {fmt(la.get('p90_ms'))} | {fmt(la.get('p99_ms'))} | "
                     f"{fmt(la.get('max_ms'))} | {fmt(bu.get('files_per_s'), ',.0f')} | "
                     f"{fmt(bu.get('lost'), 'd')}{' (of %d)' % bu['files'] if 'files' in bu else ''} | "
                     f"{fmt(ra.get('lost'), 'd')}{' (of %d)' % ra['files'] if 'files' in ra else ''} | "
                     f"{fmt(rss / 1024 if rss else None, '.1f')} | "
                     f"{fmt(fp['idle_pss_kb'] / 1024 if fp.get('idle_pss_kb') else None, '.1f')} / "
                     f"{fmt(fp['idle_private_kb'] / 1024 if fp.get('idle_private_kb') else None, '.1f')} | "
                     f"{fmt(fp.get('ready_s'), '.3f')} | "
                     f"{fmt(fp.get('first_job_s'), '.3f')} |")
    hh = res["burst"].get("hivehook", {})
    if "archived_per_s" in hh:
        lines.append(f"| hivehook, until archived | | | | | {fmt(hh.get('archived_per_s'), ',.0f')} | "
                     f"{fmt(hh.get('files', 0) - hh.get('archived', 0), 'd')} | | | | | |")
    nb = res.get("noop", {})
    if "files_per_s" in nb:
        lines.append(f"| hivehook builtin noop (recorded + archived) | | | | | {fmt(nb.get('files_per_s'), ',.0f')} | "
                     f"{fmt(nb.get('lost'), 'd')} (of {nb.get('files')}) | | | | | |")
    for k, v in list(res["latency"].items()) + list(res["burst"].items()) + list(res["race"].items()):
        if "error" in v:
            lines.append(f"\n{k}: error: {v['error']}")
    return "\n".join(lines)


def ratios(res):
    out = []
    h_lat = res["latency"].get("hivehook", {})
    h_bu = res["burst"].get("hivehook", {})
    for name in res["peers"]:
        if name.startswith("hivehook"):
            continue
        la, bu = res["latency"].get(name, {}), res["burst"].get(name, {})
        parts = []
        if la.get("p50_ms") and h_lat.get("p50_ms"):
            parts.append(f"latency p50 {la['p50_ms'] / h_lat['p50_ms']:.1f}x lower")
        if la.get("p99_ms") and h_lat.get("p99_ms"):
            parts.append(f"p99 {la['p99_ms'] / h_lat['p99_ms']:.1f}x lower")
        if bu.get("files_per_s") and h_bu.get("files_per_s"):
            parts.append(f"burst {h_bu['files_per_s'] / bu['files_per_s']:.2f}x the files/s")
        out.append(f"hivehook vs {name}: " + (", ".join(parts) if parts else "n/a"))
    return out


def targets(res):
    h_lat = res["latency"].get("hivehook", {})
    h_bu = res["burst"].get("hivehook", {})
    h_ra = res["race"].get("hivehook", {})
    nb = res.get("noop", {})
    fp = res["footprint"].get("hivehook", {})
    spawn = res["ceilings"].get("spawn_wait_per_s")
    ino = res["burst"].get("inotifywait loop", {}).get("files_per_s")
    inc = res["burst"].get("incrond", {}).get("files_per_s")
    rate = h_bu.get("files_per_s")
    t = []

    def add(what, value, ok):
        t.append({"target": what, "measured": value, "pass": bool(ok)})

    add("latency p50 <= 1 ms (command job)", f"{fmt(h_lat.get('p50_ms'), '.3f')} ms",
        h_lat.get("p50_ms") is not None and h_lat["p50_ms"] <= 1.0)
    add("latency p99 <= 3 ms (command job)", f"{fmt(h_lat.get('p99_ms'), '.3f')} ms",
        h_lat.get("p99_ms") is not None and h_lat["p99_ms"] <= 3.0)
    add("new-partition race: 0 lost", f"{h_ra.get('lost')} of {h_ra.get('files')}", h_ra.get("lost") == 0)
    add("burst >= 90% of spawn ceiling", f"{fmt(rate, ',.0f')}/s = {fmt(rate / spawn * 100 if rate and spawn else None, '.0f')}% "
        f"of {fmt(spawn, ',.0f')}/s", rate and spawn and rate >= 0.9 * spawn)
    add("burst >= 1.4x inotifywait loop", f"{fmt(rate / ino if rate and ino else None)}x", rate and ino and rate >= 1.4 * ino)
    add("burst >= 9x incrond", f"{fmt(rate / inc if rate and inc else None)}x", rate and inc and rate >= 9 * inc)
    add("burst: 0 lost (run and archived)", f"{h_bu.get('lost')} not run, "
        f"{(h_bu.get('files', 0) - h_bu.get('archived', 0)) if 'archived' in h_bu else '?'} not archived",
        h_bu.get("lost") == 0 and h_bu.get("archived") == h_bu.get("files"))
    add("noop pipeline >= 20,000 files/s, all recorded + archived",
        f"{fmt(nb.get('files_per_s'), ',.0f')}/s, {nb.get('archived')} of {nb.get('files')} archived",
        nb.get("files_per_s", 0) >= 20000 and nb.get("archived") == nb.get("files"))
    rss = fp.get("idle_rss_kb")
    add("idle RSS <= 10 MB on 10,000 partitions", f"{fmt(rss / 1024 if rss else None, '.1f')} MB (PSS "
        f"{fmt(fp['idle_pss_kb'] / 1024 if fp.get('idle_pss_kb') else None, '.1f')} MB, private "
        f"{fmt(fp['idle_private_kb'] / 1024 if fp.get('idle_private_kb') else None, '.1f')} MB)", rss and rss <= 10 * 1024)
    add("ready <= 0.5 s on 10,000 partitions", f"{fmt(fp.get('ready_s'), '.3f')} s ('watching'); first job "
        f"{fmt(fp.get('first_job_s'), '.3f')} s", fp.get("ready_s") is not None and fp["ready_s"] <= 0.5)
    return t


def machine():
    info = {"nproc": os.cpu_count(), "kernel": platform.release(), "loadavg_start": os.getloadavg()[0]}
    for tool, args in (("inotifywait", ["--help"]), ("incrond", ["-V"]), ("watchman", ["--version"])):
        try:
            r = subprocess.run([tool, *args], capture_output=True, text=True, timeout=10)
            info[tool] = (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            info[tool] = None
    return info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hivehook", required=True)
    ap.add_argument("--stamp", required=True)
    ap.add_argument("--ceilings", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--etl-json", help="figures of bench/etl/run to include")
    ap.add_argument("--quick", action="store_true", help="small sizes, to try the driver")
    ap.add_argument("--only", default="ceilings,latency,burst,race,noop,footprint")
    args = ap.parse_args()
    only = set(args.only.split(","))
    q = args.quick
    sizes = {"lat_n": 60 if q else 300, "burst_n": 1000 if q else 10000, "race_parts": 20 if q else 200,
             "fp": (10, 10) if q else (100, 100)}
    tools = {"stamp": args.stamp, "hivehook": args.hivehook}
    base = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-bench-"))
    res = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "sizes": sizes, "machine": machine(), "ceilings": {}, "latency": {}, "burst": {}, "race": {},
           "noop": {}, "footprint": {}, "peers": []}
    try:
        if "ceilings" in only:
            r = subprocess.run([args.ceilings, args.stamp, str(base), "2"], capture_output=True, text=True, check=True)
            res["ceilings"] = json.loads(r.stdout)
            log(f"ceilings: spawn+wait {res['ceilings']['spawn_wait_per_s']:,.0f}/s, "
                f"rename {res['ceilings']['renames_per_s']:,.0f}/s")
        t_all = time.monotonic()
        for kind, kw in PEERS:
            name = None
            if "latency" in only:
                peer, r = run_peer(kind, kw, tools, base, lambda p: bench_latency(p, sizes["lat_n"], 0.02))
                name = peer.name
                res["latency"][name] = r
                log(f"[{peer.elapsed:5.1f}s] latency  {name:<24} {json.dumps(r)}")
            if "burst" in only:
                peer, r = run_peer(kind, kw, tools, base, lambda p: bench_burst(p, sizes["burst_n"], 10, 10, 150))
                name = peer.name
                res["burst"][name] = r
                log(f"[{peer.elapsed:5.1f}s] burst    {name:<24} {json.dumps(r)}")
            if "race" in only:
                peer, r = run_peer(kind, kw, tools, base, lambda p: bench_race(p, sizes["race_parts"], 10))
                name = peer.name
                res["race"][name] = r
                log(f"[{peer.elapsed:5.1f}s] race     {name:<24} {json.dumps(r)}")
            if "footprint" in only and kw.get("settle_ms") != 0:
                peer, r = run_peer(kind, kw, tools, base, lambda p: bench_footprint(p, *sizes["fp"]))
                name = peer.name
                res["footprint"][name] = r
                log(f"[{peer.elapsed:5.1f}s] footprint {name:<23} {json.dumps(r)}")
            if name:
                res["peers"].append(name)
        if "burst" in only:
            for kind, kw in EXTRA_BURST:
                peer, r = run_peer(kind, kw, tools, base, lambda p: bench_burst(p, sizes["burst_n"], 10, 10, 150))
                res["burst"][peer.name] = r
                res["peers"].append(peer.name)
                log(f"[{peer.elapsed:5.1f}s] burst    {peer.name:<24} {json.dumps(r)}")
        if "noop" in only:
            peer, r = run_peer("hivehook", {"noop": True}, tools, base,
                               lambda p: bench_burst(p, sizes["burst_n"], 10, 10, 150))
            res["noop"] = r
            log(f"[{peer.elapsed:5.1f}s] noop     {peer.name:<24} {json.dumps(r)}")
        res["bench_s"] = time.monotonic() - t_all
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if args.etl_json and os.path.exists(args.etl_json):
        res["etl"] = json.load(open(args.etl_json))
    res["machine"]["loadavg_end"] = os.getloadavg()[0]
    res["targets"] = targets(res)
    report(res, pathlib.Path(args.results), q)
    return 0


def render_md(res, quick=False):
    """The markdown report of one run's results (the JSON `report` saves): what docs/performance.md
    and the README quote, line for line (tests/system/test_performance_doc.py checks them)."""
    s = res["sizes"]
    md = [f"# hivehook bench {res['started']}{' (quick sizes)' if quick else ''}", "",
          f"Machine: {res['machine']['nproc']} cores, kernel {res['machine']['kernel']}, load average "
          f"{res['machine']['loadavg_start']:.2f} → {res['machine']['loadavg_end']:.2f}. "
          f"Ceilings: spawn+wait of the stamp job {fmt(res['ceilings'].get('spawn_wait_per_s'), ',.0f')}/s, "
          f"renames {fmt(res['ceilings'].get('renames_per_s'), ',.0f')}/s.", "",
          f"Latency: {s['lat_n']} files 20 ms apart into one existing partition, rename → job start. "
          f"Burst: {s['burst_n']:,} files into 10 partitions, files/s until the last job started. "
          f"Race: {s['race_parts']} new partitions × 10 files. Footprint: {s['fp'][0] * s['fp'][1]:,} partition "
          f"folders; ready = the watcher's own ready signal, first job = start → first probe file run.", "",
          table(res), ""]
    md += ["Ratios:", ""] + [f"- {r}" for r in ratios(res)] + [""]
    md += ["| target | measured | |", "|---|---|---|"]
    md += [f"| {t['target']} | {t['measured']} | {'pass' if t['pass'] else 'MISS'} |" for t in res["targets"]]
    if "etl" in res:
        md += ["", f"ETL ({res['etl'].get('rows'):,} rows, bench/etl/run):", "",
               "| tool | wall s | rows/s | peak RSS MB |", "|---|---|---|---|"]
        for r in res["etl"].get("results", []):
            if "skipped" in r:
                md.append(f"| {r['tool']} | skipped: {r['skipped']} | | |")
            else:
                md.append(f"| {r['tool']} | {r['wall_s']:.2f} | {r['rows_per_s']:,.0f} | {r['peak_rss_kb'] / 1024:.1f} |")
    return "\n".join(md) + "\n"


def report(res, results_dir, quick):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = render_md(res, quick)
    print("\n" + text)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"bench-{stamp}.json").write_text(json.dumps(res, indent=2) + "\n")
    (results_dir / f"bench-{stamp}.md").write_text(text)
    print(f"raw results: {results_dir / f'bench-{stamp}.json'}\ntable: {results_dir / f'bench-{stamp}.md'}")


if __name__ == "__main__":
    sys.exit(main())
