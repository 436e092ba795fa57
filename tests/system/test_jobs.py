"""Rules fire real jobs, black box through the real daemon (`run` or `scan`): the S3-event payload
and Lambda handlers, hostile names, timeouts that kill whole process trees, huge output, failures
and retries on the backoff schedule, workers/concurrency/FIFO, fan-out, and rules hot reload."""
import datetime
import hashlib
import json
import os
import pathlib
import re
import signal
import threading
import time
import unittest
import urllib.parse

from harness import SANITIZED, Deployment, wait_until

PY = "/usr/bin/python3"
SUPPORT = pathlib.Path(__file__).resolve().parent / "jobs_support"
RECJOB = SUPPORT / "recjob.py"
ARGDUMP = SUPPORT / "argdump.py"
FORKER = SUPPORT / "forker.py"
HANDLERS = SUPPORT / "handlers"
TIME_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def parse_time_ms(text):
    dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return round(dt.timestamp() * 1000)


def rec_log(path):
    """recjob.py's log: [(what, ns, rule, key, rest)]."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        what, ns, rule, rest = line.split(" ", 3)
        key, _, extra = rest.partition(" ")
        out.append((what, int(ns), rule, key, extra))
    return out


def max_overlap(entries, rule=None):
    """The most runs alive at once, from start/end lines (an end sorts before a start at the same ns)."""
    points = [(ns, 0 if what == "end" else 1) for what, ns, r, _, _ in entries if rule is None or r == rule]
    alive = best = 0
    for _, is_start in sorted(points):
        alive += 1 if is_start else -1
        best = max(best, alive)
    return best


def pid_gone(pid):
    """Gone or a zombie (dead, waiting for whoever inherited it to reap it)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(l.startswith("State:") and "Z" in l.split()[1] for l in f)
    except FileNotFoundError:
        return True


