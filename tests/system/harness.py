"""Shared harness of the black-box system tests: a temp deployment, the real `hivehook` binary,
real directories and inotify, conditions waited for with deadlines (never fixed sleeps)."""
import atexit
import json
import os
import pathlib
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import textwrap
import time

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = pathlib.Path(os.environ.get("HIVEHOOK_SOURCE_DIR", HERE.parent.parent))
BIN = os.environ.get("HIVEHOOK_BIN", str(SOURCE / "build" / "hivehook"))


# HIVEHOOK_TEST_STATE=postgresql runs every Deployment on the PostgreSQL backend: one throwaway
# server (tests/support/pg-cluster) per test process, one fresh byte-transparent database per
# deployment. Unset (or "sqlite"): the SQLite file state/hivehook.db, as the daemon defaults to.
STATE_BACKEND = os.environ.get("HIVEHOOK_TEST_STATE", "sqlite")
# Set by CMake for a -DHIVEHOOK_SANITIZE=ON build (CI's sanitizer job): ASan's shadow memory and
# quarantine make resident-memory bounds meaningless, so checks of them are skipped (only those).
SANITIZED = os.environ.get("HIVEHOOK_SANITIZED") == "1"
# ASan and LSan write their reports to the test's log_path (tests/support/fail-on-sanitizer-report
# fails the test when one exists), but GCC 12's UBSan ignores log_path and writes to stderr: the
# daemon's stderr is a log file inside the deployment folder, deleted at cleanup. So a sanitizer
# report found in a daemon's log or a CLI's stderr is copied beside the others before it is lost.
SANITIZER_LOG = os.environ.get("HIVEHOOK_SANITIZER_LOG")
_SANITIZER_MARKS = re.compile(rb"runtime error: |ERROR: (?:Address|Leak|UndefinedBehavior)Sanitizer")
_sanitizer_copies = 0


def keep_sanitizer_report(text, what):
    """Copies `text` (bytes: a daemon log or a CLI's stderr) to <log_path>.<what>.<pid>.<n> when it
    holds a sanitizer report and this is a sanitizer build's test; nothing otherwise."""
    global _sanitizer_copies
    if not (SANITIZED and SANITIZER_LOG and text and _SANITIZER_MARKS.search(text)):
        return
    _sanitizer_copies += 1
    pathlib.Path(f"{SANITIZER_LOG}.{what}.{os.getpid()}.{_sanitizer_copies}").write_bytes(text)
PG_CLUSTER = SOURCE / "tests" / "support" / "pg-cluster"
_pg_server = {}


