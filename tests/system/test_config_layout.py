"""`hivehook check` refuses what `hivehook run` would refuse or get wrong: S3 bucket names that
collide or that S3 clients cannot address, and the daemon's own files (state, state_dir, audit_log)
inside a tree it scans or serves (issue 12, new-user test F5, F6, F12, F13). Each config is checked
with the real binary (exit 1, the error at file:line:col) and then refused by `run` (exit 2, the
same error) before anything is served or written.

Run: cd tests/system && HIVEHOOK_BIN=/path/to/hivehook /usr/bin/python3 -m unittest -v test_config_layout
"""
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import textwrap
import unittest

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = pathlib.Path(os.environ.get("HIVEHOOK_SOURCE_DIR", HERE.parent.parent))
BIN = os.environ.get("HIVEHOOK_BIN", str(SOURCE / "build" / "hivehook"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ConfigLayout(unittest.TestCase):
    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-layout-"))
        (self.dir / "rules").mkdir()
        self.s3 = 's3: {listen: "127.0.0.1:%d", access_key_id: k, secret_access_key: s}\n' % free_port()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def hivehook(self, *args):
        env = dict(os.environ)
        env.pop("HIVEHOOK_CONFIG", None)
        return subprocess.run([BIN, *args, "-c", str(self.dir / "hivehook.yaml")], cwd=self.dir, env=env,
                              capture_output=True, text=True, timeout=60)

    def assert_refused(self, config, where, message):
        """check: exit 1 with `hivehook.yaml:<where>: error: <message>`; run: exit 2, the same line."""
        (self.dir / "hivehook.yaml").write_text(textwrap.dedent(config))
        line = "hivehook.yaml:%s: error: %s" % (where, message)
        c = self.hivehook("check")
        self.assertEqual(c.returncode, 1, c.stdout + c.stderr)
        self.assertNotIn("config OK", c.stdout)
        self.assertIn(line, c.stderr)
        r = self.hivehook("run", "--new-state")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(line, r.stderr)
        return c

    def test_f5_archive_and_quarantine_bucket_collision_is_refused_by_check(self):
        self.assert_refused("landing: in\narchive: a/out\nquarantine: b/out\n" + self.s3, "3:13",
                            "s3: the archive and quarantine buckets would both be named 'out' (each is named after "
                            "its folder's last component): rename the archive or the quarantine folder (e.g. "
                            "`quarantine: b/quarantine`); `bucket` names only the landing bucket")

    def test_f5_bucket_equal_to_archive_is_refused_by_check(self):
        self.assert_refused("landing: in\nbucket: archive\n" + self.s3, "2:9",
                            "s3: the landing and archive buckets would both be named 'archive': set `bucket:` to "
                            "another name for the landing bucket (or rename the archive folder: its bucket is named "
                            "after it)")

    def test_f6_landing_folder_that_is_no_bucket_name_is_refused_suggesting_bucket(self):
        self.assert_refused('landing: "My Landing"\n' + self.s3, "1:10",
                            "s3: the landing bucket would be named 'My Landing', after the landing folder, which S3 "
                            "clients cannot address: it has uppercase 'M' (S3 bucket names are 3 to 63 lowercase "
                            "letters, digits, '.' and '-', beginning and ending with a letter or digit); set "
                            "`bucket:` to a valid name (e.g. `bucket: my-landing`)")
        # ... and the suggested fix is accepted.
        (self.dir / "hivehook.yaml").write_text('landing: "My Landing"\nbucket: my-landing\n' + self.s3)
        c = self.hivehook("check")
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertIn("config OK", c.stdout)

    def test_f6_short_and_uppercase_bucket_are_refused(self):
        for bucket, why in (("ab", "it has 2 characters"), ("UPPER_case", "it has uppercase 'U'")):
            self.assert_refused("landing: landing\nbucket: %s\n" % bucket + self.s3, "2:9",
                                "s3: bucket '%s' is not a name S3 clients can address: %s" % (bucket, why))

    def test_f12_state_dir_inside_landing_is_refused(self):
        self.assert_refused("landing: in\nstate_dir: in/sd\n" + self.s3, "2:12",
                            "state_dir 'in/sd' is inside landing: its files would be picked up as new objects")
        self.assertFalse((self.dir / "in" / "sd").exists(), "run wrote into landing before refusing")

    def test_f12_state_dir_reaching_landing_through_a_symlink_is_refused(self):
        (self.dir / "in").mkdir()
        (self.dir / "link").symlink_to(self.dir / "in")
        self.assert_refused("landing: in\nstate_dir: link/sd\n", "2:12",
                            "state_dir 'link/sd' (resolves to 'in/sd') is inside landing: its files would be picked "
                            "up as new objects")

    def test_f13_state_and_state_dir_inside_archive_and_quarantine_are_refused(self):
        c = self.assert_refused("landing: in\nstate: archive/st/hivehook.db\nstate_dir: quarantine/sd\n" + self.s3,
                                "2:8",
                                "state 'archive/st/hivehook.db' is inside archive 'archive': hivehook's own files "
                                "would sit among the archived objects, served as objects of the archive bucket by "
                                "the S3 API; put it outside landing, archive and quarantine")
        self.assertIn("hivehook.yaml:3:12: error: state_dir 'quarantine/sd' is inside quarantine 'quarantine'",
                      c.stderr)
        self.assertFalse((self.dir / "archive" / "st").exists(), "run wrote the store into archive before refusing")

    def test_f13_quarantine_inside_archive_is_refused(self):
        self.assert_refused("landing: in\nquarantine: archive/q\n" + self.s3, "2:13",
                            "quarantine 'archive/q' is inside archive 'archive': each needs its own folder, none "
                            "inside another")


if __name__ == "__main__":
    unittest.main()
