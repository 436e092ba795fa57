"""The PostgreSQL state backend, black box: a real server on loopback (tests/support/pg-cluster), the
real daemon. What only PostgreSQL has: the server restarting under a running daemon, the owner lock as
an advisory lock, the byte-transparent database requirement, a masked password. (The rest of the
system suite also runs against PostgreSQL: the system_pg.* tests.)"""
import os
import random
import signal
import subprocess
import time
import unittest

import harness
from harness import Deployment, wait_until


def recording_rules(log):
    return f"""\
    rules:
      - name: record
        match: {{prefix: t/}}
        job:
          command: [/bin/sh, -c, 'sleep 0.01; printf "%s\\0" "$1" >> "$0"', "{log}", "{{key}}"]
          timeout: 30s
    """


class Postgres(unittest.TestCase):
    def setUp(self):
        try:
            harness.pg_server_url()
        except Exception as e:  # no server binaries on this machine
            self.skipTest(f"no PostgreSQL: {e}")

    def tearDown(self):
        if getattr(self, "d", None):
            self.d.cleanup()

    def test_server_restarts_and_kill_9_lose_nothing_and_run_nothing_twice_unless_interrupted(self):
        self.d = d = Deployment("", backend="postgresql")
        log = d.dir / "runs.log"
        d.write_rules(recording_rules(log))
        keys = [f"t/p={i % 5}/f{i:04d}.csv" for i in range(1000)]
        rnd = random.Random(17)
        it = iter(keys)
        d.start()
        exits = []
        for round_ in range(8):
            for k in [next(it, None) for _ in range(100)]:
                if k:
                    d.drop(k)
            time.sleep(rnd.uniform(0.05, 0.3))
            if round_ % 3 == 1:
                harness.pg_restart()  # under the running daemon, mid-flow
                time.sleep(0.3)
                if d.proc.poll() is not None:  # a batch was cut off: it stopped, as a supervisor sees it
                    exits.append(d.stop())
                    d.start()
            else:
                d.kill9()
                d.start()
        for k in it:
            d.drop(k)

        def supervised_progress():  # as systemd's Restart=on-failure would
            if d.proc.poll() is not None:
                exits.append(d.stop())
                d.start()
            return d.count_objects("archived") >= len(keys)
        wait_until(supervised_progress, timeout=180, interval=0.1,
                   message=f"all archived (have {d.count_objects('archived')})")
        self.assertEqual(d.files(d.landing), [])
        self.assertEqual(sorted(os.fsencode(k) for k in keys), d.files(d.archive))
        self.assertEqual(d.query("SELECT key FROM objects WHERE state='archived' GROUP BY key HAVING COUNT(*) > 1"), [])
        self.assertEqual(d.stop(), 0)
        for rc in exits:
            self.assertEqual(rc, 70, "a daemon whose batch was cut off stops with EX_SOFTWARE")
        self.assertEqual(d.query("SELECT COUNT(*) FROM runs WHERE state='started'")[0][0], 0)
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
        self.assertEqual([e["id"] for e in d.audit_lines()], [i for (i,) in d.query("SELECT id FROM events ORDER BY id")])

    def test_status_and_runs_read_the_database_and_mask_the_password(self):
        self.d = d = Deployment("""\
            rules:
              - name: noop
                match: {prefix: t/}
                job: {builtin: noop}
            """, backend="postgresql")
        # trust authentication ignores the password; the URL still carries one to be masked
        with_password = d.pg_url.replace("postgres@", "postgres:s3cret@")
        d.config.write_text(d.config.read_text().replace(d.pg_url, with_password))
        r = d.cli("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"no state DB yet", r.stdout)
        d.start()
        d.drop("t/a.csv")
        wait_until(lambda: d.count_objects("archived") == 1, message="archived")
        r = d.cli("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn(f"running (pid {d.proc.pid}, run)", out)
        self.assertIn("postgres:***@", out)
        self.assertNotIn("s3cret", out + r.stderr.decode())
        r = d.cli("runs", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"t/a.csv", r.stdout)
        second = subprocess.run([harness.BIN, "run", "-c", str(d.config)], capture_output=True, timeout=60)
        self.assertEqual(second.returncode, 2)
        self.assertIn(b"owned by another hivehook", second.stderr)
        self.assertNotIn(b"s3cret", second.stderr)
        self.assertEqual(d.stop(), 0)

    def test_a_database_that_is_not_byte_transparent_is_refused_with_the_fix(self):
        self.d = d = Deployment("rules: []\n", backend="postgresql")
        url = harness.pg_server_url()  # the server's own database: UTF8
        d.config.write_text(d.config.read_text().replace(d.pg_url, url))
        r = d.cli("scan")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"ENCODING 'SQL_ASCII'", r.stderr)


if __name__ == "__main__":
    unittest.main()
