"""The S3 API's benchmark: hivehook's endpoint (the real daemon, processing and archiving every object
it receives) beside s3rver (npm, the local S3 Node users run), same machine, same run, same clients.

Measured, per server:
  small  N PUTs of 1 KiB objects from 8 boto3 threads: objects/s and MB/s (wall time of the batch)
  big    K uploads of a 64 MiB object with boto3's upload_file (8 MiB parts, 10 threads): MB/s
  cli    `aws s3 cp --recursive` of 1,000 files of 1 KiB (Debian's awscli): objects/s, process wall time
and, for hivehook alone (the peer runs no jobs), upload -> job-start latency: sequential 1 KiB PUTs,
from the moment the client starts the request to the run's recorded start (runs.started_at), p50/p99.
hivehook runs twice: with `s3.fsync: true` (the default: an object is on disk before the 200) and
`false` (as s3rver, which never fsyncs). Ratios are hivehook / s3rver: above 1 means hivehook is ahead.

Usage: /usr/bin/python3 bench/s3/bench_s3.py --hivehook BUILD/hivehook [--quick] [--json OUT]
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

HERE = pathlib.Path(__file__).resolve().parent
AWS = "/usr/bin/aws"
MiB = 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit(f"bench/s3: timed out waiting for {what}")


def percentile(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


class Hivehook:
    def __init__(self, binary, fsync):
        self.name = "hivehook" + ("" if fsync else " (fsync: false)")
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-bench-s3-"))
        self.port = free_port()
        self.key, self.secret, self.bucket = "bench", "bench-secret", "landing"
        (self.dir / "rules").mkdir()
        (self.dir / "rules" / "r.yaml").write_text(textwrap.dedent("""\
            rules:
              - name: every-object
                match: {glob: "**"}
                job: {command: [/bin/true]}
                on_success: {action: archive}
            """))
        (self.dir / "hivehook.yaml").write_text(textwrap.dedent(f"""\
            landing: landing
            archive: archive
            quarantine: quarantine
            state: state/hivehook.db
            rules: rules
            workers: 4
            log: {{level: warn}}
            s3: {{listen: "127.0.0.1:{self.port}", access_key_id: {self.key}, secret_access_key: {self.secret},
                  fsync: {"true" if fsync else "false"}}}
            """))
        self.log = open(self.dir / "daemon.log", "wb")
        self.proc = subprocess.Popen([binary, "run", "-c", str(self.dir / "hivehook.yaml")], stdout=self.log,
                                     stderr=self.log)

    def prepare(self, s3):
        pass

    def processed(self):
        con = sqlite3.connect(f"file:{self.dir / 'state/hivehook.db'}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute("SELECT COUNT(*) FROM objects WHERE state='archived'").fetchone()[0]
        finally:
            con.close()

    def run_starts(self):
        con = sqlite3.connect(f"file:{self.dir / 'state/hivehook.db'}?mode=ro", uri=True, timeout=30)
        try:
            return {k: t for k, t in con.execute("SELECT key, MIN(started_at) FROM runs GROUP BY key")}
        finally:
            con.close()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=120)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class S3rver:
    def __init__(self):
        self.name = "s3rver"
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-bench-s3rver-"))
        self.port = free_port()
        self.key = self.secret = "S3RVER"
        self.bucket = "landing"
        exe = HERE / "node_modules" / ".bin" / "s3rver"
        if not exe.exists():
            raise SystemExit("bench/s3: s3rver is not installed (scripts/install-deps --bench)")
        self.log = open(self.dir.parent / (self.dir.name + ".log"), "wb")
        self.proc = subprocess.Popen([str(exe), "-d", str(self.dir), "-a", "127.0.0.1", "-p", str(self.port), "--silent"],
                                     stdout=self.log, stderr=self.log)

    def prepare(self, s3):
        s3.create_bucket(Bucket=self.bucket)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def client(server):
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{server.port}", aws_access_key_id=server.key,
                        aws_secret_access_key=server.secret, region_name="us-east-1",
                        config=Config(signature_version="s3v4", max_pool_connections=16,
                                      retries={"max_attempts": 1}, s3={"addressing_style": "path"}))


def measure(server, args, work):
    s3 = client(server)
    wait_until(lambda: s3.list_buckets() is not None, 30, f"{server.name} to answer")
    server.prepare(s3)
    out = {}

    small = b"s" * 1024
    n = args.small
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=server.bucket, Key=f"small/{i:06d}.bin", Body=small), range(n)))
    dt = time.perf_counter() - t0
    out["small"] = {"objects": n, "seconds": dt, "objects_per_s": n / dt, "mb_per_s": n * 1024 / MiB / dt}

    big = work / "big.bin"
    cfg = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB, max_concurrency=10)
    t0 = time.perf_counter()
    for i in range(args.big):
        s3.upload_file(str(big), server.bucket, f"big/{i}.bin", Config=cfg)
    dt = time.perf_counter() - t0
    out["big"] = {"objects": args.big, "seconds": dt, "mb_per_s": args.big * 64 / dt}

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": server.key, "AWS_SECRET_ACCESS_KEY": server.secret, "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    t0 = time.perf_counter()
    subprocess.run([AWS, "--endpoint-url", f"http://127.0.0.1:{server.port}", "s3", "cp", "--recursive", "--only-show-errors",
                    str(work / "files"), f"s3://{server.bucket}/cli/"], env=env, check=True)
    dt = time.perf_counter() - t0
    out["cli"] = {"objects": args.files, "seconds": dt, "objects_per_s": args.files / dt}

    if isinstance(server, Hivehook):
        total = n + args.big + args.files
        wait_until(lambda: server.processed() >= total, 600, "every object to be archived")
        # Upload -> job start, one upload at a time (the pipeline idle in between).
        starts = {}
        for i in range(args.latency):
            key = f"latency/{i:05d}.csv"
            starts[key] = time.time()
            s3.put_object(Bucket=server.bucket, Key=key, Body=small)
            wait_until(lambda: key in server.run_starts(), 30, f"{key} to start")
        runs = server.run_starts()
        lat = [(runs[k] - starts[k] * 1000.0) for k in starts]
        out["latency_ms"] = {"uploads": len(lat), "p50": percentile(lat, 50), "p99": percentile(lat, 99),
                             "max": max(lat)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hivehook", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    args.small, args.big, args.files, args.latency = (500, 1, 200, 50) if args.quick else (2000, 4, 1000, 200)

    work = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-bench-s3-work-"))
    try:
        (work / "big.bin").write_bytes(os.urandom(64 * MiB))
        (work / "files").mkdir()
        for i in range(args.files):
            (work / "files" / f"f{i:05d}.csv").write_bytes(os.urandom(1024))
        results = {}
        for make in (lambda: Hivehook(args.hivehook, True), lambda: Hivehook(args.hivehook, False), S3rver):
            server = make()
            try:
                print(f"bench/s3: {server.name} ...", flush=True)
                results[server.name] = measure(server, args, work)
            finally:
                server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    peer = results["s3rver"]
    print()
    print(f"S3 upload throughput ({os.cpu_count()} cores; boto3 1 KiB PUTs x{args.small} from 8 threads, "
          f"{args.big} x 64 MiB upload_file, aws s3 cp --recursive of {args.files} x 1 KiB)")
    print(f"| server | 1 KiB objects/s | 1 KiB MB/s | 64 MiB MB/s | aws cp --recursive objects/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['small']['objects_per_s']:.0f} | {r['small']['mb_per_s']:.2f} | {r['big']['mb_per_s']:.0f} | "
              f"{r['cli']['objects_per_s']:.0f} |")
    for name, r in results.items():
        if name == "s3rver":
            continue
        print(f"ratio {name} / s3rver: 1 KiB x{r['small']['objects_per_s'] / peer['small']['objects_per_s']:.2f}, "
              f"64 MiB x{r['big']['mb_per_s'] / peer['big']['mb_per_s']:.2f}, "
              f"aws cp x{r['cli']['objects_per_s'] / peer['cli']['objects_per_s']:.2f}")
    for name, r in results.items():
        if "latency_ms" in r:
            l = r["latency_ms"]
            print(f"{name}: upload -> job start over {l['uploads']} sequential 1 KiB PUTs: p50 {l['p50']:.1f} ms, "
                  f"p99 {l['p99']:.1f} ms, max {l['max']:.1f} ms")
    if args.json:
        pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
