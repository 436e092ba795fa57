"""`hivehook retry --schedule RULE` (issue 14 G12, "Pipelines, not just triggers"): a `schedule:`
rule's firing that failed for good runs again on the operator's word, as Airflow's "clear" of a
failed task — for the same scheduled time (the Scheduled Event's `time`, HIVEHOOK_SCHEDULED_TIME),
as a new run, audited as `schedule.retried` with who asked. Through the running daemon (the CLI
asks its API; POST /api/v1/retry {"schedules": [...]}) and with no daemon (the CLI runs the firing
itself); refused for a rule that is not a schedule rule, does not exist, or whose latest firing did
not fail. `status` shows the firing failed, then succeeded. Real daemon, real HTTP, the real CLI."""
import datetime
import json
import textwrap
import time
import unittest

from harness import wait_until
from test_console import TOKEN, ConsoleDeployment, http

LOAD_RULE = """\
    rules:
      - name: load
        match: {prefix: t/}
        job: {builtin: noop}
    """


class ScheduleRetryTest(unittest.TestCase):
    def setUp(self):
        self.d = ConsoleDeployment(rules=LOAD_RULE)
        self.runs_dir = self.d.dir / "runs"
        self.runs_dir.mkdir()
        self.flag = self.d.dir / "flag"

    def tearDown(self):
        self.d.cleanup()

    def nightly_rules(self, at):
        """A schedule firing once a day, at `at` (UTC, six fields: seconds first); its job keeps its
        event and HIVEHOOK_SCHEDULED_TIME and fails until the flag file exists (retries: 0)."""
        job = ('cat > "$0/$HIVEHOOK_RUN_ID.json" && printf %s "$HIVEHOOK_SCHEDULED_TIME" > "$0/$HIVEHOOK_RUN_ID.env"'
               ' && test -e "$1"')
        return textwrap.dedent(LOAD_RULE) + "\n".join([
            "  - name: nightly",
            f'    schedule: "{at.second} {at.minute} {at.hour} * * *"',
            "    retries: 0",
            "    job:",
            f"""      command: [/bin/sh, -c, '{job}', "{self.runs_dir}", "{self.flag}"]""",
            "      timeout: 30s",
            ""])

    def rule_events(self, event):
        rows = self.d.query("SELECT detail FROM events WHERE event = ? AND rule = 'nightly' ORDER BY id", event)
        return [json.loads(r[0]) if r[0] else None for r in rows]

    def nightly_runs(self):
        """(run_id, attempt, state) of the schedule's runs, oldest first."""
        text = lambda v: v.decode() if isinstance(v, bytes) else v
        return [(text(i), a, text(s)) for i, a, s in
                self.d.query("SELECT run_id, attempt, state FROM runs WHERE rule = 'nightly' ORDER BY id")]

    def fail_one_firing(self):
        """The daemon runs; the schedule is added for a time a few seconds ahead, fires and fails
        for good. Returns that scheduled time (RFC 3339, ms)."""
        d = self.d
        d.start()
        at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=10)).replace(microsecond=0)
        d.write_rules(self.nightly_rules(at))
        added = wait_until(lambda: self.rule_events("schedule.added"), timeout=30, message="schedule.added")
        expected = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.assertEqual(added[0]["next"], expected, "the reload came before the time")
        failed = wait_until(lambda: self.rule_events("schedule.failed"), timeout=60, message="schedule.failed")
        self.assertEqual(failed[0]["scheduled_time"], expected)
        return expected

    def schedule_status(self):
        out = json.loads(self.d.cli("status", "--json", check=True).stdout)
        return next(s for s in out["schedule_times"] if s["rule"] == "nightly")

    def assert_refusals(self):
        d = self.d
        r = d.cli("retry", "--schedule", "load")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn(b"rule 'load' is not a schedule rule", r.stderr)
        r = d.cli("retry", "--schedule", "nigthly")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn(b"no rule named 'nigthly' is in force (did you mean 'nightly'?)", r.stderr)
        r = d.cli("retry", "--schedule", "nightly", "t/a.csv")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"not more than one", r.stderr)

    def assert_retried_run(self, scheduled, by):
        """Two runs for one scheduled time: the failed one, then the retry's, which succeeded."""
        runs = self.nightly_runs()
        self.assertEqual([(a, s) for _, a, s in runs], [(1, "failed"), (1, "succeeded")], runs)
        ids = [i for i, _, _ in runs]
        self.assertNotEqual(ids[0], ids[1], "a new run id")
        for run_id in ids:
            event = json.loads((self.runs_dir / f"{run_id}.json").read_text())
            self.assertEqual(event["time"], scheduled[:19] + "Z", "the same scheduled time in the event")
            self.assertEqual(event["hivehook"]["scheduled_time"], scheduled)
            self.assertEqual(event["id"], run_id)
            self.assertEqual((self.runs_dir / f"{run_id}.env").read_text(), scheduled)
        retried = self.rule_events("schedule.retried")
        self.assertEqual(len(retried), 1, retried)
        self.assertEqual(retried[0]["scheduled_time"], scheduled)
        self.assertEqual(retried[0]["failed_run_id"], ids[0])
        self.assertEqual(retried[0]["by"], by, "who asked, unmasked")
        self.assertEqual(len(self.rule_events("schedule.fired")), 1, "fired once; the retry is not a firing")

    def test_retry_through_the_running_daemon(self):
        d = self.d
        scheduled = self.fail_one_firing()
        s = self.schedule_status()
        self.assertEqual((s["last_fired_for"], s["last_run_state"], s["open"]), (scheduled, "failed", False))
        text = d.cli("status", check=True).stdout.decode()
        self.assertIn(f"schedule: nightly: last fired for {scheduled} (failed: `hivehook retry --schedule nightly` "
                      "runs it again)", text)

        self.assert_refusals()
        # The API: refusals are 400 (not a schedule rule in force) and the body as strict as ever.
        status, body = http(d.port, "POST", "/api/v1/retry", body={"schedules": ["nope"]}, token=TOKEN)
        self.assertEqual(status, 400, body)
        self.assertIn("no rule named 'nope'", json.loads(body)["error"])
        status, body = http(d.port, "POST", "/api/v1/retry", body={"schedules": ["nightly"], "keys": ["t/a"]}, token=TOKEN)
        self.assertEqual(status, 400, body)
        status, body = http(d.port, "POST", "/api/v1/retry", body={"schedules": ["nightly"], "who": "me"}, token=TOKEN)
        self.assertEqual(status, 400, body)
        self.assertIn("unknown field 'who'", json.loads(body)["error"])

        # A dry run says what would run and runs nothing.
        r = d.cli("retry", "--schedule", "nightly", "--dry-run", check=True)
        self.assertIn(f"would retry schedule nightly: the firing for {scheduled}, which failed in run".encode(), r.stdout)
        plan = json.loads(d.cli("retry", "--schedule", "nightly", "--dry-run", "--json", check=True).stdout)
        self.assertEqual((plan["retried"], plan["dry_run"], plan["schedules"][0]["scheduled_time"]), (1, True, scheduled))
        self.assertEqual(len(self.nightly_runs()), 1)

        self.flag.touch()
        r = d.cli("retry", "--schedule", "nightly", check=True)
        self.assertIn(f"retrying schedule nightly: the firing for {scheduled}".encode(), r.stdout)
        self.assertIn(b"the daemon runs them now", r.stdout)
        wait_until(lambda: [r for r in self.nightly_runs() if r[2] == "succeeded"], timeout=30,
                   message="the retried run succeeded")
        wait_until(lambda: not self.schedule_status()["open"], timeout=30, message="the firing closed")
        self.assert_retried_run(scheduled, "api from 127.0.0.1 with the daemon's local token (a local user's CLI)")
        s = self.schedule_status()
        self.assertEqual((s["last_fired_for"], s["last_run_state"]), (scheduled, "succeeded"))
        self.assertIn(f"schedule: nightly: last fired for {scheduled} (succeeded), next",
                      d.cli("status", check=True).stdout.decode())

        # Its latest firing succeeded now: refused (CLI exit 2, API 409).
        r = d.cli("retry", "--schedule", "nightly")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn(b"did not fail", r.stderr)
        status, body = http(d.port, "POST", "/api/v1/retry", body={"schedules": ["nightly"]}, token=TOKEN)
        self.assertEqual(status, 409, body)
        self.assertEqual(d.stop(), 0)

    def test_retry_with_no_daemon_running(self):
        d = self.d
        scheduled = self.fail_one_firing()
        self.assertEqual(d.stop(), 0)
        s = self.schedule_status()
        self.assertEqual((s["last_run_state"], s["open"]), ("failed", False))
        self.assert_refusals()
        r = d.cli("retry", "--schedule", "nightly", "--dry-run", check=True)
        self.assertIn(f"would retry schedule nightly: the firing for {scheduled}".encode(), r.stdout)

        # Still failing: the offline retry runs it, it fails again (exit 1), and it is failed again.
        r = d.cli("retry", "--schedule", "nightly")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(self.nightly_runs()), 2)
        self.assertEqual(self.schedule_status()["last_run_state"], "failed")

        self.flag.touch()
        r = d.cli("retry", "--schedule", "nightly")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"retrying schedule nightly: the firing for {scheduled}".encode(), r.stdout)
        runs = self.nightly_runs()
        self.assertEqual([state for _, _, state in runs], ["failed", "failed", "succeeded"])
        retried = self.rule_events("schedule.retried")
        self.assertEqual(len(retried), 2)
        self.assertTrue(all(e["scheduled_time"] == scheduled and e["by"].startswith("cli: user ") for e in retried), retried)
        for run_id, _, _ in runs:
            self.assertEqual((self.runs_dir / f"{run_id}.env").read_text(), scheduled)
            self.assertEqual(json.loads((self.runs_dir / f"{run_id}.json").read_text())["time"], scheduled[:19] + "Z")
        s = self.schedule_status()
        self.assertEqual((s["last_fired_for"], s["last_run_state"], s["open"]), (scheduled, "succeeded", False))
        self.assertEqual(d.query("SELECT COUNT(*) FROM runs WHERE state='started'")[0][0], 0)

        # Not failed any more: refused, nothing runs.
        r = d.cli("retry", "--schedule", "nightly")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn(b"did not fail", r.stderr)
        self.assertEqual(len(self.nightly_runs()), 3)

        # The daemon started again does not run the retried firing once more.
        d.start()
        time.sleep(1.5)
        self.assertEqual(len(self.nightly_runs()), 3)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
