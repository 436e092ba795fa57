"""Reloading and the last good rules, on the real binary.

- Invalid rules on disk at start-up: `run` starts with the last good rules kept in the state DB and
  says so in the log, `status` and /healthz (200 "degraded: ..."); fixing the rules on disk ends
  that. `run --strict`, `scan`, and `run` with no rules ever kept refuse (exit 2).
- SIGHUP reloads the whole config file with the rules: the live settings apply at once, the others
  are named as needing a restart and keep their old value; an invalid edit changes nothing.

Run: cd tests/system && HIVEHOOK_BIN=/path/to/hivehook /usr/bin/python3 -m unittest -v test_reload
"""
import json
import re
import signal
import unittest
import urllib.error
import urllib.request

from harness import Deployment, wait_until
from test_notify import free_port

GOOD = """\
    rules:
      - name: archive-t
        match: {prefix: t/}
        job: {command: [/bin/true]}
    """
BROKEN = """\
    rules:
      - name: archive-t
        match: {prefix: t/}
        job: {command: [/bin/true]
    """


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        m = re.search(rf"(?m)^{name} (\S+)$", r.read().decode())
        return float(m.group(1)) if m else None


def healthz(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class LastGoodRules(unittest.TestCase):
    def setUp(self):
        self.port = free_port()
        self.d = Deployment(GOOD, config_extra=f"metrics: 127.0.0.1:{self.port}\n")

    def tearDown(self):
        self.d.cleanup()

    def status(self):
        return json.loads(self.d.cli("status", "--json", check=True).stdout)

    def test_invalid_rules_at_start_run_the_last_good_ones_degraded_until_fixed(self):
        d = self.d
        d.start()  # valid rules: kept as the last good ones
        self.assertEqual(healthz(self.port), (200, "ok\n"))
        self.assertEqual(d.stop(), 0)
        d.write_rules(BROKEN)
        d.start()
        log = d.log.read_text()
        self.assertRegex(log, r"rules\.yaml:\d+:\d+: ")
        self.assertRegex(log, r"rules on disk rejected since \S+ \(1 error; first: .*rules\.yaml:\d+:\d+: .*\); "
                              r"running the last good rules kept at \S+")
        self.assertRegex(log, r"the rules files' errors:\n\S*rules\.yaml:\d+:\d+: ", "every error logged, not only on stderr")
        # The kept rules are the ones in force.
        d.drop("t/a.csv")
        wait_until(lambda: (d.archive / "t/a.csv").exists(), message="archived by the last good rules")
        code, body = healthz(self.port)
        self.assertEqual(code, 200, "degraded, not down")
        self.assertRegex(body, r"^degraded: rules on disk rejected since ")
        self.assertEqual(metric(self.port, "hivehook_rules_degraded"), 1)
        s = self.status()
        self.assertTrue(s["rules"]["degraded"], s)
        self.assertRegex(s["rules"]["errors"][0], r"rules\.yaml:\d+:\d+: ")
        self.assertIn("in_force_kept_at", s["rules"])
        text = d.cli("status", check=True).stdout.decode()
        self.assertRegex(text, r"(?m)^rules: +DEGRADED: rules on disk rejected")
        rejected = d.events("rules.rejected")
        self.assertEqual(len(rejected), 1)
        self.assertEqual(rejected[0][2]["in_force"], "last good rules")
        # The operator fixes the rules on disk: the rules watcher loads them, no longer degraded.
        d.write_rules(GOOD.replace("archive-t", "archive-t2"))
        wait_until(lambda: healthz(self.port) == (200, "ok\n"), message="healthy again after the fix")
        self.assertFalse(self.status()["rules"]["degraded"])
        self.assertEqual(metric(self.port, "hivehook_rules_degraded"), 0)
        self.assertRegex(d.cli("status", check=True).stdout.decode(), r"(?m)^rules: +the rules on disk are in force")
        self.assertEqual(d.stop(), 0)

    def test_a_rejected_reload_while_running_is_degraded_too(self):
        d = self.d
        d.start()
        d.write_rules(BROKEN)
        wait_until(lambda: healthz(self.port)[1].startswith("degraded: rules on disk rejected"),
                   message="degraded after the rejected edit")
        self.assertEqual(healthz(self.port)[0], 200)
        self.assertTrue(self.status()["rules"]["degraded"])
        self.assertEqual(d.stop(), 0)

    def test_strict_refuses_invalid_rules(self):
        d = self.d
        d.start()
        self.assertEqual(d.stop(), 0)
        d.write_rules(BROKEN)
        r = d.cli("run", "--strict", timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr.decode(), r"rules\.yaml:\d+:\d+: ")

    def test_scan_refuses_invalid_rules(self):
        d = self.d
        d.start()
        self.assertEqual(d.stop(), 0)
        d.write_rules(BROKEN)
        r = d.cli("scan", timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_no_rules_ever_kept_refuses(self):
        d = self.d
        d.write_rules(BROKEN)
        r = d.cli("run", timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("the rules on disk are invalid and no state DB at", r.stderr.decode())

    def test_kept_rules_that_no_longer_fit_the_config_refuse(self):
        """The kept rules name a notify target the config no longer has: they cannot run either."""
        d = self.d
        d.config.write_text(d.config.read_text() + "notify:\n  ops: {webhook: 'http://127.0.0.1:9/h'}\n")
        d.write_rules(GOOD.replace("job: {command: [/bin/true]}",
                                   "job: {command: [/bin/true]}\n        on_failure: {action: quarantine, notify: [ops]}"))
        d.start()
        self.assertEqual(d.stop(), 0)
        d.config.write_text(re.sub(r"notify:\n.*\n", "", d.config.read_text()))
        d.write_rules(BROKEN)
        r = d.cli("run", timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("do not fit the config any more", r.stderr.decode())


class ConfigReload(unittest.TestCase):
    def setUp(self):
        self.port = free_port()
        self.d = Deployment(GOOD, config_extra=f"workers: 1\nmetrics: 127.0.0.1:{self.port}\n")

    def tearDown(self):
        self.d.cleanup()

    def reload(self):
        before = len(self.d.events("rules.loaded")) + len(self.d.events("rules.rejected"))
        self.d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: len(self.d.events("rules.loaded")) + len(self.d.events("rules.rejected")) > before,
                   message="the reload recorded")

    def test_sighup_applies_live_settings_and_names_those_needing_a_restart(self):
        d = self.d
        d.start()
        other = free_port()
        d.config.write_text(d.config.read_text().replace("workers: 1", "workers: 3")
                            .replace(f"127.0.0.1:{self.port}", f"127.0.0.1:{other}")
                            .replace("shutdown_grace: 10s", "shutdown_grace: 7s")
                            + "ignore: ['*.skip']\nlog: {level: debug}\n")
        self.reload()
        detail = d.events("rules.loaded")[-1][2]
        self.assertEqual(detail["config"]["applied"],
                         ["workers (1 -> 3)", "ignore", "log.level (info -> debug)", "shutdown_grace (10s -> 7s)"])
        # Issue 16 F5: named by the key the file uses (`metrics:`), not the internal http.listen.
        self.assertEqual(detail["config"]["restart_needed"],
                         [f"metrics (127.0.0.1:{self.port} -> 127.0.0.1:{other})"])
        log = d.log.read_text()
        self.assertIn("config reloaded: applied now: workers (1 -> 3), ignore, log.level (info -> debug), "
                      "shutdown_grace (10s -> 7s)", log)
        self.assertRegex(log, r"config changed but needs a restart to apply \(the old values stay in force\): "
                              r"metrics \(127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+\)")
        self.assertNotIn("http.listen", log)
        # metrics (the short form of http.listen) needs a restart: still served where it was.
        self.assertEqual(healthz(self.port), (200, "ok\n"))
        # ignore applies at once: a .skip file is left alone, a later .csv is processed.
        d.drop("t/a.skip")
        d.drop("t/b.csv")
        wait_until(lambda: (d.archive / "t/b.csv").exists(), message="b.csv archived")
        self.assertTrue((d.landing / "t/a.skip").exists())
        self.assertEqual(d.query("SELECT COUNT(*) FROM objects WHERE key = 't/a.skip'")[0][0], 0)
        # log.level applies at once: debug lines now.
        wait_until(lambda: " debug " in d.log.read_text(), message="a debug line")
        self.assertEqual(d.stop(), 0)

    def test_http_listen_change_is_named_http_listen(self):
        """The long form keeps its own name (the key comes from what the file says)."""
        d = self.d
        d.config.write_text(d.config.read_text().replace(f"metrics: 127.0.0.1:{self.port}",
                                                         f"http: {{listen: '127.0.0.1:{self.port}'}}"))
        d.start()
        other = free_port()
        d.config.write_text(d.config.read_text().replace(f"127.0.0.1:{self.port}", f"127.0.0.1:{other}"))
        self.reload()
        self.assertEqual(d.events("rules.loaded")[-1][2]["config"]["restart_needed"],
                         [f"http.listen (127.0.0.1:{self.port} -> 127.0.0.1:{other})"])
        self.assertEqual(d.stop(), 0)

    def test_an_invalid_config_edit_is_rejected_whole(self):
        """Issue 16 F1: a refused config file was logged as "rules rejected, the previous rules stay
        in force" and shown as "rules on disk rejected": the log, /healthz, STATUS= (the same
        line) and `status` name the config file; a refused rules file is still named as rules."""
        d = self.d
        d.start()
        original = d.config.read_text()
        d.config.write_text(original.replace("workers: 1", "workers: 2") + "reconcile: often\n")
        self.reload()
        self.assertEqual(len(d.events("rules.rejected")), 1)
        self.assertRegex(d.events("rules.rejected")[0][2]["errors"][0], r"hivehook\.yaml:\d+:\d+: ")
        self.assertEqual(d.events("rules.rejected")[0][2]["rejected"], "config")
        log = d.log.read_text()
        self.assertIn(f"config file {d.config} rejected, the previous config and rules stay in force:", log)
        self.assertNotIn("rules rejected", log)
        code, body = healthz(self.port)
        self.assertEqual(code, 200)
        self.assertTrue(body.startswith(f"degraded: config file {d.config} rejected since "), body)
        self.assertIn("running the previous config and the last good rules", body)
        text = d.cli("status", check=True).stdout.decode()
        self.assertRegex(text, rf"(?m)^config: +DEGRADED: config file {re.escape(str(d.config))} rejected since ")
        self.assertNotRegex(text, r"(?m)^rules: +DEGRADED")
        status = json.loads(d.cli("status", "--json", check=True).stdout)
        self.assertEqual((status["rules"]["rejected"], status["rules"]["config_file"]), ("config", str(d.config)))
        # The config valid again, a rules file broken: now the rules are what is refused.
        d.config.write_text(original)
        d.write_rules(BROKEN)
        wait_until(lambda: healthz(self.port)[1].startswith("degraded: rules on disk rejected"),
                   message="the rules named as refused")
        self.assertIn("rules rejected, the previous rules and config stay in force:", d.log.read_text())
        self.assertEqual(d.events("rules.rejected")[-1][2]["rejected"], "rules")
        d.write_rules(GOOD)
        wait_until(lambda: healthz(self.port) == (200, "ok\n"), message="healthy once both are valid")
        # Valid again, with a change needing a restart only.
        d.config.write_text(original.replace("shutdown_grace: 10s", "shutdown_grace: 10s\nreconcile: 1m"))
        self.reload()
        detail = d.events("rules.loaded")[-1][2]
        self.assertEqual(detail["config"], {"applied": [], "restart_needed": ["reconcile (10m -> 1m)"]})
        self.assertEqual(d.stop(), 0)


WAITING = """\
    rules:
      - name: dim
        match: {prefix: dim/}
        job: {command: [/bin/true]}
      - name: tx
        match: {glob: "tx/day=*/*.csv"}
        requires: [dim]
        job: {command: [/bin/true]}
    """


class RuleRemovedWhileObjectsWait(unittest.TestCase):
    """Issue 14 retest 3, G1: renaming a rule while objects wait on its requires: quarantined them
    all with one line per file and a rules.loaded saying only `removed`. The reload now says once
    how many objects waited for the removed rule, in the log and in rules.loaded."""

    def setUp(self):
        self.d = Deployment(WAITING)

    def tearDown(self):
        self.d.cleanup()

    def test_g1_a_rename_says_how_many_waiting_objects_it_ended(self):
        d = self.d
        d.start()
        for day in (1, 2, 3):
            d.drop(f"tx/day={day}/a.csv")
        wait_until(lambda: len(d.events("task.waiting")) == 3, message="three objects waiting")
        before = len(d.events("rules.loaded"))
        d.write_rules(WAITING.replace("name: tx\n", "name: tx-load\n"))
        wait_until(lambda: len(d.events("rules.loaded")) > before, message="the rename reloaded")
        detail = d.events("rules.loaded")[-1][2]
        self.assertEqual(detail["removed"], ["tx"])
        self.assertEqual(detail["ended_waiting"], {"tx": 3})
        wait_until(lambda: d.count_objects("quarantined") == 3, message="the waiting objects quarantined")
        log = d.log.read_text()
        self.assertIn("rule tx was removed (or renamed) while 3 objects waited for it (first tx/day=1/a.csv): "
                      "they end failed (task.skipped) and are quarantined; `hivehook replay --key PREFIX` runs "
                      "them through the rules in force", log)
        # A reload that removes no rule with waiting objects says nothing of it.
        before = len(d.events("rules.loaded"))
        d.write_rules(WAITING.replace("name: tx\n", "name: tx-load\n").replace("prefix: dim/", "prefix: dims/"))
        wait_until(lambda: len(d.events("rules.loaded")) > before, message="a second reload")
        self.assertNotIn("ended_waiting", d.events("rules.loaded")[-1][2])
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
