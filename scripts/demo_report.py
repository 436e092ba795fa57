#!/usr/bin/python3
"""Summaries `make demo` prints: rows loaded/rejected, timing, why files were quarantined, webhooks received."""
import json
import pathlib
import sys
from collections import Counter
from datetime import datetime


def _ms(rfc3339):
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000


def rows(runs_json):
    runs = json.loads(runs_json)
    total, rejected, files = Counter(), Counter(), 0
    for r in runs:
        res = r.get("result") or {}
        if r["rule"] != "transactions-etl" or r["state"] != "succeeded" or "rows_read" not in res:
            continue
        files += 1
        for k in ("rows_read", "inserted", "updated", "unchanged", "rejected_total"):
            total[k] += res.get(k, 0)
        for reason, n in (res.get("rejected") or {}).items():
            rejected[reason] += n
    print(f"  transaction files loaded: {files}")
    for k in ("rows_read", "inserted", "updated", "unchanged", "rejected_total"):
        print(f"  {k + ':':16}{total[k]:>10,}")
    for reason, n in sorted(rejected.items()):
        print(f"    rejected as {reason + ':':18}{n:>7,}")
    retried = Counter(r["key"] for r in runs if r["state"] != "succeeded")
    for key, n in sorted(retried.items()):
        print(f"  {n} failed attempt(s): {key}")
    # Timing: from the first run's start to the last run's end, every rule included (the
    # dimension loads, the transaction days, the file that failed).
    # (Runs of the demo's clocks are not file loads: scheduled runs have no key; the heartbeat is
    # the demo's expect: partition; a daily-summary run is keyed by its batch's group.)
    runs = [r for r in runs if r.get("key") and r["rule"] not in ("heartbeat", "daily-summary")]
    ended = [r for r in runs if r.get("ended")]
    if ended:
        span_ms = max(_ms(r["ended"]) for r in ended) - min(_ms(r["started"]) for r in runs)
        keys = len({r["key"] for r in runs})
        span = max(span_ms, 1) / 1000
        print(f"  timing: {keys} files in {span:.2f} s from the first job's start to the last one's end "
              f"= {keys / span:,.1f} files/s, {total['rows_read'] / span:,.0f} rows/s")


def quarantine(folder):
    """Each quarantined key with its failed runs, the job's last stderr lines in full (the object's
    absolute path, already named by the key, shortened to its basename)."""
    for path in sorted(pathlib.Path(folder).rglob("*.error.json")):
        e = json.loads(path.read_text())
        print(f"  {e['key']}")
        for r in e["failed_runs"]:
            code = r.get("exit_code")
            kind = " (bad input: not retried)" if code == 65 else ""
            print(f"    rule {r['rule']}, attempt {r['attempt']}: {r.get('error') or r['state']}{kind}")
            lines = [l for l in r.get("stderr_tail", "").splitlines() if l.strip()][-3:]
            for line in lines:
                for word in line.split():
                    if word.rstrip(":").endswith("/" + e["key"]):
                        line = line.replace(word.rstrip(":"), pathlib.PurePosixPath(e["key"]).name)
                print("      " + line)


def shorten(width):
    """stdin to stdout, each line cut to `width` characters (not bytes) with an ellipsis."""
    for line in sys.stdin.read().splitlines():
        print(line if len(line) <= width else line[:width - 1] + "…")


def webhooks(log):
    path = pathlib.Path(log)
    if not path.exists():
        print("  (none)")
        return
    for line in path.read_text().splitlines():
        r = json.loads(line)
        b = json.loads(r["body"])
        headers = {k.lower(): v for k, v in r["headers"].items()}
        signed = "x-hivehook-signature" in headers
        about = b.get("key") or b.get("partition") or b.get("scheduled_time") or ""  # expect.* / schedule.*
        print(f"  HTTP {r['status']}  {b['event']:16} {about}  (signed: {signed})")


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "rows":
        rows(sys.stdin.read())
    elif what == "quarantine":
        quarantine(sys.argv[2])
    elif what == "shorten":
        shorten(int(sys.argv[2]))
    elif what == "webhooks":
        webhooks(sys.argv[2])
