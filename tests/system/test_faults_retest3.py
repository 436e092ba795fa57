"""Trust under faults, third new-user retest of issue 10 (/work/findings/10-retest-3.md): each test is
named after the finding it pins, against the real binary: a second daemon on one landing (F1), a
receiver echoing the request in its 401 body (F2: a URL's user:password as "Authorization: Basic",
F3: a token cut by the response excerpt)."""
import base64
import json
import os
import pathlib
import shutil
import signal
import subprocess
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import BIN, Deployment, free_port, healthz, wait_until

RULE = """\
    rules:
      - name: all
        match: {prefix: t/}
        job: {builtin: noop}
        on_success: {action: keep}
    """


class OneLandingOneDaemon(unittest.TestCase):
    def tearDown(self):
        self.d.cleanup()

    def second(self, config, *args):
        return subprocess.run([BIN, "run", *args, "-c", str(config)], capture_output=True, timeout=60)

    def test_f1_a_second_daemon_on_the_same_landing_with_another_state_is_refused(self):
        self.d = d = Deployment(RULE)
        d.start()
        other = d.dir / "other.yaml"
        other.write_text(d.config.read_text().replace("state/hivehook.db", "state2/hivehook.db")
                         .replace("audit_log: state/audit.jsonl", ""))
        r = self.second(other, "--new-state")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"landing {d.landing} is watched by another hivehook (pid {d.proc.pid})", r.stderr.decode())
        d.drop("t/d=1/a.csv")
        wait_until(lambda: d.events("object.kept"), message="kept by the first daemon")
        self.assertIsNone(d.proc.poll())

    def test_f1_rm_of_a_running_daemons_db_then_new_state_is_refused(self):
        # rm state/hivehook.db* removes the DB's lock file too: only the landing lock still holds.
        self.d = d = Deployment(RULE)
        d.start()
        for p in (d.dir / "state").glob("hivehook.db*"):
            p.unlink()
        r = self.second(d.config, "--new-state")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("is watched by another hivehook", r.stderr.decode())


class RulesHotReloadAtTheWatchLimit(unittest.TestCase):
    """The inotify watch limit of a user namespace of its own (/proc/sys/user/max_inotify_watches):
    nothing else on the host is affected."""

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            # unshare --fork: the daemon is unshare's child; stop it, not only unshare.
            for pid in subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True).stdout.split():
                os.kill(int(pid), signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.d.cleanup()

    def test_f4_rules_watch_refused_at_the_limit_is_retried_reported_and_reloads_once_added(self):
        self.proc = None
        port = free_port()
        self.d = d = Deployment(RULE, config_extra=f"metrics: 127.0.0.1:{port}\n")
        probe = subprocess.run(["unshare", "-U", "-r", "--fork", "sh", "-c",
                                "echo 1 > /proc/sys/user/max_inotify_watches"], capture_output=True)
        if probe.returncode != 0:
            self.skipTest("cannot make a user namespace with its own inotify watch limit: "
                          + probe.stderr.decode(errors="replace"))
        # One watch: the rules' parent folder gets it, the rules folder itself and landing do not.
        log = open(d.log, "ab")
        self.addCleanup(log.close)
        self.proc = subprocess.Popen(["unshare", "-U", "-r", "--fork", "sh", "-c",
                                      f"echo 1 > /proc/sys/user/max_inotify_watches; exec {BIN} run -c {d.config}"],
                                     stdout=log, stderr=log)
        wait_until(lambda: "rules hot reload off: inotify watch limit reached" in d.log.read_text(errors="replace"),
                   timeout=30, message="the rules watch refused, said as the watch limit")
        wait_until(lambda: healthz(port)[0] == 200 and "rules hot reload off" in healthz(port)[1],
                   timeout=30, message="/healthz degraded")
        status = d.cli("status").stdout.decode()
        self.assertIn("DEGRADED", status)
        self.assertIn("rules hot reload off", status)
        d.write_rules(RULE.replace("name: all", "name: edited"))
        time.sleep(1)
        self.assertNotIn("edited", d.log.read_text(errors="replace"), "not reloaded while unwatched")
        # The limit raised inside the namespace: the watch is added within 5 s and the edit loaded.
        pid = int(subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True).stdout.split()[0])
        subprocess.run(["nsenter", "--user", "--target", str(pid), "sh", "-c",
                        "echo 1000 > /proc/sys/user/max_inotify_watches"], check=True)
        wait_until(lambda: "rules hot reload on again" in d.log.read_text(errors="replace"),
                   timeout=20, message="the rules watch added again")
        wait_until(lambda: any("edited" in json.dumps(e) for e in d.events("rules.loaded")),
                   timeout=20, message="the edit made while unwatched loaded")
        wait_until(lambda: "rules hot reload off" not in healthz(port)[1], timeout=20, message="no longer degraded")
        d.write_rules(RULE.replace("name: all", "name: edited-again"))
        wait_until(lambda: any("edited-again" in json.dumps(e) for e in d.events("rules.loaded")),
                   timeout=20, message="later edits reload")


