"""The watchers under test, each started on a fresh landing folder with the same job (`stamp`).

Every peer watches the whole landing tree and runs `stamp LOG NAME` per landed file:
  inotifywait-loop   `inotifywait -m -r` piped into a bash `while read` loop
  incrond            a private incrond (own config, table and lock folders), recursive table line
  watchman           a private watchman server (own socket/state), a trigger; settle default or 0
  hivehook           `hivehook run` with a command job (or `builtin: noop`)
Processes are started in their own session and stopped by their own process-group id only.
"""
import json
import os
import pathlib
import signal
import subprocess
import textwrap
import time


def wait_for(pred, timeout, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


def rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rollup_kb(pid):
    """(Pss, Private_Clean + Private_Dirty) in kB from /proc/PID/smaps_rollup: what the process costs
    beyond the shared library pages RSS also counts."""
    vals = {}
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            f = line.split()
            if len(f) >= 2 and f[0].endswith(":") and f[1].isdigit():
                vals[f[0][:-1]] = int(f[1])
    except OSError:
        return 0, 0
    return vals.get("Pss", 0), vals.get("Private_Clean", 0) + vals.get("Private_Dirty", 0)


def tree_pids(root_pid):
    """root_pid and all its descendants (from /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(d))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def stop_group(proc, sig=signal.SIGTERM, timeout=15):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class Peer:
    name = "?"
    proc = None

    def __init__(self, tools, work):
        self.tools = tools  # dict: stamp, hivehook
        self.work = pathlib.Path(work)
        self.landing = self.work / "landing"
        self.log = self.work / "stamp.log"

    def start(self):
        raise NotImplementedError

    def ready_signal(self):
        """Seconds from start to the watcher's own 'ready' signal, or None if it has none."""
        return self._ready

    def pids(self):
        return tree_pids(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def rss_kb(self):
        """Resident set of the watcher's process tree, jobs in flight excluded."""
        total = 0
        for p in self.pids():
            try:
                if os.path.basename(os.readlink(f"/proc/{p}/exe")) == "stamp":
                    continue
            except OSError:
                continue
            total += rss_kb(p)
        return total

    def rollup_kb(self):
        pss = priv = 0
        for p in self.pids():
            try:
                if os.path.basename(os.readlink(f"/proc/{p}/exe")) == "stamp":
                    continue
            except OSError:
                continue
            a, b = rollup_kb(p)
            pss, priv = pss + a, priv + b
        return pss, priv

    def stop(self):
        stop_group(self.proc)
        self.proc = None


class InotifywaitLoop(Peer):
    name = "inotifywait loop"

    def start(self):
        err = self.work / "inotifywait.err"
        script = ('inotifywait -m -r -e moved_to -e close_write --format "%w%f" "$1" 2>"$2" | '
                  'while IFS= read -r f; do "$3" "$4" "$f"; done')
        t0 = time.monotonic()
        self.proc = subprocess.Popen(["bash", "-c", script, "bench", str(self.landing), str(err),
                                      self.tools["stamp"], str(self.log)], start_new_session=True)
        ok = wait_for(lambda: err.exists() and "Watches established" in err.read_text(errors="replace"), 120)
        self._ready = time.monotonic() - t0 if ok else None


class Incrond(Peer):
    name = "incrond"

    def start(self):
        base = self.work / "incron"
        for d in ("sys", "user", "lock"):
            (base / d).mkdir(parents=True, exist_ok=True)
        conf = base / "incron.conf"
        conf.write_text(f"system_table_dir = {base}/sys\nuser_table_dir = {base}/user\n"
                        f"lockfile_dir = {base}/lock\nlockfile_name = incrond-bench\n")
        # One recursive line for the whole landing tree (incron 0.5.12 recurses unless recursive=false).
        (base / "sys" / "bench").write_text(
            f"{self.landing} IN_MOVED_TO,IN_CLOSE_WRITE {self.tools['stamp']} {self.log} $#\n")
        self.proc = subprocess.Popen(["incrond", "-n", "-f", str(conf)], start_new_session=True,
                                     stdout=open(base / "out", "wb"), stderr=subprocess.STDOUT)
        self._ready = None  # no ready signal: the probe tells


class Watchman(Peer):
    """A private watchman server per peer instance: its own socket, state and log."""

    def __init__(self, tools, work, settle_ms=None):
        super().__init__(tools, work)
        self.settle_ms = settle_ms
        self.name = "watchman" + (" (settle 0)" if settle_ms == 0 else " (settle 20ms)")
        self.sock = self.work / "wm" / "sock"

    def wm(self, *args, stdin=None):
        r = subprocess.run(["watchman", f"--sockname={self.sock}", "--no-spawn", "--no-local", *args],
                           input=stdin, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"watchman {' '.join(args)}: {r.stderr.strip() or r.stdout.strip()}")
        return json.loads(r.stdout) if r.stdout.strip() else {}

    def start(self):
        st = self.work / "wm"
        st.mkdir(parents=True, exist_ok=True)
        if self.settle_ms is not None:
            (self.landing / ".watchmanconfig").write_text(json.dumps({"settle": self.settle_ms}))
        t0 = time.monotonic()
        self.proc = subprocess.Popen(["watchman", "--foreground", f"--sockname={self.sock}",
                                      f"--statefile={st}/state", f"--logfile={st}/log", f"--pidfile={st}/pid"],
                                     start_new_session=True, stdout=open(st / "out", "wb"), stderr=subprocess.STDOUT)
        if not wait_for(lambda: self.sock.exists(), 30):
            raise RuntimeError("watchman server did not start: " + (st / "log").read_text(errors="replace")[-500:])
        self.wm("watch", str(self.landing))
        self.wm("-j", stdin=json.dumps(["trigger", str(self.landing), {
            "name": "stamp",
            "expression": ["allof", ["type", "f"], ["not", ["name", ".watchmanconfig"]]],
            "command": [self.tools["stamp"], str(self.log), "-"],
            "stdin": "NAME_PER_LINE"}]))
        self._ready = time.monotonic() - t0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.wm("shutdown-server")
                self.proc.wait(timeout=10)
            except Exception:
                pass
        super().stop()


class Hivehook(Peer):
    def __init__(self, tools, work, noop=False, workers=None, state=None):
        super().__init__(tools, work)
        self.noop = noop
        self.workers = workers
        self.state = state  # None: the SQLite default; else a postgresql:// URL
        self.name = "hivehook" + (" (builtin noop)" if noop else "") + (f" (workers {workers})" if workers else "") \
            + (" (PostgreSQL)" if state else "")
        self.db = self.work / "state" / "hivehook.db"
        self.daemon_log = self.work / "daemon.log"

    def start(self):
        (self.work / "rules").mkdir(exist_ok=True)
        job = "{builtin: noop}" if self.noop else \
            f"{{command: [{self.tools['stamp']}, {self.log}, \"{{name}}\"], timeout: 60s}}"
        (self.work / "rules" / "bench.yaml").write_text(textwrap.dedent(f"""\
            rules:
              - name: bench
                match: {{prefix: t/}}
                job: {job}
                on_success: {{action: archive}}
            """))
        workers = f"workers: {self.workers}\n" if self.workers else ""
        (self.work / "hivehook.yaml").write_text(
            f"landing: landing\narchive: archive\nquarantine: quarantine\nstate: {self.state or 'state/hivehook.db'}\n"
            "audit_log: state/audit.jsonl\nrules: rules\nshutdown_grace: 10s\n" + workers)
        env = dict(os.environ)
        env.pop("HIVEHOOK_CONFIG", None)
        t0 = time.monotonic()
        self.proc = subprocess.Popen([self.tools["hivehook"], "run", "-c", str(self.work / "hivehook.yaml")],
                                     start_new_session=True, env=env,
                                     stdout=open(self.daemon_log, "wb"), stderr=subprocess.STDOUT)
        ok = wait_for(lambda: self.proc.poll() is not None or
                      " watching " in self.daemon_log.read_text(errors="replace"), 120, interval=0.002)
        if self.proc.poll() is not None:
            raise RuntimeError("hivehook exited at start:\n" + self.daemon_log.read_text(errors="replace")[-2000:])
        self._ready = time.monotonic() - t0 if ok else None

    def archived(self):
        """(count, last updated_at in ms) of archived objects, read-only from the store."""
        sql = "SELECT COUNT(*), MAX(updated_at) FROM objects WHERE state='archived'"
        if self.state:
            import psycopg2
            try:
                con = psycopg2.connect(self.state)
                try:
                    cur = con.cursor()
                    cur.execute(sql)
                    return tuple(cur.fetchone())
                finally:
                    con.close()
            except psycopg2.Error:
                return 0, None
        import sqlite3
        if not self.db.exists():
            return 0, None
        try:
            con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
            try:
                return tuple(con.execute(
                    "SELECT COUNT(*), MAX(updated_at) FROM objects WHERE state='archived'").fetchone())
            finally:
                con.close()
        except sqlite3.Error:
            return 0, None


def make(kind, tools, work, **kw):
    return {"inotifywait": InotifywaitLoop, "incrond": Incrond, "hivehook": Hivehook}[kind](tools, work, **kw) \
        if kind != "watchman" else Watchman(tools, work, **kw)
