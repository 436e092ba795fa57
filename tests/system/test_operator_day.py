"""Regressions for issue 16's second operator test of the Debian package (/work/findings/16.md),
without systemd: a real daemon on real folders, the real CLI. The packaged service's own run of
the same paths is in test_service_systemd.

- N9: `hivehook retry` refused on a config with `metrics: HOST:PORT` (no http.token): it now asks
  the daemon with the daemon's local token (<state>.http-token, 0600), as root or the daemon's user.
- N12: the landing folder moved away and back was not watched until the next reconcile scan while
  /healthz, STATUS= and `status` said all was well.
- N1: a file still being copied (0600 until done, as cp/mv across filesystems make it) into a new
  folder was recorded "ignored ... cannot read" although it then ran.
- N8: an upload the daemon may not read is a warning naming owner, group, mode and what to do.
- N2: `run`/`scan` as root over folders of the service's user are refused (they left root-owned
  folders the service could not use).
"""
import os
import pathlib
import pwd
import re
import shutil
import stat
import subprocess
import textwrap
import time
import unittest

from harness import BIN, Deployment, free_port, healthz, scrape, wait_until

FAILING = """\
    rules:
      - name: load
        match: {prefix: t/}
        job: {command: [/bin/sh, -c, "test -e ../fixed"]}
        retries: 0
    """