class Jobs(unittest.TestCase):
    def tearDown(self):
        if getattr(self, "d", None):
            self.d.cleanup()

    def runs(self, *extra):
        return json.loads(self.d.cli("runs", "--json", "--limit", "0", *extra, check=True).stdout)

    def state_of(self, key):
        rows = self.d.query("SELECT state FROM objects WHERE key=? ORDER BY id DESC LIMIT 1", key)
        return rows[0][0].decode() if rows else None

    def wait_state(self, key, state, timeout=30):
        wait_until(lambda: self.state_of(key) == state, timeout=timeout,
                   message=f"{key} {state} (is {self.state_of(key)})")

    # --- the payload ------------------------------------------------------------------------------
    def test_lambda_handler_gets_the_s3_event_and_its_result_is_stored(self):
        self.d = d = Deployment("")
        out = d.dir / "out"
        out.mkdir()
        d.write_rules(f"""\
            rules:
              - name: s3-handler
                match: {{prefix: t/}}
                job:
                  lambda: {{handler: s3handler.lambda_handler, code: "{HANDLERS}"}}
                  timeout: 20s
                retries: 0
              - name: boom
                match: {{prefix: e/}}
                job: {{lambda: {{handler: s3handler.boom, code: "{HANDLERS}"}}}}
                retries: 0
              - name: bad-input
                match: {{prefix: x/}}
                job: {{lambda: {{handler: s3handler.bad_input, code: "{HANDLERS}"}}}}
                retries: 3
              - name: args
                match: {{prefix: p/}}
                job:
                  command: [{PY}, "{ARGDUMP}", "{out}", "{{path}}", "{{key}}", "{{bucket}}", "{{name}}",
                            "{{table}}", "{{partition.day}}", "{{run_id}}", "{{attempt}}", "lit{{{{x}}}}", "{{nope}}"]
                retries: 0
            """)
        keys = ["t/with space.csv", "t/plus+sign.csv", "t/pct%41%2F%.csv", "t/ünï côdé ☃ 日本.csv",
                "t/day=2024-03-15/x y+z.csv"]
        contents = {k: f"content of {k}\n".encode() + os.urandom(8).hex().encode() for k in keys}
        for k in keys:
            d.drop(k, contents[k])
        d.drop("p/day=2024-03-15/a b.csv", b"abc")
        d.drop("e/a b.csv")
        d.drop("x/a.csv")
        r = d.cli("scan")
        self.assertEqual(r.returncode, 1, r.stderr)
        boom = self.runs("--key", "e/", "--output")
        self.assertEqual([r["state"] for r in boom], ["failed"])
        self.assertIn("Traceback", boom[0]["stderr_tail"])
        self.assertIn("ValueError: cannot parse e/a+b.csv", boom[0]["stderr_tail"])
        self.assertEqual([(r["state"], r["exit_code"]) for r in self.runs("--key", "x/")], [("failed", 65)])

        runs = {r["key"]: r for r in self.runs()}
        for k in keys:
            run = runs[k]
            self.assertEqual(run["state"], "succeeded", run)
            res = run["result"]
            self.assertEqual(res["key"], k, "unquote_plus of s3.object.key gives the key back")
            self.assertEqual(res["content"], contents[k].decode())
            rec = res["record"]
            self.assertEqual(rec["eventVersion"], "2.1")
            self.assertEqual(rec["eventSource"], "aws:s3")
            self.assertEqual(rec["eventName"], "ObjectCreated:Put")
            self.assertRegex(rec["eventTime"], TIME_MS)
            self.assertEqual(rec["s3"]["bucket"]["name"], "landing")
            self.assertEqual(res["bucket"], "landing")
            obj = rec["s3"]["object"]
            self.assertEqual(obj["size"], len(contents[k]))
            self.assertEqual(obj["eTag"], hashlib.md5(contents[k]).hexdigest())
            self.assertNotIn(" ", obj["key"], "S3 encodes a space as '+'")
            self.assertEqual(res["hivehook"]["key"], k)
            self.assertEqual(res["hivehook"]["rule"], "s3-handler")
            self.assertEqual(res["hivehook"]["run_id"], run["run_id"])
            self.assertEqual(res["hivehook"]["attempt"], 1)
            env = res["env"]
            self.assertEqual(env["HIVEHOOK_KEY"], k)
            self.assertEqual(env["HIVEHOOK_PATH"], str(d.landing / k))
            self.assertEqual(env["HIVEHOOK_BUCKET"], "landing")
            self.assertEqual(env["HIVEHOOK_TABLE"], "t")
            self.assertEqual(env["HIVEHOOK_RULE"], "s3-handler")
            self.assertEqual(env["HIVEHOOK_RUN_ID"], run["run_id"])
            self.assertEqual(env["HIVEHOOK_ATTEMPT"], "1")
            self.assertNotIn("HIVEHOOK_RESULT", env, "a Lambda handler's result is its return value")
            ctx = res["context"]
            self.assertEqual(ctx["function_name"], "s3-handler")
            self.assertEqual(ctx["aws_request_id"], run["run_id"])
            self.assertTrue(0 < ctx["remaining_ms"] <= 20000, ctx)
            self.assertIn("s3-handler", ctx["invoked_function_arn"])
        self.assertEqual(runs["t/plus+sign.csv"]["result"]["record"]["s3"]["object"]["key"], "t/plus%2Bsign.csv")
        self.assertEqual(runs["t/with space.csv"]["result"]["record"]["s3"]["object"]["key"], "t/with+space.csv")
        part = runs["t/day=2024-03-15/x y+z.csv"]["result"]
        self.assertEqual(part["env"]["HIVEHOOK_PART_DAY"], "2024-03-15")
        self.assertEqual(part["hivehook"]["partition"], {"day": "2024-03-15"})

        # placeholders: one argv element each, substituted in place, never re-split
        (dump,) = [json.loads(p.read_text()) for p in out.glob("*.json")]
        argv = [bytes.fromhex(a).decode() for a in dump["argv_hex"]]
        prun = runs["p/day=2024-03-15/a b.csv"]
        self.assertEqual(argv, [str(d.landing / "p/day=2024-03-15/a b.csv"), "p/day=2024-03-15/a b.csv", "landing",
                                "a b.csv", "p", "2024-03-15", prun["run_id"], "1", "lit{x}", "{nope}"])

        # two arrivals at one key: the sequencer increases, as S3's does per key
        k = "t/with space.csv"
        d.drop(k, b"second version")
        self.assertEqual(d.cli("scan").returncode, 0)
        seqs = [r["result"]["record"]["s3"]["object"]["sequencer"] for r in self.runs("--key", k)]
        self.assertEqual(len(seqs), 2)
        self.assertGreater(int(seqs[1], 16), int(seqs[0], 16))
        self.assertEqual(len(seqs[0]), len(seqs[1]))

    def test_hostile_names_reach_the_job_as_one_argument_and_in_the_json(self):
        self.d = d = Deployment("")
        out = d.dir / "out"
        out.mkdir()
        pwned = d.dir / "pwned"
        d.write_rules(f"""\
            rules:
              - name: dump
                match: {{prefix: t/}}
                job: {{command: [{PY}, "{ARGDUMP}", "{out}", "{{key}}", "{{name}}"]}}
                retries: 0
            """)
        names = [
            b"t/$(touch " + bytes(pwned) + b").csv", b"t/`touch " + bytes(pwned) + b"`.csv", b"t/a;touch pwned;.csv",
            b"t/new\nline.csv", b"t/quote'single\".csv", b"t/-rf --help.csv", b"t/star*?[x].csv",
            b"t/{path}{{run_id}}.csv", b"t/bad\xff\xfeutf8.csv", b"t/tab\there.csv", b"t/\\back\\slash.csv",
            b"t/pct%00%2e%2E.csv", b"t/ plus+ space .csv", "t/ünï ☃.csv".encode(),
        ]
        for n in names:
            d.drop(n, n)
        r = d.cli("scan")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(pwned.exists())
        self.assertFalse((d.dir / "rules/pwned").exists())
        seen = {}
        for p in out.glob("*.json"):
            rec = json.loads(p.read_text())
            argv = [bytes.fromhex(a) for a in rec["argv_hex"]]
            self.assertEqual(len(argv), 2, argv)
            key = argv[0]
            self.assertEqual(argv[1], key.rsplit(b"/", 1)[1])
            self.assertEqual(bytes.fromhex(rec["env_hex"]["HIVEHOOK_KEY"]), key)
            s3key = rec["stdin"]["Records"][0]["s3"]["object"]["key"]
            self.assertEqual(urllib.parse.unquote_to_bytes(s3key.replace("+", " ")), key, "s3.object.key is exact")
            self.assertEqual(rec["stdin"]["hivehook"]["key"], key.decode("utf-8", "replace"))
            seen[key] = rec
        self.assertEqual(sorted(seen), sorted(names))

    # --- process control --------------------------------------------------------------------------
    def test_timeout_kills_the_job_and_its_grandchild(self):
        self.d = d = Deployment("")
        pidfile = d.dir / "pids"
        d.write_rules(f"""\
            rules:
              - name: hang
                match: {{prefix: t/}}
                job: {{command: [{PY}, "{FORKER}", "{pidfile}"], timeout: 1s}}
                retries: 0
            """)
        d.drop("t/a.csv")
        r = d.cli("scan", timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        (run,) = self.runs()
        self.assertEqual(run["state"], "timed_out")
        self.assertIn("timed out", run["error"])
        self.assertEqual(len(d.events("run.timed_out")), 1)
        self.assertEqual(d.files(d.quarantine), [b"t/a.csv", b"t/a.csv.error.json"])
        parent, grandchild = map(int, pidfile.read_text().split())
        wait_until(lambda: pid_gone(parent) and pid_gone(grandchild), timeout=10,
                   message="the job and its grandchild gone")

    def test_leftover_grandchild_is_killed_when_the_job_exits(self):
        # docs/job-contract.md: a run ends with its process; what it left in its group is killed,
        # and the pipes it held open do not hold the run open.
        self.d = d = Deployment("")
        pidfile = d.dir / "pids"
        d.write_rules(f"""\
            rules:
              - name: leaver
                match: {{prefix: t/}}
                job:
                  command: [/bin/sh, -c, 'sleep 1000 & echo $$$$ $$! > "$0.tmp" && mv "$0.tmp" "$0"', "{pidfile}"]
                  timeout: 30s
                retries: 0
            """)
        d.drop("t/a.csv")
        r = d.cli("scan", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        (run,) = self.runs()
        self.assertEqual(run["state"], "succeeded")
        self.assertLess(run["duration_ms"], 5000)
        self.assertEqual(d.files(d.archive), [b"t/a.csv"])
        _, grandchild = map(int, pidfile.read_text().split())
        wait_until(lambda: pid_gone(grandchild), timeout=10, message="leftover killed")

    def test_one_gigabyte_of_output(self):
        self.d = d = Deployment(f"""\
            rules:
              - name: loud
                match: {{prefix: t/}}
                job:
                  command: [{PY}, -c, "import os, sys\\nb = b'y' * (1 << 20)\\nfor _ in range(1024): sys.stdout.buffer.write(b)\\nsys.stderr.buffer.write(os.urandom(200000))"]
                  timeout: 60s
                retries: 0
            """)
        d.start()
        d.drop("t/a.csv")
        self.wait_state("t/a.csv", "archived", timeout=60)
        with open(f"/proc/{d.proc.pid}/status") as f:
            hwm_kb = int(next(l for l in f if l.startswith("VmHWM:")).split()[1])
        if not SANITIZED:  # ASan's shadow memory is not the daemon's
            self.assertLess(hwm_kb, 100 * 1024, "daemon memory stays bounded")
        ((out_len, err_len, out_tail),) = d.query(
            "SELECT length(stdout_tail), length(stderr_tail), substr(stdout_tail, 1, 16) FROM runs")
        self.assertLessEqual(out_len, 64 * 1024)
        self.assertGreater(out_len, 0)
        self.assertLessEqual(err_len, 64 * 1024)
        self.assertEqual(out_tail, b"y" * 16)
        (run,) = self.runs("--output")  # binary garbage in a tail does not break the CLI
        self.assertEqual(run["state"], "succeeded")
        self.assertEqual(run["stdout_tail"], "y" * out_len)
        self.assertEqual(d.stop(), 0)

    def test_stdin_closed_early_and_missing_commands(self):
        self.d = d = Deployment(f"""\
            rules:
              - name: closer
                match: {{prefix: c/}}
                job: {{command: [{PY}, -c, "import os, time; os.close(0); time.sleep(0.2)"]}}
                retries: 0
              - name: ignorer
                match: {{prefix: i/}}
                job: {{command: [/bin/true]}}
                retries: 0
              - name: missing
                match: {{prefix: m/}}
                job: {{command: [no-such-command-hivehook-test, "{{path}}"]}}
              - name: missing-abs
                match: {{prefix: n/}}
                job: {{command: [/nonexistent/bin/tool]}}
            """)
        d.start()
        for k in ("c/a.csv", "i/a.csv", "m/a.csv", "n/a.csv"):
            d.drop(k)
        self.wait_state("c/a.csv", "archived")
        self.wait_state("i/a.csv", "archived")
        self.wait_state("m/a.csv", "quarantined")
        self.wait_state("n/a.csv", "quarantined")
        self.assertIsNone(d.proc.poll(), "daemon alive")
        runs = {r["key"]: r for r in self.runs()}
        self.assertEqual(len(self.runs("--key", "m/")), 1, "a missing command is not retried")
        self.assertIn("command not found", runs["m/a.csv"]["error"])
        self.assertIn("no-such-command-hivehook-test", runs["m/a.csv"]["error"])
        self.assertIn("/nonexistent/bin/tool", runs["n/a.csv"]["error"])
        err = json.loads((d.quarantine / "m/a.csv.error.json").read_text())
        self.assertIn("command not found", err["failed_runs"][0]["error"])
        # still working afterwards
        d.drop("i/b.csv")
        self.wait_state("i/b.csv", "archived")
        self.assertEqual(d.stop(), 0)

    def test_exit_65_fails_at_once_and_other_exits_retry_on_the_backoff_schedule(self):
        initial, cap = 200, 400
        self.d = d = Deployment(f"""\
            rules:
              - name: dataerr
                match: {{prefix: d/}}
                job: {{command: [/bin/sh, -c, "exit 65"]}}
                retries: 3
              - name: flaky
                match: {{prefix: f/}}
                job: {{command: [/bin/sh, -c, "exit 3"]}}
                retries: 3
                backoff: {{initial: {initial}ms, max: {cap}ms}}
            """)
        d.drop("d/a.csv")
        d.drop("f/a.csv")
        self.assertEqual(d.cli("scan", timeout=60).returncode, 1)
        self.assertEqual([r["state"] for r in self.runs("--key", "d/")], ["failed"])
        self.assertEqual(self.state_of("d/a.csv"), "quarantined")
        self.assertEqual(self.state_of("f/a.csv"), "quarantined")

        runs = d.query("SELECT run_id, attempt, started_at, ended_at, exit_code FROM runs WHERE key='f/a.csv' ORDER BY attempt")
        self.assertEqual([(a, e) for _, a, _, _, e in runs], [(1, 3), (2, 3), (3, 3), (4, 3)])
        sched = {r: json.loads(dt) for r, dt in d.query(
            "SELECT run_id, detail FROM events WHERE event='run.retry_scheduled' AND key='f/a.csv'")}
        self.assertEqual(len(sched), 3)
        for i in range(3):
            run_id, _, _, ended, _ = runs[i]
            nxt_started = runs[i + 1][2]
            base = min(cap, initial * 2 ** i)
            detail = sched[run_id]
            # the delay drawn lies within the policy: "equal jitter" in [base/2, base]
            self.assertGreaterEqual(detail["delay_ms"], base // 2, detail)
            self.assertLessEqual(detail["delay_ms"], base, detail)
            at = parse_time_ms(detail["at"])
            self.assertAlmostEqual(at - ended, detail["delay_ms"], delta=50)
            # the next attempt started at `at`, not before (timer), and not long after
            self.assertGreaterEqual(nxt_started, at - 5)
            self.assertLess(nxt_started - ended, base + 1500)
            self.assertGreaterEqual(nxt_started - ended, base // 2 - 5)

    # --- scheduling -------------------------------------------------------------------------------
    def test_workers_and_concurrency_are_never_exceeded(self):
        self.d = d = Deployment("", config_extra="workers: 3\n")
        log = d.dir / "runs.log"
        d.write_rules(f"""\
            rules:
              - name: limited
                match: {{prefix: a/}}
                job: {{command: [{PY}, "{RECJOB}", "{log}", "0.3"]}}
                concurrency: 2
              - name: free
                match: {{prefix: b/}}
                job: {{command: [{PY}, "{RECJOB}", "{log}", "0.3"]}}
            """)
        for i in range(6):
            d.drop(f"a/f{i}.csv")
            d.drop(f"b/f{i}.csv")
        self.assertEqual(d.cli("scan", timeout=60).returncode, 0)
        entries = rec_log(log)
        self.assertEqual(len(entries), 24)
        self.assertLessEqual(max_overlap(entries), 3, "workers")
        self.assertLessEqual(max_overlap(entries, "limited"), 2, "concurrency")
        self.assertGreaterEqual(max_overlap(entries), 2, "jobs do run in parallel")

    def test_fifo_within_a_rule_with_concurrency_1(self):
        self.d = d = Deployment("")
        log = d.dir / "runs.log"
        d.write_rules(f"""\
            rules:
              - name: daily
                match: {{prefix: c/}}
                job: {{command: [{PY}, "{RECJOB}", "{log}", "0.05"]}}
                concurrency: 1
            """)
        (d.landing / "c").mkdir()  # one folder: while watching, discovery follows event order
        d.start()
        order = [f"c/day-{n:02d}.csv" for n in (5, 1, 9, 3, 7, 2, 8, 4, 6, 0)]
        for k in order:
            d.drop(k)
        wait_until(lambda: d.count_objects("archived") == len(order), message="all archived")
        starts = [k for what, _, _, k, _ in rec_log(log) if what == "start"]
        discovered = [k.decode() for e, k, _ in d.events("object.discovered")]
        self.assertEqual(discovered, order)
        self.assertEqual(starts, discovered)
        self.assertEqual(max_overlap(rec_log(log)), 1)
        self.assertEqual(d.stop(), 0)

    def test_fan_out_waits_for_every_rule_and_one_failure_quarantines(self):
        self.d = d = Deployment("")
        log = d.dir / "runs.log"
        d.write_rules(f"""\
            rules:
              - name: fast
                match: {{prefix: t/}}
                job: {{command: [{PY}, "{RECJOB}", "{log}", "0"]}}
              - name: slow
                match: {{prefix: t/}}
                job: {{command: [{PY}, "{RECJOB}", "{log}", "0.8", "fail-if:bad"]}}
                retries: 0
            """)
        d.drop("t/good.csv")
        d.drop("t/bad.csv")
        self.assertEqual(d.cli("scan").returncode, 1)
        self.assertEqual(self.state_of("t/good.csv"), "archived")
        self.assertEqual(self.state_of("t/bad.csv"), "quarantined")
        ends = {(r, k): extra for what, _, r, k, extra in rec_log(log) if what == "end"}
        self.assertEqual(len(ends), 4, "both rules ran on both objects")
        self.assertEqual(ends[("slow", "t/good.csv")], "present", "not archived while a rule still ran")
        states = {(r["rule"], r["key"]): r["state"] for r in self.runs()}
        self.assertEqual(states, {("fast", "t/good.csv"): "succeeded", ("slow", "t/good.csv"): "succeeded",
                                  ("fast", "t/bad.csv"): "succeeded", ("slow", "t/bad.csv"): "failed"})
        ev = [(e, k.decode()) for e, k, _ in d.events() if k]
        good = [e for e, k in ev if k == "t/good.csv"]
        self.assertEqual(good.index("object.archived"), len(good) - 1)
        self.assertEqual(good.count("run.succeeded"), 2)

    # --- hot reload -------------------------------------------------------------------------------
    def loaded(self):
        return [dt for _, _, dt in self.d.events("rules.loaded")]

    def test_hot_reload_in_place_by_rename_invalid_and_sighup(self):
        self.d = d = Deployment("")
        rules_file = d.dir / "rules/rules.yaml"

        def rule(name, prefix, extra=""):
            return (f"  - name: {name}\n    match: {{prefix: {prefix}}}\n"
                    f"    job: {{command: [/bin/true], env: {{X: '{extra}'}}}}\n")

        rules_file.write_text("rules:\n" + rule("alpha", "a/"))
        d.start()
        self.assertEqual(len(self.loaded()), 1)
        d.drop("b/early.csv")
        self.wait_state("b/early.csv", "unmatched")

        # 1. an editor saving in place (open, truncate, write, close)
        with open(rules_file, "w") as f:
            f.write("rules:\n" + rule("alpha", "a/") + rule("beta", "b/"))
        wait_until(lambda: len(self.loaded()) == 2, message="reload after in-place save")
        self.assertEqual(self.loaded()[-1]["added"], ["beta"])
        self.assertEqual(self.loaded()[-1]["removed"], [])
        self.assertEqual(self.loaded()[-1]["changed"], [])
        d.drop("b/late.csv")
        self.wait_state("b/late.csv", "archived")
        self.assertEqual(self.state_of("b/early.csv"), "unmatched", "new rules only for objects discovered after")

        # 2. an editor saving by write-then-rename
        d.write_rules("rules:\n" + rule("alpha", "a/", "v2") + rule("gamma", "g/"))
        wait_until(lambda: len(self.loaded()) == 3, message="reload after rename save")
        last = self.loaded()[-1]
        self.assertEqual((last["added"], last["removed"], last["changed"]), (["gamma"], ["beta"], ["alpha"]))
        d.drop("g/x.csv")
        self.wait_state("g/x.csv", "archived")

        # 3. an invalid edit: rejected with file:line:col, the old rules stay in force
        with open(rules_file, "w") as f:
            f.write("rules:\n" + rule("alpha", "a/") + "  - name: Bad Name!\n    match: {prefix: z/\n")
        wait_until(lambda: d.events("rules.rejected"), message="rules.rejected")
        (rej,) = [dt for _, _, dt in d.events("rules.rejected")]
        self.assertTrue(any(re.search(r"rules\.yaml:\d+:\d+", e) for e in rej["errors"]), rej)
        with open(rules_file, "w") as f:  # valid YAML, invalid rule
            f.write("rules:\n" + rule("alpha", "a/") + "  - name: delta\n    match: {prefix: d/}\n    job: {command: [/bin/true]}\n    retries: lots\n")
        wait_until(lambda: len(d.events("rules.rejected")) == 2, message="second rules.rejected")
        rej = d.events("rules.rejected")[-1][2]
        self.assertTrue(any(re.search(r"rules\.yaml:8:\d+", e) for e in rej["errors"]), rej)
        self.assertEqual(len(self.loaded()), 3)
        d.drop("g/y.csv")
        self.wait_state("g/y.csv", "archived")
        d.drop("d/y.csv")
        self.wait_state("d/y.csv", "unmatched")

        # 4. SIGHUP reloads: write through a hard link outside the watched folder (no inotify hint)
        link = d.dir / "link.yaml"
        os.link(rules_file, link)
        with open(link, "r+") as f:
            f.truncate(0)
            f.write("rules:\n" + rule("alpha", "a/") + rule("delta", "d/"))
        time.sleep(0.4)  # give a (wrong) reload the chance to happen; asserted just below
        self.assertEqual(len(self.loaded()), 3, "a write the watcher cannot see")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: len(self.loaded()) == 4, message="reload on SIGHUP")
        self.assertEqual(self.loaded()[-1]["added"], ["delta"])
        self.assertEqual(self.loaded()[-1]["removed"], ["gamma"])
        d.drop("d/z.csv")
        self.wait_state("d/z.csv", "archived")
        self.assertEqual(d.stop(), 0)

    def test_reload_under_load_loses_nothing_and_leaves_runs_in_flight_alone(self):
        self.d = d = Deployment("", config_extra="workers: 4\n")
        log = d.dir / "runs.log"
        rules_file = d.dir / "rules/rules.yaml"

        def rules(version):
            return f"""\
rules:
  - name: load
    match: {{prefix: l/}}
    job:
      command: [{PY}, "{RECJOB}", "{log}", "0.15"]
      env: {{VERSION: "{version}"}}
      timeout: {10 + version}s
  - name: extra-{version}
    match: {{prefix: x{version}/}}
    job: {{builtin: noop}}
"""
        rules_file.write_text(rules(0))
        d.start()
        keys = [f"l/p={i % 5}/f{i:03d}.csv" for i in range(80)]

        def flow():
            for k in keys:
                d.drop(k)
                time.sleep(0.02)

        t = threading.Thread(target=flow)
        t.start()
        try:
            for v in range(1, 7):
                wait_until(lambda: d.events("run.started"), message="runs in flight")
                if v % 2:
                    with open(rules_file, "w") as f:
                        f.write(rules(v))
                else:
                    d.write_rules(rules(v))
                wait_until(lambda: len(self.loaded()) == v + 1, message=f"reload {v}")
                self.assertEqual(self.loaded()[-1]["changed"], ["load"])
        finally:
            t.join()
        wait_until(lambda: d.count_objects("archived") == len(keys), timeout=60, message="all archived")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.files(d.landing), [])
        states = d.query("SELECT state, COUNT(*) FROM runs GROUP BY state")
        self.assertEqual(states, [(b"succeeded", len(keys))])
        self.assertEqual(d.events("run.interrupted"), [])
        self.assertEqual(d.events("rules.rejected"), [])
        self.assertEqual(sorted(k for what, _, _, k, _ in rec_log(log) if what == "end"), sorted(keys))

    def test_a_removed_rule_keeps_its_concurrency_for_the_runs_it_still_owes(self):
        self.d = d = Deployment("", config_extra="workers: 4\n")
        log = d.dir / "runs.log"
        d.write_rules(f"""\
            rules:
              - name: serial
                match: {{prefix: s/}}
                job: {{command: [{PY}, "{RECJOB}", "{log}", "0.2"]}}
                concurrency: 1
            """)
        (d.landing / "s").mkdir()
        d.start()
        keys = [f"s/f{i}.csv" for i in range(6)]
        for k in keys:
            d.drop(k)
        wait_until(lambda: len(d.events("object.discovered")) == len(keys), message="all discovered")
        # renamed away: the objects already discovered still run under the rule they matched
        d.write_rules("rules:\n  - name: other\n    match: {prefix: o/}\n    job: {builtin: noop}\n")
        wait_until(lambda: len(self.loaded()) == 2, message="reload")
        wait_until(lambda: d.count_objects("archived") == len(keys), message="all archived")
        entries = rec_log(log)
        self.assertEqual(len(entries), 2 * len(keys))
        self.assertEqual(max_overlap(entries, "serial"), 1, "concurrency: 1 still holds")
        self.assertEqual([k for what, _, _, k, _ in entries if what == "start"], keys, "and FIFO")
        self.assertEqual(d.stop(), 0)

    def test_reload_with_a_single_rules_file(self):
        self.d = d = Deployment("rules: []\n")
        d.config.write_text(d.config.read_text().replace("rules: rules\n", "rules: rules/rules.yaml\n"))
        rules_file = d.dir / "rules/rules.yaml"
        d.start()
        with open(rules_file, "w") as f:
            f.write("rules:\n  - name: one\n    match: {prefix: a/}\n    job: {builtin: noop}\n")
        wait_until(lambda: len(self.loaded()) == 2, message="in-place reload")
        self.assertEqual(self.loaded()[-1]["added"], ["one"])
        d.write_rules("rules:\n  - name: two\n    match: {prefix: a/}\n    job: {builtin: noop}\n")
        wait_until(lambda: len(self.loaded()) == 3, message="rename reload")
        self.assertEqual((self.loaded()[-1]["added"], self.loaded()[-1]["removed"]), (["two"], ["one"]))
        (d.dir / "rules/other.yaml").write_text("rules: [")  # not the rules file: no reload, no rejection
        d.drop("a/x.csv")
        self.wait_state("a/x.csv", "archived")
        self.assertEqual(d.events("rules.rejected"), [])
        self.assertEqual(len(self.loaded()), 3)
        self.assertEqual(d.stop(), 0)

    # --- restart ----------------------------------------------------------------------------------
    def test_a_scheduled_retry_survives_kill_9(self):
        self.d = d = Deployment("""\
            rules:
              - name: second-time-lucky
                match: {prefix: r/}
                job: {command: [/bin/sh, -c, 'test "$HIVEHOOK_ATTEMPT" -ge 2']}
                retries: 2
                backoff: {initial: 2s, max: 2s}
            """)
        d.start()
        d.drop("r/a.csv")
        wait_until(lambda: d.events("run.retry_scheduled"), message="retry scheduled")
        self.assertEqual(self.state_of("r/a.csv"), "pending")
        d.kill9()
        d.start()
        self.wait_state("r/a.csv", "archived")
        runs = d.query("SELECT attempt, state, started_at FROM runs ORDER BY id")
        self.assertEqual([(a, s) for a, s, _ in runs], [(1, b"failed"), (2, b"succeeded")])
        at = parse_time_ms(d.events("run.retry_scheduled")[0][2]["at"])
        self.assertGreaterEqual(runs[1][2], at - 5, "the retry waited for its time across the restart")
        self.assertEqual(d.stop(), 0)


class Settle(unittest.TestCase):
    def tearDown(self):
        self.d.cleanup()

    def test_settle_waits_until_a_file_written_in_place_is_quiet(self):
        self.d = d = Deployment("")
        seen = d.dir / "seen"
        d.write_rules(f"""\
            rules:
              - name: settled
                match: {{prefix: t/}}
                job: {{command: [/bin/sh, -c, 'cat "$1" >> "$0"', "{seen}", "{{path}}"]}}
                settle: 400ms
            """)
        (d.landing / "t").mkdir()
        d.start()
        path = d.landing / "t/growing.csv"
        # Written in place in three bursts: each close is an IN_CLOSE_WRITE, none is the end.
        for part in (b"a,b\n", b"1,2\n", b"3,4\n"):
            with open(path, "ab") as f:
                f.write(part)
            time.sleep(0.15)
        wait_until(lambda: d.count_objects("archived") == 1, message="archived once settled")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(seen.read_bytes(), b"a,b\n1,2\n3,4\n", "the job saw the whole file, once")
        self.assertEqual(len(d.events("object.discovered")), 1)


if __name__ == "__main__":
    unittest.main()
