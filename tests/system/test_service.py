"""hivehook under systemd, without systemd: what the unit relies on, tested on the real binary.
Journald: with $JOURNAL_STREAM naming stderr, every log line starts with its syslog priority.
sd_notify: with $NOTIFY_SOCKET naming a datagram socket this test reads (as systemd's is), the
daemon says READY=1 after recovery and the start-up scan, WATCHDOG=1 from its loop, RELOADING=1 and
READY=1 around a reload, STOPPING=1, and STATUS= lines; its jobs do not inherit the socket.
The REPORT line: one log line per run end naming rule, key, outcome and duration.
Exit codes: the unit's RestartPreventExitStatus= holds exactly the codes of usage and config errors.

Run: cd tests/system && HIVEHOOK_BIN=/path/to/hivehook /usr/bin/python3 -m unittest -v test_service
"""
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import BIN, SOURCE, Deployment, wait_until
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


class NotifySocket:
    """A datagram socket standing in for systemd's notify socket; messages are kept in order."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hivehook-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.messages = []  # one dict per datagram: {"READY": "1", "STATUS": "..."}

    def poll(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return self.messages
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append(fields)

    def index(self, key, value=None, after=-1):
        """The first message after `after` carrying key (with value), or None."""
        for i, m in enumerate(self.poll()):
            if i > after and key in m and (value is None or m[key] == value):
                return i
        return None

    def wait(self, key, value=None, after=-1, message=None):
        wait_until(lambda: self.index(key, value, after) is not None, timeout=30,
                   message=message or f"{key}={value} on the notify socket after #{after}: {self.messages}")
        return self.index(key, value, after)

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


class SystemdNotify(unittest.TestCase):
    RULES = """\
        rules:
          - name: env-clean
            match: {prefix: t/}
            job: {command: [/bin/sh, -c, 'test -z "$NOTIFY_SOCKET$WATCHDOG_USEC$WATCHDOG_PID"']}
        """

    def setUp(self):
        self.d = Deployment(self.RULES)
        self.notify = NotifySocket()

    def tearDown(self):
        self.d.cleanup()
        self.notify.close()

    def start(self, **env):
        self.d.start(env={"NOTIFY_SOCKET": self.notify.path, **env}, wait_ready=False)

    def test_ready_after_recovery_and_the_startup_scan_then_watchdog_reload_and_stop(self):
        d, n = self.d, self.notify
        d.drop("t/before.csv")  # there before the daemon: found by the start-up scan
        self.start(WATCHDOG_USEC="3000000")
        ready = n.wait("READY", "1")
        # What the daemon logged before it said READY=1: recovery, the scan that found the file.
        log_at_ready = d.log.read_text()
        self.assertIn("t/before.csv", log_at_ready)
        self.assertIn("watching ", log_at_ready)
        statuses = [m["STATUS"] for m in n.messages[:ready]]
        self.assertIn("recovering", statuses)
        self.assertTrue(any(s.startswith("scanning ") for s in statuses), statuses)
        self.assertRegex(n.messages[ready]["STATUS"], r"^watching .*landing: 1 rule, \d+ jobs? running$")
        # WATCHDOG=1 from the loop's heartbeat, again and again.
        first = n.wait("WATCHDOG", "1", after=ready)
        n.wait("WATCHDOG", "1", after=first)
        # The job's environment holds none of the service manager's variables.
        d.drop("t/after.csv")
        wait_until(lambda: (d.archive / "t/after.csv").exists() and (d.archive / "t/before.csv").exists(),
                   message="both archived (the job saw no NOTIFY_SOCKET)")
        # A reload: RELOADING=1, then READY=1 again.
        d.proc.send_signal(signal.SIGHUP)
        reloading = n.wait("RELOADING", "1")
        n.wait("READY", "1", after=reloading)
        self.assertEqual(d.stop(), 0)
        self.assertIsNotNone(n.index("STOPPING", "1", after=reloading), n.messages)

    def test_no_watchdog_messages_unless_the_unit_asks(self):
        """WATCHDOG_PID naming another process: the watchdog is not this daemon's (sd_watchdog_enabled)."""
        d, n = self.d, self.notify
        d.write_rules(self.RULES.replace("test -z", "sleep 2; test -z"))
        self.start(WATCHDOG_USEC="1000000", WATCHDOG_PID="1")
        n.wait("READY", "1")
        d.drop("t/slow.csv")
        # STATUS= changes only on a heartbeat once ready; each beat would send WATCHDOG=1 first.
        n.wait("STATUS", "watching %s: 1 rule, 1 job running" % d.landing, message="a heartbeat's STATUS=")
        self.assertIsNone(n.index("WATCHDOG"), n.messages)

    def test_without_notify_socket_nothing_is_sent_and_it_runs(self):
        d = self.d
        d.start()
        d.drop("t/a.csv")
        wait_until(lambda: (d.archive / "t/a.csv").exists(), message="archived")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(self.notify.poll(), [])


