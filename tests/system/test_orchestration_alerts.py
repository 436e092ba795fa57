"""Late-partition alerts (`expect:`) resolved by the channel that raised them, on the real daemon with
a real webhook receiver and a real SMTP server (aiosmtpd), issue 14:
- an alert that clears (its partition arrives, the rule's `expect:` changes or goes) is told to the
  targets that were told "late", webhook and mail, with the alert's identifiers (`alert_id`,
  `late_delivery_id`; the mail answers the late mail: same subject, In-Reply-To its Message-ID);
- a changed `by` on reload clears the alerts no longer late under it, and raises those late again
  when it is changed back (gap 2: reload kept the alerts computed under the old schedule)."""
import email
import email.policy
import json
import pathlib
import subprocess
import tempfile
import unittest

from harness import SOURCE, Deployment, wait_until
from test_notify import Receiver, free_port

SUPPORT = SOURCE / "tests/support"
MINUTES = "year={yyyy}/month={mm}/day={dd}/hour={hh}/minute={mi}"


class LateAlertsResolved(unittest.TestCase):
    def setUp(self):
        self.d, self.hooks, self.smtp = None, None, None

    def tearDown(self):
        if self.hooks:
            self.hooks.stop()
        if self.smtp:
            self.smtp.kill()
            self.smtp.wait()
            self.smtp.stdout.close()
        if self.d:
            self.d.cleanup()

    def rules(self, by=None):
        expect = (f'expect: {{every: 1m, by: "{by}", partition: "{MINUTES}", notify: [ops-hook, ops-mail]}}'
                  if by else "")
        return f"""\
            rules:
              - name: minutes
                match: {{prefix: t/}}
                job: {{builtin: noop}}
                {expect}
            """

    def reload(self, rules):
        before = len(self.d.events("rules.loaded"))
        self.d.write_rules(rules)
        wait_until(lambda: len(self.d.events("rules.loaded")) > before, message="rules reloaded")

    def webhooks(self, event):
        out = [json.loads(r["body"]) for r in self.hooks.requests()]
        return [b for b in out if b["event"] == event]

    def mails(self, event):
        msgs = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(self.maildir.glob("*.eml"), key=lambda p: int(p.stem))]
        return [m for m in msgs if m["X-Hivehook-Event"] == event]

    def test_late_alerts_are_cleared_and_arrived_through_the_webhook_and_the_mail_that_raised_them(self):
        port = free_port()
        self.maildir = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-mail-"))
        self.smtp = subprocess.Popen(["/usr/bin/python3", str(SUPPORT / "smtp_server.py"), "--out", str(self.maildir)],
                                     stdout=subprocess.PIPE)
        smtp_port = int(self.smtp.stdout.readline())
        self.d = d = Deployment(self.rules("00:00:01"), config_extra=f"""\
            notify:
              ops-hook: {{webhook: http://127.0.0.1:{port}/hook}}
              ops-mail: {{smtp: "smtp://127.0.0.1:{smtp_port}", from: hivehook@example.com, to: [ops@example.com]}}
            """)
        self.hooks = Receiver(port, d.dir / "hooks.jsonl").start()
        d.start()
        wait_until(lambda: d.events("expect.added"), message="expectation armed")
        self.assertEqual(d.stop(), 0)
        # The state of an expectation first seen five minutes ago, its daemon down since.
        d.execute("UPDATE expectation_checks SET checked_until = checked_until - 300000")
        (value,), = d.query("SELECT value FROM meta WHERE name = 'expect.definition:minutes'")
        definition = json.loads(value)
        definition["since"] -= 300000
        d.execute("UPDATE meta SET value = ? WHERE name = 'expect.definition:minutes'", json.dumps(definition))
        d.start()
        wait_until(lambda: len(d.events("expect.late")) >= 4, message="the missed minutes raised late")
        wait_until(lambda: len(self.webhooks("expect.late")) == len(d.events("expect.late"))
                   and len(self.mails("expect.late")) == len(d.events("expect.late")),
                   message="each late minute told by webhook and mail")
        first = {e[2]["partition"] for e in d.events("expect.late")}
        first_hooks = {b["partition"]: b for b in self.webhooks("expect.late")}
        first_mails = {m["Subject"]: m for m in self.mails("expect.late")}
        for p in first:
            self.assertEqual(first_hooks[p]["alert_id"], f"expect:minutes:{p}")
            self.assertIn(f"[hivehook] LATE minutes: {p}", first_mails)

        # A later deadline (by ten minutes past each minute): none of them is late any more. (Older
        # minutes, due within ten minutes after the expectation was first seen, are late under it.)
        self.reload(self.rules("00:10:00"))
        late = {e[2]["partition"] for e in d.events("expect.cleared")}
        self.assertTrue(first <= late, (first, late))
        wait_until(lambda: len(self.webhooks("expect.cleared")) == len(late) and len(self.mails("expect.cleared")) == len(late),
                   message="each alert cleared by webhook and mail")
        wait_until(lambda: len(self.webhooks("expect.late")) == len(d.events("expect.late"))
                   and len(self.mails("expect.late")) == len(d.events("expect.late")),
                   message="the minutes late under by 00:10:00 told too")
        first_hooks = {b["partition"]: b for b in self.webhooks("expect.late")}
        first_mails = {m["Subject"]: m for m in self.mails("expect.late")}
        for b in self.webhooks("expect.cleared"):
            raised = first_hooks[b["partition"]]
            self.assertEqual(b["alert_id"], raised["alert_id"])
            self.assertEqual(b["late_delivery_id"], raised["delivery_id"])
            self.assertEqual(b["deadline"], raised["deadline"])
            self.assertEqual(b["outcome"], "cleared")
            self.assertRegex(b["reason"], r'^its deadline under the rule\'s expect now \(every: 1m, by: "00:10:00"\) is ')
        for m in self.mails("expect.cleared"):
            raised = first_mails[m["Subject"].replace("CLEARED", "LATE")]
            self.assertEqual(m["In-Reply-To"], raised["Message-ID"])
            self.assertEqual(m["References"], raised["Message-ID"])
        self.assertFalse(late & {row["partition"] for row in json.loads(d.cli("status", "--json", check=True).stdout)["late"]})

        # Back to the first deadline: the same minutes are late again, raised again.
        hooks_before = len(self.webhooks("expect.late"))
        self.reload(self.rules("00:00:01"))
        wait_until(lambda: late <= {b["partition"] for b in self.webhooks("expect.late")[hooks_before:]}, message="raised again")
        again = {b["partition"]: b for b in self.webhooks("expect.late")[hooks_before:]}

        # One of them arrives: told by the same channels, answering the latest late mail.
        partition = sorted(late)[0]
        d.drop(f"t/{partition}/f.csv")
        wait_until(lambda: self.webhooks("expect.arrived") and self.mails("expect.arrived"), message="arrived told")
        (arrived,) = self.webhooks("expect.arrived")
        self.assertEqual(arrived["late_delivery_id"], again[partition]["delivery_id"])
        self.assertEqual(arrived["key"], f"t/{partition}/f.csv")
        (mail,) = self.mails("expect.arrived")
        self.assertEqual(mail["Subject"], f"[hivehook] ARRIVED minutes: {partition}")
        late_mails = [m for m in self.mails("expect.late") if m["Subject"] == f"[hivehook] LATE minutes: {partition}"]
        self.assertEqual(len(late_mails), 2, "raised, cleared, raised again")
        self.assertEqual(mail["In-Reply-To"], late_mails[-1]["Message-ID"], "it answers the latest late mail")

        # The expect: removed: the others are cleared, told to both targets.
        cleared_before = len(self.webhooks("expect.cleared"))
        self.reload(self.rules())
        (_, _, removed), = d.events("expect.removed")
        still_late = set(removed["late"])
        self.assertTrue(still_late and partition not in still_late, removed)
        wait_until(lambda: len(self.webhooks("expect.cleared")) == cleared_before + len(still_late),
                   message="the rest cleared by webhook")
        self.assertEqual({b["partition"] for b in self.webhooks("expect.cleared")[cleared_before:]}, still_late)
        self.assertTrue(all(b["reason"] == "the rule's expect: was removed"
                            for b in self.webhooks("expect.cleared")[cleared_before:]))
        wait_until(lambda: len(self.mails("expect.cleared")) == len(late) + len(still_late), message="and by mail")
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