class RetryOnAMetricsOnlyConfig(unittest.TestCase):
    def setUp(self):
        self.port = free_port()
        self.d = Deployment(FAILING, config_extra=f"metrics: 127.0.0.1:{self.port}\n", prefix="hivehook-n9-")
        self.addCleanup(self.d.cleanup)

    def test_retry_of_a_quarantined_file_without_http_token_issue16_N9(self):
        d = self.d
        d.start()
        token_file = pathlib.Path(str(d.dir / "state/hivehook.db") + ".http-token")
        wait_until(token_file.exists, timeout=30, message="the daemon's local token file")
        self.assertEqual(stat.S_IMODE(token_file.stat().st_mode), 0o600, "readable by the daemon's user only")
        self.assertRegex(token_file.read_text(), r"^[0-9a-f]{64}\n$")
        d.drop("t/a.csv", "1\n")
        wait_until(lambda: (d.quarantine / "t/a.csv").exists(), timeout=60, message="t/a.csv quarantined")
        (d.dir / "fixed").write_text("1")
        r = d.cli("retry", "t/a.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"retry 1 object(s)", r.stdout)
        wait_until(lambda: (d.archive / "t/a.csv").exists(), timeout=60, message="t/a.csv archived after the retry")
        # The API itself still refuses callers without a token: read-only for everyone else.
        import urllib.request
        import urllib.error
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v1/retry", data=b"{}", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(refused.exception.code, 401)
        # Without the token file (a user who may not read it): said so, with a valid suggestion.
        token_file.unlink()
        r = d.cli("retry", "t/a.csv")
        self.assertEqual(r.returncode, 2)
        err = r.stderr.decode()
        self.assertIn("may not read its local token", err)
        self.assertIn('`http: {listen: "127.0.0.1:9464", token: "${HIVEHOOK_TOKEN}"}`', err)
        self.assertEqual(d.stop(), 0)
        self.assertFalse(pathlib.Path(str(d.dir / "state/hivehook.db") + ".http").exists())


class ReadAuthToken(unittest.TestCase):
    """Retest P11: the packaged config's metrics port served runs, job stderr, keys and rules to every
    local user while the CLI refused them. `http.read_auth: token` keeps the API's reads to token
    holders; /metrics, /healthz and the console's page stay open."""

    def get(self, path, headers=None):
        import urllib.error
        import urllib.request
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers)

    def test_reads_of_the_api_need_the_token_under_read_auth_token_issue16_P11(self):
        self.port = free_port()
        token = "a-long.token+with/slash~x"  # "+" and "/": the cookie carries it percent-encoded
        d = Deployment(FAILING, config_extra=textwrap.dedent(f"""\
            http:
              listen: 127.0.0.1:{self.port}
              token: "{token}"
              read_auth: token
            """), prefix="hivehook-p11-")
        self.addCleanup(d.cleanup)
        self.assertEqual(d.cli("check").returncode, 0, d.cli("check").stderr)
        d.start()
        d.drop("t/a.csv", "1\n")
        wait_until(lambda: (d.quarantine / "t/a.csv").exists(), timeout=60, message="t/a.csv quarantined")
        for path in ("/api/v1/runs", "/api/v1/runs?failed=1&output=1", "/api/v1/objects", "/api/v1/rules",
                     "/api/v1/status", "/api/v1/events", "/api/v1/nope"):
            status, body, headers = self.get(path)
            self.assertEqual(status, 401, f"{path}: {body}")
            self.assertIn("http.read_auth: token", body)
            self.assertEqual(headers.get("WWW-Authenticate"), 'Bearer realm="hivehook"')
            self.assertNotIn("t/a.csv", body)
        status, _, _ = self.get("/api/v1/runs", {"Authorization": "Bearer wrong-token-xxxxxxxx"})
        self.assertEqual(status, 401)
        # Prometheus and probes, and the console's own page (it asks for the token), stay open.
        for path in ("/metrics", "/healthz", "/", "/console/console.js"):
            status, body, _ = self.get(path)
            self.assertEqual(status, 200, f"{path}: {body[:200]}")
        # With the token: the configured one, or the daemon's local one (the CLI's).
        status, body, _ = self.get("/api/v1/runs?failed=1", {"Authorization": f"Bearer {token}"})
        self.assertEqual(status, 200, body)
        self.assertIn("t/a.csv", body)
        local = pathlib.Path(str(d.dir / "state/hivehook.db") + ".http-token").read_text().strip()
        status, body, _ = self.get("/api/v1/objects", {"Authorization": f"Bearer {local}"})
        self.assertEqual(status, 200, body)
        # The console's cookie (its EventSource cannot send a header) is taken for reads...
        import urllib.parse
        cookie = {"Cookie": "other=1; hivehook_token=" + urllib.parse.quote(token, safe="")}
        status, body, _ = self.get("/api/v1/status", cookie)
        self.assertEqual(status, 200, body)
        # ... but never for replay or retry (a POST needs the Authorization header).
        import urllib.error
        import urllib.request
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v1/retry", data=b'{"keys": ["t/a.csv"]}',
                                     method="POST", headers={**cookie, "Content-Type": "application/json"})
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(refused.exception.code, 401)
        # The CLI's retry still works: it uses the daemon's local token.
        (d.dir / "fixed").write_text("1")
        r = d.cli("retry", "t/a.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: (d.archive / "t/a.csv").exists(), timeout=60, message="t/a.csv archived after the retry")
        self.assertEqual(d.stop(), 0)

    def test_read_auth_open_is_the_default_and_other_values_are_refused_issue16_P11(self):
        self.port = free_port()
        d = Deployment("rules: []\n", config_extra=f"metrics: 127.0.0.1:{self.port}\n", prefix="hivehook-p11-")
        self.addCleanup(d.cleanup)
        d.start()
        status, body, _ = self.get("/api/v1/runs")
        self.assertEqual(status, 200, body)
        self.assertEqual(d.stop(), 0)
        d.config.write_text(d.config.read_text().replace(f"metrics: 127.0.0.1:{self.port}",
                                                         f"http: {{listen: 127.0.0.1:{self.port}, read_auth: tokens}}"))
        r = d.cli("check")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex((r.stdout + r.stderr).decode(), r"hivehook\.yaml:\d+:\d+: .*read_auth.*open.*token")


class AuditLogRotation(unittest.TestCase):
    def test_audit_log_renamed_then_sighup_continues_in_a_new_file_issue16_P12(self):
        """Retest P12: after logrotate's rename and the reload, the daemon kept appending to the
        renamed file and made no new audit.jsonl. SIGHUP now reopens it: new events in a new file,
        none written twice; a restart on an empty (rotated) file does not write the history again."""
        import json
        import signal
        d = Deployment("rules:\n  - name: keep\n    match: {prefix: t/}\n    job: {command: [/bin/true]}\n",
                       prefix="hivehook-p12-")
        self.addCleanup(d.cleanup)
        audit = d.dir / "state/audit.jsonl"
        d.start()
        d.drop("t/one.csv", "1\n")
        wait_until(lambda: (d.archive / "t/one.csv").exists(), timeout=60, message="t/one.csv archived")
        wait_until(lambda: b"object.archived" in audit.read_bytes(), timeout=30, message="its events mirrored")
        rotated = d.dir / "state/audit.jsonl.1"
        os.rename(audit, rotated)
        d.proc.send_signal(signal.SIGHUP)
        wait_until(audit.exists, timeout=30, message="a new audit.jsonl after SIGHUP")
        wait_until(lambda: "audit log" in d.log.read_text() and "reopened" in d.log.read_text(), timeout=30,
                   message="the reopen logged")
        d.drop("t/two.csv", "2\n")
        wait_until(lambda: b'"t/two.csv"' in audit.read_bytes() and b"object.archived" in audit.read_bytes(),
                   timeout=60, message="t/two.csv's events in the new file")
        old = [json.loads(line) for line in rotated.read_text().splitlines()]
        new = [json.loads(line) for line in audit.read_text().splitlines()]
        self.assertFalse([e for e in old if e.get("key") == "t/two.csv"], "nothing new in the rotated file")
        self.assertFalse([e for e in new if e.get("key") == "t/one.csv"], "nothing old written again")
        self.assertEqual(new[0]["id"], max(e["id"] for e in old) + 1,
                         "the new file starts at the next event: none lost, none twice")
        self.assertEqual(stat.S_IMODE(audit.stat().st_mode), 0o600)
        # Rotated while stopped (logrotate's `create` leaves an empty file): the next start writes
        # from its own events on, not every event the store holds.
        self.assertEqual(d.stop(), 0)
        last = max(json.loads(line)["id"] for line in audit.read_text().splitlines())
        os.rename(audit, d.dir / "state/audit.jsonl.2")
        audit.write_text("")
        d.start()
        wait_until(lambda: b"daemon.started" in audit.read_bytes(), timeout=30, message="the start in the new file")
        ids = [json.loads(line)["id"] for line in audit.read_text().splitlines()]
        self.assertGreater(min(ids), last, "no event of before the restart written again")
        self.assertEqual(d.stop(), 0)


class LandingMovedAwayAndBack(unittest.TestCase):
    def setUp(self):
        self.port = free_port()
        self.d = Deployment("""\
            rules:
              - name: load
                match: {prefix: t/}
                job: {command: [/bin/true]}
            """, config_extra=f"metrics: 127.0.0.1:{self.port}\nreconcile: 10m\n", prefix="hivehook-n12-")
        self.addCleanup(self.d.cleanup)

    def test_landing_moved_away_and_back_is_watched_again_and_degraded_meanwhile_issue16_N12(self):
        d = self.d
        (d.landing / "t").mkdir()
        d.start()
        wait_until(lambda: healthz(self.port) == (200, "ok\n"), timeout=30, message="/healthz ok")
        away = d.dir / "landing.old"
        os.rename(d.landing, away)
        code, body = wait_until(lambda: (h := healthz(self.port))[1].startswith("degraded") and h, timeout=30,
                                message="/healthz degraded while landing is missing")
        self.assertEqual(code, 200)
        self.assertIn(f"the landing folder {d.landing} is missing", body)
        self.assertEqual(scrape(self.port)["hivehook_landing_missing"], 1)
        status = d.cli("status", check=True).stdout.decode()
        self.assertRegex(status, r"(?m)^landing: +DEGRADED: .* is missing \(renamed or deleted\)")
        self.assertIn(b'"missing": true', d.cli("status", "--json", check=True).stdout)
        os.rename(away, d.landing)
        back = time.monotonic()
        (d.staging / "a").write_text("1\n")
        os.rename(d.staging / "a", d.landing / "t/a.csv")
        wait_until(lambda: (d.archive / "t/a.csv").exists(), timeout=30,
                   message="a file dropped after landing came back archived (not at the 10-minute reconcile)")
        self.assertLess(time.monotonic() - back, 30)
        wait_until(lambda: healthz(self.port) == (200, "ok\n"), timeout=30, message="/healthz ok again")
        self.assertEqual(scrape(self.port)["hivehook_landing_missing"], 0)
        self.assertNotIn("DEGRADED", d.cli("status", check=True).stdout.decode())
        log = d.log.read_text()
        self.assertIn(f"the landing folder {d.landing} is back: watched again", log)
        self.assertEqual(d.stop(), 0)


class LandingMadeAnew(unittest.TestCase):
    """Issue 16 retest P5: a landing folder made anew at its path (after a rename, or an `rm -rf`
    while the daemon held the old one open: no inotify event at all) was never watched: the daemon
    kept the old folder's descriptor and scanned landing.old's files."""

    def setUp(self):
        self.port = free_port()
        self.d = Deployment("""\
            rules:
              - name: load
                match: {prefix: t/}
                job: {command: [/bin/true]}
            """, config_extra=f"metrics: 127.0.0.1:{self.port}\nreconcile: 10m\n", prefix="hivehook-p5-")
        self.addCleanup(self.d.cleanup)

    def drop_and_wait(self, name):
        d = self.d
        (d.landing / "t").mkdir(exist_ok=True)
        (d.staging / name).write_text(name + "\n")
        os.rename(d.staging / name, d.landing / "t" / name)
        wait_until(lambda: (d.archive / "t" / name).exists(), timeout=30,
                   message=f"t/{name} in the folder now at landing's path archived")

    def test_landing_renamed_away_then_made_anew_and_deleted_then_made_again_issue16_P5(self):
        d = self.d
        d.start()
        wait_until(lambda: healthz(self.port) == (200, "ok\n"), timeout=30, message="/healthz ok")
        os.rename(d.landing, d.dir / "landing.old")
        d.landing.mkdir()
        self.drop_and_wait("a.csv")
        self.assertFalse((d.dir / "landing.old/t/a.csv").exists())
        # Deleted (the daemon holds it open: no IN_DELETE_SELF), then made again.
        shutil.rmtree(d.landing)
        wait_until(lambda: healthz(self.port)[1].startswith("degraded"), timeout=30,
                   message="/healthz degraded after rm -rf landing")
        self.assertIn("was deleted", d.log.read_text())
        d.landing.mkdir()
        self.drop_and_wait("b.csv")
        wait_until(lambda: healthz(self.port) == (200, "ok\n"), timeout=30, message="/healthz ok again")
        # Made anew at once (never seen missing): replaced by another folder.
        os.rename(d.landing, d.dir / "landing.2")
        d.landing.mkdir()
        self.drop_and_wait("c.csv")
        self.assertEqual(d.stop(), 0)


def as_user(user):
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]


