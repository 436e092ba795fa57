#!/usr/bin/python3
"""Summaries `make demo` prints: rows loaded/rejected, why files were quarantined, webhooks received."""
import json
import pathlib
import sys
from collections import Counter


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


def quarantine(folder):
    for path in sorted(pathlib.Path(folder).rglob("*.error.json")):
        e = json.loads(path.read_text())
        for r in e["failed_runs"]:
            why = " ".join(r["stderr_tail"].split())[:150]
            print(f"  {e['key']}: rule {r['rule']}, exit {r.get('exit_code')}: {why}")


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
        print(f"  HTTP {r['status']}  {b['event']:16} {b['key']}  (signed: {signed})")


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "rows":
        rows(sys.stdin.read())
    elif what == "quarantine":
        quarantine(sys.argv[2])
    elif what == "webhooks":
        webhooks(sys.argv[2])
