"""Notifications through the durable outbox, end to end: a real SMTP server (aiosmtpd) and a
real HTTP receiver on loopback; and /metrics of the running daemon."""
import email
import email.policy
import hashlib
import hmac
import json
import os
import pathlib
import re
import socket
import subprocess
import tempfile
import textwrap
import time
import unittest
import urllib.request

from harness import SOURCE, Deployment, wait_until

SUPPORT = SOURCE / "tests/support"
SECRET = "s3cr3t-hook-value"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """tests/support/http_receiver.py on a fixed port, restartable (down → up)."""

    def __init__(self, port, out, statuses="200"):
        self.port, self.out, self.statuses, self.proc = port, out, statuses, None

    def start(self):
        self.proc = subprocess.Popen(["/usr/bin/python3", str(SUPPORT / "http_receiver.py"), "--out", str(self.out),
                                      "--port", str(self.port), "--statuses", self.statuses], stdout=subprocess.PIPE)
        self.proc.stdout.readline()  # the port: listening now
        return self

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def requests(self):
        if not self.out.exists():
            return []
        return [json.loads(l) for l in self.out.read_text().splitlines() if l.strip()]


def header(req, name):
    for k, v in req["headers"].items():
        if k.lower() == name.lower():
            return v
    return None


class Notify(unittest.TestCase):
    def setUp(self):
        self.d = None
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.stop()
        if self.d:
            self.d.cleanup()

    def deployment(self, rules, notify_yaml, extra=""):
        notify = textwrap.indent(textwrap.dedent(notify_yaml).strip("\n") + "\n", "  ") if notify_yaml.strip() else ""
        self.d = Deployment(rules, config_extra=("notify:\n" + notify if notify else "") + extra)
        return self.d

    def test_failure_notification_carries_the_reason_and_a_masked_stderr_excerpt(self):
        port = free_port()
        rec = Receiver(port, pathlib.Path(tempfile.mkdtemp(prefix="hivehook-hooks-")) / "hooks.jsonl")
        self.procs.append(rec.start())
        d = self.deployment(f"""\
            rules:
              - name: load
                match: {{prefix: t/}}
                job: {{command: [/usr/bin/python3, -c, "import sys; print('token=abc123 and the secret {SECRET}', file=sys.stderr); [print('noise', i, file=sys.stderr) for i in range(100)]; raise KeyError('customer_id')"]}}
                retries: 0
                on_failure: {{action: quarantine, notify: [hook]}}
            """, f"""\
              hook:
                webhook: http://127.0.0.1:{port}/hook
                secret: ${{HOOK_SECRET}}
            """)
        d.start(env={"HOOK_SECRET": SECRET})
        d.drop("t/bad.csv")
        wait_until(lambda: len(rec.requests()) == 1, message="the failure delivered")
        body = json.loads(rec.requests()[0]["body"])
        self.assertEqual(body["reason"], "exited with code 1: KeyError: 'customer_id'")
        excerpt = body["stderr_excerpt"]
        self.assertTrue(excerpt.endswith('  File "<string>", line 1, in <module>\nKeyError: \'customer_id\'\n'), excerpt)
        self.assertIn("Traceback (most recent call last):\n", excerpt)
        self.assertLessEqual(len(excerpt.splitlines()), 21, "bounded: 20 lines and the cut mark")
        self.assertTrue(excerpt.startswith("…\n"))
        self.assertEqual(d.stop(), 0)

    def test_failure_notification_masks_secrets_in_the_excerpt(self):
        port = free_port()
        rec = Receiver(port, pathlib.Path(tempfile.mkdtemp(prefix="hivehook-hooks-")) / "hooks.jsonl")
        self.procs.append(rec.start())
        d = self.deployment(f"""\
            rules:
              - name: load
                match: {{prefix: t/}}
                job: {{command: [/bin/sh, -c, 'echo "login with password=hunter2 for $0 using $DB_CREDENTIALS" >&2; exit 65', "{SECRET}"],
                       env: {{DB_CREDENTIALS: "${{JOB_DB_CREDENTIALS}}"}}}}
                retries: 0
                on_failure: {{action: quarantine, notify: [hook]}}
            """, f"""\
              hook:
                webhook: http://127.0.0.1:{port}/hook
                secret: ${{HOOK_SECRET}}
            """)
        d.start(env={"HOOK_SECRET": SECRET, "JOB_DB_CREDENTIALS": "loader-9d2e71"})
        d.drop("t/bad.csv")
        wait_until(lambda: len(rec.requests()) == 1, message="the failure delivered")
        body = json.loads(rec.requests()[0]["body"])
        self.assertEqual(body["stderr_excerpt"], "login with password=*** for *** using ***\n")
        self.assertEqual(body["reason"], "exited with code 65: login with password=*** for *** using ***")
        self.assertNotIn(SECRET, rec.requests()[0]["body"])
        self.assertNotIn("loader-9d2e71", rec.requests()[0]["body"])  # the job's own secret, from its env
        self.assertEqual(d.stop(), 0)

    def test_webhook_signed_with_every_field_and_delivered_once_after_receiver_comes_up(self):
        port = free_port()
        d = self.deployment("""\
            rules:
              - name: load
                match: {prefix: t/}
                job: {command: [/bin/sh, -c, 'echo "{\\"rows\\": 3}" > "$HIVEHOOK_RESULT"; case "$1" in *bad*) exit 65;; esac', sh, "{key}"]}
                retries: 0
                on_success: {action: archive, notify: [hook]}
                on_failure: {action: quarantine, notify: [hook]}
            """, f"""\
              hook:
                webhook: http://127.0.0.1:{port}/hook
                secret: ${{HOOK_SECRET}}
                timeout: 2s
                max_attempts: 100
                backoff: {{initial: 100ms, max: 300ms}}
            """)
        d.start(env={"HOOK_SECRET": SECRET})
        d.drop("t/good.csv", b"hello")
        d.drop("t/bad.csv")
        # the receiver is down: attempts fail and are retried
        wait_until(lambda: len(d.events("notify.retry_scheduled")) >= 4, message="retries while down")
        self.assertEqual(d.cli("status", "--json").returncode, 0)
        rec = Receiver(port, d.dir / "hooks.jsonl")
        self.procs.append(rec.start())
        wait_until(lambda: len(d.events("notify.sent")) == 2, message="both delivered")
        self.assertEqual(d.stop(), 0)
        reqs = rec.requests()
        ids = [header(r, "X-Hivehook-Delivery") for r in reqs]
        self.assertEqual(len(ids), 2, "each delivered exactly once")
        self.assertEqual(len(set(ids)), 2)
        by_event = {}
        for r in reqs:
            body = r["body"]
            sig = header(r, "X-Hivehook-Signature")
            m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", sig)
            self.assertIsNotNone(m, sig)
            expected = hmac.new(SECRET.encode(), f"{m.group(1)}.{body}".encode(), hashlib.sha256).hexdigest()
            self.assertTrue(hmac.compare_digest(expected, m.group(2)), "signature verifies with the secret")
            self.assertLess(abs(int(m.group(1)) - time.time()), 120)
            self.assertEqual(header(r, "Content-Type"), "application/json")
            b = json.loads(body)
            self.assertEqual(header(r, "X-Hivehook-Event"), b["event"])
            for field in ("event", "delivery_id", "time", "rule", "bucket", "key", "run_id", "attempts",
                          "duration_ms", "exit_code", "error", "result", "destination"):
                self.assertIn(field, b)
            by_event[b["event"]] = b
        ok, bad = by_event["object.succeeded"], by_event["object.failed"]
        self.assertEqual(ok["key"], "t/good.csv")
        self.assertEqual(ok["result"], {"rows": 3})
        self.assertEqual(ok["exit_code"], 0)
        self.assertTrue(ok["destination"].endswith("archive/t/good.csv"))
        self.assertEqual(bad["exit_code"], 65)
        self.assertTrue(bad["destination"].endswith("quarantine/t/bad.csv"))
        # the secret never shows in the log, the audit trail or status
        for text in (d.log.read_text(errors="replace"), (d.dir / "state/audit.jsonl").read_text(),
                     d.cli("status", "--json").stdout.decode()):
            self.assertNotIn(SECRET, text)

    def test_failed_deliveries_are_in_the_log_issue16_N5(self):
        """Issue 16 N5: a webhook target failing for 30 s left nothing in the journal (only the
        audit log): the first failure of a delivery is a warning, later ones info, the delivery info."""
        port = free_port()
        d = self.deployment("""\
            rules:
              - name: load
                match: {prefix: t/}
                job: {command: [/bin/true]}
                on_success: {action: archive, notify: [hook]}
            """, f"""\
              hook:
                webhook: http://127.0.0.1:{port}/hook
                timeout: 2s
                max_attempts: 100
                backoff: {{initial: 100ms, max: 300ms}}
            """)
        d.start()
        d.drop("t/a.csv")
        wait_until(lambda: len(d.events("notify.retry_scheduled")) >= 3, message="retries while down")
        log = d.log.read_text()
        warned = [l for l in log.splitlines() if " warning " in l and "to hook failed:" in l]
        self.assertEqual(len(warned), 1, log)
        self.assertRegex(warned[0], r"notification [0-9a-f-]+ to hook failed: .*retried with backoff")
        self.assertRegex(log, r" info notification [0-9a-f-]+ to hook failed again \(attempt 2\)")
        rec = Receiver(port, d.dir / "hooks.jsonl")
        self.procs.append(rec.start())
        wait_until(lambda: len(d.events("notify.sent")) == 1, message="delivered")
        wait_until(lambda: re.search(r"notification [0-9a-f-]+ to hook delivered on attempt \d+", d.log.read_text()),
                   message="the delivery in the log")
        self.assertEqual(d.stop(), 0)

    def test_kill_9_while_deliveries_pending_then_all_delivered_none_lost(self):
        port = free_port()
        d = self.deployment("""\
            rules:
              - name: n
                match: {prefix: t/}
                job: {builtin: noop}
                on_success: {action: archive, notify: [hook]}
            """, f"""\
              hook:
                webhook: http://127.0.0.1:{port}/hook
                timeout: 1s
                max_attempts: 1000
                backoff: {{initial: 50ms, max: 200ms}}
            """)
        d.start()
        keys = [f"t/f{i:03d}.csv" for i in range(50)]
        for k in keys:
            d.drop(k)
        wait_until(lambda: d.count_objects("archived") == 50, message="archived")
        d.kill9()  # receiver never came up: every notification is pending in the outbox
        pending = d.query("SELECT COUNT(*) FROM outbox WHERE state='pending'")[0][0]
        self.assertEqual(pending, 50)
        rec = Receiver(port, d.dir / "hooks.jsonl")
        self.procs.append(rec.start())
        d.start()
        wait_until(lambda: d.query("SELECT COUNT(*) FROM outbox WHERE state='sent'")[0][0] == 50, message="all sent")
        self.assertEqual(d.stop(), 0)
        delivered = {json.loads(r["body"])["key"] for r in rec.requests()}
        self.assertEqual(delivered, set(keys))
        ids = [header(r, "X-Hivehook-Delivery") for r in rec.requests()]
        self.assertEqual(len(ids), len(set(ids)), "no duplicates without a kill during delivery")

    def test_gone_receiver_is_given_up_at_once_and_shows_in_status(self):
        port = free_port()
        d = self.deployment("""\
            rules:
              - name: n
                match: {prefix: t/}
                job: {builtin: noop}
                on_success: {action: archive, notify: [hook, flaky]}
            """, f"""\
              hook:
                webhook: http://127.0.0.1:{port}/hook
              flaky:
                webhook: http://127.0.0.1:{free_port()}/never-up
                max_attempts: 3
                backoff: {{initial: 50ms, max: 100ms}}
            """)
        rec = Receiver(port, d.dir / "hooks.jsonl", statuses="410")
        self.procs.append(rec.start())
        d.drop("t/a.csv")
        self.assertEqual(d.cli("scan", timeout=60).returncode, 0)
        self.assertEqual(len(rec.requests()), 1, "410 Gone is not retried")
        dead = d.events("notify.dead")
        self.assertEqual(len(dead), 2)
        st = json.loads(d.cli("status", "--json", check=True).stdout)
        self.assertEqual(st["outbox"]["dead"], 2)
        self.assertEqual({x["target"] for x in st["dead_notifications"]}, {"hook", "flaky"})
        attempts = d.query("SELECT COUNT(*) FROM delivery_attempts")[0][0]
        self.assertEqual(attempts, 1 + 3)

    def smtp(self, out, *args):
        p = subprocess.Popen(["/usr/bin/python3", str(SUPPORT / "smtp_server.py"), "--out", str(out), *args],
                             stdout=subprocess.PIPE)
        port = int(p.stdout.readline())

        class Handle:
            def stop(self_inner):
                p.kill()
                p.wait()
                p.stdout.close()
        self.procs.append(Handle())
        return port

    def test_failed_run_sends_one_mail_and_starttls_works(self):
        certdir = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-cert-"))
        subprocess.run(["bash", str(SUPPORT / "make_test_cert.sh"), str(certdir)], check=True)
        plain_out = certdir / "plain"
        tls_out = certdir / "tls"
        plain = self.smtp(plain_out)
        tls = self.smtp(tls_out, "--starttls", str(certdir / "cert.pem"), str(certdir / "key.pem"),
                        "--auth", "ops:pw")
        d = self.deployment("""\
            rules:
              - name: etl-job
                match: {prefix: t/}
                job: {command: [/bin/sh, -c, 'echo "boom: bad header" >&2; exit 65']}
                on_failure: {action: quarantine, notify: [mail, tlsmail]}
            """, f"""\
              mail:
                smtp: smtp://127.0.0.1:{plain}
                from: hivehook@example.com
                to: [ops@example.com, data@example.com]
              tlsmail:
                smtp: smtp://127.0.0.1:{tls}
                tls: starttls
                from: hivehook@example.com
                to: [oncall@example.com]
                username: ${{SMTP_USER}}
                password: ${{SMTP_PASSWORD}}
            """)
        d.drop("t/day=01/tx.csv")
        env = {"SMTP_USER": "ops", "SMTP_PASSWORD": "pw", "HIVEHOOK_SMTP_CAINFO": str(certdir / "cert.pem")}
        r = d.cli("scan", env=env, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(d.events("notify.sent")), 2, d.events())
        mails = sorted(plain_out.glob("*.eml"))
        self.assertEqual(len(mails), 1, "one mail")
        raw = mails[0].read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(msg["Subject"], "[hivehook] FAILED etl-job: t/day=01/tx.csv")
        self.assertEqual(msg["From"], "hivehook@example.com")
        self.assertIn("ops@example.com", msg["To"])
        self.assertIn("data@example.com", msg["To"])
        self.assertIsNotNone(msg["Date"])
        self.assertIsNotNone(msg["Message-ID"])
        envelope_to = re.findall(rb"X-Envelope-To: (\S+)", raw)
        self.assertEqual(sorted(envelope_to), [b"data@example.com", b"ops@example.com"])
        body = msg.get_body().get_content()
        self.assertIn("t/day=01/tx.csv", body)
        self.assertIn("65", body)
        tls_mails = sorted(tls_out.glob("*.eml"))
        self.assertEqual(len(tls_mails), 1, "delivered over STARTTLS with AUTH")
        self.assertNotIn(b"pw", d.log.read_bytes() if d.log.exists() else b"")

    def test_failure_mail_carries_the_reason_and_the_stderr_excerpt_with_the_jobs_secret_masked(self):
        out = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-mail-"))
        port = self.smtp(out)
        d = self.deployment("""\
            rules:
              - name: load-orders
                match: {prefix: t/}
                job:
                  command:
                    - /usr/bin/python3
                    - -c
                    - |
                      import os, sys
                      for i in range(60): print("row", i, "skipped", file=sys.stderr)
                      print("connecting to the warehouse with " + os.environ["WAREHOUSE_PASSWORD"], file=sys.stderr)
                      raise ValueError("column customer_id missing in orders.csv")
                  env: {WAREHOUSE_PASSWORD: "${WH}"}
                retries: 0
                on_failure: {action: quarantine, notify: [mail]}
            """, f"""\
              mail:
                smtp: smtp://127.0.0.1:{port}
                from: hivehook@example.com
                to: [ops@example.com]
            """)
        job_secret = "wh-pw-7f3a9c21e"
        d.drop("t/day=01/orders.csv")
        r = d.cli("scan", env={"WH": job_secret}, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        wait_until(lambda: len(list(out.glob("*.eml"))) == 1, message="the failure mailed")
        raw = next(out.glob("*.eml")).read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body().get_content().replace("\r\n", "\n")
        self.assertIn("reason: exited with code 1: ValueError: column customer_id missing in orders.csv\n", body)
        excerpt = body[body.index("stderr (the end):\n") + len("stderr (the end):\n"):]
        # Real lines, the end of stderr (the traceback whole), bounded: 20 lines and the cut mark.
        self.assertTrue(excerpt.startswith("…\n"), excerpt)
        self.assertIn("Traceback (most recent call last):\n", excerpt)
        self.assertIn("ValueError: column customer_id missing in orders.csv\n", excerpt)
        self.assertIn("row 59 skipped\n", excerpt)
        self.assertNotIn("row 30 skipped", excerpt)
        self.assertLessEqual(len(excerpt.rstrip("\n").splitlines()), 21)
        # The job's secret, from its job.env (WH is no credential name: only the rule's env names it
        # one): masked in the mail, and in `runs --output` too.
        self.assertNotIn(job_secret.encode(), raw)
        self.assertNotIn(job_secret, body)
        self.assertIn("connecting to the warehouse with ***\n", body)
        runs = d.cli("runs", "--failed", "--output", "--json", env={"WH": job_secret}, check=True)
        self.assertNotIn(job_secret.encode(), runs.stdout)
        self.assertIn("connecting to the warehouse with ***", json.loads(runs.stdout)[0]["stderr_tail"])
        text = d.cli("runs", "--failed", "--output", env={"WH": job_secret}, check=True).stdout.decode()
        self.assertIn("      | ValueError: column customer_id missing in orders.csv\n", text)
        self.assertNotIn(job_secret, text)

    def test_metrics_match_the_store(self):
        port = free_port()
        d = self.deployment("""\
            rules:
              - name: ok
                match: {prefix: t/}
                job: {command: [/bin/true]}
              - name: fails
                match: {prefix: t/f}
                job: {command: [/bin/false]}
                retries: 1
                backoff: {initial: 10ms, max: 10ms}
            """, "", extra=f"metrics: 127.0.0.1:{port}\n")
        d.start()
        for i in range(5):
            d.drop(f"t/a{i}.csv")
        d.drop("t/f0.csv")
        wait_until(lambda: d.count_objects("archived") == 5 and d.count_objects("quarantined") == 1, message="done")
        health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        self.assertEqual(health.status, 200)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        samples = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                self.assertRegex(line, r"^(# (HELP|TYPE) \S+ .*)?$")
                continue
            m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)", line)
            self.assertIsNotNone(m, f"not Prometheus text: {line!r}")
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        runs = dict(((r.decode(), s.decode()), n) for r, s, n in
                    d.query("SELECT rule, state, COUNT(*) FROM runs GROUP BY rule, state"))
        self.assertEqual(samples['hivehook_objects_discovered_total'], 6)
        self.assertEqual(samples['hivehook_objects_total{outcome="archived"}'], 5)
        self.assertEqual(samples['hivehook_objects_total{outcome="quarantined"}'], 1)
        self.assertEqual(samples['hivehook_runs_finished_total{rule="ok",outcome="succeeded"}'], runs[("ok", "succeeded")])
        self.assertEqual(samples['hivehook_runs_finished_total{rule="fails",outcome="failed"}'], runs[("fails", "failed")])
        self.assertEqual(samples['hivehook_run_retries_total{rule="fails"}'], 1)
        self.assertEqual(samples['hivehook_run_duration_seconds_count{rule="ok"}'], 6)
        self.assertEqual(samples["hivehook_jobs_running"], 0)
        self.assertGreaterEqual(samples["hivehook_watched_directories"], 1)
        self.assertEqual(d.stop(), 0)

    def test_notify_each_run_and_json_logs(self):
        port = free_port()
        d = self.deployment("""\
            rules:
              - name: flaky
                match: {prefix: t/}
                job: {command: [/bin/sh, -c, 'test "$HIVEHOOK_ATTEMPT" -ge 2']}
                retries: 2
                backoff: {initial: 10ms, max: 20ms}
                notify_each_run: true
                on_success: {action: archive, notify: [hook]}
                on_failure: {action: quarantine, notify: [hook]}
            """, f"""\
              hook: {{webhook: "http://127.0.0.1:{port}/hook"}}
            """, extra="log: {level: debug, format: json}\n")
        rec = Receiver(port, d.dir / "hooks.jsonl")
        self.procs.append(rec.start())
        d.start()
        d.drop("t/a.csv")
        wait_until(lambda: len(rec.requests()) == 3, message="3 notifications")
        self.assertEqual(d.stop(), 0)
        events = sorted(json.loads(r["body"])["event"] for r in rec.requests())
        # the first attempt failed, the second succeeded, then the object's outcome
        self.assertEqual(events, ["object.succeeded", "run.failed", "run.succeeded"])
        # log.format json: every line of the daemon's log is one JSON object
        lines = [l for l in d.log.read_text().splitlines() if l.strip()]
        self.assertTrue(lines)
        for line in lines:
            entry = json.loads(line)
            self.assertIn("time", entry)
            self.assertIn(entry["level"], ("trace", "debug", "info", "warning", "error", "critical"))
            self.assertIn("msg", entry)


if __name__ == "__main__":
    unittest.main()
