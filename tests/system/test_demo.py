"""`make demo`'s script on the real binaries: it ends well, and its output reads right in a log or
a pipe — no raw ANSI escapes, the quarantine reason whole, a timing line, tables aligned with wide
characters.

Run: cd tests/system && HIVEHOOK_BUILD_DIR=/path/to/build /usr/bin/python3 -m unittest -v test_demo
"""
import os
import pathlib
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unicodedata
import unittest

from harness import SOURCE

BUILD = pathlib.Path(os.environ.get("HIVEHOOK_BUILD_DIR", SOURCE / "build"))


def display_width(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


@unittest.skipUnless((BUILD / "examples/ecommerce/hivehook-gen").exists(), "the e-commerce example is not built")
class Demo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-demo-"))
        env = {**os.environ, "BUILD": str(BUILD), "DEMO_DIR": str(cls.dir / "demo")}
        env.pop("NO_COLOR", None)
        cls.r = subprocess.run([SOURCE / "scripts/demo"], capture_output=True, text=True, timeout=600, env=env)
        cls.out = cls.r.stdout

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_it_ends_well(self):
        self.assertEqual(self.r.returncode, 0, self.r.stdout[-3000:] + self.r.stderr[-3000:])
        self.assertIn("config OK", self.out)
        self.assertIn("transaction files loaded: 7", self.out)

    def test_it_shows_each_orchestration_construct_happening(self):
        # requires: the week's transactions (and the operator's mistake) wait for the dimensions
        self.assertRegex(self.out, r"waiting:  transactions-etl: 8 objects waiting \(requires dim-products, "
                                   r"dim-customers\), first transactions/year=2023/month=03/day=09/")
        # ... and are released, in date order, once the dimensions are loaded (this section printed
        # nothing once: the demo showed the header and no release)
        released = re.findall(r"task\.released +(transactions/\S+)", self.out)
        self.assertGreaterEqual(len(released), 3, self.out[-4000:])
        self.assertEqual(released, sorted(released), "in date order")
        self.assertRegex(self.out, r"\.\.\. 8 released, in date order")
        # expect: the heartbeat minute is raised late, then cleared by its arrival (both as webhooks)
        self.assertRegex(self.out, r"late:     heartbeat: minute=\d{12} \(due ")
        self.assertIn("expect.late", self.out)
        self.assertIn("expect.arrived", self.out)
        self.assertRegex(self.out, r"HTTP 200  expect\.late +minute=\d{12}")
        # schedule: the analytics every 10 seconds
        self.assertIn("schedule.fired", self.out)

    def test_no_escape_sequences_in_a_pipe(self):
        self.assertNotIn("\x1b", self.out)
        self.assertIn("\n== hivehook check\n", self.out)

    def test_the_quarantine_reason_is_whole(self):
        section = self.out.split("== why files were quarantined", 1)[1].split("\n== ", 1)[0]
        self.assertIn("exited with code 65 (bad input: not retried)", section)
        self.assertIn("not a transactions file: the header must be exactly "
                      "'transaction_id,customer_id,product_id,quantity,transaction_ts,status,payment_method'", section)

    def test_a_timing_line_with_files_and_rows_per_second(self):
        self.assertRegex(self.out, r"timing: 10 files in \d+\.\d\d s .* = [\d,.]+ files/s, [\d,]+ rows/s")

    def test_runs_show_human_durations(self):
        section = self.out.split("== hivehook runs", 1)[1].split("\n== ", 1)[0]
        self.assertRegex(section, r"succeeded\s+transactions-etl\s+1\s+0\s+\d+(ms|\.\d+s)\s")

    def test_analytics_tables_are_aligned(self):
        section = self.out.split("== analytics", 1)[1]
        tables = [t for t in re.split(r"\n== [^\n]*\n", section) if " | " in t]
        self.assertTrue(tables)
        for t in tables:
            self.assert_aligned(t)

    def test_report_aligns_wide_and_combining_characters(self):
        """The demo's analytics printer (hivehook-etl report) on names a terminal shows two columns
        wide (CJK) or with combining accents."""
        db = self.dir / "wide.db"
        sqlite3.connect(db).close()
        query = self.dir / "wide.sql"
        query.write_text("SELECT '日本茶セット' AS name, 1 AS n UNION ALL SELECT 'Cafe\u0301 cre\u0300me', 22 "
                         "UNION ALL SELECT 'plain', 333;\n")
        r = subprocess.run([BUILD / "examples/ecommerce/hivehook-etl", "report", "--warehouse", f"sqlite:{db}", query],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("日本茶セット", r.stdout)
        self.assert_aligned(r.stdout)

    def assert_aligned(self, table):
        rows = [l for l in table.splitlines() if " | " in l]
        pipes = [[display_width(l[:i]) for i, c in enumerate(l) if c == "|"] for l in rows]
        self.assertEqual(len({tuple(p) for p in pipes}), 1, "\n".join(rows))


if __name__ == "__main__":
    unittest.main()
