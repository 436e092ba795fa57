"""`make install` and `make deb`, tested as an operator would use them, without touching this machine:
the install tree (stripped binary, man pages, completion, systemd unit, example /etc/hivehook/), and
the Debian package installed by dpkg into a scratch root (its postinst creating the hivehook user and
folders there), then the daemon run from that root on the package's own config (telling READY=1 on
a notify socket as under systemd), and the packaged ETL loading its PostgreSQL module.

Run: cd tests/system && HIVEHOOK_BUILD_DIR=/path/to/build /usr/bin/python3 -m unittest -v test_package
"""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

from harness import SOURCE, wait_until
from test_notify import free_port
from test_service import NotifySocket

BUILD = pathlib.Path(os.environ.get("HIVEHOOK_BUILD_DIR", SOURCE / "build"))


def run(*args, env=None, **kw):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})}, **kw)


def install(destdir, prefix="/usr"):
    r = run("cmake", "--install", BUILD, "--prefix", prefix, "--component", "hivehook", "--strip",
            env={"DESTDIR": str(destdir)})
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def has_symbols(binary):
    sections = run("readelf", "-S", "-W", binary).stdout
    return ".symtab" in sections or ".debug_info" in sections


class Install(unittest.TestCase):
    def setUp(self):
        self.dest = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-install-"))

    def tearDown(self):
        shutil.rmtree(self.dest, ignore_errors=True)

    def test_install_tree_under_a_prefix_and_destdir(self):
        install(self.dest, "/opt/hh")
        root = self.dest / "opt/hh"
        binary = root / "bin/hivehook"
        self.assertTrue(os.access(binary, os.X_OK))
        self.assertFalse(has_symbols(binary), "installed stripped")
        self.assertLess(binary.stat().st_size, 20 << 20)
        self.assertTrue((root / "share/hivehook/lambda_bootstrap.py").is_file())
        self.assertTrue((root / "share/hivehook/lambda/python/bootstrap.py").is_file())
        self.assertTrue((root / "share/hivehook/lambda/nodejs/bootstrap.mjs").is_file())
        for program in ("bin/hivehook-etl", "bin/hivehook-gen", "lib/hivehook/hivehook-etl-postgresql.so"):
            self.assertTrue((root / program).is_file(), program)
            self.assertFalse(has_symbols(root / program), f"{program} installed stripped")
        pages = sorted(p.name for p in (root / "share/man/man1").iterdir())
        self.assertIn("hivehook.1.gz", pages)
        self.assertIn("hivehook-run.1.gz", pages)
        self.assertTrue(all(p.endswith(".1.gz") for p in pages), pages)
        self.assertTrue((root / "share/bash-completion/completions/hivehook").is_file())
        self.assertTrue((root / "share/zsh/vendor-completions/_hivehook").is_file())
        unit = (root / "lib/systemd/system/hivehook.service").read_text()
        self.assertIn("ExecStart=/opt/hh/bin/hivehook run -c /etc/hivehook/hivehook.yaml", unit)
        self.assertNotIn("@BINDIR@", unit)
        self.assertNotIn("@DOCDIR@", unit)
        self.assertIn("/opt/hh/share/doc/hivehook/runbook.md.gz", unit, "the docs where this prefix has them")
        self.assertTrue((root / "lib/sysusers.d/hivehook.conf").is_file())
        self.assertTrue((root / "lib/tmpfiles.d/hivehook.conf").is_file())
        self.assertIn("postrotate", (self.dest / "etc/logrotate.d/hivehook").read_text(), "the audit log's rotation")
        etc = self.dest / "etc/hivehook"
        self.assertTrue((etc / "hivehook.yaml").is_file())
        self.assertTrue((etc / "rules/10-example.yaml").is_file())
        self.assertEqual((etc / "hivehook.env").stat().st_mode & 0o777, 0o600, "secrets readable by root only")
        # The installed binary finds its runtime files and reads the installed example config.
        r = run(binary, "check", "-c", etc / "hivehook.yaml")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("config OK: 1 rule", r.stdout)

    def test_every_doc_path_the_installed_files_name_is_installed(self):
        """Issue 16 F4: the packaged example config said "Every key: docs/config-reference.md", which
        the package did not install (and the unit said "docs/runbook.md"). Every path under the
        docs folder that an installed text file names exists in the install tree, for the prefix
        it was installed with; no file points into the source tree's docs/."""
        install(self.dest, "/opt/hh")
        texts = [p for p in self.dest.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".service", ".conf", ".env")]
        self.assertTrue(texts)
        named = set()
        for f in texts:
            text = f.read_text(errors="replace")
            self.assertNotRegex(text, r"(?<![\w/])docs/[\w-]+\.md(?!\.gz| \(installed| in the source)",
                                f"{f} names a file of the source tree")
            self.assertNotIn("@DOCDIR@", text, f)
            named |= set(re.findall(r"(/opt/hh/share/doc/hivehook/[\w-]+(?:\.[\w-]+)*)", text))  # not a sentence's dot
        self.assertIn("/opt/hh/share/doc/hivehook/config-reference.md.gz", named)
        for path in sorted(named):
            self.assertTrue((self.dest / path.lstrip("/")).is_file(), f"{path} is named but not installed")

    def test_reinstall_keeps_an_edited_config(self):
        install(self.dest)
        config = self.dest / "etc/hivehook/hivehook.yaml"
        config.write_text("# mine\nlanding: /srv/landing\n")
        r = install(self.dest)
        self.assertIn("Keeping the existing /etc/hivehook/", r.stdout)
        self.assertEqual(config.read_text(), "# mine\nlanding: /srv/landing\n")


