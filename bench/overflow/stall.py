#!/usr/bin/python3
"""The event loop under an inotify overflow (issue 10, fault 8): 100,000 files renamed into one
landing folder as fast as rename(2) goes, so the kernel's inotify queue (fs.inotify.max_queued_events,
16,384 by default) overflows and hivehook falls back to full rescans of landing while the files
are also being run and archived.

Measured, in the same run:
  - the longest event-loop stall while it all happens: hivehook's own lag probe (a 20 ms timer;
    how late it fired), exported as hivehook_event_loop_max_stall_seconds, read at the end;
  - /healthz polled every 100 ms from outside: how many answers were not 200;
  - the wall time of each rescan ("scan of landing done: N files in T ms (K slices)" in the log):
    what one rescan walked in one piece would have held the loop for. The ratio printed is
    (longest rescan) / (longest stall): how much chunking the walk shortens the worst stall.
  - files/s from the first rename until the last object is archived.
Usage: bench/overflow/stall.py --hivehook BIN [--files 100000] [--json OUT]"""
import argparse
import json
import os
import pathlib
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    try:
        r = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
        return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError as e:
        return 0, str(e)


def metric(port, name):
    code, text = get(port, "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def archived(db):
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return c.execute("SELECT COUNT(*) FROM objects WHERE state='archived'").fetchone()[0]
        finally:
            c.close()
    except sqlite3.Error:
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hivehook", required=True)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--json")
    a = ap.parse_args()

    base = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-bench-overflow-"))
    try:
        for d in ("landing/burst/day=01", "archive", "quarantine", "state", "staging"):
            (base / d).mkdir(parents=True)
        port = free_port()
        (base / "rules.yaml").write_text(
            "rules:\n  - name: noop\n    match: {prefix: burst/}\n    job: {builtin: noop}\n")
        (base / "hivehook.yaml").write_text(
            f"landing: landing\narchive: archive\nquarantine: quarantine\nstate: state/hivehook.db\n"
            f"rules: rules.yaml\nreconcile: 0\nmetrics: 127.0.0.1:{port}\nlog: {{level: info, format: text}}\n")
        print(f"staging {a.files:,} files ...", flush=True)
        names = [f"f{i:06d}.csv" for i in range(a.files)]
        for n in names:
            fd = os.open(base / "staging" / n, os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, n.encode() + b"\n")
            os.close(fd)
        log = open(base / "daemon.log", "w+")
        proc = subprocess.Popen([a.hivehook, "-c", str(base / "hivehook.yaml"), "run"], stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while get(port, "/healthz")[0] != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("bench: the daemon did not come up; see " + str(base / "daemon.log"))
            time.sleep(0.05)
        stall_before = metric(port, "hivehook_event_loop_max_stall_seconds") or 0.0

        polls, bad = 0, 0
        stop = threading.Event()

        def poll_health():
            nonlocal polls, bad
            while not stop.is_set():
                code, _ = get(port, "/healthz")
                polls += 1
                bad += code != 200
                stop.wait(0.1)

        poller = threading.Thread(target=poll_health, daemon=True)
        poller.start()
        print(f"renaming {a.files:,} files into landing/burst/day=01 ...", flush=True)
        t0 = time.monotonic()
        dst = base / "landing/burst/day=01"
        for n in names:
            os.rename(base / "staging" / n, dst / n)
        t_renamed = time.monotonic() - t0
        db = base / "state/hivehook.db"
        while archived(db) < a.files:
            if proc.poll() is not None:
                sys.exit("bench: the daemon exited; see " + str(base / "daemon.log"))
            if time.monotonic() - t0 > a.timeout:
                sys.exit(f"bench: only {archived(db):,} of {a.files:,} archived after {a.timeout:.0f}s")
            time.sleep(0.2)
        t_all = time.monotonic() - t0
        stop.set()
        poller.join()
        stall = metric(port, "hivehook_event_loop_max_stall_seconds") or 0.0
        overflows = metric(port, "hivehook_watch_overflows_total") or 0.0
        proc.terminate()
        proc.wait(timeout=60)
        log.seek(0)
        rescans = [(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                   for m in re.finditer(r"scan of landing done: (\d+) files in (\d+) ms \((\d+) slices\)", log.read())]
        longest_rescan = max((ms for _, ms, _ in rescans), default=0)
        res = {
            "files": a.files, "renamed_in_s": round(t_renamed, 2), "all_archived_in_s": round(t_all, 2),
            "files_per_s": round(a.files / t_all), "overflows": int(overflows), "rescans": len(rescans),
            "longest_rescan_ms": longest_rescan, "longest_loop_stall_ms": round(stall * 1000, 1),
            "stall_before_burst_ms": round(stall_before * 1000, 1),
            "healthz_polls": polls, "healthz_not_200": bad,
        }
        print(f"overflow burst: {a.files:,} files renamed in {t_renamed:.1f}s, all archived after {t_all:.1f}s "
              f"({res['files_per_s']:,} files/s); {res['overflows']} queue overflows, {len(rescans)} rescans")
        print(f"  longest event-loop stall: {res['longest_loop_stall_ms']} ms")
        print(f"  longest rescan (wall time, walked in slices): {longest_rescan} ms"
              + (f" = {longest_rescan / max(res['longest_loop_stall_ms'], 0.1):.0f}x the longest stall"
                 if longest_rescan else " (no rescan happened: the queue did not overflow)"))
        print(f"  /healthz: {bad} of {polls} polls not 200")
        if a.json:
            pathlib.Path(a.json).parent.mkdir(parents=True, exist_ok=True)
            pathlib.Path(a.json).write_text(json.dumps(res, indent=2) + "\n")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