@unittest.skipUnless(os.geteuid() == 0, "needs root: the daemon runs as another user than the uploader")
class UnreadableUploads(unittest.TestCase):
    """The daemon as user nobody (as the service runs as hivehook); files made by root."""

    def setUp(self):
        self.user = pwd.getpwnam("nobody")
        self.d = Deployment("""\
            rules:
              - name: load
                match: {prefix: t/}
                job: {command: [/bin/true]}
            """, prefix="hivehook-n1-")
        self.addCleanup(self.d.cleanup)
        d = self.d
        os.chmod(d.dir, 0o755)
        for p in [d.dir, *d.dir.rglob("*")]:
            os.chown(p, self.user.pw_uid, self.user.pw_gid)
        if not os.access(BIN, os.X_OK) or subprocess.run(
                [*as_user(self.user), BIN, "--version"], capture_output=True).returncode != 0:
            self.skipTest(f"user nobody cannot run {BIN}")

    def start(self):
        d = self.d
        d.logf = open(d.log, "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HIVEHOOK_")}
        d.proc = subprocess.Popen([*as_user(self.user), BIN, "run", "-c", str(d.config)], stdout=d.logf,
                                  stderr=d.logf, env=env)
        wait_until(lambda: d.proc.poll() is not None or "watching " in d.log.read_text(errors="replace"),
                   timeout=30, message="daemon ready")
        self.assertIsNone(d.proc.poll(), d.log.read_text())

    def test_a_file_still_being_copied_into_a_new_folder_is_not_recorded_ignored_issue16_N1(self):
        d = self.d
        self.start()
        # As `mv` across filesystems makes it: the copy is 0600 (root's) until it is complete,
        # in a folder that has just appeared (the daemon scans it at once).
        folder = d.staging / "day=5"
        folder.mkdir()
        os.chmod(folder, 0o777)
        big = folder / "big.csv"
        big.write_bytes(b"x" * 1000)
        os.chmod(big, 0o600)
        (d.landing / "t").mkdir()
        os.chown(d.landing / "t", self.user.pw_uid, self.user.pw_gid)
        os.rename(folder, d.landing / "t" / "day=5")
        time.sleep(0.5)  # the copy goes on for a moment (no condition to wait for: a writer's pace)
        with open(d.landing / "t/day=5/big.csv", "ab") as f:
            f.write(b"y" * 1000)
        os.chmod(d.landing / "t/day=5/big.csv", 0o644)  # done: cp/mv set the mode last
        wait_until(lambda: (d.archive / "t/day=5/big.csv").exists(), timeout=60, message="big.csv archived")
        self.assertEqual(d.count_objects("ignored"), 0, d.log.read_text())
        self.assertNotIn("cannot read", d.log.read_text())

    def test_an_upload_the_daemon_may_not_read_is_a_warning_with_what_to_do_issue16_N8(self):
        d = self.d
        self.start()
        (d.landing / "t").mkdir()
        os.chown(d.landing / "t", self.user.pw_uid, self.user.pw_gid)
        f = d.staging / "d.csv"
        f.write_text("7\n")
        os.chmod(f, 0o640)  # umask 027, written elsewhere, renamed in: the owner's group, not the daemon's
        os.rename(f, d.landing / "t/d.csv")
        line = wait_until(lambda: [l for l in d.log.read_text().splitlines() if '"t/d.csv": cannot read' in l],
                          timeout=30, message="the warning")[0]
        self.assertRegex(line, r"\bwarn")
        self.assertIn("owner root, group root, mode 0640; this daemon runs as user nobody", line)
        self.assertIn("write the file inside landing as name.part (cat or cp --no-preserve=mode", line)
        self.assertEqual(d.count_objects("ignored"), 1)
        self.assertIn("t/d.csv", d.cli("status", check=True).stdout.decode())
        # Fixed as the warning says: run, archived, and no longer listed as ignored (retest P2).
        os.chmod(d.landing / "t/d.csv", 0o644)
        os.rename(d.landing / "t/d.csv", d.landing / "t/d.csv.part")
        os.rename(d.landing / "t/d.csv.part", d.landing / "t/d.csv")
        wait_until(lambda: (d.archive / "t/d.csv").exists(), timeout=30, message="t/d.csv archived once readable")
        status = d.cli("status", check=True).stdout.decode()
        self.assertNotIn("ignored files", status, "a file fixed and run since is not 'not run' (issue 16 retest P2)")
        self.assertRegex(status, r"ignored=1\b", "the totals keep the history")


