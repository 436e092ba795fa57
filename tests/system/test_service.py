"""hivehook under systemd, without systemd: what the unit relies on, tested on the real binary.
Journald: with $JOURNAL_STREAM naming stderr, every log line starts with its syslog priority.

Run: cd tests/system && HIVEHOOK_BIN=/path/to/hivehook /usr/bin/python3 -m unittest -v test_service
"""
import os
import re
import unittest

from harness import Deployment, wait_until
from test_notify import free_port

RULES = """\
    rules:
      - name: fails
        match: {prefix: t/}
        job: {command: [/bin/false]}
        on_failure: {action: quarantine, notify: [gone]}
    """


class Journald(unittest.TestCase):
    def tearDown(self):
        self.d.cleanup()

    def run_daemon(self, config_extra="", journal=True):
        """A failed run whose notification is given up (a warning), then an invalid rules edit (an
        error over several lines)."""
        self.d = d = Deployment(RULES, config_extra=f"""\
            notify:
              gone: {{webhook: "http://127.0.0.1:{free_port()}/hook", max_attempts: 1}}
            """ + config_extra)
        d.log.touch()
        st = os.stat(d.log)
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}" if journal else "1:1"}
        d.start(env=env)
        d.drop("t/a.csv")
        wait_until(lambda: d.events("notify.dead"), message="notification given up")
        d.write_rules("rules: [{name: Bad Name, match: {prefix: t/}, job: {builtin: noop}}]\n")
        wait_until(lambda: d.events("rules.rejected"), message="rules rejected")
        self.assertEqual(d.stop(), 0)
        return d.log.read_text().splitlines()

    def test_lines_carry_their_syslog_priority_and_no_time_stamp(self):
        lines = self.run_daemon()
        for line in lines:
            self.assertRegex(line, r"^<[2-7]>")
            self.assertNotRegex(line, r"^<\d>\d{4}-\d\d-\d\d")
        self.assertTrue(any(re.match(r"^<6>watching ", l) for l in lines), lines)
        self.assertTrue(any(re.match(r"^<4>notification .* given up", l) for l in lines), lines)
        rejected = [i for i, l in enumerate(lines) if "rules rejected" in l]
        self.assertTrue(rejected, lines)
        self.assertRegex(lines[rejected[0]], r"^<3>")
        self.assertRegex(lines[rejected[0] + 1], r"^<3>.*rules\.yaml:1:\d+: error", "the diagnostics stay errors")

    def test_json_lines_keep_their_form_after_the_priority(self):
        lines = self.run_daemon(config_extra="log: {level: info, format: json}\n")
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r'^<[2-7]>\{"time":')

    def test_a_journal_stream_that_is_not_stderr_is_ignored(self):
        """$JOURNAL_STREAM inherited by a child whose stderr goes elsewhere: plain lines."""
        lines = self.run_daemon(journal=False)
        self.assertTrue(any(re.match(r"^\d{4}-\d\d-\d\d .*watching", l) for l in lines), lines)
        self.assertFalse(any(l.startswith("<") for l in lines), lines)


if __name__ == "__main__":
    unittest.main()