class ReportLine(unittest.TestCase):
    """One line per run end, as Lambda's REPORT line: rule, key, outcome, duration (and exit code)."""

    def test_each_run_end_is_one_report_line(self):
        self.d = d = Deployment("""\
            rules:
              - name: good
                match: {prefix: t/}
                job: {command: [/bin/true]}
              - name: bad
                match: {prefix: t/}
                job: {command: [/bin/sh, -c, 'exit 3']}
                retries: 1
                backoff: {initial: 10ms, max: 10ms}
            """)
        self.addCleanup(d.cleanup)
        d.start()
        d.drop("t/a.csv")
        wait_until(lambda: (d.quarantine / "t/a.csv").exists(), message="quarantined")
        self.assertEqual(d.stop(), 0)
        reports = [l for l in d.log.read_text().splitlines() if "REPORT" in l]
        pattern = (r"\"t/a\.csv\": run started -> (?P<outcome>\w+) \| REPORT rule=(?P<rule>\S+) attempt=(?P<attempt>\d) "
                   r"run_id=[0-9a-f-]{36} duration_ms=\d+ exit_code=(?P<code>\d+)$")
        found = sorted((m["rule"], m["attempt"], m["outcome"], m["code"])
                       for m in (re.search(pattern, l) for l in reports) if m)
        self.assertEqual(found, [("bad", "1", "failed", "3"), ("bad", "2", "failed", "3"),
                                 ("good", "1", "succeeded", "0")], reports)
        # Issue 16 retest P5: a failed run's REPORT is a warning (`journalctl -p warning` names the
        # rule and exit code beside the quarantine), a succeeded one info.
        for line in reports:
            self.assertIn(" warning " if "-> failed" in line else " info ", line)

    def test_interrupted_run_duration_is_never_a_made_up_zero(self):
        """Issue 16 F6: a run cut off by kill -9 of the daemon was reported `duration_ms=0` when
        recovery marked it interrupted (`runs` showed `-`). Its end was never seen: REPORT, `runs
        --json` and the store agree that the duration is unknown (no field, null, NULL). A run
        interrupted by a shutdown was seen ending: it has its elapsed time, everywhere alike."""
        self.d = d = Deployment("""\
            rules:
              - name: slow
                match: {prefix: t/}
                job: {command: [/bin/sleep, '30']}
            """)
        d.config.write_text(d.config.read_text().replace("shutdown_grace: 10s", "shutdown_grace: 1s"))
        self.addCleanup(d.cleanup)
        d.start()
        d.drop("t/a.csv")
        wait_until(lambda: d.query("SELECT COUNT(*) FROM runs WHERE state = 'started' AND pid IS NOT NULL")[0][0] == 1,
                   message="the job running")
        d.kill9()
        d.start()  # recovery: the cut-off run is interrupted, attempt 2 starts
        wait_until(lambda: d.query("SELECT COUNT(*) FROM runs WHERE state = 'interrupted'")[0][0] == 1,
                   message="the run recorded interrupted")
        wait_until(lambda: d.query("SELECT COUNT(*) FROM runs WHERE state = 'started' AND attempt = 2")[0][0] == 1,
                   message="attempt 2 running")
        self.assertEqual(d.stop(), 0)  # shutdown cuts attempt 2 off after shutdown_grace
        rows = d.query("SELECT attempt, state, duration_ms FROM runs ORDER BY attempt")
        self.assertEqual([(a, s) for a, s, _ in rows], [(1, b"interrupted"), (2, b"interrupted")], rows)
        self.assertIsNone(rows[0][2], "the crash's run: no measured end")
        self.assertIsNotNone(rows[1][2], "the shutdown's run: seen ending")
        self.assertGreaterEqual(rows[1][2], 900)
        reports = [l for l in d.log.read_text().splitlines() if "REPORT rule=slow" in l]
        self.assertEqual(len(reports), 2, reports)
        self.assertRegex(reports[0], r"-> interrupted \| REPORT rule=slow attempt=1 run_id=[0-9a-f-]{36}$")
        self.assertRegex(reports[1], rf"-> interrupted \| REPORT rule=slow attempt=2 run_id=[0-9a-f-]{{36}} "
                                     rf"duration_ms={rows[1][2]}( |$)")
        runs = json.loads(d.cli("runs", "--json", check=True).stdout)
        by_attempt = {r["attempt"]: r["duration_ms"] for r in (runs if isinstance(runs, list) else runs["runs"])}
        self.assertEqual(by_attempt, {1: None, 2: rows[1][2]})


