"""The core pipeline, black box: real inotify on real directories, real processes of `hivehook`.
Every landed file is discovered, recorded, run and archived exactly once."""
import json
import os
import random
import signal
import subprocess
import time
import unittest

from harness import Deployment, wait_until

NOOP_RULES = """\
    rules:
      - name: noop
        match: {prefix: t/}
        job: {builtin: noop}
    """


def recording_rules(log):
    # The job appends its key (NUL-terminated) to a log: one O_APPEND write per run.
    return f"""\
    rules:
      - name: record
        match: {{prefix: t/}}
        job:
          command: [/bin/sh, -c, 'printf "%s\\0" "$1" >> "$0"', "{log}", "{{key}}"]
          timeout: 30s
    """


class Pipeline(unittest.TestCase):
    def tearDown(self):
        if getattr(self, "d", None):
            self.d.cleanup()

    def assert_all_archived(self, keys):
        d = self.d
        wait_until(lambda: d.count_objects("archived") >= len(keys), timeout=120,
                   message=f"{len(keys)} objects archived (have {d.count_objects('archived')})")
        self.assertEqual(d.files(d.landing), [], "nothing left in landing")
        archived = d.files(d.archive)
        self.assertEqual(sorted(os.fsencode(k) for k in keys), archived)
        rows = d.query("SELECT key, COUNT(*) FROM objects WHERE state='archived' GROUP BY key HAVING COUNT(*) > 1")
        self.assertEqual(rows, [], "no key archived twice")

    def test_burst_of_10000_files_into_10_partitions(self):
        self.d = d = Deployment(NOOP_RULES)
        for p in range(10):
            (d.landing / f"t/p={p}").mkdir(parents=True)
        d.start()
        keys = [f"t/p={p}/f{i:05d}.csv" for p in range(10) for i in range(1000)]
        for k in keys:
            d.drop(k)
        self.assert_all_archived(keys)
        wait_until(lambda: len(d.audit_lines()) >= len(d.events()), message="audit mirror caught up")
        self.assertEqual(d.stop(), 0)
        # The store and the audit log agree, event for event.
        db_events = d.query("SELECT id, event FROM events ORDER BY id")
        mirror = [(e["id"], e["event"]) for e in d.audit_lines()]
        self.assertEqual([(i, e.decode()) for i, e in db_events], mirror)
        self.assertEqual(len(d.events("object.discovered")), 10000)
        self.assertEqual(len(d.events("object.archived")), 10000)
        audit = d.cli("audit", "--json", check=True).stdout.decode().splitlines()
        self.assertEqual(len(audit), len(db_events))

    def test_200_new_partitions_each_given_10_files_at_once(self):
        self.d = d = Deployment(NOOP_RULES)
        (d.landing / "t").mkdir()
        d.start()
        keys = []
        for p in range(200):
            part = d.landing / f"t/day={p:03d}"
            part.mkdir()
            for i in range(10):
                (part / f"f{i}.csv").write_bytes(b"x")  # written in place: IN_CLOSE_WRITE
                keys.append(f"t/day={p:03d}/f{i}.csv")
        self.assert_all_archived(keys)

    def test_partition_folder_with_500_files_renamed_in(self):
        self.d = d = Deployment(NOOP_RULES)
        (d.landing / "t").mkdir()
        d.start()
        part = d.staging / "day=01"
        part.mkdir()
        for i in range(500):
            (part / f"f{i:03d}.csv").write_bytes(b"x")
        os.rename(part, d.landing / "t/day=01")
        # a whole tree too
        tree = d.staging / "year=2024"
        for m in ("01", "02"):
            (tree / f"month={m}").mkdir(parents=True)
            for i in range(5):
                (tree / f"month={m}/g{i}.csv").write_bytes(b"y")
        os.rename(tree, d.landing / "t/year=2024")
        keys = [f"t/day=01/f{i:03d}.csv" for i in range(500)]
        keys += [f"t/year=2024/month={m}/g{i}.csv" for m in ("01", "02") for i in range(5)]
        self.assert_all_archived(keys)

    @unittest.skipUnless(os.geteuid() == 0, "lowering fs.inotify.max_queued_events needs root")
    def test_forced_overflow_loses_nothing(self):
        self.d = d = Deployment(NOOP_RULES)
        (d.landing / "t").mkdir()
        knob = "/proc/sys/fs/inotify/max_queued_events"
        saved = open(knob).read().strip()
        try:
            with open(knob, "w") as f:
                f.write("32")
            d.start()  # the queue size is fixed when the daemon creates its inotify instance
        finally:
            with open(knob, "w") as f:
                f.write(saved)
        os.kill(d.proc.pid, signal.SIGSTOP)  # the loop cannot read: the kernel queue overflows
        keys = [f"t/f{i:04d}.csv" for i in range(600)]
        try:
            for k in keys:
                d.drop(k)
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        self.assert_all_archived(keys)
        self.assertGreaterEqual(len(d.events("watch.overflow")), 1)
        self.assertGreaterEqual(len(d.events("watch.rescan")), 1)

    def test_kill_9_at_random_moments_while_5000_files_flow_in(self):
        self.d = d = Deployment("")
        log = d.dir / "runs.log"
        d.write_rules(recording_rules(log))
        (d.landing / "t").mkdir()
        keys = [f"t/p={i % 7}/f{i:05d}.csv" for i in range(5000)]
        rnd = random.Random(1234)
        it = iter(keys)
        d.start()
        for _ in range(20):
            # files flow in while the daemon works; then it dies at a random moment
            for k in [next(it, None) for _ in range(250)]:
                if k:
                    d.drop(k)
            time.sleep(rnd.uniform(0.0, 0.3))
            d.kill9()
            d.start()
        for k in it:
            d.drop(k)
        self.assert_all_archived(keys)
        self.assertEqual(d.stop(), 0)
        # Nothing is left started: every run cut off by a kill is recorded as interrupted.
        self.assertEqual(d.query("SELECT COUNT(*) FROM runs WHERE state='started'")[0][0], 0)
        interrupted_runs = d.query("SELECT COUNT(*) FROM runs WHERE state='interrupted'")[0][0]
        self.assertEqual(len(d.events("run.interrupted")), interrupted_runs)
        self.assertGreater(interrupted_runs, 0, "some kills should have caught a run in flight")
        # At-least-once, never more than once per interruption.
        executed = {}
        for k in log.read_bytes().split(b"\0"):
            if k:
                executed[k] = executed.get(k, 0) + 1
        interrupted = {}
        for (k,) in d.query("SELECT key FROM runs WHERE state='interrupted'"):
            interrupted[k] = interrupted.get(k, 0) + 1
        for k in keys:
            kb = k.encode()
            self.assertGreaterEqual(executed.get(kb, 0), 1, k)
            self.assertLessEqual(executed.get(kb, 0), 1 + interrupted.get(kb, 0), k)
        # the audit mirror agrees with the store after all those crashes
        self.assertEqual([e["id"] for e in d.audit_lines()], [i for (i,) in d.query("SELECT id FROM events ORDER BY id")])

    def test_hostile_names_are_processed_and_nothing_is_executed(self):
        self.d = d = Deployment("")
        log = d.dir / "runs.log"
        pwned = d.dir / "pwned"
        d.write_rules(recording_rules(log))
        names = [
            b"t/with space.csv", b"t/quote'single.csv", b't/quote"double.csv', b"t/$(touch " + bytes(pwned) + b").csv",
            b"t/semi;colon.csv", b"t/new\nline.csv", b"t/bad\xff\xfeutf8.csv", b"t/-leading-dash.csv",
            b"t/" + b"n" * 251 + b".csv", "t/région=Île-de-France/日本語 ☃.csv".encode(), b"t/back`tick`.csv",
            b"t/star*and?.csv", b"t/pct%41%2F.csv", b"t/plus+sign.csv",
        ]
        d.start()
        for n in names:
            d.drop(n)
        self.assert_all_archived([os.fsdecode(n) for n in names])
        self.assertFalse(pwned.exists(), "a name was executed")
        runs = set(k for k in log.read_bytes().split(b"\0") if k)
        self.assertEqual(runs, set(names), "every job got its key intact as one argument")

    def test_second_owner_is_refused(self):
        self.d = d = Deployment(NOOP_RULES)
        d.start()
        r = d.cli("scan")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"owned by another hivehook", r.stderr)
        r = d.cli("run", timeout=30)
        self.assertEqual(r.returncode, 2)
        # read-only commands work while the daemon runs
        self.assertEqual(d.cli("status").returncode, 0)
        st = json.loads(d.cli("status", "--json", check=True).stdout)
        self.assertTrue(st["daemon"]["running"])
        self.assertEqual(d.stop(), 0)
        st = json.loads(d.cli("status", "--json", check=True).stdout)
        self.assertFalse(st["daemon"]["running"])

    def test_scan_exit_codes_and_quarantine(self):
        self.d = d = Deployment("""\
            rules:
              - name: check
                match: {prefix: t/}
                job:
                  command: [/bin/sh, -c, 'case "$1" in *bad*) echo "bad row" >&2; exit 65;; esac', sh, "{key}"]
                retries: 0
            """)
        d.drop("t/good.csv")
        r = d.cli("scan")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(d.files(d.archive), [b"t/good.csv"])
        d.drop("t/bad.csv")
        d.drop("t/good2.csv")
        r = d.cli("scan")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(d.files(d.quarantine), [b"t/bad.csv", b"t/bad.csv.error.json"])
        err = json.loads((d.quarantine / "t/bad.csv.error.json").read_text())
        self.assertEqual(err["failed_runs"][0]["exit_code"], 65)
        self.assertIn("bad row", err["failed_runs"][0]["stderr_tail"])
        # The job fixed (the same rule now accepts the file): retry runs the rule that failed again,
        # at once (no daemon runs), and the file is archived.
        d.write_rules(NOOP_RULES.replace("name: noop", "name: check"))
        r = d.cli("retry", "t/bad.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"t/bad.csv", d.files(d.archive))
        self.assertEqual(d.files(d.landing), [])
        self.assertEqual(d.files(d.quarantine), [])
        runs = json.loads(d.cli("runs", "--json", "--key", "t/bad", check=True).stdout)
        self.assertEqual([r["state"] for r in runs], ["failed", "succeeded"])
        failed = json.loads(d.cli("runs", "--failed", "--json", check=True).stdout)
        self.assertEqual(len(failed), 1)

    def test_sigterm_lets_running_jobs_finish(self):
        self.d = d = Deployment("""\
            rules:
              - name: slow
                match: {prefix: t/}
                job: {command: [/bin/sleep, "1"]}
            """)
        d.start()
        d.drop("t/a.csv")
        wait_until(lambda: d.events("run.started"), message="run started")
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        self.assertEqual(d.files(d.archive), [b"t/a.csv"])
        self.assertEqual([e for e, _, _ in d.events() if e.startswith("run.")], ["run.started", "run.succeeded"])
        self.assertEqual(d.events()[-1][0], "daemon.stopped")

    def test_recovery_moves_decided_objects_without_rerunning(self):
        self.d = d = Deployment("")
        log = d.dir / "runs.log"
        d.write_rules(recording_rules(log))
        d.drop("t/a.csv")
        self.assertEqual(d.cli("scan").returncode, 0)
        self.assertEqual(log.read_bytes().count(b"\0"), 1)
        # Simulate a crash after the success was committed but before the move. (Moving the file
        # back changes its ctime, part of its identity; a real crash would not have touched it.)
        os.rename(d.archive / "t/a.csv", d.landing / "t/a.csv")
        d.execute("UPDATE objects SET state='succeeded', final_path=NULL, ctime_ns=?",
                  os.lstat(d.landing / "t/a.csv").st_ctime_ns)
        self.assertEqual(d.cli("scan").returncode, 0)
        self.assertEqual(d.files(d.archive), [b"t/a.csv"])
        self.assertEqual(log.read_bytes().count(b"\0"), 1, "not run again")

    def test_same_content_again_is_a_duplicate_and_never_rerun(self):
        self.d = d = Deployment("")
        log = d.dir / "runs.log"
        d.write_rules(recording_rules(log))
        d.drop("t/a.csv", b"day one\n")
        self.assertEqual(d.cli("scan").returncode, 0)
        # Power loss undid the archive rename: the very file is back in landing.
        os.rename(d.archive / "t/a.csv", d.landing / "t/a.csv")
        self.assertEqual(d.cli("scan").returncode, 0)
        # A re-upload of the same bytes under the same key.
        d.drop("t/a.csv", b"day one\n")
        self.assertEqual(d.cli("scan").returncode, 0)
        self.assertEqual(log.read_bytes().count(b"\0"), 1, "run once only")
        self.assertEqual(len(d.events("object.duplicate")), 2)
        self.assertEqual(d.files(d.landing), [])
        self.assertEqual(d.files(d.archive), [b"t/a.csv"])
        # Different content at the same key is a new object, run, and kept beside the first.
        d.drop("t/a.csv", b"day one, corrected\n")
        self.assertEqual(d.cli("scan").returncode, 0)
        self.assertEqual(log.read_bytes().count(b"\0"), 2)
        archived = d.files(d.archive)
        self.assertEqual(len(archived), 2)
        self.assertIn(b"t/a.csv", archived)

    def test_ignored_symlinks_and_special_files_are_never_touched(self):
        self.d = d = Deployment(NOOP_RULES)
        (d.landing / "t").mkdir()
        target = d.dir / "outside.txt"
        target.write_text("secret")
        # Creating a symlink or a fifo is an IN_CREATE only: the startup scan is what sees them.
        os.symlink(target, d.landing / "t/link.csv")
        os.mkfifo(d.landing / "t/fifo.csv")
        d.start()
        os.rename(d.staging, d.landing / "t/moved-dir")  # a folder moved in is scanned
        d.staging.mkdir()
        os.symlink(target, d.staging / "link2.csv")
        os.rename(d.staging / "link2.csv", d.landing / "t/link2.csv")  # IN_MOVED_TO of a symlink
        d.drop("t/.hidden.csv")
        d.drop("t/partial.csv.part")
        d.drop("t/real.csv")
        wait_until(lambda: d.count_objects("archived") == 1, message="real file archived")
        wait_until(lambda: len(d.events("object.ignored")) >= 5, message="ignored recorded")
        self.assertTrue(os.path.islink(d.landing / "t/link.csv"))
        self.assertTrue(os.path.islink(d.landing / "t/link2.csv"))
        self.assertTrue((d.landing / "t/fifo.csv").exists())
        self.assertTrue((d.landing / "t/.hidden.csv").exists())
        self.assertEqual(target.read_text(), "secret")
        reasons = {e[2]["reason"] for e in d.events("object.ignored")}
        self.assertEqual(reasons, {"ignored name", "symlink", "not a regular file"})

    def test_unmatched_keys_are_recorded_and_left_in_place(self):
        self.d = d = Deployment(NOOP_RULES)
        d.drop("other/x.csv")
        self.assertEqual(d.cli("scan").returncode, 0)
        self.assertEqual(d.files(d.landing), [b"other/x.csv"])
        self.assertEqual(len(d.events("object.unmatched")), 1)
        self.assertEqual(d.cli("scan").returncode, 0)
        self.assertEqual(len(d.events("object.unmatched")), 1, "recorded once, not on every scan")

    def test_audit_follow_prints_new_events_live(self):
        self.d = d = Deployment(NOOP_RULES)
        d.start()
        follower = subprocess.Popen([os.environ.get("HIVEHOOK_BIN"), "audit", "-f", "--json", "-c", str(d.config)],
                                    stdout=subprocess.PIPE)
        try:
            d.drop("t/live.csv")
            seen = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                line = follower.stdout.readline()
                seen.append(json.loads(line)["event"])
                if "object.archived" in seen:
                    break
            self.assertIn("object.discovered", seen)
            self.assertIn("object.archived", seen)
        finally:
            follower.kill()
            follower.wait()


if __name__ == "__main__":
    unittest.main()