class Echo401(BaseHTTPRequestHandler):
    """Answers 401 with the request echoed after `pad` dots: request line, headers, body."""
    pad = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        echo = ("." * self.pad + f"{self.requestline}\n{self.headers}\n").encode() + body
        self.send_response(401)
        self.send_header("Content-Length", str(len(echo)))
        self.end_headers()
        self.wfile.write(echo)

    def log_message(self, *args):
        pass


class EchoedSecrets(unittest.TestCase):
    def tearDown(self):
        self.d.cleanup()
        for s in self.servers:
            s.shutdown()
            s.server_close()

    def serve(self, pad):
        handler = type("Echo", (Echo401,), {"pad": pad})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers.append(server)
        return server.server_address[1]

    def test_f2_f3_a_receivers_401_echo_leaks_neither_basic_credentials_nor_a_cut_token(self):
        self.servers = []
        password, token = "bpas-" + os.urandom(6).hex(), "qtok-" + os.urandom(6).hex()
        basic = base64.b64encode(f"hookuser:{password}".encode()).decode()
        plain = self.serve(0)
        # "POST /x?k=" starts the echo: with 175 dots before it, the token spans bytes 185-200 of the
        # response (the old cut at 200 left its first 15 bytes) and 195-211 of the detail (cut at 220).
        padded = self.serve(175)
        self.d = d = Deployment("""\
            rules:
              - name: all
                match: {prefix: t/}
                job: {builtin: noop}
                on_success: {action: archive, notify: [basic, cut]}
            """, config_extra=f"""\
            notify:
              basic: {{webhook: "http://hookuser:${{HH_PASS}}@127.0.0.1:{plain}/hook", max_attempts: 1}}
              cut: {{webhook: "http://127.0.0.1:{padded}/x?k=${{HH_TOKEN}}", max_attempts: 1}}
            """)
        env = {"HH_PASS": password, "HH_TOKEN": token}
        d.start(env=env)
        d.drop("t/d=1/a.csv")
        wait_until(lambda: len(d.events("notify.dead")) == 2, message="both deliveries given up (401)")
        status = d.cli("status", env=env).stdout + d.cli("status", "--json", env=env).stdout
        self.assertEqual(d.stop(), 0)
        state = b"".join(p.read_bytes() for p in (d.dir / "state").iterdir() if p.is_file())
        audit = (d.dir / "state/audit.jsonl").read_bytes()
        for where, data in (("log", d.log.read_bytes()), ("audit.jsonl", audit), ("status", status),
                            ("state DB", state)):
            self.assertNotIn(basic.encode(), data, f"F2: the Basic credentials leaked into the {where}")
            self.assertNotIn(password.encode(), data, f"F2: the password leaked into the {where}")
            self.assertNotIn(token[:8].encode(), data, f"F3: the token's first bytes leaked into the {where}")
        self.assertIn(b"Authorization: Basic ***", audit, "the echo is there, masked")
        self.assertIn(b"/x?k=***", audit, "the cut echo is there, masked")


if __name__ == "__main__":
    unittest.main()
