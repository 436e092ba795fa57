"""Faults a new user found in orchestration (issue 14), each pinned on the real daemon with real
inotify and real child processes:
- after kill -9, expectations and batches were evaluated before the start-up scan admitted what
  landed while the daemon was down (a false `expect.late`, a batch released short and split);
- `requires:` released day=10 before day=9 (string order of partition values);
- `status` said "0 waiting" while tasks were queued (`waiting` is the requires:/after: state);
- a schedule that missed several times caught up with the OLDEST missed time, not the latest;
- a batch whose marker arrived before its data files ran with no member.
The second round:
- `status` did not count batch runs and schedule firings in retry backoff, and called a batch in
  backoff "running";
- rule edits left stale state: a removed `expect:` kept its late alert (status, /metrics); a removed
  batch rule left its open batch collecting forever; a changed `batch.group` stranded the open group;
- `rules.loaded` said "changed": [] when only orchestration keys changed;
- partition order with mixed zero padding across levels (month=03 vs month=3) was by bytes;
- `partitions` columns misaligned for names longer than 35 characters;
- `catch_up: false` named only the first missed time."""
import datetime
import json
import math
import random
import time
import unittest

import re
import signal

from harness import Deployment, free_port, scrape, wait_until


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

    # --- the second round -------------------------------------------------------------------------

    def reload(self, rules):
        before = len(self.d.events("rules.loaded"))
        self.d.write_rules(rules.replace("RUNS", str(self.runs)))
        wait_until(lambda: len(self.d.events("rules.loaded")) > before, message="rules reloaded")
        return self.d.events("rules.loaded")[-1][2]

    def status(self):
        return json.loads(self.d.cli("status", "--json", check=True).stdout), self.d.cli("status", check=True).stdout.decode()

    def test_status_counts_batch_and_schedule_runs_in_retry_backoff_and_the_batch_line_says_backoff_not_running(self):
        d = self.deploy("""\
            rules:
              - name: load
                match: {glob: "sales/day=*/*.csv"}
                job: {builtin: noop}
              - name: daily
                match: {glob: "sales/day=*/*.csv"}
                batch: {group: "{table}/{partition.day}", when: {count: 1}}
                retries: 3
                backoff: {initial: 10m, max: 10m}
                job: {command: [/bin/sh, -c, 'exit 1'], timeout: 30s}
              - name: tick
                schedule: "* * * * * *"
                retries: 3
                backoff: {initial: 10m, max: 10m}
                job: {command: [/bin/sh, -c, 'exit 1'], timeout: 30s}
            """)
        d.start()
        d.drop("sales/day=01/a.csv")
        retrying = lambda: {e[2].get("group", "tick") for e in d.events("run.retry_scheduled")}
        wait_until(lambda: retrying() == {"sales/01", "tick"}, message="the batch run and the firing in backoff")
        status, text = self.status()
        self.assertEqual({k: status["now"][k] for k in ("running", "queued", "retry_wait", "waiting")},
                         {"running": 0, "queued": 0, "retry_wait": 2, "waiting": 0})
        self.assertRegex(text, r"now: +\d+ in landing being processed, 0 in quarantine, 0 running, 0 queued for a worker, "
                               r"2 in retry backoff, 0 waiting on after:/requires:\n")
        (batch,) = status["batches"]
        self.assertEqual((batch["state"], batch["attempts"]), ("running", 1))
        self.assertIsNotNone(batch["next_at"])
        self.assertRegex(text, r"batch: +daily: sales/01: 1 object, in retry backoff after attempt 1 failed, "
                               r"next attempt at \S+Z \(since ")
        self.assertNotRegex(text, r"batch: .*, running")
        self.assertRegex(text, r"schedule: tick: the firing for \S+Z, in retry backoff after attempt 1 failed, "
                               r"next attempt at \S+Z\n")
        self.assertEqual(d.stop(), 0)

    def test_removing_expect_from_a_rule_clears_its_late_alert_in_status_and_metrics(self):
        port = free_port()
        self.d = d = Deployment("", config_extra=f"metrics: 127.0.0.1:{port}\n")
        self.runs = d.dir / "runs"
        expect_rule = """\
            rules:
              - name: minutes
                match: {prefix: t/}
                job: {builtin: noop}
                EXPECT
            """
        with_expect = expect_rule.replace("EXPECT", 'expect: {every: 1m, by: "00:00:01", '
                                                    'partition: "year={yyyy}/month={mm}/day={dd}/hour={hh}/minute={mi}"}')
        d.write_rules(with_expect)
        d.start()
        wait_until(lambda: d.events("expect.added"), message="expectation armed")
        self.assertEqual(d.stop(), 0)
        # The state a daemon down for five minutes leaves: its deadlines checked up to then.
        d.execute("UPDATE expectation_checks SET checked_until = checked_until - 300000")
        d.start()
        wait_until(lambda: len(d.events("expect.late")) >= 4, message="the missed minutes raised late")
        late = len(d.events("expect.late"))
        status, text = self.status()
        self.assertEqual(len(status["late"]), late)
        self.assertIn("late:     minutes: year=", text)
        wait_until(lambda: scrape(port).get("hivehook_expectations_late") == late, message="the gauge counts them")

        loaded = self.reload(expect_rule.replace("EXPECT", ""))
        self.assertEqual(loaded["changed"], ["minutes"])
        self.assertEqual(loaded["orchestration_changed"], {"minutes": ["expect"]})
        wait_until(lambda: d.events("expect.removed"), message="the expectation forgotten")
        (_, _, removed), = d.events("expect.removed")
        self.assertEqual(removed["reason"], "the rule's expect: was removed")
        self.assertEqual(len(removed["late"]), late)
        self.assertEqual(len(d.events("expect.cleared")), late)
        status, text = self.status()
        self.assertEqual(status["late"], [])
        self.assertNotIn("late:", text)
        wait_until(lambda: scrape(port).get("hivehook_expectations_late") == 0, message="the gauge drops to 0")
        # Put back, it starts afresh: nothing raised for the past.
        self.reload(with_expect)
        wait_until(lambda: len(d.events("expect.added")) == 2, message="armed again")
        self.assertEqual(self.status()[0]["late"], [])
        self.assertEqual(d.stop(), 0)

    def test_removing_a_batch_rule_abandons_its_open_batch_with_an_event_and_a_notice_in_status(self):
        d = self.deploy("""\
            rules:
              - name: load
                match: {glob: "sales/day=*/*.csv"}
                job: {builtin: noop}
              - name: daily
                match: {glob: "sales/day=*/*.csv"}
                batch: {group: "{table}/{partition.day}", when: {quiet: 1h}}
                job: {command: [/bin/sh, -c, 'cat > "$0/$HIVEHOOK_RUN_ID.json"', "RUNS"], timeout: 30s}
            """)
        d.start()
        d.drop("sales/day=01/a.csv")
        d.drop("sales/day=01/b.csv")
        wait_until(lambda: len(d.events("batch.joined")) == 2 and d.count_objects("archived") == 2,
                   message="two members joined and loaded")
        self.assertIn("batch:    daily: sales/01: 2 objects, collecting", self.status()[1])
        loaded = self.reload("""\
            rules:
              - name: load
                match: {glob: "sales/day=*/*.csv"}
                job: {builtin: noop}
            """)
        self.assertEqual(loaded["removed"], ["daily"])
        (_, _, abandoned), = wait_until(lambda: d.events("batch.abandoned"), message="the batch abandoned")
        self.assertEqual((abandoned["group"], abandoned["members"], abandoned["reason"]),
                         ("sales/01", 2, "the rule was removed"))
        self.assertEqual(sorted(abandoned["keys"]), ["sales/day=01/a.csv", "sales/day=01/b.csv"])
        status, text = self.status()
        self.assertEqual(status["batches"], [], "nothing collecting any more")
        self.assertEqual([(b["rule"], b["group"], b["reason"]) for b in status["abandoned_batches"]],
                         [("daily", "sales/01", "the rule was removed")])
        self.assertRegex(text, r"batch: +daily: sales/01: 2 objects, ABANDONED at \S+Z: the rule was removed")
        self.assertNotIn("collecting", text)
        self.assertEqual(d.count_objects("archived"), 2, "its members keep their own outcome")
        self.assertEqual(self.batch_events(), [])
        self.assertEqual(d.stop(), 0)

    def test_changing_batch_group_moves_the_open_groups_members_into_the_groups_they_render_now(self):
        rules = """\
            rules:
              - name: load
                match: {glob: "sales/day=*/*.csv"}
                job: {builtin: noop}
              - name: rollup
                match: {glob: "sales/day=*/*.csv"}
                batch: {group: "GROUP", when: {count: 3}}
                job: {command: [/bin/sh, -c, 'cat > "$0/$HIVEHOOK_RUN_ID.json"', "RUNS"], timeout: 30s}
            """
        d = self.deploy(rules.replace("GROUP", "{table}/{partition.day}"))
        d.start()
        d.drop("sales/day=01/a.csv")
        d.drop("sales/day=02/b.csv")
        wait_until(lambda: len(d.events("batch.joined")) == 2 and d.count_objects("archived") == 2,
                   message="two groups of one")
        loaded = self.reload(rules.replace("GROUP", "{table}"))
        self.assertEqual(loaded["changed"], ["rollup"])
        self.assertEqual(loaded["orchestration_changed"], {"rollup": ["batch"]})
        wait_until(lambda: len(d.events("batch.abandoned")) == 2, message="both old groups abandoned")
        for _, _, a in d.events("batch.abandoned"):
            self.assertEqual(a["regrouped_to"], ["sales"])
            self.assertEqual(a["left_out"], [])
            self.assertEqual(a["reason"], 'batch.group changed to "{table}"')
        status, text = self.status()
        self.assertEqual([(b["group"], b["members"], b["state"]) for b in status["batches"]], [("sales", 2, "open")])
        self.assertIn("batch:    rollup: sales: 2 objects, collecting", text)
        self.assertRegex(text, r"rollup: sales/01: 1 object, ABANDONED at \S+: batch.group changed")
        d.drop("sales/day=03/c.csv")
        wait_until(lambda: d.events("batch.succeeded"), message="the regrouped batch ran")
        (event,) = self.batch_events()
        self.assertEqual(sorted(o["key"] for o in event["hivehook"]["objects"]),
                         ["sales/day=01/a.csv", "sales/day=02/b.csv", "sales/day=03/c.csv"])
        self.assertEqual(event["hivehook"]["group"], "sales")
        self.assertEqual(d.stop(), 0)

    def test_rules_loaded_lists_rules_whose_only_change_is_an_orchestration_key(self):
        rules = """\
            rules:
              - name: dim
                match: {prefix: dim/}
                job: {builtin: noop}
              - name: etl
                match: {prefix: tx/}
                REQUIRES
                job: {builtin: noop}
              - name: daily
                match: {glob: "sales/day=*/*"}
                batch: {group: "{table}/{partition.day}", when: {WHEN}}
                job: {builtin: noop}
              - name: nightly
                schedule: "CRON"
                job: {builtin: noop}
              - name: watched
                match: {glob: "w/year=*/month=*/day=*/*"}
                expect: {every: 1d, by: "BY", partition: "year={yyyy}/month={mm}/day={dd}"}
                job: {builtin: noop}
            """
        first = {"REQUIRES": "", "WHEN": "quiet: 1h", "CRON": "0 2 * * *", "BY": "06:00"}
        second = {"REQUIRES": "requires: [dim]", "WHEN": "marker: _SUCCESS", "CRON": "0 3 * * *", "BY": "07:00"}
        fill = lambda values: re.sub("REQUIRES|WHEN|CRON|BY", lambda m: values[m.group(0)], rules)
        d = self.deploy(fill(first))
        d.start()
        loaded = self.reload(fill(second))
        self.assertEqual(sorted(loaded["changed"]), ["daily", "etl", "nightly", "watched"])
        self.assertEqual(loaded["orchestration_changed"],
                         {"daily": ["batch"], "etl": ["requires"], "nightly": ["schedule"], "watched": ["expect"]})
        self.assertEqual((loaded["added"], loaded["removed"]), ([], []))
        loaded = self.reload(fill(second) + "            # saved again\n")  # the same rules: nothing changed
        self.assertEqual((loaded["changed"], loaded["orchestration_changed"]), ([], {}))
        self.assertEqual(d.stop(), 0)

    def test_partition_order_is_numeric_at_every_level_with_mixed_zero_padding(self):
        d = self.deploy("""\
            rules:
              - name: dim
                match: {prefix: dim/}
                job: {builtin: noop}
              - name: etl
                match: {glob: "tx/year=*/month=*/day=*/*.csv"}
                requires: [dim]
                concurrency: 1
                job: {command: [/bin/sh, -c, 'echo "$1/$2" >> "$0/order.log"', "RUNS", "{partition.month}", "{partition.day}"], timeout: 30s}
            """)
        d.start()
        # (month, day) in calendar order; byte order at the month level put every month=03 first.
        days = [("3", "1"), ("03", "2"), ("3", "9"), ("03", "10"), ("3", "20"), ("04", "1")]
        for month, day in reversed(days):
            d.drop(f"tx/year=2023/month={month}/day={day}/x.csv")
        wait_until(lambda: len(d.events("task.waiting")) == len(days), message="all waiting")
        status = json.loads(d.cli("status", "--json", check=True).stdout)
        self.assertEqual(status["waiting"][0]["first_key"], "tx/year=2023/month=3/day=1/x.csv")
        d.drop("dim/d.csv")
        wait_until(lambda: d.count_objects("archived") == len(days) + 1, message="everything loaded")
        self.assertEqual((self.runs / "order.log").read_text().split(), [f"{m}/{x}" for m, x in days])
        cells = json.loads(d.cli("partitions", "--json", "--table", "tx", check=True).stdout)
        self.assertEqual([c["partition"] for c in cells if not c["missing"]], [f"year=2023/month={m}/day={x}" for m, x in days])
        # (Missing-day cells, issue 15 F4, would sit between them; these 6 days of a 32-day span
        # are not a daily table, so there are none.)
        self.assertEqual([c["day"] for c in cells], sorted(c["day"] for c in cells))
        self.assertEqual(d.stop(), 0)

    def test_partitions_columns_stay_aligned_for_partition_names_longer_than_35_characters(self):
        d = self.deploy("""\
            rules:
              - name: load
                match: {prefix: tx/}
                job: {builtin: noop}
            """)
        d.start()
        keys = ["tx/year=2023/month=03/day=15/x.csv",
                "tx/year=2023/month=03/day=15/hour=23/region=eu-central-1/x.csv",
                "tx/day=1/x.csv"]
        for k in keys:
            d.drop(k)
        wait_until(lambda: d.count_objects("archived") == len(keys), message="loaded")
        lines = d.cli("partitions", check=True).stdout.decode().splitlines()
        header = next(l for l in lines if "PARTITION" in l)
        rows = [l for l in lines if l.startswith("  ") and "1 archived" in l]
        self.assertEqual(len(rows), len(keys))
        self.assertTrue(any(len(r.split()[0]) > 35 for r in rows), "a name longer than 35 characters")
        for r in rows:
            objects = r.index("1 archived")
            self.assertEqual(objects, header.index("OBJECTS"), f"OBJECTS misaligned:\n{header}\n{r}")
            last_run = objects + len("1 archived") + len(r[objects + len("1 archived"):]) - len(r[objects + len("1 archived"):].lstrip())
            self.assertEqual(last_run, header.index("LAST RUN"), f"LAST RUN misaligned:\n{header}\n{r}")
        self.assertEqual(d.stop(), 0)

    def test_catch_up_false_says_how_many_firings_were_missed_and_their_range(self):
        d = self.deploy("""\
            rules:
              - name: tick
                schedule: "* * * * * *"
                catch_up: false
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
        d.start()
        skipped = wait_until(lambda: [e for _, _, e in d.events("schedule.skipped") if "missed" in e],
                             message="the skipped firings")
        self.assertEqual(len(skipped), 1, "one event for them all")
        s = skipped[0]
        since, until = utc_ms(s["missed_since"]), utc_ms(s["missed_until"])
        self.assertEqual(since, last_before + 1, "the oldest missed second")
        self.assertGreaterEqual(until, math.floor(restart_at), "the latest missed second")
        self.assertEqual(s["missed"], round(until - since) + 1, "every second in the range, counted")
        self.assertGreaterEqual(s["missed"], 3)
        self.assertEqual(s["scheduled_time"], s["missed_since"])
        self.assertEqual([f for f in fired() if f["catch_up"]], [], "nothing caught up")
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
