"""Monitoring that ships with hivehook (packaging/monitoring/): the Prometheus alert rules pass
`promtool check rules` and their unit tests (`promtool test rules`); a live daemon's /metrics passes
`promtool check metrics`; every metric the alert rules and the Grafana dashboard use is one the live
daemon exposes, and every dashboard query is valid PromQL.

Run: cd tests/system && HIVEHOOK_BIN=/path/to/hivehook /usr/bin/python3 -m unittest -v test_monitoring
"""
import json
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

from harness import SOURCE, Deployment, wait_until
from test_notify import free_port

MONITORING = SOURCE / "packaging" / "monitoring"
RULES = MONITORING / "hivehook-alerts.yml"
DASHBOARD = MONITORING / "hivehook-dashboard.json"


def promtool(*args, stdin=None):
    return subprocess.run(["promtool", *map(str, args)], input=stdin, capture_output=True, text=True, timeout=120)


def metric_names(expr):
    """hivehook_* metric families an expression reads (histogram series map to their family)."""
    names = set(re.findall(r"\b(hivehook_[a-z_]+)", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def dashboard_exprs():
    dash = json.loads(DASHBOARD.read_text())
    exprs = []
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            exprs.append(target["expr"])
    for var in dash["templating"]["list"]:
        exprs.append(var["definition"])
    return dash, exprs


@unittest.skipUnless(shutil.which("promtool"), "promtool (Debian package prometheus) is not installed")
class Monitoring(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        """One live daemon with runs that succeed, fail and retry, and a notification target."""
        port = free_port()
        cls.d = d = Deployment("""\
            rules:
              - name: ok
                match: {prefix: t/}
                job: {command: [/bin/true]}
              - name: fails
                match: {prefix: t/f}
                job: {command: [/bin/false]}
                retries: 1
                backoff: {initial: 10ms, max: 10ms}
                on_failure: {action: quarantine, notify: [gone]}
            """, config_extra=f"""\
            metrics: 127.0.0.1:{port}
            notify:
              gone: {{webhook: "http://127.0.0.1:{free_port()}/hook", max_attempts: 1}}
            """)
        d.start()
        for i in range(3):
            d.drop(f"t/a{i}.csv")
        d.drop("t/f0.csv")
        wait_until(lambda: d.count_objects("archived") == 3 and d.count_objects("quarantined") == 1, message="done")
        cls.metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.d.cleanup()

    def families(self):
        return set(re.findall(r"^# TYPE (\S+) ", self.metrics, re.M))

    def test_live_metrics_pass_promtool_check_metrics(self):
        r = promtool("check", "metrics", stdin=self.metrics)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual((r.stdout + r.stderr).strip(), "", "no lint findings")

    def test_alert_rules_pass_promtool_check_rules(self):
        r = promtool("check", "rules", RULES)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    def test_alert_rules_fire_on_their_unit_test_series(self):
        r = promtool("test", "rules", MONITORING / "hivehook-alerts.test.yml")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_alert_rules_read_only_metrics_the_daemon_exposes(self):
        used = metric_names(RULES.read_text())
        self.assertTrue(used)
        self.assertEqual(used - self.families(), set())

    def test_dashboard_is_importable_and_reads_only_exposed_metrics(self):
        dash, exprs = dashboard_exprs()
        self.assertEqual(dash["__inputs"][0]["pluginId"], "prometheus")
        self.assertTrue(dash["uid"] and dash["title"])
        ids = [p["id"] for p in dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids are unique")
        used = set()
        for e in exprs:
            used |= metric_names(e)
        self.assertEqual(used - self.families(), set())
        exposed = {f for f in self.families() if f.startswith("hivehook_")}
        self.assertGreaterEqual(len(used & exposed) / len(exposed), 0.8, f"unused: {exposed - used}")

    def test_dashboard_queries_are_valid_promql(self):
        """Each query, with Grafana's variables filled in, as a recording rule that promtool parses."""
        _, exprs = dashboard_exprs()
        folder = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-promql-"))
        try:
            rules = {"groups": [{"name": "dashboard", "rules": []}]}
            for i, e in enumerate(exprs):
                if e.startswith("label_values("):
                    e = re.fullmatch(r"label_values\((.*), *\w+\)", e).group(1)
                e = e.replace("$__rate_interval", "5m").replace("$job", ".*").replace("$instance", ".*")
                rules["groups"][0]["rules"].append({"record": f"dashboard:q{i}", "expr": e})
            (folder / "q.yml").write_text(json.dumps(rules))
            r = promtool("check", "rules", folder / "q.yml")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
