"""Orchestration on the real daemon (DESIGN.md "Orchestration", issue 14): `requires:` holding a
month of transactions until the dimensions arrive and releasing them in date order, `after:`
ordering under fan-out and failure (the dependent is skipped), all of it across kill -9; and
`check` / `match` on the orchestration keys."""
import json
import os
import random
import unittest

from harness import Deployment, wait_until


def step(name, log, extra="", fail_on=None, slow=False):
    """A rule whose job appends "RULE KEY" to a log (one O_APPEND write) and, when `fail_on` is in
    the key, exits 1; `slow`: then takes a tenth of a second (so that a kill lands mid-stream)."""
    fail = f'; case "$1" in *{fail_on}*) exit 1;; esac' if fail_on else ""
    fail += "; sleep 0.1" if slow else ""
    return f"""\
      - name: {name}
        job:
          command: [/bin/sh, -c, 'printf "%s %s\\n" "$HIVEHOOK_RULE" "$1" >> "$0"{fail}', "{log}", "{{key}}"]
          timeout: 30s
        retries: 0
{extra}"""


def day_key(day):
    return f"transactions/year=2023/month=03/day={day:02d}/transactions_2023-03-{day:02d}.csv"


class Orchestration(unittest.TestCase):
    def tearDown(self):
        if getattr(self, "d", None):
            self.d.cleanup()

    def log_lines(self, log):
        return log.read_text().splitlines() if log.exists() else []

    def task_states(self, rule):
        d = self.d
        return {k.decode(): s.decode() for k, s in d.query(
            "SELECT o.key, t.state FROM tasks t JOIN objects o ON o.id = t.object_id WHERE t.rule = ?", rule)}

    def test_requires_holds_a_month_until_the_dimensions_then_releases_in_date_order(self):
        d = Deployment("")
        self.d = d
        log = d.dir / "runs.log"
        d.write_rules("rules:\n"
                      + step("dim-products", log, "        match: {prefix: dim_products/}\n")
                      + step("dim-customers", log, "        match: {prefix: dim_customers/}\n")
                      + step("transactions-etl", log,
                             "        match: {glob: \"transactions/year=*/month=*/day=*/*.csv\"}\n"
                             "        requires: [dim-products, dim-customers]\n"
                             "        concurrency: 1\n", slow=True))
        d.start()
        days = list(range(1, 31))
        random.Random(14).shuffle(days)
        for day in days:
            d.drop(day_key(day))
        wait_until(lambda: len(d.events("task.waiting")) == 30, message="30 objects waiting")
        self.assertEqual(self.log_lines(log), [], "nothing ran, nothing failed")
        self.assertEqual(d.events("run.failed"), [])
        status = json.loads(d.cli("status", "--json", check=True).stdout)
        self.assertEqual(status["now"]["waiting"], 30)
        self.assertEqual(status["waiting"][0]["rule"], "transactions-etl")
        self.assertEqual(status["waiting"][0]["first_key"], day_key(1))
        self.assertEqual(status["waiting"][0]["waiting_for"]["requires"], ["dim-products", "dim-customers"])
        text = d.cli("status", check=True).stdout.decode()
        self.assertIn("transactions-etl: 30 objects waiting (requires dim-products, dim-customers)", text)

        # kill -9 while they wait: the waits are durable.
        d.kill9()
        d.start()
        d.drop("dim_products/dim_products_2023-03-01.csv")
        wait_until(lambda: d.count_objects("archived") == 1, message="products loaded")
        d.kill9()  # one required rule succeeded: kept across the crash
        d.start()
        self.assertEqual([l for l in self.log_lines(log) if l.startswith("transactions")], [])
        d.drop("dim_customers/dim_customers_2023-03-01.csv")
        # kill -9 at random points while the month is released and loaded.
        rng = random.Random(11)
        for _ in range(3):
            wait_until(lambda: any(l.startswith("transactions-etl") for l in self.log_lines(log)) or
                       d.count_objects("archived") >= 2, message="release under way")
            n = len(self.log_lines(log))
            wait_until(lambda: len(self.log_lines(log)) >= n + rng.randint(1, 4) or d.count_objects("archived") == 32,
                       message="a few more runs")
            d.kill9()
            d.start()
        wait_until(lambda: d.count_objects("archived") == 32, timeout=120, message="everything archived")
        self.assertEqual(d.stop(), 0)
        facts = [l.split(" ", 1)[1] for l in self.log_lines(log) if l.startswith("transactions-etl ")]
        # At least once each; in date order (a run cut off by a kill runs again before the next day).
        self.assertEqual(sorted(set(facts)), [day_key(x) for x in range(1, 31)])
        first_seen = list(dict.fromkeys(facts))
        self.assertEqual(first_seen, [day_key(x) for x in range(1, 31)], "released in date order")
        self.assertEqual(len(d.events("task.released")), 30)
        self.assertGreater(len(d.events("run.interrupted")), 0, "some kill should have caught a load in flight")
        self.assertEqual(d.events("run.failed"), [], "no failure path used as a scheduler")

    def test_after_orders_rules_on_each_object_and_skips_dependents_of_a_failure(self):
        d = Deployment("")
        self.d = d
        log = d.dir / "runs.log"
        d.write_rules("rules:\n"
                      + step("report", log, "        match: {prefix: t/}\n        after: [load]\n")
                      + step("load", log, "        match: {prefix: t/}\n        after: [validate]\n")
                      + step("validate", log, "        match: {prefix: t/}\n", fail_on="bad")
                      + step("copy", log, "        match: {prefix: t/}\n"))
        d.start()
        good = [f"t/good-{i}.csv" for i in range(8)]
        bad = [f"t/bad-{i}.csv" for i in range(3)]
        for k in good + bad:
            d.drop(k)
        wait_until(lambda: d.count_objects("archived") == len(good) and d.count_objects("quarantined") == len(bad),
                   message="good archived, bad quarantined")
        lines = self.log_lines(log)
        for k in good:
            order = [l.split(" ")[0] for l in lines if l.endswith(" " + k)]
            self.assertEqual(sorted(order), ["copy", "load", "report", "validate"], k)
            self.assertLess(order.index("validate"), order.index("load"), k)
            self.assertLess(order.index("load"), order.index("report"), k)
        for k in bad:
            ran = sorted(l.split(" ")[0] for l in lines if l.endswith(" " + k))
            self.assertEqual(ran, ["copy", "validate"], f"{k}: load and report never start")
        self.assertEqual(self.task_states("load"), {**{k: "succeeded" for k in good}, **{k: "skipped" for k in bad}})
        self.assertEqual(self.task_states("report"), {**{k: "succeeded" for k in good}, **{k: "skipped" for k in bad}})
        skipped = d.events("task.skipped")
        self.assertEqual(len(skipped), 2 * len(bad))
        error = json.loads((d.quarantine / (bad[0] + ".error.json")).read_text())
        self.assertEqual([r["rule"] for r in error["failed_runs"]], ["validate"])
        self.assertEqual(d.stop(), 0)

    def test_after_survives_kill9_between_the_steps(self):
        d = Deployment("")
        self.d = d
        log = d.dir / "runs.log"
        gate = d.dir / "gate"
        d.write_rules(f"""\
            rules:
              - name: validate
                match: {{prefix: t/}}
                job:
                  command: [/bin/sh, -c, 'printf "validate %s\\n" "$1" >> "$0"', "{log}", "{{key}}"]
              - name: load
                match: {{prefix: t/}}
                after: [validate]
                job:
                  command: [/bin/sh, -c, 'printf "load %s\\n" "$1" >> "$0"; while [ ! -e "{gate}" ]; do sleep 0.05; done', "{log}", "{{key}}"]
            """)
        d.start()
        d.drop("t/a.csv")
        wait_until(lambda: "load t/a.csv" in self.log_lines(log), message="load started after validate")
        d.kill9()  # load is cut off; validate's success is on record
        gate.touch()
        d.start()
        wait_until(lambda: d.count_objects("archived") == 1, message="archived after restart")
        lines = self.log_lines(log)
        self.assertEqual(lines.count("validate t/a.csv"), 1, "validate is not run again")
        self.assertEqual(lines.count("load t/a.csv"), 2, "load runs again as a new attempt")
        self.assertEqual(d.stop(), 0)

    def test_check_reports_each_orchestration_misconfiguration_with_its_place(self):
        d = Deployment("""\
            rules:
              - name: dims
                match: {prefix: dims/}
                job: {builtin: noop}
              - name: facts
                match: {glob: "transactions/year=*/month=*/*.csv"}
                job: {builtin: noop}
                requires: [dimz]
                after: [summary]
              - name: summary
                match: {glob: "transactions/year=*/month=*/*.csv"}
                job: {builtin: noop}
                requires: [facts]
                batch: {group: "{table}/{partition.day}", when: {marker: _SUCCESS}}
              - name: nightly
                schedule: "0 2 * * mon-fri/2x"
                job: {builtin: noop}
              - name: load
                match: {prefix: t/}
                job: {builtin: noop}
                after: [report]
              - name: report
                match: {prefix: t/}
                job: {builtin: noop}
                requires: [load]
            """)
        self.d = d
        r = d.cli("check")
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("rules/rules.yaml:8:16: error: 'requires:' names unknown rule 'dimz' (did you mean 'dims'?)", err)
        self.assertIn("rules/rules.yaml:9:13: error: 'after:' names batch rule 'summary', which runs once per group", err)
        self.assertIn("rules/rules.yaml:14:20: error: batch.group names partition 'day', which no key matched by this "
                      "rule has (its glob 'transactions/year=*/month=*/*.csv' has no 'day=' folder)", err)
        self.assertIn("rules/rules.yaml:16:33: error: bad schedule: unexpected 'x' in day of week field", err)
        self.assertIn("rules/rules.yaml:25:16: error: cycle in 'after:'/'requires:': load -> report -> load "
                      "(each would wait for the other forever)", err)
        # F11 of the new-user test: the marker is outside the rule's '*.csv' glob, so no batch completes.
        self.assertIn("rules/rules.yaml:14:62: error: batch.when.marker '_SUCCESS' is a file this rule never matches",
                      err)
        self.assertIn("config invalid: 6 errors", r.stdout.decode())

    def test_match_explains_order_and_waits(self):
        d = Deployment("""\
            rules:
              - name: report
                match: {suffix: .csv}
                job: {builtin: noop}
                after: [load]
              - name: load
                match: {suffix: .csv}
                job: {builtin: noop}
                requires: [dims]
              - name: dims
                match: {prefix: dims/}
                job: {builtin: noop}
              - name: daily
                match: {glob: "t/day=*/*"}
                job: {builtin: noop}
                batch: {group: "{table}/{partition.day}", when: {count: 4}}
            """)
        self.d = d
        out = d.cli("match", "t/day=01/a.csv", check=True).stdout.decode()
        self.assertIn("rules:     2 match, in the order they start:", out)
        self.assertLess(out.index("1. load"), out.index("2. report"))
        self.assertIn("requires: waits until dims succeeded at least once on any object", out)
        self.assertIn("after:    starts once load succeeded on this object; skipped if one fails for good", out)
        self.assertIn("batch:     daily", out)
        self.assertIn("group:    't/01'", out)
        self.assertIn("when the group has 4 objects", out)
        j = json.loads(d.cli("match", "--json", "t/day=01/a.csv", check=True).stdout)
        self.assertEqual([r["name"] for r in j["rules"]], ["load", "report"])
        self.assertEqual(j["rules"][0]["requires"], ["dims"])
        self.assertEqual(j["rules"][1]["after"], ["load"])
        self.assertEqual(j["batches"], [{"name": "daily", "source": j["batches"][0]["source"], "group": "t/01",
                                         "when": {"count": 4}}])


if __name__ == "__main__":
    unittest.main()
