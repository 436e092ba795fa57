"""The CLI as operators meet it, on the real binary: one error style, -c and documentation on every
command, man pages and completion generated from the same source as --help, `check --env-file`,
`check` warnings for files a job names, `status` now vs totals, human durations, `scan`'s summary.

Run: cd tests/system && HIVEHOOK_BIN=/path/to/hivehook /usr/bin/python3 -m unittest -v test_cli
"""
import json
import os
import pathlib
import pwd
import re
import shutil
import subprocess
import tempfile
import textwrap
import unittest

from harness import BIN, Deployment, wait_until

COMMANDS = ["run", "scan", "check", "match", "status", "audit", "runs", "retry", "partitions", "replay", "completion"]


def hivehook(*args, env=None, cwd=None):
    e = dict(os.environ)
    e.pop("HIVEHOOK_CONFIG", None)
    e.update(env or {})
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60, env=e, cwd=cwd)


def help_options(text):
    """Long and short option names in a --help text's Options section."""
    section = text.split("Options:", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", section))


class Errors(unittest.TestCase):
    def test_version_names_the_package_version_and_the_commit_issue16_P15(self):
        """--version names what runs: the package version (it changes with every commit, so a rebuilt
        .deb upgrades) and the commit it was built from."""
        r = hivehook("--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        source = pathlib.Path(os.environ.get("HIVEHOOK_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
        git = subprocess.run(["git", "-C", str(source), "log", "-1", "--format=%H %cd",
                              "--date=format-local:%Y%m%d%H%M%S"], capture_output=True, text=True,
                             env={**os.environ, "TZ": "UTC"})
        if git.returncode != 0:  # a source tarball: the project version alone
            self.assertRegex(r.stdout, r"^hivehook \d+\.\d+\.\d+ \(commit unknown\)\n$")
            return
        sha, stamp = git.stdout.split()
        d = stamp
        self.assertEqual(r.stdout, f"hivehook 0.1.0+git{stamp}.{sha[:12]} (commit {sha}, "
                                   f"{d[:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}:{d[10:12]}:{d[12:]}Z)\n")

    def test_unknown_command_is_named_with_a_suggestion(self):
        r = hivehook("stauts")
        self.assertEqual(r.returncode, 2)
        self.assertIn("hivehook: unknown command 'stauts' (did you mean 'status'?)", r.stderr)
        self.assertIn("Run 'hivehook --help'", r.stderr)
        r = hivehook("bogus")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command 'bogus'", r.stderr)
        self.assertNotIn("A subcommand is required", r.stderr)

    def test_unknown_command_after_the_config_option(self):
        r = hivehook("-c", "x.yaml", "bogus")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command 'bogus'", r.stderr)

    def test_no_command_lists_the_commands(self):
        r = hivehook()
        self.assertEqual(r.returncode, 2)
        self.assertIn("hivehook: a command is required: run, scan, check", r.stderr)

    def test_option_errors_name_the_command_and_its_help(self):
        r = hivehook("runs", "--bogus")
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"^hivehook runs: .*--bogus")
        self.assertIn("Run 'hivehook runs --help' for usage.", r.stderr)

    def test_missing_config_is_the_same_message_in_every_reading_command(self):
        missing = "/nonexistent/hivehook.yaml"
        for cmd in (["status"], ["runs"], ["audit"], ["retry", "--all-failed"], ["check"], ["match", "a/b.csv"]):
            r = hivehook(*cmd, "-c", missing)
            self.assertEqual(r.returncode, 2, cmd)
            self.assertEqual(r.stderr, f"hivehook {cmd[0]}: config file '{missing}' not found "
                                       "(use -c FILE or $HIVEHOOK_CONFIG)\n", cmd)


class HelpManCompletion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.man = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-man-"))
        r = hivehook("manpages", "--out", str(cls.man))
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.man, ignore_errors=True)

    def test_every_command_takes_the_config_option_in_its_help(self):
        for cmd in COMMANDS:
            r = hivehook(cmd, "--help")
            self.assertEqual(r.returncode, 0, cmd)
            self.assertIn("-c,--config FILE", r.stdout, cmd)
            self.assertIn("Exit status:", r.stdout, cmd)

    def test_root_help_lists_every_command_and_hides_the_build_helper(self):
        r = hivehook("--help")
        for cmd in COMMANDS:
            self.assertRegex(r.stdout, rf"\n  {cmd} ", cmd)
        self.assertNotIn("manpages", r.stdout)

    def test_a_man_page_per_command(self):
        self.assertEqual(sorted(p.name for p in self.man.iterdir()),
                         sorted(["hivehook.1"] + [f"hivehook-{c}.1" for c in COMMANDS]))

    def test_man_pages_render_and_list_exactly_the_options_of_help(self):
        """The man page and --help come from one source: the same option names, the same summary."""
        for cmd in COMMANDS:
            page = subprocess.run(["man", "-l", "-P", "cat", str(self.man / f"hivehook-{cmd}.1")],
                                  capture_output=True, text=True, env={**os.environ, "MANWIDTH": "200"}, timeout=60)
            self.assertEqual(page.returncode, 0, page.stderr)
            self.assertEqual(page.stderr.strip(), "", f"{cmd}: groff warnings")
            text = re.sub(r".\x08", "", page.stdout)
            help_text = hivehook(cmd, "--help").stdout
            options = text.split("OPTIONS", 1)[1].split("EXIT STATUS", 1)[0]
            self.assertEqual(set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", options)) & help_options(help_text),
                             help_options(help_text), cmd)
            summary = help_text.splitlines()[0].rstrip(".")
            self.assertIn(f"hivehook-{cmd} - {summary}", text)

    def test_man_page_synopsis_names_positional_arguments(self):
        page = (self.man / "hivehook-match.1").read_text()
        self.assertIn(r"\fIKEY\fR", page)

    def test_bash_completion_completes_commands_options_and_words(self):
        script = hivehook("completion", "bash").stdout

        def complete(*words):
            words_q = " ".join(f"'{w}'" for w in words)
            out = subprocess.run(["bash", "-c", script + f"\nCOMP_WORDS=(hivehook {words_q}); COMP_CWORD={len(words)};"
                                  ' _hivehook; printf "%s\\n" "${COMPREPLY[@]}"'],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            return set(out.stdout.split())

        self.assertEqual(complete("st"), {"status"})
        self.assertEqual(complete("-c", "x.yaml", "ru"), {"run", "runs"})
        self.assertIn("--failed", complete("runs", "--"))
        self.assertEqual(complete("completion", ""), {"-h", "--help", "-c", "--config", "bash", "zsh"})
        self.assertIn("--env-file", complete("check", "--e"))

    def test_zsh_completion_registers_for_hivehook(self):
        folder = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-zsh-"))
        try:
            (folder / "_hivehook").write_text(hivehook("completion", "zsh").stdout)
            r = subprocess.run(["zsh", "-f", "-c", f"fpath=({folder} $fpath); autoload -Uz compinit; "
                                f"compinit -u -D; print -r -- $_comps[hivehook]; zsh -n {folder}/_hivehook"],
                               capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(folder)})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), "_hivehook")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