class ExitCodes(unittest.TestCase):
    """Restart=always with RestartPreventExitStatus=: systemd restarts on every exit but usage and
    config errors (a restart would only repeat them). The codes in the unit are the binary's."""

    def unit(self):
        return (SOURCE / "packaging/systemd/hivehook.service.in").read_text()

    def test_unit_restarts_on_everything_but_exit_2(self):
        unit = self.unit()
        self.assertRegex(unit, r"(?m)^Restart=always$")
        prevent = re.findall(r"(?m)^RestartPreventExitStatus=(.*)$", unit)
        self.assertEqual(prevent, ["2"])

    def test_usage_and_config_errors_exit_2(self):
        d = Deployment("rules: []\n")
        self.addCleanup(d.cleanup)
        r = subprocess.run([BIN, "run", "--no-such-option"], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        r = subprocess.run([BIN, "bogus"], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        d.config.write_text(d.config.read_text() + "workers: many\n")
        r = d.cli("run")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"workers", r.stderr)

    def test_a_busy_metrics_or_s3_port_exits_75_and_is_restarted_a_bad_address_exits_2(self):
        """Issue 16 F2: the metrics port held by another process at start was exit 2, which the unit
        never restarts, so the service stayed down after the port was freed. EADDRINUSE is of the
        moment: exit 75 (EX_TEMPFAIL, restarted); an address that cannot work stays exit 2. The
        message names the key as the config file writes it, once (it said "cannot listen on X:
        cannot listen on X")."""
        holder = socket.socket()
        self.addCleanup(holder.close)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = f"127.0.0.1:{holder.getsockname()[1]}"
        cases = [(f"metrics: {busy}\n", "metrics", 75),
                 (f"http: {{listen: '{busy}'}}\n", "http.listen", 75),
                 (f"s3: {{listen: '{busy}', access_key_id: k, secret_access_key: s}}\n", "s3", 75),
                 ("metrics: 192.0.2.7:9464\n", "metrics", 2)]  # TEST-NET-1: not this machine's (EADDRNOTAVAIL)
        for extra, key, code in cases:
            with self.subTest(extra=extra):
                d = Deployment("rules: []\n", config_extra=extra)
                self.addCleanup(d.cleanup)
                r = d.cli("run", timeout=60)
                err = r.stderr.decode()
                self.assertEqual(r.returncode, code, err)
                self.assertRegex(err, rf"(?m)^hivehook: {re.escape(key)}: cannot listen on ")
                self.assertEqual(err.count("cannot listen on"), 1, err)
                if code == 75:
                    self.assertIn("Address already in use", err)
        self.assertNotIn("75", re.findall(r"(?m)^RestartPreventExitStatus=(.*)$", self.unit())[0].split())

    def test_a_fault_that_may_clear_exits_70_and_is_restarted(self):
        """landing is not a folder (a mount not up yet): not a config error the unit gives up on."""
        d = Deployment("rules: []\n")
        self.addCleanup(d.cleanup)
        d.landing.rmdir()
        d.landing.write_text("not a folder\n")
        r = d.cli("run", timeout=60)
        self.assertEqual(r.returncode, 70, r.stderr)
        self.assertIn(str(d.landing).encode(), r.stderr)


if __name__ == "__main__":
    unittest.main()


class JournalPriorityTest(unittest.TestCase):
    """Issue 16, second operator test, N4: the reasons a start fails (a config error, a busy port)
    were written to stderr without a priority, so under systemd journald stored them at info and
    `journalctl -p warning` showed only systemd's own "Failed" line. With stderr being the journal
    stream ($JOURNAL_STREAM = its device:inode), each line starts with <3> (err)."""

    def test_a_start_up_refusal_reaches_the_journal_as_an_error(self):
        d = Deployment("rules: []\n")
        self.addCleanup(d.cleanup)
        d.config.write_text(d.config.read_text() + "no_such_key: 1\n")
        err_path = d.dir / "stderr"
        with open(err_path, "wb") as err:
            st = os.fstat(err.fileno())
            env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
            env.pop("HIVEHOOK_CONFIG", None)
            r = subprocess.run([BIN, "run", "-c", str(d.config)], stderr=err, stdout=subprocess.DEVNULL,
                               env=env, timeout=60)
        self.assertEqual(r.returncode, 2)
        lines = err_path.read_bytes().decode().splitlines()
        self.assertTrue(lines, "the refusal is said")
        self.assertTrue(any("no_such_key" in l for l in lines), lines)
        for line in lines:
            self.assertTrue(line.startswith("<3>"), line)
        # Not under journald (a terminal, a file of one's own): no prefix.
        r = subprocess.run([BIN, "run", "-c", str(d.config)], capture_output=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "HIVEHOOK_CONFIG")})
        self.assertEqual(r.returncode, 2)
        self.assertFalse(r.stderr.startswith(b"<3>"), r.stderr)

