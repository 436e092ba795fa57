"""`batch:` on the real daemon (DESIGN.md "Orchestration", issue 14): a group completed by its
marker, by a count and by quiet time runs its job once, after the members' own rules ended, with
every member in `Records[]`; a group whose members failed is skipped (Airflow's all_success);
kill -9 while a batch is open loses no member and runs it once; a batch job cut off by kill -9
runs again once, and never twice once it succeeded."""
import json
import unittest

import harness
from harness import Deployment, wait_until


def rules(when, member_fails=False, batch_job=None):
    """A per-object `load` rule on sales/day=DD/*.csv (exit 1, no retries, when `member_fails`), and
    the `daily` batch rule over sales/day=DD/* grouped by day, whose job saves its stdin event as
    runs/RUN_ID.json."""
    load = "exit 1" if member_fails else "cat >/dev/null"
    job = batch_job or 'cat > "$0/$HIVEHOOK_RUN_ID.json"'
    return f"""\
        rules:
          - name: load
            match: {{glob: "sales/day=*/*.csv"}}
            job: {{command: [/bin/sh, -c, '{load}'], timeout: 30s}}
            retries: 0
          - name: daily
            match: {{glob: "sales/day=*/*"}}
            batch: {{group: "{{table}}/{{partition.day}}", when: {when}}}
            job: {{command: [/bin/sh, -c, '{job}', "RUNS", "{{group}}"], timeout: 30s}}
            retries: 2
            backoff: {{initial: 100ms, max: 200ms}}
        """


