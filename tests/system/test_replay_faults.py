"""Regressions for the faults a new user found in replay and the console (issue 15's test
report): an unfiltered replay that reran the whole store, secrets shown in clear at outlets the
masking missed, an offline replay that waited for the whole outbox. Real daemon, real HTTP, the
real CLI."""
import hashlib
import json
import os
import sys
import time
import unittest

from harness import free_port, scrape, wait_until
from test_console import TOKEN, ConsoleDeployment, get_json, http

PY = sys.executable


class UnfilteredReplayTest(unittest.TestCase):
    RULES = """\
        rules:
          - name: load
            match: {prefix: t/}
            job: {command: [/bin/true]}
        """

    def setUp(self):
        self.d = ConsoleDeployment(rules=self.RULES)

    def tearDown(self):
        self.d.cleanup()

    def test_replay_with_no_filter_is_refused_unless_all_is_said(self):
        d = self.d
        d.drop("t/a.csv", "1\n")
        d.drop("t/b.csv", "2\n")
        self.assertEqual(d.cli("scan").returncode, 0)
        archived = d.count_objects("archived")
        self.assertEqual(archived, 2)

        # No daemon: a bare `hivehook replay` is refused and changes nothing; a dry run still plans.
        r = d.cli("replay")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn(b"no filter", r.stderr)
        self.assertIn(b"--all", r.stderr)
        self.assertEqual(d.events("object.replayed"), [])
        plan = json.loads(d.cli("replay", "--dry-run", "--json", check=True).stdout)
        self.assertEqual(plan["replayed"], 2)
        # A time filter (fault 18): what arrived in the last hour, or from a date on.
        self.assertEqual(json.loads(d.cli("replay", "--since", "1h", "--dry-run", "--json", check=True).stdout)["replayed"], 2)
        self.assertEqual(json.loads(d.cli("replay", "--since", "2099-01-01", "--dry-run", "--json", check=True).stdout)["objects"], [])
        self.assertEqual(d.cli("replay", "--since", "last tuesday").returncode, 2)

        # The daemon: an empty body and {} are refused (400, JSON error); nothing replayed.
        d.start()
        # An empty string is no filter either (retest F23: {"key": ""}, a script's unset variable,
        # replayed the whole store).
        for body in (None, {}, {"key": ""}, {"key": "", "rules": []}, {"from": "", "to": ""}):
            status, out = http(d.port, "POST", "/api/v1/replay", body=body, token=TOKEN)
            self.assertEqual(status, 400, out)
            self.assertIn("no filter", json.loads(out)["error"])
        status, out = http(d.port, "POST", "/api/v1/replay", body={"since": "soon"}, token=TOKEN)
        self.assertEqual(status, 400, out)
        self.assertIn("'since' must be a time", json.loads(out)["error"])
        r = d.cli("replay")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"no filter", r.stderr)
        self.assertEqual(d.events("object.replayed"), [])  # the refusals were answered before anything started
        # The token's variable unset in this shell (fault 14): said so, not "the config has no
        # http.token"; a dry run needs no token (it changes nothing) and is planned here.
        r = d.cli("replay", "--key", "t/", env={"HIVEHOOK_TOKEN": ""})
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"http.token is '${HIVEHOOK_TOKEN}', which is empty in this shell", r.stderr)
        self.assertTrue(r.stderr.startswith(b"hivehook replay: "), r.stderr)
        r = d.cli("replay", "--key", "t/", "--dry-run", env={"HIVEHOOK_TOKEN": ""})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"would replay 2 object(s)", r.stdout)
        # A misspelt rule gets a suggestion (fault 17).
        r = d.cli("replay", "--rule", "lod")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"hivehook replay: the daemon refused: no rule named 'lod' is in force (did you mean 'load'?)",
                      r.stderr)
        # Said explicitly: everything is replayed.
        status, out = http(d.port, "POST", "/api/v1/replay", body={"all": True}, token=TOKEN)
        self.assertEqual(status, 200, out)
        self.assertEqual(json.loads(out)["replayed"], 2)
        wait_until(lambda: d.count_objects("archived") == 4, message="both replayed")
        self.assertEqual(d.files(d.landing), [], "a replayed file leaves landing when it is archived")
        r = d.cli("replay", "--all", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["replayed"], 2)
        wait_until(lambda: d.count_objects("archived") == 6, message="replayed again")
        self.assertEqual(d.stop(), 0)


    def test_a_file_recorded_unmatched_is_replayed_once_a_rule_matches_it(self):
        d = self.d
        d.drop("u/x.csv", "3\n")
        self.assertEqual(d.cli("scan").returncode, 0)
        self.assertEqual(d.count_objects("unmatched"), 1)
        d.write_rules(self.RULES.rstrip(" ") + """\
          - name: later
            match: {prefix: u/}
            job: {command: [/bin/true]}
        """)
        r = d.cli("replay", "--key", "u/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"replay 1 object(s)\n  u/x.csv  (unmatched", r.stdout)
        self.assertEqual(d.count_objects("archived"), 1)
        self.assertEqual(d.files(d.archive), [b"u/x.csv"])


    def test_a_replay_that_runs_nothing_exits_0_and_says_why_and_its_dry_run_counts_the_same(self):
        d = self.d
        d.drop("t/a.csv", "1\n")
        d.drop("t/b.csv", "2\n")
        self.assertEqual(d.cli("scan").returncode, 0)
        d.drop("t/a.csv", "a different file\n")  # landed since: t/a.csv's replay is skipped
        # The dry run's counts are the real run's: one replayed, one skipped, the same fields.
        plan = json.loads(d.cli("replay", "--key", "t/", "--dry-run", "--json", check=True).stdout)
        r = d.cli("replay", "--key", "t/", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        done = json.loads(r.stdout)
        self.assertEqual((plan["dry_run"], done["dry_run"]), (True, False))
        self.assertEqual((plan["replayed"], plan["skipped"]), (1, 1))
        self.assertEqual((done["replayed"], done["skipped"]), (plan["replayed"], plan["skipped"]))
        self.assertEqual([(o["key"], o["skipped"]) for o in done["objects"]],
                         [(o["key"], o["skipped"]) for o in plan["objects"]])
        # Every match skipped: nothing ran, nothing failed — exit 0, and said in words.
        r = d.cli("replay", "--key", "t/a")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"skipped: a file is in landing at this key", r.stdout)
        self.assertIn(b"nothing replayed: the one match was skipped", r.stdout)
        r = d.cli("replay", "--key", "nothing/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"nothing replayed: no archived, quarantined or unmatched object matches", r.stdout)
        r = d.cli("retry", "--all-failed")  # as retry with nothing in quarantine
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"nothing retried: no quarantined object matches", r.stdout)
        # The same through the running daemon.
        d.start()
        wait_until(lambda: d.count_objects("archived") == 4, message="the file in landing is taken in")
        r = d.cli("replay", "--key", "nothing/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"nothing replayed: no archived, quarantined or unmatched object matches", r.stdout)
        self.assertNotIn(b"the daemon runs them now", r.stdout)
        self.assertEqual(d.stop(), 0)

SECRETS = {"HOOK_SECRET": "hooksecret-abc123", "HOOK_APIKEY": "apikey-zyx-98765",
           "WAREHOUSE": "postgresql://etl:pg-pass-778899@127.0.0.1:5432/wh"}
LEAKS = ["hooksecret-abc123", "apikey-zyx-98765", "pg-pass-778899", "hunter2-very-secret", "tok-abcdef-123456"]


class SecretsAtEveryOutletTest(unittest.TestCase):
    def setUp(self):
        self.d = ConsoleDeployment(rules="rules: []\n")
        port = free_port()  # nothing listens: the notification fails, its detail is stored
        self.d.config.write_text(self.d.config.read_text() + f"""\
notify:
  ops-hook:
    webhook: http://127.0.0.1:{port}/hook
    secret: ${{HOOK_SECRET}}
    headers: {{X-Api-Key: "${{HOOK_APIKEY}}"}}
    max_attempts: 1
""")
        job = self.d.dir / "job.sh"  # prints its secrets, writes them into its result, fails while 'broken' exists
        job.write_text('echo "DB_PASSWORD is $DB_PASSWORD token=$MY_TOKEN" >&2\n'
                       'printf \'{"pw":"%s","warehouse":"%s","rows":3}\' "$DB_PASSWORD" "$1" > "$HIVEHOOK_RESULT"\n'
                       f'if [ -e {self.d.dir}/broken ]; then echo "Traceback: boom $2" >&2; exit 3; fi\n')
        self.d.write_rules(f"""\
            rules:
              - name: sales-load
                description: "loads into ${{WAREHOUSE}}"
                match: {{prefix: sales/, suffix: .csv}}
                job:
                  command: [/bin/sh, "{job}", "${{WAREHOUSE}}", "--api-key=${{HOOK_APIKEY}}"]
                  env: {{DB_PASSWORD: hunter2-very-secret, MY_TOKEN: tok-abcdef-123456}}
                retries: 0
                on_success: {{action: archive, notify: [ops-hook]}}
                on_failure: {{action: quarantine, notify: [ops-hook]}}
            """)

    def tearDown(self):
        self.d.cleanup()

    def assert_masked(self, where, text):
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        for s in LEAKS:
            self.assertNotIn(s, text, f"{s} in clear in {where}")

    def test_secrets_never_reach_rules_api_quarantine_report_results_or_audit_events(self):
        d = self.d
        d.start(env=SECRETS)
        (d.dir / "broken").write_text("1")
        d.drop("sales/day=01/a.csv", "1\n")
        wait_until(lambda: d.count_objects("quarantined") == 1, message="quarantined")
        (d.dir / "broken").unlink()
        d.drop("sales/day=02/b.csv", "2\n")
        wait_until(lambda: d.count_objects("archived") == 1, message="archived")
        wait_until(lambda: len(d.events("notify.dead")) == 2, message="both notifications given up")

        # The rules, as the API and the console show them: the ${VAR}s expanded, and masked.
        status, body = http(d.port, "GET", "/api/v1/rules")
        self.assertEqual(status, 200)
        self.assert_masked("/api/v1/rules", body)
        (rule,) = json.loads(body)["rules"]
        self.assertEqual(rule["description"], "loads into postgresql://etl:***@127.0.0.1:5432/wh")
        # Quarantine's report beside the file.
        (report,) = [p for p in d.quarantine.rglob("*.error.json")]
        self.assert_masked(str(report), report.read_text())
        self.assertIn("DB_PASSWORD is ***", report.read_text())
        # Run results and output: the API, the CLI.
        status, body = http(d.port, "GET", "/api/v1/runs?output=1")
        self.assert_masked("/api/v1/runs", body)
        runs = json.loads(body)["runs"]
        ok = [r for r in runs if r["state"] == "succeeded"][0]
        self.assertEqual(ok["result"]["pw"], "***")
        self.assertEqual(ok["result"]["rows"], 3)
        for args in (("runs", "--json", "--output"), ("runs", "--output"), ("audit", "--json")):
            r = d.cli(*args, env=SECRETS)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assert_masked("hivehook " + " ".join(args), r.stdout)
        # Audit events: the store, audit.jsonl, the daemon's log.
        self.assert_masked("events", repr(d.events()))
        (succeeded,) = d.events("run.succeeded")
        self.assertEqual(succeeded[2]["result"]["rows"], 3)
        self.assert_masked("audit.jsonl", (d.dir / "state" / "audit.jsonl").read_text())
        self.assertEqual(d.stop(), 0)
        self.assert_masked("the daemon's log", d.log.read_text(errors="replace"))


class OfflineReplayExitTest(unittest.TestCase):
    def test_offline_replay_exits_when_its_runs_end_not_when_the_outbox_is_empty(self):
        port = free_port()  # the receiver is down: notifications are retried and stay pending
        d = ConsoleDeployment(rules="""\
            rules:
              - name: ok
                match: {prefix: a/}
                job: {command: [/bin/true]}
                on_success: {action: archive, notify: [hook]}
              - name: quiet
                match: {prefix: b/}
                job: {command: [/bin/true]}
            """)
        self.addCleanup(d.cleanup)
        d.config.write_text(d.config.read_text() + f"""\
notify:
  hook:
    webhook: http://127.0.0.1:{port}/down
    max_attempts: 1000
    backoff: {{initial: 100ms, max: 300ms}}
""")
        d.start()
        d.drop("a/old.csv", "1\n")
        d.drop("b/x.csv", "2\n")
        wait_until(lambda: d.count_objects("archived") == 2, message="both archived")
        wait_until(lambda: len(d.events("notify.retry_scheduled")) >= 1, message="the notification is retried")
        self.assertEqual(d.stop(), 0)
        # A replay whose objects raise no notification ends with its runs, though the outbox holds one.
        t0 = time.monotonic()
        r = d.cli("replay", "--key", "b/", timeout=25)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(time.monotonic() - t0, 20)
        self.assertIn(b"older notification(s) in the outbox are left for the daemon", r.stderr + r.stdout)
        # One that raises one it cannot deliver waits a bounded time for it, then says it is left.
        t0 = time.monotonic()
        r = d.cli("replay", "--key", "a/", timeout=80)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"not delivered within 30 s: left in the outbox", r.stderr + r.stdout)
        self.assertEqual(d.count_objects("archived"), 4)
        self.assertLess(time.monotonic() - t0, 70)


class TokenLockoutTest(unittest.TestCase):
    """Issue 15 retest X1: ten wrong tokens from 127.0.0.1 locked the address out (429), and with it
    the operator's own `hivehook replay`, which sent http.token from the same address; the log line
    about it read "refused a bearer ***" (the redactor took its own wording for a token)."""

    def test_x1_a_token_guessing_client_does_not_lock_the_cli_out(self):
        d = ConsoleDeployment(rules="""\
            rules:
              - name: load
                match: {prefix: t/}
                job: {command: [/bin/true]}
            """)
        self.addCleanup(d.cleanup)
        d.start()
        key = "t/day=2024-05-01/a.csv"
        d.drop(key, "1\n")
        wait_until(lambda: d.count_objects("archived") == 1, message="archived")
        for _ in range(10):
            self.assertEqual(http(d.port, "POST", "/api/v1/replay", body={"key": key}, token="wrong-token-0123456")[0], 401)
        status, _ = http(d.port, "POST", "/api/v1/replay", body={"key": key}, token=TOKEN)
        self.assertEqual(status, 429, "the address is locked out, even for the right http.token")

        # The CLI asks with the daemon's local token, which no guessing client can lock out.
        plan = json.loads(d.cli("replay", "--key", key, "--dry-run", "--json", check=True).stdout)
        self.assertEqual(plan["replayed"], 1)
        r = d.cli("replay", "--key", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: d.count_objects("archived") == 2 and len(d.events("object.replayed")) == 1,
                   message="the replay ran")

        # A user who may not read the local token sends http.token: turned away, a dry run is still
        # planned here (it changes nothing), a real replay says why it was refused.
        (d.dir / "state" / "hivehook.db.http-token").unlink()
        r = d.cli("replay", "--key", key, "--dry-run", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["replayed"], 1)
        self.assertIn(b"turned the token away", r.stderr)
        r = d.cli("replay", "--key", key)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"too many refused tokens", r.stderr)
        self.assertEqual(len(d.events("object.replayed")), 1)

        log = d.log.read_text(errors="replace")
        self.assertIn("refused the token 127.0.0.1 presented for POST /api/v1/replay", log)
        self.assertIn("127.0.0.1 had 10 tokens refused within 60 s", log)
        self.assertNotIn("bearer ***", log.lower())


class ApiRetest2Test(unittest.TestCase):
    """Issue 15's third new-user test (/work/findings/15-retest2.md): wrong tokens on reads were
    never counted nor locked out (X2); a replay body naming dry_run twice ran for real (X3); a user
    with http.token but not the state folder could not replay (X4); an offline replay beside a
    process on the daemon's port exited 75 (X5)."""

    RULES = """\
        rules:
          - name: load
            match: {prefix: t/}
            job: {command: [/bin/true]}
        """

    def deployment(self, **kw):
        d = ConsoleDeployment(rules=self.RULES, **kw)
        self.addCleanup(d.cleanup)
        return d

    def test_x2_wrong_tokens_on_reads_are_counted_and_locked_out(self):
        d = self.deployment()
        d.config.write_text(d.config.read_text().replace("  token: ${HIVEHOOK_TOKEN}\n",
                                                         "  token: ${HIVEHOOK_TOKEN}\n  read_auth: token\n"))
        d.start()
        self.assertEqual(http(d.port, "GET", "/api/v1/runs")[0], 401, "no token: refused, not counted")
        self.assertEqual(http(d.port, "GET", "/api/v1/runs", token=TOKEN)[0], 200)
        for _ in range(10):
            self.assertEqual(http(d.port, "GET", "/api/v1/runs", token="wrong-token-0123456")[0], 401)
        status, body = http(d.port, "GET", "/api/v1/runs", token=TOKEN)
        self.assertEqual(status, 429, "locked out: the right token is not compared either")
        self.assertIn("too many refused tokens", json.loads(body)["error"])
        self.assertEqual(http(d.port, "POST", "/api/v1/replay", body={"key": "t/"}, token=TOKEN)[0], 429)
        # V1 of the verification: another loopback address is the same client, not fresh guesses.
        import http.client as http_client
        conn = http_client.HTTPConnection("127.0.0.1", d.port, timeout=10, source_address=("127.0.0.2", 0))
        conn.request("GET", "/api/v1/runs", headers={"Authorization": "Bearer " + TOKEN})
        self.assertEqual(conn.getresponse().status, 429, "127.0.0.2 is locked out with 127.0.0.1")
        conn.close()
        local = (d.dir / "state" / "hivehook.db.http-token").read_text().strip()
        self.assertEqual(http(d.port, "GET", "/api/v1/runs", token=local)[0], 200, "the local token passes")
        self.assertEqual(http(d.port, "GET", "/healthz")[0], 200)
        metrics = http(d.port, "GET", "/metrics")[1].decode()
        self.assertRegex(metrics, r"hivehook_http_refused_tokens_total 10\b")
        self.assertRegex(metrics, r"hivehook_http_token_lockouts_total 1\b")
        self.assertIn("refused the token 127.0.0.1 presented for GET /api/v1/runs", d.log.read_text(errors="replace"))

    def test_x3_a_replay_body_naming_a_field_twice_is_refused(self):
        import urllib.request
        d = self.deployment()
        d.start()
        d.drop("t/day=2024-05-01/a.csv", "1\n")
        wait_until(lambda: d.count_objects("archived") == 1, message="archived")

        def post(raw):
            req = urllib.request.Request(f"http://127.0.0.1:{d.port}/api/v1/replay", method="POST", data=raw.encode(),
                                         headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()

        status, body = post('{"key": "t/", "dry_run": true, "dry_run": false}')
        self.assertEqual(status, 400, body)
        self.assertIn("'dry_run' is given more than once", json.loads(body)["error"])
        self.assertEqual(post('{"key": "t/", "rule": "load", "rules": ["load"]}')[0], 400)
        self.assertEqual(post('{"key": "t/", "dry_run": true}')[0], 200)
        self.assertEqual(d.events("object.replayed"), [])

    @unittest.skipUnless(os.geteuid() == 0, "needs root to run the CLI as another user")
    def test_x4_a_user_with_the_token_but_not_the_state_folder_replays_through_the_daemon(self):
        import subprocess
        from harness import BIN
        d = self.deployment(listen=f"127.0.0.1:{free_port()}")  # a port the config names (:0's is in state/)
        if d.pg_url:
            self.skipTest("file permissions of a SQLite state")
        os.chmod(d.dir, 0o755)
        for f in [d.config, *(d.dir / "rules").iterdir()]:
            os.chmod(f, 0o644)
        (d.dir / "state").mkdir(mode=0o700, exist_ok=True)
        os.chmod(d.dir / "state", 0o700)
        d.start()
        key = "t/day=2024-05-01/a.csv"
        d.drop(key, "1\n")
        wait_until(lambda: d.count_objects("archived") == 1, message="archived")

        def as_nobody(*args, token=TOKEN):
            env = {k: v for k, v in os.environ.items() if k != "HIVEHOOK_CONFIG"}
            env["HIVEHOOK_TOKEN"] = token
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", BIN, *args, "-c", str(d.config)]
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)

        r = as_nobody("replay", "--key", key, "--dry-run", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["replayed"], 1)
        r = as_nobody("replay", "--key", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: len(d.events("object.replayed")) == 1 and d.count_objects("archived") == 2,
                   message="the replay ran")
        # Without the token, the state folder's refusal is said, as before.
        r = as_nobody("replay", "--key", key, "--dry-run", token="")
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read the state DB", r.stderr)
        self.assertIn("): run as root\n", r.stderr)

        # V2 of the verification: the daemon stopped, another user's server on its port is never
        # sent the token (it answered /healthz and got "Bearer <http.token>").
        self.assertEqual(d.stop(), 0)
        seen = d.dir / "spy-seen"
        spy = subprocess.Popen(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "/usr/bin/python3", "-c",
             "import http.server,sys\n"
             "class H(http.server.BaseHTTPRequestHandler):\n"
             "  def answer(self):\n"
             "    sys.stderr.write('AUTH ' + str(self.headers.get('Authorization')) + '\\n'); sys.stderr.flush()\n"
             "    self.send_response(200); self.send_header('Content-Type', 'application/json'); self.end_headers()\n"
             "    self.wfile.write(b'{\"replayed\": 1, \"objects\": []}')\n"
             "  do_GET = do_POST = answer\n"
             f"http.server.HTTPServer(('127.0.0.1', {d.port}), H).serve_forever()\n"],
            stderr=open(seen, "wb"))
        self.addCleanup(lambda: (spy.kill(), spy.wait()))
        def spy_up():
            try:
                return http(d.port, "GET", "/healthz")[0] == 200
            except OSError:
                return False
        wait_until(spy_up, message="the spy listening")
        r = as_nobody("replay", "--key", key, "--dry-run", "--json")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("cannot read the state DB", r.stderr)
        self.assertNotIn(TOKEN, seen.read_text(errors="replace"))

    def test_x5_an_offline_replay_runs_beside_a_process_on_the_daemons_port(self):
        import socket
        port = free_port()
        d = self.deployment(listen=f"127.0.0.1:{port}")
        d.start()
        key = "t/day=2024-05-01/a.csv"
        d.drop(key, "1\n")
        wait_until(lambda: d.count_objects("archived") == 1, message="archived")
        self.assertEqual(d.stop(), 0)
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        self.addCleanup(holder.close)
        r = d.cli("replay", "--key", key, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(d.count_objects("archived"), 2)
        self.assertEqual(len(d.events("object.replayed")), 1)
        # The daemon itself still refuses a busy port (exit 75, for its service manager).
        proc_rc = d.cli("run", timeout=30).returncode
        self.assertEqual(proc_rc, 75)


class QuarantinedPartitionTest(unittest.TestCase):
    def test_quarantined_partition_does_not_read_as_succeeded_and_shows_why(self):
        from test_console import RULES as LOAD
        d = ConsoleDeployment(rules=LOAD + f"""\
      - name: sales-audit
        match: {{prefix: sales/, suffix: .csv}}
        job:
          command: [{PY}, -c, "import time; time.sleep(0.5)"]
        retries: 0
""")
        self.addCleanup(d.cleanup)
        key = "sales/year=2024/month=03/day=04/a.csv"
        d.drop(key, "id,amount\n1,oops\n")
        self.assertEqual(d.cli("scan").returncode, 1)
        (cell,) = json.loads(d.cli("partitions", "--table", "sales", "--json", check=True).stdout)
        self.assertEqual(cell["objects"], {"quarantined": 1})
        # sales-audit ended last, succeeded; the cell's run is the one that failed.
        self.assertEqual((cell["last_run"]["rule"], cell["last_run"]["state"]), ("sales-load", "failed"))
        (failed,) = cell["failed"]
        self.assertEqual((failed["key"], failed["state"]), (key, "quarantined"))
        self.assertIn("sales-load: exited with code 1: ValueError: row 1: amount 'oops' is not a number", failed["error"])
        text = d.cli("partitions", "--table", "sales", check=True).stdout.decode()
        self.assertIn("failed sales-load", text)
        self.assertNotIn("succeeded", text)
        self.assertIn(f"quarantined {key}: sales-load: exited with code 1: ValueError", text)
        # The console reads the object's error (the cell's Error column, the object view).
        d.start()
        (obj,) = get_json(d.port, "/api/v1/objects?table=sales&latest=1")["objects"]
        self.assertIn("ValueError: row 1", obj["error"])

        # The status line says what is in quarantine now, not every object ever (fault 10) ...
        status = get_json(d.port, "/api/v1/status")
        self.assertEqual(status["now"]["in_quarantine"], 1)
        self.assertEqual(status["health"], {"ok": True, "detail": None})
        (d.dir / "fixed").write_text("1")
        r = d.cli("retry", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: get_json(d.port, "/api/v1/status")["now"]["in_quarantine"] == 0,
                   message="the retried file leaves quarantine")
        self.assertEqual(get_json(d.port, "/api/v1/status")["objects"]["quarantined"], 1, "the totals still count it")
        # ... and a degraded daemon says so there too (fault 11).
        d.write_rules("""\
            rules:
              - name: broken
                description: "loads into ${HH_TEST_UNSET_WAREHOUSE}"
                match: {prefix: x/}
                job: {command: [/bin/true]}
            """, name="zz-broken.yaml")
        detail = wait_until(lambda: get_json(d.port, "/api/v1/status")["health"]["detail"], message="degraded")
        self.assertIn("degraded", detail)
        self.assertEqual(d.stop(), 0)


class ReplayBatchAndArchiveTest(unittest.TestCase):
    def test_replay_reaches_batch_rules_and_rebuilds_the_batch_with_its_marker(self):
        from harness import Deployment
        d = Deployment("")
        self.addCleanup(d.cleanup)
        runs = d.dir / "runs"
        runs.mkdir()
        d.config.write_text(d.config.read_text() + "http:\n  listen: 127.0.0.1:0\n  token: ${HIVEHOOK_TOKEN}\n")
        d.write_rules(f"""\
            rules:
              - name: load
                match: {{glob: "sales/day=*/*.csv"}}
                job: {{command: [/bin/true]}}
              - name: daily
                match: {{glob: "sales/day=*/*"}}
                batch: {{group: "{{table}}/{{partition.day}}", when: {{marker: _SUCCESS}}}}
                job: {{command: [/bin/sh, -c, 'cat > "$0/$HIVEHOOK_RUN_ID.json"', "{runs}"]}}
            """)
        env = {"HIVEHOOK_TOKEN": TOKEN}
        d.start(env=env)
        d.drop("sales/day=13/a.csv", "1\n")
        d.drop("sales/day=13/b.csv", "2\n")
        wait_until(lambda: d.count_objects("archived") == 2, message="loaded")
        d.drop("sales/day=13/_SUCCESS", "")
        wait_until(lambda: len(d.events("batch.succeeded")) == 1, message="the batch ran")
        # The plan names the marker (it joins the batch again), after the group's files.
        plan = json.loads(d.cli("replay", "--partition", "day=13", "--dry-run", "--json", env=env, check=True).stdout)
        self.assertEqual([(o["key"], o["rules"], o["batches"], o["skipped"]) for o in plan["objects"]],
                         [("sales/day=13/a.csv", ["load"], ["daily"], None),
                          ("sales/day=13/b.csv", ["load"], ["daily"], None),
                          ("sales/day=13/_SUCCESS", [], ["daily"], None)])
        # Naming only the batch rule is not "the named rules do not match the key".
        plan = json.loads(d.cli("replay", "--rule", "daily", "--partition", "day=13", "--dry-run", "--json", env=env,
                                check=True).stdout)
        self.assertEqual(plan["replayed"], 3)
        # Replayed for real: the batch is rebuilt and runs again, nothing is left collecting.
        r = d.cli("replay", "--partition", "day=13", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: len(d.events("batch.succeeded")) == 2, message="the batch ran again")
        events = [json.loads(p.read_text()) for p in runs.glob("*.json")]
        self.assertEqual(len(events), 2)
        for e in events:
            self.assertEqual(sorted(o["key"] for o in e["hivehook"]["objects"]),
                             ["sales/day=13/a.csv", "sales/day=13/b.csv"])
        status = d.cli("status", env=env).stdout.decode()
        self.assertNotIn("collecting", status)
        self.assertEqual(d.stop(), 0)

    def test_a_failed_replay_keeps_the_good_archived_copy_in_its_place(self):
        d = ConsoleDeployment(rules="")
        self.addCleanup(d.cleanup)
        d.write_rules(f"""\
            rules:
              - name: load
                match: {{prefix: t/}}
                job: {{command: [/bin/sh, -c, 'test ! -e {d.dir}/broken']}}
                retries: 0
            """)
        d.drop("t/day=01/a.csv", "good bytes\n")
        self.assertEqual(d.cli("scan").returncode, 0)
        archived = d.archive / "t/day=01/a.csv"
        self.assertEqual(archived.read_text(), "good bytes\n")
        (old_id, old_path), = d.query("SELECT id, final_path FROM objects WHERE state='archived'")
        # The fixed job is broken again: the replay fails and is quarantined, the archived copy stays.
        (d.dir / "broken").write_text("1")
        r = d.cli("replay", "--key", "t/")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(archived.read_text(), "good bytes\n", "the good copy keeps its place in the archive")
        self.assertTrue(os.path.exists(old_path))
        self.assertEqual(d.files(d.quarantine), [b"t/day=01/a.csv", b"t/day=01/a.csv.error.json"])
        self.assertEqual(d.files(d.landing), [])
        # Fixed: replayed from quarantine, archived at the key; one file there, nothing left behind.
        (d.dir / "broken").unlink()
        r = d.cli("retry", "--all-failed")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(d.files(d.archive), [b"t/day=01/a.csv"])
        self.assertEqual(d.files(d.quarantine), [])
        # A successful replay from the archive leaves one file in the archive, not two.
        r = d.cli("replay", "--key", "t/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(d.files(d.archive), [b"t/day=01/a.csv"])
        self.assertEqual(d.files(d.landing), [])
        self.assertEqual(d.count_objects("archived"), 3)


if __name__ == "__main__":
    unittest.main()


class ReplayRetestFaultsTest(unittest.TestCase):
    """Issue 15's second new-user test (/work/findings/15.md): retry dropped the rules skipped behind
    the failed one (F14) and a skipped batch's marker (F15); a re-dropped duplicate hid its day from
    replay and `partitions` (F1); naming a rule listed every other key as skipped (F12)."""

    def deployment(self, rules):
        from harness import Deployment
        d = Deployment(rules)
        self.addCleanup(d.cleanup)
        return d

    def test_retry_runs_the_rules_skipped_behind_the_failed_one(self):
        from harness import Deployment
        d = Deployment("")
        self.addCleanup(d.cleanup)
        mode, b_log, c_log = d.dir / "mode", d.dir / "b.log", d.dir / "c.log"
        mode.write_text("fail\n")
        d.write_rules(f"""\
            rules:
              - name: chain-a
                match: {{prefix: chain/}}
                job: {{command: [/bin/sh, -c, 'grep -q ok "$0" || {{ echo "ValueError: a broke" >&2; exit 65; }}', "{mode}"]}}
                retries: 0
              - name: chain-b
                match: {{prefix: chain/}}
                after: [chain-a]
                job: {{command: [/bin/sh, -c, 'echo b ran >> "$0"', "{b_log}"]}}
              - name: chain-c
                match: {{prefix: chain/}}
                job: {{command: [/bin/sh, -c, 'echo c ran >> "$0"', "{c_log}"]}}
            """)
        key = "chain/day=2024-09-01/c.csv"
        d.drop(key, "1\n")
        self.assertEqual(d.cli("scan").returncode, 1)
        self.assertEqual(d.count_objects("quarantined"), 1)
        self.assertFalse(b_log.exists())
        mode.write_text("ok\n")
        plan = json.loads(d.cli("retry", key, "--dry-run", "--json", check=True).stdout)
        self.assertEqual([o["rules"] for o in plan["objects"]], [["chain-a", "chain-b"]])
        r = d.cli("retry", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(b_log.read_text(), "b ran\n", "the load step behind the fixed one ran")
        self.assertEqual(c_log.read_text(), "c ran\n", "the rule that had succeeded did not run twice")
        self.assertEqual(d.files(d.archive), [key.encode()])
        self.assertEqual(d.files(d.quarantine), [])

    def test_retry_of_a_member_of_a_skipped_batch_runs_the_whole_batch_with_its_marker(self):
        from harness import Deployment
        d = Deployment("")
        self.addCleanup(d.cleanup)
        mode, summary = d.dir / "mode", d.dir / "summary.json"
        mode.write_text("fail\n")
        d.config.write_text(d.config.read_text() + "http:\n  listen: 127.0.0.1:0\n  token: ${HIVEHOOK_TOKEN}\n")
        d.write_rules(f"""\
            rules:
              - name: bt-load
                match: {{glob: "bt/day=*/*.csv"}}
                job: {{command: [/bin/sh, -c, 'case "$1" in *one*) grep -q ok "$0" || exit 65;; esac', "{mode}", "{{key}}"]}}
                retries: 0
              - name: bt-summary
                match: {{glob: "bt/day=*/*"}}
                batch: {{group: "{{partition.day}}", when: {{marker: _SUCCESS}}}}
                job: {{command: [/bin/sh, -c, 'cat > "$0"', "{summary}"]}}
            """)
        env = {"HIVEHOOK_TOKEN": TOKEN}
        d.start(env=env)
        d.drop("bt/day=2024-10-01/one.csv", "1\n")
        d.drop("bt/day=2024-10-01/two.csv", "2\n")
        wait_until(lambda: d.count_objects("quarantined") == 1 and d.count_objects("archived") == 1,
                   message="one member failed, one loaded")
        d.drop("bt/day=2024-10-01/_SUCCESS", "")
        wait_until(lambda: len(d.events("batch.skipped")) == 1, message="the batch was skipped")
        mode.write_text("ok\n")
        plan = json.loads(d.cli("retry", "--all-failed", "--dry-run", "--json", env=env, check=True).stdout)
        self.assertEqual([(o["key"], o["rules"], o["batches"], o["skipped"]) for o in plan["objects"]],
                         [("bt/day=2024-10-01/one.csv", ["bt-load"], ["bt-summary"], None),
                          ("bt/day=2024-10-01/two.csv", [], ["bt-summary"], None),
                          ("bt/day=2024-10-01/_SUCCESS", [], ["bt-summary"], None)])
        r = d.cli("retry", "--all-failed", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: len(d.events("batch.succeeded")) == 1, message="the day's batch ran once its member was fixed")
        event = json.loads(summary.read_text())
        self.assertEqual(sorted(o["key"] for o in event["hivehook"]["objects"]),
                         ["bt/day=2024-10-01/one.csv", "bt/day=2024-10-01/two.csv"], "the whole day, not the retried file alone")
        self.assertNotIn("collecting", d.cli("status", env=env).stdout.decode())
        ((load_runs,),) = d.query("SELECT COUNT(*) FROM runs WHERE rule = 'bt-load' AND key = ?", "bt/day=2024-10-01/two.csv")
        self.assertEqual(load_runs, 1, "the member that had loaded did not run again")
        self.assertEqual(d.stop(), 0)

    def test_a_re_dropped_duplicate_keeps_its_day_in_replay_plans_and_partitions(self):
        d = self.deployment("""\
            rules:
              - name: sales-load
                match: {prefix: sales/}
                job: {command: [/bin/true]}
            """)
        key = "sales/year=2024/month=03/day=01/a.csv"
        d.drop(key, "id,amount\n1,9.99\n")
        self.assertEqual(d.cli("scan").returncode, 0)
        d.drop(key, "id,amount\n1,9.99\n")  # the same bytes again: a duplicate, its copy deleted
        self.assertEqual(d.cli("scan").returncode, 0)
        self.assertEqual(d.count_objects("duplicate"), 1)
        plan = json.loads(d.cli("replay", "--key", key, "--dry-run", "--json", check=True).stdout)
        self.assertEqual([(o["key"], o["from_state"], o["skipped"]) for o in plan["objects"]], [(key, "archived", None)])
        (cell,) = json.loads(d.cli("partitions", "--table", "sales", "--json", check=True).stdout)
        self.assertEqual(cell["objects"], {"archived": 1}, "the day is loaded, not '1 duplicate'")
        self.assertEqual(cell["last_run"]["rule"], "sales-load")

    def test_replay_naming_a_rule_lists_only_the_keys_it_matches(self):
        d = self.deployment("""\
            rules:
              - name: sales-load
                match: {prefix: sales/}
                job: {command: [/bin/true]}
              - name: bulk-load
                match: {prefix: bulk/}
                job: {command: [/bin/true]}
            """)
        for i in range(5):
            d.drop(f"bulk/day={i}/f.csv", f"{i}\n")
        d.drop("sales/day=1/a.csv", "1\n")
        self.assertEqual(d.cli("scan").returncode, 0)
        plan = json.loads(d.cli("replay", "--rule", "sales-load", "--dry-run", "--json", check=True).stdout)
        self.assertEqual([o["key"] for o in plan["objects"]], ["sales/day=1/a.csv"])
        self.assertEqual((plan["replayed"], plan["skipped"]), (1, 0))
        r = d.cli("replay", "--rule", "sales-load", "--key", "bulk/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"nothing replayed: no archived, quarantined or unmatched object matches the filters", r.stdout)

    def test_a_replay_of_a_key_being_processed_says_so(self):
        d = self.deployment("""\
            rules:
              - name: slow
                match: {prefix: slow/}
                job: {command: [/bin/sleep, "20"]}
            """)
        d.start()
        d.drop("slow/day=1/x.csv", "1\n")
        wait_until(lambda: len(d.events("run.started")) == 1, message="the job runs")
        plan = json.loads(d.cli("replay", "--key", "slow/", "--dry-run", "--json", check=True).stdout)
        ((key, skipped),) = [(o["key"], o["skipped"]) for o in plan["objects"]]
        self.assertEqual(key, "slow/day=1/x.csv")
        self.assertRegex(skipped, r"^it is being processed \(object \d+ is pending\)$")


class JobWritesItsInputTest(unittest.TestCase):
    """Findings 15 F21 and F22: a job that writes to its own input. A replay hard-linked the
    archived copy into landing, so the job rewrote the archive's good copy (F21); and each write
    made the key "rewritten" — a new arrival that ran again — 355 runs in 3 s, forever (F22).
    Real daemon, real sh jobs appending to "$1"."""

    MUTATE = "echo MUTATED >> \"$1\""

    def deployment(self, rules):
        d = ConsoleDeployment(rules=rules)
        self.addCleanup(d.cleanup)
        return d

    def loop_over(self, d, key):
        (ev,) = wait_until(lambda: [e for e in d.events("object.loop_detected") if e[1] in (key, key.encode())],
                           message="the loop stopped")
        wait_until(lambda: d.query("SELECT state FROM objects WHERE id=?", ev[2]["object"]) == [(b"quarantined",)],
                   message="the last version quarantined")
        return ev

    def test_F21_a_replay_job_writing_to_its_input_never_changes_the_archived_copy(self):
        d = self.deployment("""\
            rules:
              - name: orders
                match: {prefix: orders/}
                job: {command: [/bin/true]}
            """)
        key = "orders/year=2024/month=6/day=2/o.csv"
        d.drop(key, "2\n")
        self.assertEqual(d.cli("scan").returncode, 0)
        archived = d.archive / key
        ((etag,),) = d.query("SELECT etag FROM objects WHERE state='archived'")
        d.write_rules(f"""\
            rules:
              - name: orders
                match: {{prefix: orders/}}
                job: {{command: [/bin/true]}}
              - name: mut
                match: {{prefix: orders/}}
                job: {{command: [sh, -c, '{self.MUTATE}; exit 1', sh, "{{path}}"]}}
                retries: 0
            """)
        d.start()
        r = d.cli("replay", "--key", key, "--rule", "mut", "--rule", "orders")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.loop_over(d, key)
        self.assertEqual(archived.read_text(), "2\n", "the archive's good copy is never the job's to write")
        self.assertEqual(os.stat(archived).st_nlink, 1)
        self.assertEqual(hashlib.md5(archived.read_bytes()).hexdigest(), etag.decode())
        # The replayed object ran on a copy of its own; the job's writes are on that copy's versions.
        (quarantined,) = [p for p in d.files(d.quarantine) if not p.endswith(b".error.json")]
        self.assertEqual((d.quarantine / quarantined.decode()).read_text(), "2\n" + "MUTATED\n" * 3)
        self.assertEqual(d.stop(), 0)

    def test_F21_a_retry_job_writing_to_its_input_never_changes_the_quarantined_original(self):
        d = self.deployment("""\
            rules:
              - name: load
                match: {prefix: t/}
                job: {command: [/bin/false]}
                retries: 0
            """)
        key = "t/day=01/a.csv"
        d.drop(key, "bad bytes\n")
        self.assertEqual(d.cli("scan").returncode, 1)
        original = d.quarantine / key
        report = d.quarantine / (key + ".error.json")
        self.assertTrue(report.exists())
        d.write_rules(f"""\
            rules:
              - name: load
                match: {{prefix: t/}}
                job: {{command: [sh, -c, '{self.MUTATE}; exit 1', sh, "{{path}}"]}}
                retries: 0
            """)
        d.start()
        r = d.cli("retry", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.loop_over(d, key)
        self.assertEqual(original.read_text(), "bad bytes\n", "the quarantined original is never the job's to write")
        self.assertTrue(report.exists(), "its report stays beside it")
        self.assertEqual(d.stop(), 0)
        # A fixed job: the retried copy runs once, and ends in the original's place (one file, no report).
        d.drop("t/day=02/b.csv", "bad too\n")
        d.write_rules("""\
            rules:
              - name: load
                match: {prefix: t/day=02/}
                job: {command: [/bin/false]}
                retries: 0
            """)
        self.assertEqual(d.cli("scan").returncode, 1)
        d.write_rules("""\
            rules:
              - name: load
                match: {prefix: t/}
                job: {command: [/bin/true]}
            """)
        r = d.cli("retry", "t/day=02/b.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((d.archive / "t/day=02/b.csv").read_text(), "bad too\n")
        self.assertNotIn(b"t/day=02/b.csv", d.files(d.quarantine))
        self.assertNotIn(b"t/day=02/b.csv.error.json", d.files(d.quarantine))

    def test_F21_a_replay_that_finds_no_room_in_landing_says_so_and_keeps_the_archived_copy(self):
        d = self.deployment("""\
            rules:
              - name: load
                match: {prefix: t/}
                job: {command: [/bin/true]}
            """)
        key = "t/day=01/big.csv"
        d.drop(key, b"x" * (600 * 1024))
        self.assertEqual(d.cli("scan").returncode, 0)
        d.mount_tmpfs(d.landing, size="512k")  # skips with a clear message where it cannot mount
        r = d.cli("replay", "--key", key)
        out = (r.stdout + r.stderr).decode()
        self.assertIn("bytes free, the file needs 614400", out)
        self.assertEqual((d.archive / key).stat().st_size, 600 * 1024)
        self.assertEqual(d.files(d.landing), [])

    def test_F22_a_job_writing_to_its_input_stops_after_three_versions_quarantined_not_looping(self):
        d = self.deployment(f"""\
            rules:
              - name: mut2
                match: {{prefix: mut2/}}
                job: {{command: [sh, -c, '{self.MUTATE}', sh, "{{path}}"]}}
                on_success: {{action: archive}}
            """)
        d.start()
        key = "mut2/day=1/f.txt"
        d.drop(key, "1\n")
        _, _, detail = self.loop_over(d, key)
        self.assertEqual(detail["rules"], ["mut2"])
        self.assertEqual(detail["generations"], 3)
        self.assertIn("rewrote its own input 3 times in a row", detail["reason"])
        metrics = scrape(d.port)
        self.assertEqual(metrics.get('hivehook_object_loops_total{rule="mut2"}'), 1.0)
        self.assertEqual(d.stop(), 0)
        # Stopped, not slowed: three runs, three superseded versions, the fourth quarantined unrun.
        states = [s.decode() for (s,) in d.query("SELECT state FROM objects WHERE key=? ORDER BY id", key)]
        self.assertEqual(states, ["superseded"] * 3 + ["quarantined"])
        self.assertEqual(len(d.events("run.started")), 3)
        for _, _, sup in d.events("object.superseded"):
            self.assertTrue(sup["rewritten_during_its_run"])
        # Nothing lost: the last version and why, in the quarantine; a warning names key and rule.
        self.assertEqual((d.quarantine / key).read_text(), "1\n" + "MUTATED\n" * 3)
        report = json.loads((d.quarantine / (key + ".error.json")).read_text())
        self.assertIn("rewrote its own input 3 times", report["error"])
        ((error,),) = d.query("SELECT error FROM objects WHERE state='quarantined'")
        self.assertIn(b"rewrote its own input", error)
        log = d.log.read_text(errors="replace")
        self.assertRegex(log, r"warn.*mut2/day=1/f\.txt: the job of rule mut2 rewrote its own input 3 times")

    def test_F22_a_job_that_rewrites_its_input_once_runs_again_once_and_is_archived(self):
        # An in-place step (marks, normalises) whose second run leaves the file alone: the contract
        # "a file rewritten at its key makes the old object superseded" holds, and the loop guard
        # never trips.
        d = self.deployment("""\
            rules:
              - name: mark
                match: {prefix: m/}
                job: {command: [sh, -c, 'grep -q MARK "$1" || echo MARK >> "$1"', sh, "{path}"]}
            """)
        key = "m/day=1/f.txt"
        d.drop(key, "1\n")
        self.assertEqual(d.cli("scan").returncode, 0)
        states = [s.decode() for (s,) in d.query("SELECT state FROM objects WHERE key=? ORDER BY id", key)]
        self.assertEqual(states, ["superseded", "archived"])
        self.assertEqual((d.archive / key).read_text(), "1\nMARK\n")
        self.assertEqual(d.events("object.loop_detected"), [])
