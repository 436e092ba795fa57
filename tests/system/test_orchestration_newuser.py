"""Faults a new user found trying orchestration from the README (issue 14, /work/findings/14.md,
second session), each pinned on the real daemon under the name of the fault."""
import json
import time
import unittest

from harness import Deployment, wait_until


class NewUserFaults(unittest.TestCase):
    def setUp(self):
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.cleanup()

    # F12: the shutdown counted object runs only; with no object job running, SIGTERM stopped the
    # daemon at once and killed a running schedule or batch job (run again from scratch at start).
    def test_sigterm_lets_running_schedule_and_batch_jobs_finish_within_shutdown_grace(self):
        self.d = d = Deployment("")
        log = d.dir / "term.log"
        job = f'echo "$0 start" >> {log}; sleep 2; echo "$0 end" >> {log}'
        d.write_rules(f"""\
            rules:
              - name: nightly
                schedule: "*/2 * * * * *"
                job: {{command: [/bin/sh, -c, '{job}', nightly], timeout: 60s}}
              - name: daily
                match: {{glob: "t/day=*/*"}}
                batch: {{group: "{{partition.day}}", when: {{count: 1}}}}
                job: {{command: [/bin/sh, -c, '{job}', daily], timeout: 60s}}
            """)
        d.start()
        wait_until(lambda: log.exists() and "nightly start" in log.read_text(), message="the schedule's job started")
        d.drop("t/day=1/a.csv")
        wait_until(lambda: "daily start" in log.read_text(), message="the batch's job started")
        self.assertEqual(d.stop(), 0)
        lines = log.read_text().splitlines()
        self.assertEqual(lines.count("nightly start"), lines.count("nightly end"), lines)
        self.assertEqual(lines.count("daily start"), lines.count("daily end"), lines)
        self.assertEqual(d.events("run.interrupted"), [])
        self.assertEqual(d.query("SELECT COUNT(*) FROM runs WHERE state='started'")[0][0], 0)
        stopped = [line for line in d.log.read_text().splitlines() if "stopping (SIGTERM)" in line]
        self.assertRegex(stopped[-1], r"stopping \(SIGTERM\): [1-9]\d* job\(s\) running")

    # F14: batch and schedule jobs ignored `workers` and the rule's `concurrency`: with `workers: 1`
    # a schedule, a batch and an object job ran at once, and four days of a `concurrency: 1` batch
    # rule ran four summaries at once. Every job now waits for the one worker: never two at once.
    def test_batch_and_schedule_jobs_obey_workers_and_concurrency(self):
        self.d = d = Deployment("", config_extra="workers: 1\n")
        log = d.dir / "wk.log"
        job = f'echo "$0 start" >> {log}; sleep 1; echo "$0 end" >> {log}'
        d.write_rules(f"""\
            rules:
              - name: s
                schedule: "*/3 * * * * *"
                job: {{command: [/bin/sh, -c, '{job}', s], timeout: 60s}}
              - name: b
                match: {{glob: "t/day=*/*"}}
                batch: {{group: "{{partition.day}}", when: {{count: 1}}}}
                concurrency: 1
                job: {{command: [/bin/sh, -c, '{job}', b], timeout: 60s}}
              - name: o
                match: {{prefix: o/}}
                job: {{command: [/bin/sh, -c, '{job}', o], timeout: 60s}}
            """)
        d.start()
        d.drop("o/x")
        for day in (1, 2, 3):
            d.drop(f"t/day={day}/a")
        wait_until(lambda: log.exists() and log.read_text().count("b end") == 3 and "o end" in log.read_text()
                   and "s end" in log.read_text(), timeout=60, message="every job ran")
        self.assertEqual(d.stop(), 0)
        running = 0
        for line in log.read_text().splitlines():
            running += 1 if line.endswith(" start") else -1
            self.assertLessEqual(running, 1, f"two jobs at once with workers: 1:\n{log.read_text()}")

    # F6: nothing showed when a schedule fires next or last fired: `status` listed a schedule only
    # while a firing was open, and `schedule.added` named neither the zone nor the next time.
    def test_check_and_status_say_when_each_schedule_fires(self):
        self.d = d = Deployment("")
        d.write_rules("""\
            rules:
              - name: berlin
                schedule: "0 0 * * *"
                timezone: Europe/Berlin
                job: {builtin: noop}
              - name: tick
                schedule: "* * * * * *"
                job: {builtin: noop}
            """)
        out = d.cli("check", check=True).stdout.decode()
        line = [x for x in out.splitlines() if x.startswith("schedule: berlin")]
        self.assertEqual(len(line), 1, out)
        # Issue 14 retest 3 G4: each time also as read in the zone (midnight), not in UTC only.
        self.assertRegex(line[0], r'^schedule: berlin "0 0 \* \* \*" \(Europe/Berlin\): next '
                                  r'\d{4}-\d\d-\d\dT2[23]:00:00\.000Z \(\d{4}-\d\d-\d\dT00:00:00\+0[12]:00\), ',
                         "Berlin midnight is 22:00 or 23:00 UTC")
        tick = [x for x in out.splitlines() if x.startswith("schedule: tick")]
        self.assertNotIn("(", tick[0].split(": next ")[1], "a UTC schedule shows UTC only")
        d.start()
        wait_until(lambda: d.events("run.succeeded"), message="tick fired")
        status = d.cli("status", check=True).stdout.decode()
        self.assertRegex(status, r"schedule: tick: last fired for \S+ \(succeeded\), next \S+")
        self.assertRegex(status, r"schedule: berlin: never fired yet, next \S+T2[23]:00:00\.000Z \(\S+T00:00:00\+0[12]:00\)")
        berlin = [e[2] for e in d.events("schedule.added") if e[2]["schedule"] == "0 0 * * *"]
        self.assertEqual(len(berlin), 1)
        self.assertEqual(berlin[0]["timezone"], "Europe/Berlin")
        self.assertRegex(berlin[0]["next"], r"T2[23]:00:00\.000Z$")
        self.assertEqual(d.stop(), 0)

    # F5: a.csv rewritten while its load ran, then _SUCCESS: the batch ran over the superseded
    # version before the current one was loaded, and the current one waited forever in generation 2.
    def test_a_file_rewritten_before_its_marker_is_summarised_once_at_its_current_version(self):
        self.d = d = Deployment("")
        log = d.dir / "sup.log"
        d.write_rules(f"""\
            rules:
              - name: load
                match: {{glob: "t/day=*/*.csv"}}
                job: {{command: [/bin/sh, -c, 'sleep 2; echo "load $(cat "$0")" >> {log}', "{{path}}"], timeout: 60s}}
              - name: sum
                match: {{glob: "t/day=*/*"}}
                batch: {{group: "{{partition.day}}", when: {{marker: _SUCCESS}}}}
                job: {{command: [/bin/sh, -c, 'echo "sum $(cat | tr -d " \\n" | grep -o "\\"state\\":\\"[a-z]*\\"" | tr "\\n" " ")" >> {log}'], timeout: 60s}}
            """)
        d.start()
        d.drop("t/day=1/a.csv", b"v1\n")
        wait_until(lambda: d.events("run.started"), message="v1's load started")
        d.drop("t/day=1/a.csv", b"v2\n")
        d.drop("t/day=1/_SUCCESS", b"")
        wait_until(lambda: d.events("batch.succeeded"), timeout=60, message="the day's summary ran")
        lines = log.read_text().splitlines()
        self.assertEqual(lines[-1], 'sum "state":"archived" ', lines)
        self.assertEqual([x for x in lines if x.startswith("load")][-1], "load v2", lines)
        self.assertLess(lines.index("load v2"), len(lines) - 1, "the summary ran after v2's load")
        self.assertEqual(sum(x.startswith("sum") for x in lines), 1, lines)
        self.assertEqual(len(d.events("batch.opened")), 1, "no second generation")
        self.assertEqual(d.query("SELECT COUNT(*) FROM batches WHERE state IN ('open','complete')")[0][0], 0)
        self.assertEqual(d.stop(), 0)

    # G2 (retest): a day re-delivered after its summary ran — a.csv rewritten, then a fresh empty
    # _SUCCESS, byte-identical to the first — was recorded object.duplicate, and generation 2
    # collected forever: the day was never summarised again.
    def test_G2_a_redelivered_day_with_an_identical_empty_marker_is_summarised_again(self):
        self.d = d = Deployment("")
        log = d.dir / "sup.log"
        d.write_rules(f"""\
            rules:
              - name: load
                match: {{glob: "t/day=*/*.csv"}}
                job: {{command: [/bin/sh, -c, 'echo "load $(cat "$0")" >> {log}', "{{path}}"], timeout: 60s}}
              - name: sum
                match: {{glob: "t/day=*/*"}}
                batch: {{group: "{{partition.day}}", when: {{marker: _SUCCESS}}}}
                job: {{command: [/bin/sh, -c, 'echo "sum $(cat | grep -o "\\"size\\":[0-9]*" | sort -u | tr "\\n" " ")" >> {log}'], timeout: 60s}}
            """)
        d.start()
        d.drop("t/day=7/a.csv", b"v1\n")
        d.drop("t/day=7/_SUCCESS", b"")
        wait_until(lambda: d.events("batch.succeeded"), timeout=60, message="the day's first summary ran")
        d.drop("t/day=7/a.csv", b"v2, corrected\n")
        wait_until(lambda: len(d.events("batch.joined")) >= 3, timeout=60, message="v2 joined generation 2")
        d.drop("t/day=7/_SUCCESS", b"")
        wait_until(lambda: len(d.events("batch.succeeded")) == 2, timeout=60, message="generation 2's summary ran")
        self.assertEqual(d.events("object.duplicate"), [], "the re-sent marker is not a duplicate")
        lines = log.read_text().splitlines()
        self.assertEqual([x for x in lines if x.startswith("sum")], ['sum "size":3 ', 'sum "size":14 '], lines)
        self.assertEqual(d.query("SELECT COUNT(*) FROM batches WHERE state IN ('open','complete')")[0][0], 0)
        self.assertEqual(d.stop(), 0)

    # G3 (retest): `replay` of one member of a marker-batched day opened a generation that only a
    # marker completes, and a re-sent marker was a duplicate: it collected for ever. The day's batch
    # is rebuilt whole with its marker, as retry's are.
    def test_G3_replay_of_one_member_of_a_marker_batch_reruns_the_whole_day(self):
        self.d = d = Deployment("")
        summary = d.dir / "summary.json"
        d.write_rules(f"""\
            rules:
              - name: load
                match: {{glob: "b1/day=*/*.csv"}}
                job: {{builtin: noop}}
              - name: sum
                match: {{glob: "b1/day=*/*"}}
                batch: {{group: "{{partition.day}}", when: {{marker: _SUCCESS}}}}
                job: {{command: [/bin/sh, -c, 'cat > "$0"', "{summary}"], timeout: 60s}}
            """)
        d.start()
        for name in ("a.csv", "b.csv"):
            d.drop(f"b1/day=02/{name}")
        wait_until(lambda: d.count_objects("archived") == 2, message="both loaded")
        d.drop("b1/day=02/_SUCCESS", b"")
        wait_until(lambda: d.events("batch.succeeded"), timeout=60, message="the day's summary ran")
        self.assertEqual(d.stop(), 0)
        plan = json.loads(d.cli("replay", "--key", "b1/day=02/a.csv", "--dry-run", "--json", check=True).stdout)
        self.assertEqual([(o["key"], o["rules"], o["batches"], o["skipped"]) for o in plan["objects"]],
                         [("b1/day=02/a.csv", ["load"], ["sum"], None),
                          ("b1/day=02/b.csv", [], ["sum"], None),
                          ("b1/day=02/_SUCCESS", [], ["sum"], None)])
        self.assertEqual(d.cli("replay", "--key", "b1/day=02/a.csv").returncode, 0)
        d.start()
        wait_until(lambda: len(d.events("batch.succeeded")) == 2, timeout=60, message="the day's summary ran again")
        event = json.loads(summary.read_text())
        self.assertEqual(sorted(o["key"] for o in event["hivehook"]["objects"]), ["b1/day=02/a.csv", "b1/day=02/b.csv"])
        self.assertEqual(d.query("SELECT COUNT(*) FROM batches WHERE state IN ('open','complete')")[0][0], 0)
        self.assertEqual(d.stop(), 0)

    # F17: `retry` ran only the failed rule; the dependant its failure had skipped never ran, and the
    # object was archived as succeeded.
    def test_retry_runs_the_after_dependants_the_failure_skipped(self):
        self.d = d = Deployment("")
        fixed, log = d.dir / "fixed", d.dir / "ran.log"
        d.write_rules(f"""\
            rules:
              - name: a
                match: {{prefix: x/}}
                job: {{command: [/bin/sh, -c, 'echo a >> {log}']}}
              - name: b
                match: {{prefix: x/}}
                after: [a]
                retries: 0
                job: {{command: [/bin/sh, -c, 'test -e {fixed} && echo b >> {log}']}}
              - name: d
                match: {{prefix: x/}}
                after: [b]
                job: {{command: [/bin/sh, -c, 'echo d >> {log}']}}
            """)
        d.start()
        d.drop("x/2")
        wait_until(lambda: d.count_objects("quarantined") == 1, message="b failed, d skipped, quarantined")
        self.assertEqual([e[2]["because"] for e in d.events("task.skipped")], ["b"])
        self.assertEqual(d.stop(), 0)
        fixed.write_text("")
        d.cli("retry", "x/2", check=True, timeout=60)
        self.assertEqual(log.read_text().split(), ["a", "b", "d"], "b retried, then d, which it had skipped")
        self.assertEqual(d.count_objects("archived"), 1)


if __name__ == "__main__":
    unittest.main()
