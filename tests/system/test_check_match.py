"""Black-box tests of `hivehook check` and `hivehook match` on real files.

Run: cd tests/system && HIVEHOOK_BIN=/path/to/hivehook /usr/bin/python3 -m unittest -v test_check_match
"""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import textwrap
import unittest

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = pathlib.Path(os.environ.get("HIVEHOOK_SOURCE_DIR", HERE.parent.parent))
BIN = os.environ.get("HIVEHOOK_BIN", str(SOURCE / "build" / "hivehook"))


def run(*args, cwd=None, env=None):
    full_env = dict(os.environ)
    full_env.pop("HIVEHOOK_CONFIG", None)
    full_env.update(env or {})
    return subprocess.run([BIN, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=30)


class CheckMatch(unittest.TestCase):
    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-check-"))
        (self.dir / "rules").mkdir()
        self.write("hivehook.yaml", """\
            landing: landing
            notify:
              ops-hook: {webhook: http://127.0.0.1:9/hook}
            """)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, rel, text):
        path = self.dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def check(self, *extra):
        return run("check", "-c", str(self.dir / "hivehook.yaml"), *extra, cwd=self.dir)

    # --- check ---
    def test_example_config_is_accepted(self):
        r = run("check", "-c", "examples/hivehook.yaml", cwd=SOURCE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "config OK: 2 rules from rules/ (2 files)")
        self.assertNotIn("error", r.stderr)

    def test_global_option_before_the_command(self):
        r = run("-c", "examples/hivehook.yaml", "check", cwd=SOURCE)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_config_from_environment(self):
        r = run("check", cwd="/", env={"HIVEHOOK_CONFIG": str(SOURCE / "examples/hivehook.yaml")})
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_broken_rules_report_every_error_with_its_place(self):
        self.write("rules/a.yaml", """\
            rules:
              - name: orders
                retires: 3
                match: {prefix: orders/}
                job: {command: [/bin/true]}
            """)
        self.write("rules/b.yaml", """\
            rules:
              - name: orders
                match: {}
                job: {builtin: nope, command: [bin/x]}
                on_failure: {action: archive, notify: [ops-hok]}
                settle: 5 seconds
            """)
        r = self.check()
        self.assertEqual(r.returncode, 1, r.stderr)
        err = r.stderr
        self.assertIn("rules/a.yaml:3:5: error: unknown key 'retires' in rule (did you mean 'retries'?)", err)
        self.assertIn("rules/b.yaml:2:11: error: duplicate rule name 'orders' (first defined at rules/a.yaml:2:11)", err)
        self.assertIn("rules/b.yaml:3:12: error: match needs at least one of 'prefix', 'suffix', 'glob' or 'partition'", err)
        self.assertIn("rules/b.yaml:4:20: error: 'builtin' must be 'noop', not 'nope'", err)
        self.assertIn("rules/b.yaml:4:35: error: program 'bin/x' is a relative path", err)
        self.assertIn("rules/b.yaml:5:26: error: 'action' must be 'quarantine' or 'keep', not 'archive'", err)
        self.assertIn("rules/b.yaml:5:44: error: unknown notify target 'ops-hok' (did you mean 'ops-hook'?)", err)
        self.assertIn("rules/b.yaml:6:13: error: 'settle': invalid duration '5 seconds'", err)
        self.assertRegex(r.stdout.strip(), r"^config invalid: \d+ errors, \d+ warnings?$")
        lines = [l for l in err.splitlines() if l]
        self.assertTrue(all(":" in l for l in lines))

    def test_config_errors_and_rule_errors_together(self):
        self.write("hivehook.yaml", "landing: landing\nwrokers: 3\n")
        self.write("rules/a.yaml", "rules:\n  - {name: A, match: {prefix: a/}, job: {builtin: noop}}\n")
        r = self.check()
        self.assertEqual(r.returncode, 1)
        self.assertIn("hivehook.yaml:2:1: error: unknown key 'wrokers' in config (did you mean 'workers'?)", r.stderr)
        self.assertIn("rules/a.yaml:2:12: error: rule name 'A' must be", r.stderr)

    def test_g5_a_misspelt_time_zone_gets_the_closest_zone_name(self):
        """Issue 14 retest 3, G5: rule names had a did-you-mean, time zones only a generic example."""
        self.write("rules/a.yaml", """\
            rules:
              - name: nightly
                schedule: "0 2 * * *"
                timezone: America/New_Yrok
                job: {builtin: noop}
              - name: far
                schedule: "0 2 * * *"
                timezone: Mars/Olympus
                job: {builtin: noop}
            """)
        r = self.check()
        self.assertEqual(r.returncode, 1)
        self.assertIn("rules/a.yaml:4:15: error: unknown time zone 'America/New_Yrok' (not in the system's zone "
                      "database /usr/share/zoneinfo; did you mean 'America/New_York'?)", r.stderr)
        self.assertIn("rules/a.yaml:8:15: error: unknown time zone 'Mars/Olympus' (not in the system's zone "
                      "database /usr/share/zoneinfo; write an IANA name such as Europe/Berlin)", r.stderr)

    def test_yaml_syntax_error(self):
        self.write("rules/a.yaml", "rules:\n  - name: [unclosed\n")
        r = self.check()
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"rules/a\.yaml:\d+:\d+: error: YAML syntax error")

    def test_missing_config_is_a_usage_error(self):
        r = run("check", "-c", str(self.dir / "nope.yaml"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("not found", r.stderr)

    def test_unknown_option_is_a_usage_error(self):
        self.assertEqual(run("check", "--bogus").returncode, 2)

    def test_help(self):
        for cmd in ("check", "match"):
            r = run(cmd, "--help")
            self.assertEqual(r.returncode, 0)
            self.assertIn("--config", r.stdout)

    def test_warnings_do_not_fail(self):
        self.write("rules/a.yaml", "rules:\n  - {name: a, match: {prefix: a/}, job: {command: [no-such-prog-hh]}}\n")
        r = self.check()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("rules/a.yaml:2:52: warning: program 'no-such-prog-hh' is not found on PATH (yet)", r.stderr)
        self.assertEqual(r.stdout.strip(), "config OK: 1 rule from rules/ (1 file), 1 warning")

    def test_http_listen_beyond_loopback_without_a_token_is_warned(self):
        # Issue 15, fault 3: `check` said OK for a console open to the network, silently.
        self.write("rules/a.yaml", "rules:\n  - {name: a, match: {prefix: a/}, job: {command: [/bin/true]}}\n")
        cfg = (self.dir / "hivehook.yaml").read_text()  # its notify target's URL holds "http:" too
        for listen, warned in (("0.0.0.0:9464", True), ("192.0.2.10:9464", True), ("127.0.0.1:9464", False),
                               ("localhost:9464", False), ("[::1]:9464", False)):
            (self.dir / "hivehook.yaml").write_text(cfg + f"http: {{listen: \"{listen}\"}}\n")
            r = self.check()
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual("is reachable from other machines and there is no http.token" in r.stderr, warned,
                             (listen, r.stderr))
            if warned:
                self.assertIn(f"http.listen {listen} is reachable", r.stderr)
        # Issue 16 F5's kind: the warning names the key as the file writes it.
        (self.dir / "hivehook.yaml").write_text(cfg + "metrics: 0.0.0.0:9464\n")
        self.assertIn("metrics 0.0.0.0:9464 is reachable from other machines", self.check().stderr)
        (self.dir / "hivehook.yaml").write_text(cfg + "http: {listen: \"0.0.0.0:9464\", token: 0123456789abcdef}\n")
        r = self.check()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("reachable from other machines", r.stderr)

    # --- match ---
    def test_match_text_and_json(self):
        cfg = "examples/hivehook.yaml"
        r = run("match", "-c", cfg, "sales/year=2024/month=01/jan%20report.csv", cwd=SOURCE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("table:     sales", r.stdout)
        self.assertIn("partition: year=2024, month=01", r.stdout)
        self.assertIn("name:      jan%20report.csv", r.stdout)
        self.assertRegex(r.stdout, r"1\. echo-csv\s+command\s+examples/rules/10-echo\.yaml:3")

        r = run("match", "-c", cfg, "--json", "logs/env=prod/day=a%2Fb/x.log", cwd=SOURCE)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["table"], "logs")
        self.assertEqual(doc["partition"], {"env": "prod", "day": "a/b"})
        self.assertEqual(doc["name"], "x.log")
        self.assertFalse(doc["ignored"])
        self.assertEqual([x["name"] for x in doc["rules"]], ["archive-logs"])
        self.assertEqual(doc["rules"][0]["job"], "builtin")

    def test_match_fan_out_in_rule_order(self):
        self.write("rules/b.yaml", "rules:\n  - {name: second, match: {suffix: .csv}, job: {builtin: noop}}\n")
        self.write("rules/a.yaml", "rules:\n  - {name: first, match: {prefix: t/}, job: {builtin: noop}}\n")
        r = run("match", "-c", str(self.dir / "hivehook.yaml"), "--json", "t/x.csv")
        self.assertEqual([x["name"] for x in json.loads(r.stdout)["rules"]], ["first", "second"])

    def test_match_no_rule_and_ignored(self):
        r = run("match", "-c", "examples/hivehook.yaml", "other/.x.csv.tmp", cwd=SOURCE)
        self.assertEqual(r.returncode, 0)
        self.assertIn("ignored:   yes", r.stdout)
        self.assertIn("none match", r.stdout)

    def test_match_invalid_key(self):
        for key in ("../etc/passwd", "/abs", "a//b", "a/"):
            r = run("match", "-c", "examples/hivehook.yaml", key, cwd=SOURCE)
            self.assertEqual(r.returncode, 2, key)
            self.assertIn("invalid key", r.stderr)

    def test_match_with_bad_config_exits_2_with_diagnostics(self):
        self.write("rules/a.yaml", "rules:\n  - {name: a, retires: 1, match: {prefix: a/}, job: {builtin: noop}}\n")
        r = run("match", "-c", str(self.dir / "hivehook.yaml"), "a/x")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown key 'retires'", r.stderr)

    def test_match_requires_a_key(self):
        self.assertEqual(run("match", "-c", "examples/hivehook.yaml", cwd=SOURCE).returncode, 2)


if __name__ == "__main__":
    unittest.main()