def pg_server_url():
    """The URL of this process's throwaway PostgreSQL server, started on first use."""
    if "url" not in _pg_server:
        d = tempfile.mkdtemp(prefix="hivehook-pg-")
        r = subprocess.run([str(PG_CLUSTER), "start", d], capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            raise RuntimeError(f"pg-cluster start failed ({r.returncode}): {r.stderr}")
        _pg_server.update(url=r.stdout.strip(), dir=d)

        def stop():
            subprocess.run([str(PG_CLUSTER), "stop", d], capture_output=True, timeout=120)
            shutil.rmtree(d, ignore_errors=True)
        atexit.register(stop)
    return _pg_server["url"]


def pg_connect(url):
    import psycopg2
    import psycopg2.extensions
    con = psycopg2.connect(url)
    con.set_client_encoding("UTF8")  # the server is SQL_ASCII: bytes pass through unconverted
    psycopg2.extensions.register_type(psycopg2.extensions.BYTES, con)  # text reads as bytes, as sqlite3's bytes factory
    return con


def pg_restart():
    """Restarts this process's throwaway server on the same port (clients reconnect to the same URL)."""
    pg_server_url()
    subprocess.run([str(PG_CLUSTER), "restart", _pg_server["dir"]], check=True, capture_output=True, timeout=180)


def pg_create_database():
    """A fresh database for one deployment; returns its URL."""
    base = pg_server_url()
    name = "hh_" + os.urandom(6).hex()
    con = pg_connect(base)
    con.autocommit = True
    con.cursor().execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'")
    con.close()
    return base.rsplit("/", 1)[0] + "/" + name


def pg_drop_database(url):
    base = pg_server_url()
    con = pg_connect(base)
    con.autocommit = True
    con.cursor().execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
    con.close()


def _pg_sql(sql):
    """sqlite3's qmark parameters as psycopg2's format ones."""
    return re.sub(r"\?", "%s", sql.replace("%", "%%"))


def wait_until(predicate, timeout=60.0, interval=0.02, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    """/metrics as {"name{labels}": value}."""
    import re
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)", line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def healthz(port):
    """(status, body) of /healthz."""
    import urllib.error
    import urllib.request
    try:
        r = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


class Deployment:
    """A hivehook deployment in a fresh temp folder: config, rules, landing, archive, state."""

    def __init__(self, rules_yaml, config_extra="", prefix="hivehook-sys-", backend=None):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=prefix))
        self.landing = self.dir / "landing"
        self.archive = self.dir / "archive"
        self.quarantine = self.dir / "quarantine"
        self.staging = self.dir / "staging"  # same filesystem as landing: renames are atomic
        for d in (self.landing, self.staging, self.dir / "rules"):
            d.mkdir(parents=True)
        self.config = self.dir / "hivehook.yaml"
        self.pg_url = pg_create_database() if (backend or STATE_BACKEND) == "postgresql" else None
        self.config.write_text(textwrap.dedent(f"""\
            landing: landing
            archive: archive
            quarantine: quarantine
            state: {self.pg_url or 'state/hivehook.db'}
            audit_log: state/audit.jsonl
            rules: rules
            shutdown_grace: 10s
            """) + textwrap.dedent(config_extra))
        self.write_rules(rules_yaml)
        self.proc = None
        self.log = self.dir / "daemon.log"
        self.mounts = []

    # --- files -------------------------------------------------------------------------------
    def write_rules(self, text, name="rules.yaml"):
        tmp = self.dir / "rules" / f".{name}.tmp"
        tmp.write_text(textwrap.dedent(text))
        os.rename(tmp, self.dir / "rules" / name)

    def drop(self, key, content=b"x\n"):
        """Writes a file in staging and renames it into landing (the atomic convention)."""
        key_b = os.fsencode(key) if isinstance(key, str) else key
        src = os.path.join(os.fsencode(self.staging), os.urandom(8).hex().encode())
        with open(src, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode())
        dst = os.path.join(os.fsencode(self.landing), key_b)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.rename(src, dst)
        return dst

    def files(self, root):
        out = []
        for dirpath, _, names in os.walk(os.fsencode(root)):
            for n in names:
                out.append(os.path.relpath(os.path.join(dirpath, n), os.fsencode(root)))
        return sorted(out)

    # --- the daemon ----------------------------------------------------------------------------
    def cli(self, *args, timeout=120, check=False, env=None):
        e = dict(os.environ)
        e.pop("HIVEHOOK_CONFIG", None)
        e.update(env or {})
        r = subprocess.run([BIN, *args, "-c", str(self.config)], capture_output=True, timeout=timeout, env=e)
        keep_sanitizer_report(r.stderr, "cli")
        if check and r.returncode != 0:
            raise AssertionError(f"hivehook {' '.join(args)} exited {r.returncode}: {r.stderr.decode(errors='replace')}")
        return r

    def start(self, env=None, wait_ready=True):
        e = dict(os.environ)
        e.pop("HIVEHOOK_CONFIG", None)
        e.update(env or {})
        before = self.log.read_text(errors="replace").count("watching ") if self.log.exists() else 0
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([BIN, "run", "-c", str(self.config)], stdout=self.logf, stderr=self.logf, env=e)
        if wait_ready:
            wait_until(lambda: self.proc.poll() is not None
                       or self.log.read_text(errors="replace").count("watching ") > before,
                       timeout=30, message="daemon ready")
            if self.proc.poll() is not None:
                raise AssertionError("daemon exited at start:\n" + self.log.read_text(errors="replace"))
        return self.proc

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.proc = None
        self.logf.close()
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.proc = None
        self.logf.close()

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if getattr(self, "logf", None) and not self.logf.closed:
            self.logf.close()
        if SANITIZED and self.log.exists():
            keep_sanitizer_report(self.log.read_bytes(), "daemon-log")
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(m)], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.pg_url:
            pg_drop_database(self.pg_url)
            self.pg_url = None

    # --- real filesystems -----------------------------------------------------------------------
    def mount_tmpfs(self, path, size="1m", options=""):
        """Mounts a tmpfs of `size` at `path` (created), unmounted at cleanup. Raises
        unittest.SkipTest when mounting is not possible here (not root, no CAP_SYS_ADMIN)."""
        import unittest
        path = pathlib.Path(path)
        path.mkdir(parents=True, exist_ok=True)
        opts = f"size={size}" + ("," + options if options else "")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True)
        if r.returncode != 0:
            raise unittest.SkipTest(f"cannot mount a tmpfs here ({r.stderr.decode(errors='replace').strip()}): "
                                    "this fault test needs root")
        self.mounts.append(path)
        return path

    def remount(self, path, options):
        subprocess.run(["mount", "-o", "remount," + options, str(path)], check=True, capture_output=True)

    # --- the store -------------------------------------------------------------------------------
    def db(self):
        """A read-only connection to the state (SQLite file or PostgreSQL database); text reads as bytes."""
        con = sqlite3.connect(f"file:{self.dir / 'state/hivehook.db'}?mode=ro", uri=True, timeout=10)
        con.text_factory = bytes
        return con

    def has_state(self):
        if not self.pg_url:
            return (self.dir / "state/hivehook.db").exists()
        return bool(self._pg("SELECT to_regclass('objects') IS NOT NULL")[0][0])

    def _pg(self, sql, params=(), write=False):
        con = pg_connect(self.pg_url)
        try:
            cur = con.cursor()
            cur.execute(_pg_sql(sql), params)
            rows = cur.fetchall() if cur.description else []
            if write:
                con.commit()
            return [tuple(r) for r in rows]
        finally:
            con.close()

    def query(self, sql, *params):
        """Rows of a read-only query, `?` parameters, whichever backend the state is on."""
        if self.pg_url:
            return self._pg(sql, params)
        con = self.db()
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def execute(self, sql, *params):
        """A write to the state behind the daemon's back (simulating a crash between two steps)."""
        if self.pg_url:
            return self._pg(sql, params, write=True)
        con = sqlite3.connect(self.dir / "state/hivehook.db", timeout=10)
        try:
            con.execute(sql, params)
            con.commit()
        finally:
            con.close()

    def count_objects(self, state):
        if not self.has_state():
            return 0
        return self.query("SELECT COUNT(*) FROM objects WHERE state=?", state)[0][0]

    def events(self, name=None):
        rows = self.query("SELECT event, key, detail FROM events ORDER BY id")
        out = [(e.decode(), k, json.loads(d) if d else None) for e, k, d in rows]
        return [x for x in out if name is None or x[0] == name]

    def audit_lines(self):
        p = self.dir / "state/audit.jsonl"
        return [json.loads(l) for l in p.read_text(errors="replace").splitlines() if l.strip()]
