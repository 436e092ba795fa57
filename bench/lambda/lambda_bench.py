"""Lambda jobs: warm execution environments vs one process per invocation, in one run.

For Python (/usr/bin/python3) and Node.js (node on PATH), the same unchanged handler
(bench/lambda/handlers/stamp_handler.*: its first act appends "<wall clock> <name>" to a log) runs
as a `lambda:` job of a real `hivehook run` daemon, with
  warm:  warm: {idle: 5m}   -- environments initialised once and reused (hivehook's default)
  cold:  Python: hivehook's previous Lambda shim (jobs/lambda_bootstrap.py: one /usr/bin/python3
         process per file, the event on stdin, the handler imported every time), run as the
         `command:` job it used to be; Node.js (which had no earlier path): warm: {idle: 0s}, a new
         environment (a new node process, init included) for every invocation
beside a `command:` job running bench/jobs/stamp.c (the floor: a C program spawned per file).
Measured, per configuration, on a fresh daemon (workers 4, so up to 4 environments):
  latency     N files, one at a time (renamed 10 ms after the previous one's handler started, so
              none waits behind another); file -> handler start p50/p99 (the rename's wall clock
              to the handler's first line), after a warm-up probe
  throughput  M files renamed at once; invocations/s from the first rename to the last handler
              start
Prints the table and the warm/cold ratios; saves JSON and markdown under --results (the build folder).
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

sys.dont_write_bytecode = True
HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from bench import count_lines, percentile, prestage, read_stamps, wait_progress  # noqa: E402

HANDLERS = HERE / "handlers"
SHIM = HERE.parent.parent / "jobs" / "lambda_bootstrap.py"  # the per-file Lambda shim hivehook ran before


def log(msg):
    print(msg, flush=True)


class Daemon:
    """One `hivehook run` with one rule matching t/ whose job is `job_yaml`."""

    def __init__(self, binary, base, label, job_yaml, workers=4):
        self.work = pathlib.Path(tempfile.mkdtemp(prefix="lambda-" + label + "-", dir=base))
        for d in ("landing", "staging", "rules"):
            (self.work / d).mkdir()
        self.log = self.work / "stamps.log"
        self.daemon_log = self.work / "daemon.log"
        (self.work / "rules" / "bench.yaml").write_text(textwrap.dedent("""\
            rules:
              - name: bench
                match: {prefix: t/}
                job:
            """) + textwrap.indent(job_yaml.replace("@LOG@", str(self.log)), " " * 6) +
            "    on_success: {action: delete}\n    retries: 0\n")
        (self.work / "hivehook.yaml").write_text(
            "landing: landing\narchive: archive\nquarantine: quarantine\nstate: state/hivehook.db\n"
            f"rules: rules\nshutdown_grace: 10s\nworkers: {workers}\nlog: {{level: warn}}\n")
        env = dict(os.environ)  # jobs get a clean environment: the rule passes BENCH_LOG in its env:
        env.pop("HIVEHOOK_CONFIG", None)
        self.proc = subprocess.Popen([binary, "run", "-c", str(self.work / "hivehook.yaml")], env=env,
                                     start_new_session=True, stdout=open(self.daemon_log, "wb"),
                                     stderr=subprocess.STDOUT)
        self.landing = self.work / "landing"

    def probe(self, timeout=60.0):
        """Renames probe files into t/ until one has run (the daemon is up, the pool warm)."""
        deadline = time.monotonic() + timeout
        k = 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("hivehook exited:\n" + self.daemon_log.read_text(errors="replace")[-2000:])
            (self.landing / "t").mkdir(exist_ok=True)
            src = self.work / "staging" / f"probe-{k}.csv"
            src.write_bytes(b"p\n")
            os.rename(src, self.landing / "t" / src.name)
            k += 1
            end = time.monotonic() + 0.2
            while time.monotonic() < end:
                if count_lines(self.log, "probe-"):
                    return
                time.sleep(0.005)
        raise RuntimeError("no probe file ran in %.0f s:\n%s" % (timeout, self.daemon_log.read_text(
            errors="replace")[-2000:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def latency(d, n, pause_s):
    """Closed loop, so no run ever waits behind another (that would measure queueing, not starting):
    rename one file, wait for its handler's stamp, pause, next."""
    part = d.landing / "t" / "lat"
    part.mkdir(parents=True)
    names = [f"lat-{i:04d}.csv" for i in range(n)]
    srcs = prestage(d.work / "staging", names)
    lat = []
    with open(d.log, "rb") as stamps:
        stamps.seek(0, os.SEEK_END)
        pending = b""
        for name, src in zip(names, srcs):
            os.rename(src, part / name)
            renamed = time.time_ns() / 1e9
            deadline = time.monotonic() + 60
            seen = None
            while seen is None and time.monotonic() < deadline:
                chunk = stamps.read()
                if not chunk:
                    time.sleep(0.0002)
                    continue
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    ts, _, got = line.decode(errors="replace").partition(" ")
                    if got == name:
                        seen = float(ts)
            if seen is not None:
                lat.append((seen - renamed) * 1000)
            time.sleep(pause_s)
    return {"files": n, "ran": len(lat), "p50_ms": percentile(lat, .5), "p99_ms": percentile(lat, .99),
            "max_ms": max(lat) if lat else None}