@unittest.skipUnless(os.geteuid() == 0, "needs root: the daemon runs as another user than root")
class TheServiceUsersFolders(unittest.TestCase):
    """Retest P8 and P10: the daemon as user nobody (as the service runs as hivehook), faced with
    folders and a state DB that root made."""

    def setUp(self):
        self.user = pwd.getpwnam("nobody")
        self.d = Deployment("rules:\n  - name: load\n    match: {prefix: t/}\n    job: {command: [/bin/true]}\n",
                            prefix="hivehook-p8-")
        self.addCleanup(self.d.cleanup)
        d = self.d
        os.chmod(d.dir, 0o755)
        for p in [d.dir, *d.dir.rglob("*")]:
            os.chown(p, self.user.pw_uid, self.user.pw_gid)
        if subprocess.run([*as_user(self.user), BIN, "--version"], capture_output=True).returncode != 0:
            self.skipTest(f"user nobody cannot run {BIN}")

    def run_as_nobody(self, *args, timeout=60):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HIVEHOOK_")}
        return subprocess.run([*as_user(self.user), BIN, *args, "-c", str(self.d.config)], capture_output=True,
                              text=True, timeout=timeout, env=env)

    def test_folders_the_daemon_cannot_create_or_write_are_named_with_the_user_and_the_fix_issue16_P8(self):
        d = self.d
        # A quarantine in a folder root made (0755): nobody cannot create it -> one clear line (not a
        # raw "filesystem error"); exit 70, restarted, as a mount not up yet would be.
        rootonly = d.dir / "srv"
        rootonly.mkdir()
        os.chown(rootonly, 0, 0)
        os.chmod(rootonly, 0o755)
        d.config.write_text(d.config.read_text().replace("quarantine: quarantine", f"quarantine: {rootonly}/quarantine"))
        r = self.run_as_nobody("scan")
        self.assertEqual(r.returncode, 70, r.stdout + r.stderr)
        self.assertIn(f"fatal: cannot create the quarantine folder {rootonly}/quarantine: Permission denied (this "
                      f"daemon runs as user nobody (uid {self.user.pw_uid})). Make it for that user (as root: "
                      f"install -d -o nobody -g nogroup {rootonly}/quarantine), and under systemd", r.stderr)
        self.assertIn("ReadWritePaths=", r.stderr)
        self.assertNotIn("filesystem error", r.stderr)
        # Made by root (0755, as `mkdir` leaves it): the daemon starts, and says at once that every
        # move into it will fail (EACCES; before, only EROFS was warned about).
        (rootonly / "quarantine").mkdir()
        os.chmod(rootonly / "quarantine", 0o755)
        r = self.run_as_nobody("scan")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, rf"warning quarantine {re.escape(str(rootonly))}/quarantine is not writable for this "
                                   rf"daemon, user nobody \(uid {self.user.pw_uid}\): permission denied on "
                                   rf"{re.escape(str(rootonly))}/quarantine \(drwxr-xr-x root:root\): every move into "
                                   rf"it will fail; as root: chown nobody: {re.escape(str(rootonly))}/quarantine")
        self.assertNotIn("warning archive", r.stderr, "the daemon's own folders: no warning")

    def test_state_db_the_daemon_may_not_open_is_named_with_owner_mode_and_user_issue16_P10(self):
        d = self.d
        r = self.run_as_nobody("scan")
        self.assertEqual(r.returncode, 0, r.stderr)
        db = d.dir / "state/hivehook.db"
        os.chown(db, 0, 0)  # as `chown root:` or a root-run sqlite3 leaves it
        os.chmod(db, 0o600)
        r = self.run_as_nobody("run")
        self.assertEqual(r.returncode, 70, r.stderr)
        diagnosis = f"permission denied on {db} (-rw------- root:root)"
        self.assertIn(f"fatal: cannot open the state DB {db}: {diagnosis}, and this daemon runs as user nobody "
                      f"(uid {self.user.pw_uid}): give it back to that user (as root: chown nobody: {db} && chmod "
                      f"u+rw {db}), or run the daemon as user root", r.stderr)
        # The same diagnosis `status` gives (one helper: base/path_access.h).
        status = self.run_as_nobody("status")
        self.assertEqual(status.returncode, 2)
        self.assertIn(diagnosis, status.stderr)
        # Its owner's, but mode 000.
        os.chown(db, self.user.pw_uid, self.user.pw_gid)
        os.chmod(db, 0)
        r = self.run_as_nobody("run")
        self.assertEqual(r.returncode, 70, r.stderr)
        self.assertIn(f"permission denied on {db} (---------- nobody:nogroup), and this daemon runs as user nobody",
                      r.stderr)