class Check(unittest.TestCase):
    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-cli-"))
        (self.dir / "rules").mkdir()
        (self.dir / "hivehook.yaml").write_text(textwrap.dedent("""\
            landing: landing
            notify:
              hook: {webhook: "${HOOK_URL}", secret: "${HOOK_SECRET}"}
            """))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def rules(self, text):
        (self.dir / "rules" / "r.yaml").write_text(textwrap.dedent(text))

    def check(self, *args, env=None):
        return hivehook("check", "-c", str(self.dir / "hivehook.yaml"), *args, env=env)

    def test_env_file_supplies_the_variables_in_systemd_format(self):
        self.rules("rules: [{name: a, match: {prefix: a/}, job: {builtin: noop}}]\n")
        r = self.check()
        self.assertEqual(r.returncode, 1)
        self.assertIn("environment variable 'HOOK_URL' is not set", r.stderr)
        env = self.dir / "hivehook.env"
        env.write_text('# secrets\nHOOK_URL="http://127.0.0.1:9/hook"\nHOOK_SECRET=\'s3 cr$t\'\n')
        r = self.check("--env-file", str(env))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "config OK: 1 rule from rules/ (1 file); environment: 2 variables from --env-file\n")

    def test_env_file_replaces_the_shell_environment(self):
        """What the service would see: a variable set only in the calling shell does not count."""
        self.rules("rules: [{name: a, match: {prefix: a/}, job: {builtin: noop}}]\n")
        env = self.dir / "hivehook.env"
        env.write_text("HOOK_URL=http://127.0.0.1:9/hook\n")
        r = self.check("--env-file", str(env), env={"HOOK_SECRET": "from-the-shell"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("'HOOK_SECRET' is not set", r.stderr)
        self.assertNotIn("HOOK_URL", r.stderr)

    def test_env_file_problems_are_reported_with_their_line(self):
        self.rules("rules: [{name: a, match: {prefix: a/}, job: {builtin: noop}}]\n")
        env = self.dir / "hivehook.env"
        env.write_text("HOOK_URL=http://h/\nHOOK_SECRET=x\nexport FOO=1\nJUSTTEXT\n")
        r = self.check("--env-file", str(env))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{env}:3: warning: 'export FOO' is not a valid variable name; line ignored", r.stderr)
        self.assertIn(f"{env}:4: warning: no '=' in 'JUSTTEXT'; line ignored", r.stderr)
        r = self.check("--env-file", str(self.dir / "missing.env"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("hivehook check: cannot read --env-file", r.stderr)

    def test_env_file_on_every_command_that_reads_the_config_issue16_N10(self):
        """Issue 16 N10: `match` (which the installed rules file recommends) refused once the config
        named ${VAR}s set only in the service's environment file, and did not take --env-file;
        retry/replay/scan/status did not either."""
        self.rules("rules: [{name: a, match: {prefix: a/}, job: {builtin: noop}}]\n")
        for cmd in ("run", "scan", "check", "match", "status", "audit", "runs", "retry", "partitions", "replay"):
            self.assertIn("--env-file", hivehook(cmd, "--help").stdout, cmd)
        r = hivehook("match", "-c", str(self.dir / "hivehook.yaml"), "a/x.csv")  # HOOK_URL, HOOK_SECRET unset
        self.assertEqual(r.returncode, 0, r.stderr)  # matching needs no notify secret
        self.assertIn("a", r.stdout)
        env = self.dir / "hivehook.env"
        env.write_text("HOOK_URL=http://127.0.0.1:9/hook\nHOOK_SECRET=x\n")
        os.chmod(env, 0o600)
        r = hivehook("match", "--env-file", str(env), "a/x.csv", "-c", str(self.dir / "hivehook.yaml"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        # Any other config error still refuses.
        (self.dir / "hivehook.yaml").write_text("landing: landing\nworkerz: 3\n")
        r = hivehook("match", "-c", str(self.dir / "hivehook.yaml"), "a/x.csv")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown key 'workerz'", r.stderr)
        # --env-file - reads standard input (runuser ... --env-file - < /etc/hivehook/hivehook.env).
        (self.dir / "hivehook.yaml").write_text("landing: landing\nnotify:\n  hook: {webhook: \"${HOOK_URL}\"}\n")
        r = subprocess.run([BIN, "check", "-c", str(self.dir / "hivehook.yaml"), "--env-file", "-"],
                           input="HOOK_URL=http://127.0.0.1:9/x\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("environment: 1 variable from --env-file", r.stdout)

    def test_check_warns_about_an_env_file_others_may_read_issue16_N11(self):
        self.rules("rules: [{name: a, match: {prefix: a/}, job: {builtin: noop}}]\n")
        env = self.dir / "hivehook.env"
        env.write_text("HOOK_URL=http://h/\nHOOK_SECRET=x\n")
        os.chmod(env, 0o644)
        r = self.check("--env-file", str(env))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{env}: warning: mode 0644: others may read the secrets in it (chmod 600 {env})", r.stderr)
        os.chmod(env, 0o600)
        self.assertNotIn("warning", self.check("--env-file", str(env)).stderr)

    def test_check_for_the_service_warns_about_job_files_the_unit_hides_issue16_P4(self):
        """Issue 16 retest P4: a job script in /home or /tmp exists for root's `check` but not for the
        service (ProtectHome=yes, PrivateTmp=yes): `check --env-file` said OK, the jobs failed."""
        scripts = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-p4-", dir="/tmp"))
        self.addCleanup(shutil.rmtree, scripts, True)
        (scripts / "v.py").write_text("print(1)\n")
        self.rules(f"""\
            rules:
              - name: home-job
                match: {{prefix: a/}}
                job: {{command: [python3, /home/ops/validate.py, "{{path}}"]}}
              - name: tmp-job
                match: {{prefix: b/}}
                job: {{command: [python3, v.py, "{{path}}"], cwd: {scripts}}}
              - name: fine
                match: {{prefix: c/}}
                job: {{command: [/bin/true]}}
            """)
        env = self.dir / "hivehook.env"
        env.write_text("HOOK_URL=http://h/\nHOOK_SECRET=x\n")
        os.chmod(env, 0o600)
        r = self.check("--env-file", str(env))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("rule 'home-job': /home/ops/validate.py is under /home, which the service's jobs cannot see "
                      "(the packaged unit: ProtectHome=yes hides it from the service)", r.stderr)
        self.assertIn(f"rule 'tmp-job': {scripts} is under /tmp", r.stderr)
        self.assertIn(f"rule 'tmp-job': {scripts}/v.py is under /tmp", r.stderr)
        self.assertNotIn("'fine'", r.stderr)
        # Without --env-file it checks the config, not the service: no such warning.
        self.assertNotIn("cannot see", self.check(env={"HOOK_URL": "http://h/", "HOOK_SECRET": "x"}).stderr)

    @unittest.skipUnless(os.geteuid() == 0, "needs root: checks as another user")
    def test_check_for_the_service_says_when_its_user_cannot_read_the_config_issue16_N13(self):
        """Issue 16 N13: `check --env-file` ("what the service will see") said OK for a config
        mode 0600 that the service user could not read; the service then failed at its next start."""
        self.rules("rules: [{name: a, match: {prefix: a/}, job: {builtin: noop}}]\n")
        env = self.dir / "hivehook.env"
        env.write_text("HOOK_URL=http://h/\nHOOK_SECRET=x\n")
        os.chmod(env, 0o600)
        os.chmod(self.dir, 0o755)
        os.chmod(self.dir / "rules", 0o755)
        os.chmod(self.dir / "rules" / "r.yaml", 0o644)
        config = self.dir / "hivehook.yaml"
        os.chmod(config, 0o644)
        nobody = pwd.getpwnam("nobody")
        for folder in ("landing", "archive", "quarantine"):  # the service's, as the package makes them
            (self.dir / folder).mkdir()
            os.chown(self.dir / folder, nobody.pw_uid, nobody.pw_gid)
        r = self.check("--env-file", str(env), "--user", "nobody")
        self.assertEqual(r.returncode, 0, r.stderr)
        os.chmod(config, 0o600)
        r = self.check("--env-file", str(env), "--user", "nobody")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"{config}: Permission denied: error: user nobody (the service's) cannot read it", r.stderr)
        self.assertIn("config invalid for the service: 1 file(s) user nobody cannot read", r.stdout)
        os.chmod(config, 0o644)
        os.chmod(self.dir / "rules" / "r.yaml", 0o600)
        r = self.check("--env-file", str(env), "--user", "nobody")
        self.assertEqual(r.returncode, 1)
        self.assertIn("r.yaml: Permission denied: error: user nobody", r.stderr)
        self.assertIn("the service would start on its last good rules, degraded", r.stderr)  # retest P3
        # Without --env-file it is a check of the config, not of the service: as before.
        self.assertEqual(self.check(env={"HOOK_URL": "http://h/", "HOOK_SECRET": "x"}).returncode, 0)
        r = self.check("--env-file", str(env), "--user", "no-such-user-here")
        self.assertEqual(r.returncode, 2)

    @unittest.skipUnless(os.geteuid() == 0, "needs root: checks as another user")
    def test_check_for_the_service_says_which_folders_its_user_cannot_write_or_create_issue16_P8(self):
        """Retest P8: folders elsewhere, made by root (0755) or not made at all where the service
        user cannot create them: `check --env-file` said OK; the service then failed every move, or
        did not start. As the service's user: a folder it cannot write is a warning, one it cannot
        create an error (the service would not start)."""
        self.rules("rules: [{name: a, match: {prefix: a/}, job: {builtin: noop}}]\n")
        env = self.dir / "hivehook.env"
        env.write_text("HOOK_URL=http://h/\nHOOK_SECRET=x\n")
        os.chmod(env, 0o600)
        for p in (self.dir, self.dir / "rules"):
            os.chmod(p, 0o755)
        os.chmod(self.dir / "rules" / "r.yaml", 0o644)
        os.chmod(self.dir / "hivehook.yaml", 0o644)
        nobody = pwd.getpwnam("nobody")
        (self.dir / "landing").mkdir()
        os.chown(self.dir / "landing", nobody.pw_uid, nobody.pw_gid)
        (self.dir / "archive").mkdir(mode=0o755)  # root's, as `mkdir` by an admin leaves it
        os.chmod(self.dir / "archive", 0o755)
        r = self.check("--env-file", str(env), "--user", "nobody")
        quarantine, archive = self.dir / "quarantine", self.dir / "archive"
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"error: quarantine {quarantine} does not exist, and user nobody (the service's) cannot "
                      f"create it: permission denied on {self.dir} (drwxr-xr-x root:root): the service would not "
                      f"start (as root: install -d -o nobody -g nogroup {quarantine})", r.stderr)
        self.assertIn(f"warning: archive {archive}: user nobody (the service's) cannot write it: permission denied "
                      f"on {archive} (drwxr-xr-x root:root): every move into it would fail (as root: chown nobody: "
                      f"{archive})", r.stderr)
        self.assertIn("config invalid for the service: 1 folder(s) user nobody cannot create", r.stdout)
        (self.dir / "quarantine").mkdir()
        os.chown(self.dir / "quarantine", nobody.pw_uid, nobody.pw_gid)
        r = self.check("--env-file", str(env), "--user", "nobody")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("1 warning", r.stdout)
        os.chown(archive, nobody.pw_uid, nobody.pw_gid)
        r = self.check("--env-file", str(env), "--user", "nobody")
        self.assertEqual((r.returncode, r.stderr), (0, ""))

    def test_warns_when_a_relative_file_argument_is_missing_from_the_jobs_cwd(self):
        """cwd defaults to the rules file's folder: a script path written relative to the config's
        folder instead would only fail at run time (and be quarantined after its retries)."""
        (self.dir / "rules" / "jobs").mkdir()
        (self.dir / "rules" / "jobs" / "load.py").write_text("print('hi')\n")
        self.rules("""\
            rules:
              - name: wrong-cwd
                match: {prefix: a/}
                job: {command: [/usr/bin/python3, jobs/load.py, "{path}"], cwd: ..}
              - name: right-cwd
                match: {prefix: b/}
                job: {command: [/usr/bin/python3, jobs/load.py, "{path}", --out, "x=1", "http://h/x", "${HOOK_URL}"]}
              - name: bare-script
                match: {prefix: c/}
                job: {command: [/bin/sh, missing.sh]}
            """)
        env = {"HOOK_URL": "http://h/", "HOOK_SECRET": "x"}
        r = self.check(env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"r\.yaml:4:\d+: warning: 'jobs/load\.py' does not exist relative to the job's cwd "
                                   + re.escape(f"'{self.dir}' (yet)"))
        self.assertRegex(r.stderr, r"r\.yaml:10:\d+: warning: 'missing\.sh' does not exist relative to the job's cwd")
        self.assertEqual(r.stderr.count("warning"), 2, r.stderr)
        self.assertIn("2 warnings", r.stdout)


class StatusRunsScan(unittest.TestCase):
    def tearDown(self):
        self.d.cleanup()

    def test_status_separates_now_from_totals_after_a_retry(self):
        """A quarantined file that was retried and then succeeded is history, not in quarantine now."""
        self.d = d = Deployment("""\
            rules:
              - name: picky
                match: {prefix: t/}
                job: {command: [/bin/sh, -c, 'test -e "$0" || exit 65', "{fixed}"]}
            """.replace("{fixed}", "FIXED"))
        d.drop("t/a.csv")
        r = d.cli("scan")
        self.assertEqual(r.returncode, 1, r.stderr)
        s = json.loads(d.cli("status", "--json", check=True).stdout)
        self.assertEqual(s["now"]["in_quarantine"], 1)
        self.assertEqual(s["totals"]["objects"], {"quarantined": 1})
        # Fixed: the job now succeeds for that file; retry puts it back and a scan archives it.
        (d.dir / "rules" / "FIXED").write_text("")  # the job's cwd is the rules folder
        d.cli("retry", "--all-failed", check=True)
        self.assertEqual(d.cli("scan").returncode, 0)
        s = json.loads(d.cli("status", "--json", check=True).stdout)
        self.assertEqual(s["now"]["in_quarantine"], 0)
        self.assertEqual(s["totals"]["objects"]["quarantined"], 1, "history stays in the totals")
        self.assertEqual(s["totals"]["objects"]["archived"], 1)
        text = d.cli("status", check=True).stdout.decode()
        self.assertRegex(text, r"now: +0 in landing being processed, 0 in quarantine, 0 running, 0 queued for a worker, "
                                   r"0 in retry backoff, 0 waiting on after:/requires:")
        self.assertRegex(text, r"totals: +archived=1 quarantined=1")

    def test_status_before_any_state_db(self):
        self.d = d = Deployment("rules: [{name: n, match: {prefix: t/}, job: {builtin: noop}}]\n")
        r = d.cli("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no state DB yet", r.stdout.decode())

    @unittest.skipUnless(os.geteuid() == 0, "needs root to run the commands as other users")
    def test_status_by_a_user_who_cannot_read_the_state_is_not_told_the_daemon_is_down(self):
        """Issue 16 F3: `hivehook status` by a user outside the service's group said `daemon: not
        running` / `no state DB yet` (exit 0) while the daemon ran: exists() is false when a folder
        on the way denies the user. Every command that opens the store tells "none yet" from
        "cannot read it" (naming the folder or file that refused, its mode, owner and group, and
        who may read it), exit 2; a member of the folder's group is refused by the DB file itself
        (0600); its owner reads it; a state that does not exist yet is still "no state DB yet"."""
        self.d = d = Deployment("rules: [{name: n, match: {prefix: t/}, job: {builtin: noop}}]\n")
        if d.pg_url:
            self.skipTest("file permissions of a SQLite state")
        group = 4242  # the service's group, as the package's `hivehook` is
        os.chmod(d.dir, 0o755)  # the config, as /etc/hivehook/ is, readable by all
        for f in [d.config, *(d.dir / "rules").iterdir()]:
            os.chmod(f, 0o644)
        (d.dir / "state").mkdir(mode=0o750)
        os.chown(d.dir / "state", 0, group)

        def as_user(gid, *args):
            cmd = ["setpriv", "--reuid=65534", f"--regid={gid}", "--clear-groups", "--", BIN, *args, "-c", str(d.config)]
            e = {k: v for k, v in os.environ.items() if k != "HIVEHOOK_CONFIG"}
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=e)

        # No DB yet: said as before, to whoever may look into the folder.
        r = as_user(group, "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no state DB yet", r.stdout)
        d.start()  # the daemon runs (its DB, -wal and -shm in state/)
        d.drop("t/a.csv")
        wait_until(lambda: (d.archive / "t/a.csv").exists(), message="a.csv archived")
        for command in (["status"], ["status", "--json"], ["runs"], ["audit"], ["partitions"],
                        ["retry", "--all-failed", "--dry-run"]):
            with self.subTest(command=command):
                r = as_user(65534, *command)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertNotIn("not running", r.stdout)
                self.assertNotIn("no state DB", r.stdout + r.stderr)
                self.assertRegex(r.stderr, rf"cannot read the state DB {re.escape(str(d.dir))}/state/hivehook\.db: "
                                           rf"permission denied on {re.escape(str(d.dir))}/state \(drwxr-x--- "
                                           rf"root:\S+\): run as root\n")
        # A member of the folder's group enters it; the DB (0600, the daemon's) refuses, and is named.
        r = as_user(group, "status")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"permission denied on {d.dir}/state/hivehook.db (-rw------- root:root): run as root\n", r.stderr)
        # Its owner reads it while the daemon runs.
        r = d.cli("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), r"daemon: +running \(pid \d+")
        self.assertRegex(r.stdout.decode(), r"totals: +archived=1")
        self.assertEqual(d.stop(), 0)

    def test_scan_prints_one_summary_line_and_runs_shows_human_durations(self):
        self.d = d = Deployment("""\
            rules:
              - name: slow
                match: {prefix: t/}
                job: {command: [/bin/sleep, "1.2"]}
              - name: noop
                match: {prefix: u/}
                job: {builtin: noop}
            """)
        d.drop("t/a.csv")
        d.drop("u/b.csv")
        d.drop("v/unmatched.csv")
        r = d.cli("scan")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), r"^scan: 3 objects in \d+\.\d+s \(\d+\.\d/s\): 2 archived, 1 unmatched\n$")
        runs = d.cli("runs", "--rule", "slow", check=True).stdout.decode()
        self.assertRegex(runs, r"succeeded\s+slow\s+1\s+0\s+1\.\d\ds\s+t/a\.csv")
        self.assertNotRegex(runs, r"\d+ms ")
        # An empty landing: still one line.
        r = d.cli("scan")
        self.assertRegex(r.stdout.decode(), r"^scan: 0 objects in \S+\n$")


if __name__ == "__main__":
    unittest.main()