def throughput(d, n):
    part = d.landing / "t" / "burst"
    part.mkdir(parents=True)
    names = [f"b-{i:05d}.csv" for i in range(n)]
    srcs = prestage(d.work / "staging", names)
    t_first = time.time()
    for name, src in zip(names, srcs):
        os.rename(src, part / name)
    wait_progress(lambda: count_lines(d.log, "b-"), n, 15, 600)
    first, _ = read_stamps(d.log)
    times = [first[k] for k in names if k in first]
    span = (max(times) - t_first) if times else None
    return {"files": n, "ran": len(times), "per_s": len(times) / span if span else 0.0, "span_s": span}


def configurations(stamp_bin, quick):
    py = f"lambda: {{handler: stamp_handler.handler, code: {HANDLERS}, runtime: python3, warm: {{idle: %s}}}}\n" \
         "timeout: 60s\nenv: {BENCH_LOG: \"@LOG@\"}\n"
    shim = (f"command: [/usr/bin/python3, {SHIM}, --handler, stamp_handler.handler, --code, {HANDLERS},"
            " --function-name, bench, --timeout-ms, \"60000\", --memory-mb, \"128\"]\ntimeout: 60s\n"
            "env: {BENCH_LOG: \"@LOG@\"}\n")
    node = f"lambda: {{handler: stamp_handler.handler, code: {HANDLERS}, runtime: nodejs, warm: {{idle: %s}}}}\n" \
           "timeout: 60s\nenv: {BENCH_LOG: \"@LOG@\"}\n"
    scale = 0.25 if quick else 1.0  # --quick: about a minute and a half in all
    out = [("command job (stamp.c, a process per file)", "command", f"command: [{stamp_bin}, \"@LOG@\", \"{{name}}\"]\n",
            int(2000 * scale))]
    out += [("python warm", "python-warm", py % "5m", int(4000 * scale)),
            ("python, a process per invocation (the previous shim)", "python-cold", shim, int(400 * scale))]
    if shutil.which("node"):
        out += [("node.js warm", "node-warm", node % "5m", int(4000 * scale)),
                ("node.js, a process per invocation", "node-cold", node % "0s", int(200 * scale))]
    else:
        log("lambda bench: node not on PATH; Node.js rows left out")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hivehook", required=True)
    ap.add_argument("--stamp", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--latency-files", type=int, default=200)
    ap.add_argument("--pause-ms", type=float, default=10)
    ap.add_argument("--only", help="comma-separated configurations: command,python-warm,python-cold,node-warm,node-cold")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    base = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-bench-lambda-"))
    n_lat = args.latency_files // (5 if args.quick else 1)
    now = datetime.datetime.now(datetime.timezone.utc)
    res = {"_meta": {"when": now.isoformat(timespec="seconds"), "stamp": now.strftime("%Y%m%dT%H%M%SZ"),
                     "cores": os.cpu_count(), "kernel": platform.release(), "load_before": os.getloadavg()[0],
                     "workers": 4, "latency_files": n_lat, "pause_ms": args.pause_ms, "quick": args.quick}}
    try:
        for title, key, job, n_burst in configurations(args.stamp, args.quick):
            if only is not None and key not in only:
                continue
            log(f"-- {title}")
            d = Daemon(args.hivehook, base, key, job)
            try:
                d.probe()
                r = {"title": title, "latency": latency(d, n_lat, args.pause_ms / 1000),
                     "throughput": throughput(d, n_burst)}
            except Exception as e:  # a configuration that cannot run is reported, never hides the others
                r = {"title": title, "error": str(e)}
            finally:
                d.stop()
            res[key] = r
            log("   " + json.dumps(r))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    res["_meta"]["load_after"] = os.getloadavg()[0]
    report(res, pathlib.Path(args.results))
    return 0


def fmt(v, spec=".2f"):
    return "-" if v is None else format(v, spec)


def render_md(res):
    """The markdown table, ratios and goals of one saved run (its JSON as written by report())."""
    m = res["_meta"]
    lines = [f"# hivehook Lambda bench {m['when']}", "",
             f"Machine: {m['cores']} cores, kernel {m['kernel']}, load average {m['load_before']:.2f} -> "
             f"{m['load_after']:.2f}. Daemon: workers {m['workers']} (up to {m['workers']} environments per "
             f"function). Latency: {m['latency_files']} files one at a time (the next {m['pause_ms']:g} ms after the "
             "previous handler started), rename -> handler start. Throughput: files renamed at once, "
             "invocations/s until the last handler started.", "",
             "| job | latency p50 ms | p99 ms | invocations/s | files |", "|---|---|---|---|---|"]
    for key, r in res.items():
        if key.startswith("_"):
            continue
        if "error" in r:
            lines.append(f"| {r['title']} | error: {r['error'][:80]} | | | |")
            continue
        lat, thr = r["latency"], r["throughput"]
        lines.append(f"| {r['title']} | {fmt(lat['p50_ms'])} | {fmt(lat['p99_ms'])} | {fmt(thr['per_s'], ',.0f')} | "
                     f"{thr['ran']} of {thr['files']} |")
    lines += ["", "Ratios (warm pool vs one process per invocation, same handler, same run):", ""]
    for lang in ("python", "node"):
        w, c = res.get(lang + "-warm"), res.get(lang + "-cold")
        if not w or not c or "error" in w or "error" in c:
            continue
        tw, tc = w["throughput"]["per_s"], c["throughput"]["per_s"]
        lw, lc = w["latency"]["p50_ms"], c["latency"]["p50_ms"]
        lines.append(f"- {lang}: throughput {tw / tc:.1f}x ({tw:,.0f} vs {tc:,.0f} invocations/s); latency p50 "
                     f"{lc / lw:.1f}x lower ({lw:.2f} vs {lc:.2f} ms); goal >= 20x and p50 < 2 ms: "
                     f"{'pass' if tw / tc >= 20 and lw < 2 else 'MISS'}")
    cmd = res.get("command")
    if cmd and "error" not in cmd:
        for lang in ("python", "node"):
            w = res.get(lang + "-warm")
            if w and "error" not in w:
                lines.append(f"- {lang} warm vs a command job: latency p50 {w['latency']['p50_ms']:.2f} vs "
                             f"{cmd['latency']['p50_ms']:.2f} ms, throughput {w['throughput']['per_s']:,.0f} vs "
                             f"{cmd['throughput']['per_s']:,.0f}/s")
    return "\n".join(lines) + "\n"


def report(res, results_dir):
    text = render_md(res)
    print("\n" + text)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = res["_meta"]["stamp"]
    (results_dir / f"lambda-{stamp}.json").write_text(json.dumps(res, indent=2) + "\n")
    (results_dir / f"lambda-{stamp}.md").write_text(text)
    print(f"raw results: {results_dir / f'lambda-{stamp}.json'}")

if __name__ == "__main__":
    sys.exit(main())