@unittest.skipUnless(shutil.which("dpkg") and shutil.which("cpack"), "needs dpkg and cpack")
class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-deb-"))
        r = run("cpack", "-G", "DEB", "--config", BUILD / "CPackConfig.cmake", "-B", cls.work / "cpack",
                "-D", f"CPACK_OUTPUT_FILE_PREFIX={cls.work}")
        assert r.returncode == 0, r.stdout + r.stderr
        cls.deb = next(cls.work.glob("hivehook_*.deb"))
        # A scratch root with an empty dpkg database; the package's dependencies are this machine's.
        cls.root = cls.work / "root"
        for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
            (cls.root / d).mkdir(parents=True)
        for f in ("var/lib/dpkg/status", "var/lib/dpkg/available"):
            (cls.root / f).touch()
        cls.dpkg = run("dpkg", f"--root={cls.root}", "--force-script-chrootless", "--force-depends",
                       "--force-not-root", "--log=/dev/null", "-i", cls.deb)

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("KEEP"):
            shutil.rmtree(cls.work, ignore_errors=True)

    def test_control_fields(self):
        info = run("dpkg-deb", "-f", self.deb).stdout
        self.assertRegex(info, r"Package: hivehook\n")
        depends = re.search(r"Depends: (.*)", info).group(1)
        for lib in ("libyaml-cpp", "libsqlite3", "libcurl4", "libssl3", "systemd", "python3", "procps"):
            self.assertIn(lib, depends)
        # The version changes with the source (issue 16 P15): 0.1.0+git<commit date>.<sha>, and the
        # packaged binary's --version names the same version and the commit.
        version = re.search(r"Version: (.*)", info).group(1)
        git = run("git", "-C", SOURCE, "log", "-1", "--format=%H %cd", "--date=format-local:%Y%m%d%H%M%S",
                  env={"TZ": "UTC"})
        if git.returncode == 0:
            sha, stamp = git.stdout.split()
            self.assertEqual(version, f"0.1.0+git{stamp}.{sha[:12]}")
            arch = run("dpkg", "--print-architecture").stdout.strip()
            self.assertEqual(self.deb.name, f"hivehook_{version}_{arch}.deb")
            r = run(self.root / "usr/bin/hivehook", "--version")
            self.assertTrue(r.stdout.startswith(f"hivehook {version} (commit {sha}, "), r.stdout + r.stderr)
        else:
            self.assertRegex(version, r"^\d+\.\d+\.\d+$")
        conffiles = run("dpkg-deb", "--info", self.deb, "conffiles").stdout.split()
        self.assertEqual(sorted(conffiles), ["/etc/hivehook/hivehook.env", "/etc/hivehook/hivehook.yaml",
                                             "/etc/hivehook/rules/10-example.yaml", "/etc/logrotate.d/hivehook"])
        self.assertIn("Recommends: logrotate", info)

    def test_runtime_files_are_in_the_package(self):
        """What jobs need at run time: the Lambda bootstraps, the example's ETL and its PostgreSQL module."""
        listing = run("dpkg-deb", "-c", self.deb).stdout
        for path in ("./usr/bin/hivehook", "./usr/bin/hivehook-etl", "./usr/bin/hivehook-gen",
                     "./usr/lib/hivehook/hivehook-etl-postgresql.so", "./usr/share/hivehook/lambda_bootstrap.py",
                     "./usr/share/hivehook/lambda/python/bootstrap.py",
                     "./usr/share/hivehook/lambda/nodejs/bootstrap.mjs",
                     "./usr/lib/systemd/system/hivehook.service", "./usr/share/man/man1/hivehook-run.1.gz"):
            self.assertRegex(listing, r"(?m) " + re.escape(path) + "$", path)

    def test_debian_policy_docs_man_pages_compressed_copyright(self):
        """Issue 16 F8 (lintian's errors): man pages gzip -9n (policy 12.1), /usr/share/doc/hivehook/
        with copyright and changelog.Debian.gz, docs larger than 4 kB compressed (policy 12.3), and
        the config reference the example config points to among them."""
        listing = run("dpkg-deb", "-c", self.deb).stdout
        paths = re.findall(r"(?m) \./(\S+)$", listing)
        pages = [p for p in paths if p.startswith("usr/share/man/")]
        self.assertTrue(pages)
        self.assertEqual([p for p in pages if not p.endswith("/") and not p.endswith(".gz")], [])
        for doc in ("copyright", "changelog.Debian.gz", "README.md.gz", "config-reference.md.gz", "runbook.md.gz"):
            self.assertIn(f"usr/share/doc/hivehook/{doc}", paths, doc)
        self.assertEqual(self.dpkg.returncode, 0, self.dpkg.stdout + self.dpkg.stderr)
        doc = self.root / "usr/share/doc/hivehook"
        import gzip
        for gz in [*doc.glob("*.gz"), *(self.root / "usr/share/man/man1").glob("*.gz")]:
            raw = gz.read_bytes()
            self.assertEqual(raw[:2], b"\x1f\x8b", gz)
            self.assertEqual(raw[4:8], b"\0\0\0\0", f"{gz}: no time stamp (gzip -n)")
            self.assertEqual(raw[8], 2, f"{gz}: gzip -9")
            gzip.decompress(raw)
        self.assertIn("| `landing` |", gzip.decompress((doc / "config-reference.md.gz").read_bytes()).decode())
        self.assertRegex(gzip.decompress((doc / "changelog.Debian.gz").read_bytes()).decode(),
                         r"^hivehook \(\d+\.\d+\.\d+(\+git\d{14}\.[0-9a-f]{12})?\) ")  # the package's version
        self.assertRegex((doc / "copyright").read_text(), r"^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/")
        config = (self.root / "etc/hivehook/hivehook.yaml").read_text()
        self.assertIn("/usr/share/doc/hivehook/config-reference.md.gz", config)

    def test_installed_docs_name_only_installed_docs_issue16_N6(self):
        """Issue 16 N6: the installed runbook pointed to architecture.md, DESIGN.md, performance.md
        (and job-contract.md to DESIGN.md, s3.md to decisions.md, console.md to console.png), which
        the package did not install. Every document or picture of docs/ that an installed doc names
        by file name is in /usr/share/doc/hivehook/ (gzip'd, as Debian has docs)."""
        self.assertEqual(self.dpkg.returncode, 0, self.dpkg.stdout + self.dpkg.stderr)
        import gzip
        doc = self.root / "usr/share/doc/hivehook"
        installed = {p.name.removesuffix(".gz") for p in doc.iterdir()}
        ours = {p.name for p in (SOURCE / "docs").iterdir()} | {"README.md"}  # the project's documents
        missing = []
        for gz in doc.glob("*.md.gz"):
            text = gzip.decompress(gz.read_bytes()).decode()
            for name in set(re.findall(r"(?<![\w.-])([A-Za-z][\w-]*\.(?:md|png))\b", text)):
                if name in ours and name not in installed:
                    missing.append(f"{gz.name} names {name}")
        self.assertEqual(missing, [])
        runbook = gzip.decompress((doc / "runbook.md.gz").read_bytes()).decode()
        self.assertNotIn("/var/lib/hivehook/hivehook.db", runbook, "the packaged state DB is state/hivehook.db")

    def test_packaged_etl_finds_its_postgresql_module(self):
        """hivehook-etl from the scratch root loads <prefix>/lib/hivehook/hivehook-etl-postgresql.so: the
        error is the refused connection, not a module it cannot load."""
        self.assertEqual(self.dpkg.returncode, 0, self.dpkg.stdout + self.dpkg.stderr)
        products = self.work / "p.csv"
        products.write_text("product_id,product_name,category,price,supplier_id\nP1,Mug,Home,9.50,S1\n")
        port = free_port()
        r = run(self.root / "usr/bin/hivehook-etl", "dims", products, "--warehouse",
                f"postgresql://nobody@127.0.0.1:{port}/x", env={"HIVEHOOK_ETL_POSTGRESQL_MODULE": ""})
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("cannot load hivehook-etl-postgresql.so", r.stdout + r.stderr)
        self.assertRegex(r.stdout + r.stderr, r"(?i)connect|refused")

    def test_dpkg_installs_it_and_postinst_creates_the_user_and_folders(self):
        self.assertEqual(self.dpkg.returncode, 0, self.dpkg.stdout + self.dpkg.stderr)
        status = (self.root / "var/lib/dpkg/status").read_text()
        self.assertRegex(status, r"Package: hivehook\nStatus: install ok installed")
        passwd = (self.root / "etc/passwd").read_text()
        user = re.search(r"^hivehook:x:(\d+):(\d+):[^:]*:/var/lib/hivehook:(\S+)$", passwd, re.M)
        self.assertIsNotNone(user, passwd)
        self.assertIn("nologin", user.group(3))
        landing = self.root / "var/lib/hivehook/landing"
        st = landing.stat()
        self.assertEqual(st.st_mode & 0o7777, 0o2770, "uploaders in group hivehook may write; setgid")
        if os.geteuid() == 0:
            self.assertEqual((st.st_uid, st.st_gid), (int(user.group(1)), int(user.group(2))))
        self.assertFalse(has_symbols(self.root / "usr/bin/hivehook"))

    def test_every_program_the_unit_runs_is_in_the_package_or_its_dependencies(self):
        """Regression: ExecReload=/bin/kill (procps) on a minimal Debian 12 without procps made
        `systemctl reload hivehook` fail (found by test_service_systemd). Each Exec*= program is the
        package's own, or comes from a package it depends on, or from an Essential package."""
        unit = (self.root / "usr/lib/systemd/system/hivehook.service").read_text()
        programs = [re.sub(r"^[-@:+!]+", "", m.split()[0]) for m in re.findall(r"(?m)^Exec\w+=(.*)$", unit)]
        self.assertTrue(programs)
        info = run("dpkg-deb", "-f", self.deb, "Depends").stdout
        depends = {re.split(r"[ (:]", d.strip())[0] for d in info.split(",")}
        listing = run("dpkg-deb", "-c", self.deb).stdout
        for program in programs:
            if re.search(r"(?m) \." + re.escape(program) + "$", listing):
                continue
            owner = run("dpkg", "-S", program)
            self.assertEqual(owner.returncode, 0, f"{program}: no package of this machine has it")
            package = owner.stdout.split(":")[0]
            essential = run("dpkg-query", "-W", "-f=${Essential}", package).stdout.strip()
            self.assertTrue(package in depends or essential == "yes",
                            f"{program} comes from {package}, neither Essential nor in Depends: {info}")

    def test_man_page_of_the_package(self):
        page = run("man", "-l", "-P", "cat", self.root / "usr/share/man/man1/hivehook-run.1.gz", env={"MANWIDTH": "100"})
        self.assertEqual(page.returncode, 0, page.stderr)
        self.assertIn("hivehook-run - Run the daemon", re.sub(r".\x08", "", page.stdout))

    def test_systemd_unit_verifies_and_rates_well(self):
        unit = self.root / "usr/lib/systemd/system/hivehook.service"
        text = unit.read_text()
        for line in ("Type=notify", "WatchdogSec=", "NotifyAccess=main",
                     "ExecStart=/usr/bin/hivehook run -c /etc/hivehook/hivehook.yaml",
                     "ExecReload=/bin/kill -HUP $MAINPID", "StateDirectory=hivehook", "ConfigurationDirectory=hivehook",
                     "EnvironmentFile=-/etc/hivehook/hivehook.env", "Restart=always", "RestartPreventExitStatus=2",
                     "User=hivehook"):
            self.assertIn(line, text)
        # verify wants the executables to exist on this machine: point ExecStart at the scratch root's.
        probe = self.work / "verify" / "hivehook.service"
        probe.parent.mkdir(exist_ok=True)
        probe.write_text(text.replace("/usr/bin/hivehook", str(self.root / "usr/bin/hivehook")))
        r = run("systemd-analyze", "verify", "--man=no", probe)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "")
        r = run("systemd-analyze", "security", "--offline=yes", "--no-pager", unit)
        exposure = float(re.search(r"Overall exposure level for hivehook.service: ([\d.]+)", r.stdout).group(1))
        self.assertLessEqual(exposure, 2.0, r.stdout)

    def test_daemon_runs_from_the_scratch_root_on_the_packaged_config(self):
        """The packaged binary, config, rules and Lambda bootstrap work together, with the package's
        folder permissions: run as the package's hivehook user, files dropped by another user of the
        group (when this test runs as root)."""
        root = self.root
        config = (root / "etc/hivehook/hivehook.yaml").read_text()
        port = free_port()
        config = config.replace("/var/lib/hivehook", str(root / "var/lib/hivehook"))
        config = config.replace("listen: 127.0.0.1:9464", f"listen: 127.0.0.1:{port}")
        self.assertIn(f"listen: 127.0.0.1:{port}", config)
        (root / "etc/hivehook/hivehook.yaml").write_text(config)
        (root / "etc/hivehook/handlers").mkdir()
        (root / "etc/hivehook/handlers/h.py").write_text("def handler(event, context):\n    return {'ok': 1}\n")
        (root / "etc/hivehook/rules/20-lambda.yaml").write_text(
            "rules:\n  - name: py\n    match: {prefix: lambda/}\n    job: {lambda: {handler: h.handler, code: ../handlers}}\n")
        cmd = [str(root / "usr/bin/hivehook"), "run", "-c", str(root / "etc/hivehook/hivehook.yaml")]
        gid = None
        if os.geteuid() == 0:
            passwd = (root / "etc/passwd").read_text()
            uid, gid = re.search(r"^hivehook:x:(\d+):(\d+):", passwd, re.M).groups()
            cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"] + cmd
            os.chmod(self.work, 0o755)  # the hivehook user walks down to the scratch root
            os.chmod(root / "etc/hivehook/hivehook.yaml", 0o644)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HIVEHOOK_")}
        # As systemd runs the unit (Type=notify): READY=1 on the notify socket once it has started.
        notify = NotifySocket()
        self.addCleanup(notify.close)
        os.chmod(notify.dir, 0o755)
        os.chmod(notify.path, 0o777)
        env["NOTIFY_SOCKET"] = notify.path
        log = open(self.work / "daemon.log", "wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
        try:
            wait_until(lambda: notify.index("READY", "1") is not None or proc.poll() is not None, timeout=60,
                       message="READY=1")
            self.assertIsNone(proc.poll(), (self.work / "daemon.log").read_text())
            url = f"http://127.0.0.1:{port}"

            def healthy():
                try:
                    return urllib.request.urlopen(url + "/healthz", timeout=2).status == 200
                except OSError:
                    return proc.poll() is not None
            wait_until(healthy, timeout=60, message="/healthz answers")
            self.assertIsNone(proc.poll(), (self.work / "daemon.log").read_text())
            # An uploader: another user in group hivehook, umask 022, making its own folders.
            landing = root / "var/lib/hivehook/landing"
            upload = ("umask 022; for k in incoming/a.csv lambda/b.json; do mkdir -p \"$(dirname \"$k\")\" "
                      "&& echo x > \"$k.part\" && mv \"$k.part\" \"$k\"; done")
            uploader = ["sh", "-c", upload]
            if os.geteuid() == 0:
                uploader = ["setpriv", "--reuid=65534", f"--regid={gid}", "--clear-groups", "--"] + uploader
            r = subprocess.run(uploader, cwd=landing, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            archive = root / "var/lib/hivehook/archive"
            try:
                wait_until(lambda: (archive / "incoming/a.csv").exists() and (archive / "lambda/b.json").exists(),
                           timeout=60, message="both files archived")
            except AssertionError as e:  # what the daemon did, and what is where, says why
                listing = "\n".join(str(p.relative_to(root)) for p in sorted((root / "var/lib/hivehook").rglob("*")))
                raise AssertionError(f"{e}\n--- files:\n{listing}\n--- daemon.log:\n"
                                     + (self.work / "daemon.log").read_text()) from None
            r = run(root / "usr/bin/hivehook", "runs", "--json", "-c", root / "etc/hivehook/hivehook.yaml")
            self.assertIn('"ok": 1', r.stdout, r.stderr)
        finally:
            proc.terminate()
            rc = proc.wait(timeout=60)
            log.close()
        self.assertEqual(rc, 0, (self.work / "daemon.log").read_text())


if __name__ == "__main__":
    unittest.main()