class Batches(unittest.TestCase):
    def setUp(self):
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.cleanup()

    def deploy(self, when, **kw):
        d = Deployment("")
        self.d = d
        self.runs = d.dir / "runs"
        self.runs.mkdir()
        d.write_rules(rules(when, **kw).replace("RUNS", str(self.runs)))
        return d

    def batch_events(self):
        return sorted(json.loads(p.read_text()) for p in self.runs.glob("*.json"))

    def keys_of(self, event):
        """The members' keys: hivehook.objects[].key, and Records[] (URL-encoded as S3 sends them)."""
        keys = sorted(o["key"] for o in event["hivehook"]["objects"])
        self.assertEqual(sorted(r["s3"]["object"]["key"] for r in event["Records"]),
                         [k.replace("=", "%3D") for k in keys])
        return keys

    def test_a_marker_completes_the_group_and_the_job_runs_once_after_the_loads(self):
        d = self.deploy("{marker: _SUCCESS}")
        d.start()
        d.drop("sales/day=01/a.csv")
        d.drop("sales/day=01/b.csv")
        d.drop("sales/day=02/a.csv")
        wait_until(lambda: len(d.events("batch.joined")) == 3, message="three members joined")
        self.assertEqual(list(self.runs.glob("*.json")), [], "no marker yet: nothing runs")
        d.drop("sales/day=01/_SUCCESS")
        wait_until(lambda: len(list(self.runs.glob("*.json"))) == 1, message="day 1's batch run")
        wait_until(lambda: d.events("batch.succeeded"), message="batch.succeeded")
        (event,) = [json.loads(p.read_text()) for p in self.runs.glob("*.json")]
        self.assertEqual(self.keys_of(event), ["sales/day=01/a.csv", "sales/day=01/b.csv"])
        self.assertEqual(event["hivehook"]["group"], "sales/01")
        self.assertEqual(event["hivehook"]["reason"], "marker")
        for o in event["hivehook"]["objects"]:
            self.assertEqual(o["state"], "archived", "the loads ended before the batch ran")
            self.assertTrue(o["path"].startswith(str(d.archive)), o)
        # Every load ended before the batch run started.
        events = d.events()
        last_member_end = max(i for i, (e, k, _) in enumerate(events)
                              if e == "object.archived" and k and k.startswith(b"sales/day=01/") and not k.endswith(b"_SUCCESS"))
        first_batch_run = min(i for i, (e, _, det) in enumerate(events) if e == "batch.started")
        self.assertLess(last_member_end, first_batch_run)
        self.assertEqual(self.d.count_objects("archived"), 4, "the marker is archived with the data")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(len(d.events("batch.started")), 1)

    def test_g6_ended_batches_are_counted_by_outcome_in_metrics(self):
        """Issue 14 retest 3 G6: a skipped batch runs nothing, so no run metric saw it;
        hivehook_batches_total{rule,outcome} counts every batch that ended."""
        port = harness.free_port()
        d = Deployment("", config_extra=f"metrics: 127.0.0.1:{port}\n")
        self.d = d
        self.runs = d.dir / "runs"
        self.runs.mkdir()
        d.write_rules(rules("{marker: _SUCCESS}", member_fails=True).replace("RUNS", str(self.runs)))
        d.start()
        d.drop("sales/day=01/a.csv")  # its load fails: the day's batch is skipped (all_success)
        d.drop("sales/day=01/_SUCCESS")
        wait_until(lambda: d.events("batch.skipped"), message="day 1 skipped")
        metrics = harness.scrape(port)
        self.assertEqual(metrics.get('hivehook_batches_total{rule="daily",outcome="skipped"}'), 1.0)
        self.assertNotIn('hivehook_batches_total{rule="daily",outcome="succeeded"}', metrics)
        loaded = len(d.events("rules.loaded"))
        d.write_rules(rules("{marker: _SUCCESS}").replace("RUNS", str(self.runs)))
        wait_until(lambda: len(d.events("rules.loaded")) > loaded, message="the rules reloaded")
        d.drop("sales/day=02/a.csv")
        d.drop("sales/day=02/_SUCCESS")
        wait_until(lambda: d.events("batch.succeeded"), message="day 2 succeeded")
        metrics = harness.scrape(port)
        self.assertEqual(metrics.get('hivehook_batches_total{rule="daily",outcome="succeeded"}'), 1.0)
        self.assertEqual(metrics.get('hivehook_batches_total{rule="daily",outcome="skipped"}'), 1.0)
        self.assertEqual(d.stop(), 0)

    def test_a_count_completes_the_group_once(self):
        d = self.deploy("{count: 3}")
        d.start()
        for name in ("a", "b"):
            d.drop(f"sales/day=05/{name}.csv")
        wait_until(lambda: d.count_objects("archived") == 2, message="two loaded")
        self.assertEqual(d.events("batch.completed"), [])
        d.drop("sales/day=05/c.csv")
        wait_until(lambda: d.events("batch.succeeded"), message="batch.succeeded")
        (event,) = self.batch_events()
        self.assertEqual(self.keys_of(event), [f"sales/day=05/{n}.csv" for n in "abc"])
        self.assertEqual(d.events("batch.completed")[0][2]["reason"], "count")
        d.drop("sales/day=05/d.csv")  # a fourth: the group's next batch
        wait_until(lambda: len(d.events("batch.opened")) == 2, message="generation 2 opened")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(len(self.batch_events()), 1)

    def test_quiet_time_completes_the_group(self):
        d = self.deploy("{quiet: 1500ms}")
        d.start()
        d.drop("sales/day=07/a.csv")
        d.drop("sales/day=07/b.csv")
        wait_until(lambda: d.events("batch.succeeded"), message="batch.succeeded after the quiet time")
        (event,) = self.batch_events()
        self.assertEqual(self.keys_of(event), ["sales/day=07/a.csv", "sales/day=07/b.csv"])
        completed = d.events("batch.completed")[0][2]
        self.assertEqual((completed["reason"], completed["members"]), ("quiet", 2))
        self.assertEqual(d.stop(), 0)

    def test_a_group_whose_members_failed_is_skipped(self):
        d = self.deploy("{marker: _SUCCESS}", member_fails=True)
        d.start()
        d.drop("sales/day=09/a.csv")
        d.drop("sales/day=09/_SUCCESS")
        wait_until(lambda: d.events("batch.skipped"), message="batch.skipped")
        skipped = d.events("batch.skipped")[0][2]
        self.assertEqual(skipped["failed"], ["sales/day=09/a.csv"])
        self.assertEqual(d.count_objects("quarantined"), 1)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(self.batch_events(), [], "all_success: the job did not run")
        self.assertEqual(d.events("batch.started"), [])

    def test_kill9_while_a_batch_is_open_loses_nothing_and_runs_it_once(self):
        d = self.deploy("{count: 3}")
        d.start()
        d.drop("sales/day=11/a.csv")
        d.drop("sales/day=11/b.csv")
        wait_until(lambda: len(d.events("batch.joined")) == 2, message="two members joined")
        d.kill9()
        d.drop("sales/day=11/c.csv")  # lands while the daemon is down
        d.start()
        wait_until(lambda: d.events("batch.succeeded"), message="batch.succeeded after the restart")
        (event,) = self.batch_events()
        self.assertEqual(self.keys_of(event), [f"sales/day=11/{n}.csv" for n in "abc"])
        self.assertEqual(d.stop(), 0)
        self.assertEqual(len(d.events("batch.started")), 1)
        self.assertEqual(len(d.events("batch.opened")), 1)

    def test_a_batch_job_cut_off_by_kill9_runs_again_once(self):
        # The job records each start, then waits for a go file the test writes after the kill.
        d = self.deploy("{count: 1}", batch_job='echo start >> "$0/starts"; '
                                                 'while [ ! -e "$0/go" ]; do sleep 0.05; done; '
                                                 'cat > "$0/$HIVEHOOK_RUN_ID.json"')
        d.start()
        d.drop("sales/day=13/a.csv")
        starts = self.runs / "starts"
        wait_until(lambda: starts.exists() and len(starts.read_text().split()) == 1, message="the batch job started")
        d.kill9()
        (self.runs / "go").write_text("")
        d.start()
        wait_until(lambda: d.events("batch.succeeded"), message="batch.succeeded after the restart")
        self.assertEqual(len(d.events("batch.resumed")), 1)
        d.kill9()
        d.start()  # succeeded: never again
        self.assertEqual(d.stop(), 0)
        succeeded = d.query("SELECT COUNT(*) FROM runs WHERE rule='daily' AND state='succeeded'")[0][0]
        self.assertEqual(succeeded, 1)
        self.assertEqual(len(d.events("batch.succeeded")), 1)

    def test_g3_an_offline_replay_into_a_batch_says_its_job_runs_under_run(self):
        """Issue 14 retest 3, G3: an offline replay that rebuilds a day's batch exited 0 saying
        only "joins batch daily", as if the batch job had run; it runs at the daemon's next start."""
        d = self.deploy("{marker: _SUCCESS}")
        d.start()
        d.drop("sales/day=01/a.csv")
        d.drop("sales/day=01/_SUCCESS", b"")
        wait_until(lambda: len(d.events("batch.succeeded")) == 1, message="the day's batch ran")
        self.assertEqual(d.stop(), 0)
        r = d.cli("replay", "--rule", "daily", "--key", "sales/day=01/", check=True)
        out = r.stdout.decode()
        self.assertIn("→ joins batch daily", out)
        self.assertIn("the batch job (daily) runs under `hivehook run`, not here: once complete, at the daemon's "
                      "next start (`hivehook status` shows the batch)", out)
        self.assertEqual(len(list(self.runs.glob("*.json"))), 1, "the replay itself runs no batch job")
        # A dry run says nothing more (the plan only).
        dry = d.cli("replay", "--rule", "daily", "--key", "sales/day=01/", "--dry-run", check=True).stdout.decode()
        self.assertNotIn("runs under `hivehook run`", dry)
        d.start()
        wait_until(lambda: len(d.events("batch.succeeded")) == 2, message="the rebuilt batch ran at the next start")
        self.assertEqual(d.stop(), 0)

if __name__ == "__main__":
    unittest.main()
