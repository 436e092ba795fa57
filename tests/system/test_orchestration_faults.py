"""Faults a new user found in orchestration (issue 14), each pinned on the real daemon with real
inotify and real child processes:
- after kill -9, expectations and batches were evaluated before the start-up scan admitted what
  landed while the daemon was down (a false `expect.late`, a batch released short and split);
- `requires:` released day=10 before day=9 (string order of partition values);
- `status` said "0 waiting" while tasks were queued (`waiting` is the requires:/after: state);
- a schedule that missed several times caught up with the OLDEST missed time, not the latest;
- a batch whose marker arrived before its data files ran with no member."""
import datetime
import json
import math
import random
import time
import unittest

from harness import Deployment, wait_until


def utc_ms(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


class OrchestrationFaults(unittest.TestCase):
    def tearDown(self):
        if getattr(self, "d", None):
            self.d.cleanup()

    def deploy(self, rules):
        self.d = Deployment("")
        self.runs = self.d.dir / "runs"
        self.runs.mkdir()
        self.d.write_rules(rules.replace("RUNS", str(self.runs)))
        return self.d

    def batch_events(self):
        return [json.loads(p.read_text()) for p in sorted(self.runs.glob("*.json"))]

    def test_restart_after_kill9_evaluates_expectations_and_batches_only_after_the_startup_scan(self):
        d = self.deploy("""\
            rules:
              - name: minutes
                match: {prefix: t/}
                job: {builtin: noop}
                expect:
                  every: 1m
                  by: "00:00:01"
                  partition: "year={yyyy}/month={mm}/day={dd}/hour={hh}/minute={mi}"
              - name: load
                match: {glob: "sales/day=*/*.csv"}
                job: {builtin: noop}
              - name: daily
                match: {glob: "sales/day=*/*"}
                batch: {group: "{table}/{partition.day}", when: {quiet: 5s}}
                job: {command: [/bin/sh, -c, 'cat > "$0/$HIVEHOOK_RUN_ID.json"', "RUNS"], timeout: 30s}
            """)
        d.start()
        wait_until(lambda: d.events("expect.added"), message="expectation armed")
        d.drop("sales/day=01/a.csv")
        d.drop("sales/day=01/b.csv")
        wait_until(lambda: len(d.events("batch.joined")) == 2, message="two members joined")
        d.kill9()
        # While the daemon is down: this minute's expected partition lands, and two more members.
        now = datetime.datetime.now(datetime.timezone.utc)
        partition = now.strftime("year=%Y/month=%m/day=%d/hour=%H/minute=%M")
        d.drop(f"t/{partition}/f.csv")
        d.drop("sales/day=01/c.csv")
        d.drop("sales/day=01/d.csv")
        # Down past that minute's deadline (its end + 1 s) and past the batch's quiet time.
        deadline = now.replace(second=0, microsecond=0).timestamp() + 61
        wait_until(lambda: time.time() > deadline + 0.5, timeout=75, message="the deadline passed while down")
        d.start()
        wait_until(lambda: d.events("batch.succeeded"), timeout=30, message="the batch ran after the restart")
        arrived = [e for e in d.events("expect.arrived")]
        late = [e for e in d.events("expect.late") if e[2]["partition"] == partition]
        self.assertEqual(late, [], "the partition had arrived while the daemon was down: not late")
        self.assertEqual(arrived, [], "nothing was late, so nothing arrives late")
        (event,) = self.batch_events()
        keys = sorted(o["key"] for o in event["hivehook"]["objects"])
        self.assertEqual(keys, [f"sales/day=01/{n}.csv" for n in "abcd"], "one batch with every member")
        self.assertEqual(len(d.events("batch.opened")), 1, "not split into two generations")
        self.assertEqual(d.stop(), 0)

    def test_requires_releases_day_9_before_day_10_not_in_string_order(self):
        d = self.deploy("""\
            rules:
              - name: dim
                match: {prefix: dim/}
                job: {builtin: noop}
              - name: etl
                match: {glob: "tx/day=*/*.csv"}
                requires: [dim]
                concurrency: 1
                job: {command: [/bin/sh, -c, 'echo "$1" >> "$0/order.log"', "RUNS", "{partition.day}"], timeout: 30s}
            """)
        d.start()
        days = ["8", "9", "10", "11", "99", "100"]  # unpadded: byte order puts 10 before 9, 100 before 11
        shuffled = days[:]
        random.Random(9).shuffle(shuffled)
        for day in shuffled:
            d.drop(f"tx/day={day}/x.csv")
        wait_until(lambda: len(d.events("task.waiting")) == len(days), message="all waiting")
        status = json.loads(d.cli("status", "--json", check=True).stdout)
        self.assertEqual(status["waiting"][0]["first_key"], "tx/day=8/x.csv", "the first released, in key order")
        d.drop("dim/d.csv")
        wait_until(lambda: d.count_objects("archived") == len(days) + 1, message="everything loaded")
        order = (self.runs / "order.log").read_text().split()
        self.assertEqual(order, days, "released in numeric order of the day")
        released = [k.decode() for _, k, _ in d.events("task.released")]
        self.assertEqual(released, [f"tx/day={x}/x.csv" for x in days])
        # `partitions` (and the API and console behind it) list the days in the same order.
        cells = json.loads(d.cli("partitions", "--json", check=True).stdout)
        self.assertEqual([c["partition"] for c in cells if c["table"] == "tx"], [f"day={x}" for x in days])
        self.assertEqual(d.stop(), 0)

    def test_status_names_queued_running_retrying_and_waiting_with_their_counts(self):
        d = self.deploy("""\
            rules:
              - name: never
                match: {prefix: never/}
                job: {builtin: noop}
              - name: held
                match: {prefix: held/}
                requires: [never]
                job: {builtin: noop}
              - name: slow
                match: {prefix: slow/}
                concurrency: 1
                job: {command: [/bin/sh, -c, 'while [ ! -e "$0/go" ]; do sleep 0.05; done', "RUNS"], timeout: 60s}
              - name: flaky
                match: {prefix: flaky/}
                retries: 3
                backoff: {initial: 10m, max: 10m}
                job: {command: [/bin/sh, -c, 'exit 1'], timeout: 30s}
            """)
        d.start()
        for k in ("held/a.csv", "held/b.csv", "slow/a.csv", "slow/b.csv", "slow/c.csv", "flaky/a.csv"):
            d.drop(k)
        wait_until(lambda: len(d.events("task.waiting")) == 2 and len(d.events("run.started")) >= 2
                   and d.events("run.retry_scheduled"), message="held, running, queued and retrying")
        status = json.loads(d.cli("status", "--json", check=True).stdout)
        self.assertEqual({k: status["now"][k] for k in ("running", "queued", "retry_wait", "waiting")},
                         {"running": 1, "queued": 2, "retry_wait": 1, "waiting": 2})
        text = d.cli("status", check=True).stdout.decode()
        self.assertRegex(text, r"now: +\d+ in landing being processed, 0 in quarantine, 1 running, 2 queued for a worker, "
                               r"1 in retry backoff, 2 waiting on after:/requires:\n")
        (self.runs / "go").write_text("")
        self.assertEqual(d.stop(), 0)

    def test_catch_up_after_kill9_runs_once_for_the_latest_missed_time_not_the_oldest(self):
        d = self.deploy("""\
            rules:
              - name: tick
                schedule: "* * * * * *"
                job: {builtin: noop}
            """)
        d.start()
        fired = lambda: [det for _, _, det in d.events("schedule.fired")]
        wait_until(lambda: len(fired()) >= 2, message="two firings")
        d.kill9()
        last_before = max(utc_ms(f["scheduled_time"]) for f in fired())
        killed_at = time.time()
        wait_until(lambda: time.time() > killed_at + 3.5, message="three seconds of downtime")
        restart_at = time.time()
        before = len(fired())
        d.start()
        catch_up = wait_until(lambda: [f for f in fired()[before:] if f["catch_up"]], message="the catch-up firing")
        self.assertEqual(len(catch_up), 1, "once, however many were missed")
        at = utc_ms(catch_up[0]["scheduled_time"])
        self.assertGreaterEqual(at, math.floor(restart_at), "the latest missed second, not the oldest")
        self.assertEqual(utc_ms(catch_up[0]["missed_since"]), last_before + 1, "it says since when it missed")
        self.assertEqual(d.stop(), 0)

    def test_a_marker_that_arrives_before_its_data_files_never_runs_an_empty_batch(self):
        d = self.deploy("""\
            rules:
              - name: load
                match: {glob: "sales/day=*/*.csv"}
                job: {command: [/bin/sh, -c, 'cat >/dev/null'], timeout: 30s}
              - name: daily
                match: {glob: "sales/day=*/*"}
                batch: {group: "{table}/{partition.day}", when: {marker: _SUCCESS}}
                job: {command: [/bin/sh, -c, 'cat > "$0/$HIVEHOOK_RUN_ID.json"', "RUNS"], timeout: 30s}
            """)
        d.start()
        d.drop("sales/day=03/_SUCCESS")
        wait_until(lambda: d.events("batch.completed") and d.count_objects("archived") == 1,
                   message="the marker completed its group and was archived")
        text = wait_until(lambda: (lambda t: t if "waiting for its first data file" in t else None)(
            d.cli("status", check=True).stdout.decode()), message="status says the batch waits for a member")
        self.assertIn("batch:    daily: sales/03: 0 objects, complete (marker), waiting for its first data file", text)
        self.assertEqual(d.events("batch.started"), [], "no empty batch")
        self.assertEqual(self.batch_events(), [])
        d.drop("sales/day=03/a.csv")
        wait_until(lambda: d.events("batch.succeeded"), message="the batch ran with its member")
        (event,) = self.batch_events()
        self.assertEqual([o["key"] for o in event["hivehook"]["objects"]], ["sales/day=03/a.csv"])
        self.assertEqual(len(d.events("batch.opened")), 1)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
