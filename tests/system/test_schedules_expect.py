"""`schedule:` and `expect:` on the real daemon (DESIGN.md "Orchestration", issue 14): a schedule
firing every second (the seconds field) with an EventBridge Scheduled Event on stdin, and its
catch-up after kill -9 (once); a late expectation raising `expect.late` through a webhook, kept
across kill -9, and clearing with `expect.arrived` when the partition arrives."""
import datetime
import json
import time
import unittest

import harness
from harness import Deployment, wait_until
from test_notify import Receiver, free_port


class SchedulesAndExpectations(unittest.TestCase):
    def tearDown(self):
        if getattr(self, "hooks", None):
            self.hooks.stop()
        if getattr(self, "d", None):
            self.d.cleanup()

    def fired(self):
        return [detail for _, _, detail in self.d.events("schedule.fired")]

    def test_schedule_fires_every_second_and_catches_up_once_after_kill9(self):
        d = Deployment("")
        self.d = d
        events = d.dir / "events"
        events.mkdir()
        d.write_rules(f"""\
            rules:
              - name: tick
                schedule: "* * * * * *"
                job:
                  command: [/bin/sh, -c, 'cat > "$0/$HIVEHOOK_RUN_ID.tmp" && mv "$0/$HIVEHOOK_RUN_ID.tmp" "$0/$HIVEHOOK_RUN_ID.json"', "{events}"]
                  timeout: 30s
            """)
        d.start()
        wait_until(lambda: len(list(events.glob("*.json"))) >= 3, message="three firings")
        got = [json.loads(p.read_text()) for p in events.glob("*.json")]
        for e in got:
            self.assertEqual(e["detail-type"], "Scheduled Event")
            self.assertEqual(e["source"], "aws.events")
            self.assertEqual(e["resources"], ["arn:aws:events:us-east-1:000000000000:rule/tick"])
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        times = sorted(e["time"] for e in got)
        self.assertEqual(len(set(times)), len(times), "each second fires once")

        d.kill9()
        before = len(self.fired())
        killed_at = time.time()
        # Down for at least three firings' worth of seconds (the condition is the wall clock).
        wait_until(lambda: time.time() > killed_at + 3.5, message="three seconds of downtime")
        resumed_before = len(d.events("schedule.resumed"))
        d.start()
        # Once at start: a catch-up firing, or (when the kill cut a run off) that firing run again.
        wait_until(lambda: any(f["catch_up"] for f in self.fired()[before:])
                   or len(d.events("schedule.resumed")) > resumed_before, message="the firing at start")
        wait_until(lambda: len(self.fired()) >= before + 3, message="firing on time again")
        after = self.fired()[before:]
        at_start = sum(1 for f in after if f["catch_up"]) + len(d.events("schedule.resumed")) - resumed_before
        self.assertEqual(at_start, 1, "the missed seconds are made up once, not each")
        self.assertTrue(all(not f["catch_up"] for f in after[1:]), "then on time")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.query("SELECT COUNT(*) FROM runs WHERE state='started'")[0][0], 0)

    def test_g6_a_schedules_last_success_is_a_metric_that_survives_a_restart(self):
        """Issue 14 retest 3 G6: no metric told when a schedule last succeeded (the cron job idiom
        `time() - last_success > 26h`); hivehook_schedule_last_success_timestamp_seconds{rule} does,
        read back from the store at start."""
        port = free_port()
        d = Deployment("", config_extra=f"metrics: 127.0.0.1:{port}\n")
        self.d = d
        d.write_rules("""\
            rules:
              - name: tick
                schedule: "* * * * * *"
                job: {builtin: noop}
              - name: never
                schedule: "0 0 1 1 *"
                job: {builtin: noop}
            """)
        name = 'hivehook_schedule_last_success_timestamp_seconds{rule="tick"}'
        d.start()
        wait_until(lambda: harness.scrape(port).get(name, 0) > 0, message="tick's last success")
        first = harness.scrape(port)[name]
        self.assertLess(abs(first - time.time()), 30)
        self.assertNotIn('hivehook_schedule_last_success_timestamp_seconds{rule="never"}', harness.scrape(port))
        self.assertEqual(d.stop(), 0)
        (ended,) = d.query("SELECT MAX(ended_at) FROM runs WHERE rule = 'tick' AND state = 'succeeded'")[0]
        # Started again with tick gone: its gauge still comes from the store's last success.
        d.write_rules("""\
            rules:
              - name: tick
                schedule: "0 0 1 1 *"
                job: {builtin: noop}
            """)
        d.start()
        # (the schedules start once the start-up scan is done, just after the daemon says it watches)
        wait_until(lambda: name in harness.scrape(port), message="the gauge read back at start")
        self.assertAlmostEqual(harness.scrape(port)[name], ended / 1000.0, places=2)
        self.assertEqual(d.stop(), 0)

    def test_late_expectation_raises_and_clears_through_a_webhook_across_kill9(self):
        port = free_port()
        d = Deployment("", config_extra=f"notify:\n  ops-hook: {{webhook: http://127.0.0.1:{port}/hook}}\n")
        self.d = d
        self.hooks = Receiver(port, d.dir / "hooks.jsonl").start()
        d.write_rules("""\
            rules:
              - name: minutes
                match: {prefix: t/}
                job: {builtin: noop}
                expect:
                  every: 1m
                  by: "00:00:01"
                  partition: "year={yyyy}/month={mm}/day={dd}/hour={hh}/minute={mi}"
                  notify: [ops-hook]
            """)
        d.start()
        wait_until(lambda: d.events("expect.added"), message="expectation armed")
        hooks = lambda event: [json.loads(r["body"]) for r in self.hooks.requests()
                               if json.loads(r["body"])["event"] == event]
        # The minute running at start-up is due one second after it ends.
        late = wait_until(lambda: hooks("expect.late"), timeout=75, message="expect.late webhook")
        partition = late[0]["partition"]
        self.assertRegex(partition, r"^year=\d{4}/month=\d\d/day=\d\d/hour=\d\d/minute=\d\d$")
        self.assertEqual(late[0]["rule"], "minutes")

        d.kill9()  # the late state is durable
        d.start()
        d.drop(f"t/{partition}/f.csv")
        arrived = wait_until(lambda: hooks("expect.arrived"), timeout=30, message="expect.arrived webhook")
        self.assertEqual(arrived[0]["partition"], partition)
        self.assertEqual(arrived[0]["key"], f"t/{partition}/f.csv")
        self.assertEqual(len([e for e in d.events("expect.late") if e[2]["partition"] == partition]), 1,
                         "raised once, also across the restart")
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