@unittest.skipUnless(os.geteuid() == 0, "needs root: mounts")
class FoldersOnOtherMounts(unittest.TestCase):
    def test_archive_on_another_mount_and_a_read_only_quarantine_are_warned_at_start_issue16_N3(self):
        """Issue 16 N3: the runbook's drop-in (ReadWritePaths=/srv/landing /srv/archive) made every
        archive move a copy and a delete (separate mounts), and a folder left read-only
        (ProtectSystem=strict) was only found at the first move."""
        d = Deployment("rules: []\n", prefix="hivehook-n3-")
        self.addCleanup(d.cleanup)
        d.archive.mkdir()
        d.quarantine.mkdir()
        d.mount_tmpfs(d.archive)
        d.mount_tmpfs(d.quarantine, options="ro")
        d.start()
        log = d.log.read_text()
        self.assertRegex(log, rf"warning archive {re.escape(str(d.archive))} is on another mount than landing .*"
                              r"copy, then a delete .*ReadWritePaths=")
        self.assertRegex(log, rf"warning quarantine {re.escape(str(d.quarantine))} is on a file system that is "
                              r"read-only for this process: every move into it will fail; .*ReadWritePaths=")
        self.assertEqual(d.stop(), 0)
        # One file system, one mount: no warning.
        d2 = Deployment("rules: []\n", prefix="hivehook-n3-")
        self.addCleanup(d2.cleanup)
        d2.start()
        self.assertNotIn("another mount", d2.log.read_text())
        self.assertEqual(d2.stop(), 0)


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class RootOverTheServicesFolders(unittest.TestCase):
    def test_run_as_root_over_folders_of_the_service_user_is_refused_issue16_N2(self):
        d = Deployment("rules: []\n", prefix="hivehook-n2-")
        self.addCleanup(d.cleanup)
        (d.dir / "state").mkdir()
        nobody = pwd.getpwnam("nobody")
        os.chown(d.dir / "state", nobody.pw_uid, nobody.pw_gid)
        for cmd in ("run", "scan"):
            r = d.cli(cmd, timeout=60)
            self.assertEqual(r.returncode, 2, r.stderr)
            err = r.stderr.decode()
            self.assertIn(f"hivehook {cmd}: running as root, but {d.dir / 'state'} belongs to user nobody", err)
            self.assertIn(f"runuser -u nobody -- hivehook {cmd} -c {d.config} --env-file - < /etc/hivehook/hivehook.env",
                          err)
        # Retest P13: retry/replay with no daemon running would run one, as root, too.
        for args in (("retry", "--all-failed"), ("replay", "--all")):
            r = d.cli(*args, timeout=60)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(f"hivehook {args[0]}: running as root, but {d.dir / 'state'} belongs to user nobody",
                          r.stderr.decode())
        self.assertFalse(d.archive.exists(), "nothing made as root")
        # The same folders as root's own (a developer's checkout): runs as before.
        os.chown(d.dir / "state", 0, 0)
        self.assertEqual(d.cli("scan", timeout=60).returncode, 0)


if __name__ == "__main__":
    unittest.main()
