"""docs/performance.md and the README quote the benchmark's saved results, not figures typed by hand.

The runs the page quotes are kept in bench/results/ (the JSON `make bench` wrote). Each quoted
table is rendered again from its JSON here — the main bench by bench/bench.py's own renderer, the
ETL from the table its driver saved, the S3 figures from the raw numbers — and every line or
figure the page and the README show must be in it. A new run quoted means its JSON committed
beside the page's edit.

Run: cd tests/system && /usr/bin/python3 -m unittest -v test_performance_doc
"""
import json
import re
import sys
import unittest

from harness import SOURCE

sys.dont_write_bytecode = True
sys.path.insert(0, str(SOURCE / "bench"))
import bench  # noqa: E402
sys.path.insert(0, str(SOURCE / "bench" / "lambda"))
import lambda_bench  # noqa: E402

DOC = (SOURCE / "docs/performance.md").read_text()
README = (SOURCE / "README.md").read_text()
RESULTS = SOURCE / "bench/results"


def quoted(kind):
    """The saved result of `kind` (bench, etl, s3, lambda) the page names as bench/results/<kind>-<stamp>.json."""
    names = sorted(set(re.findall(rf"bench/results/({kind}-\d{{8}}T\d{{6}}Z\.json)", DOC)))
    assert len(names) == 1, f"docs/performance.md should name exactly one bench/results/{kind}-*.json: {names}"
    path = RESULTS / names[0]
    assert path.is_file(), f"{path} is named by docs/performance.md but not in the repository"
    return names[0], json.loads(path.read_text())


def section(text, start, end=None):
    i = text.index(start)
    j = text.index(end, i) if end else len(text)
    return text[i:j]


def table_rows(text):
    return [l for l in text.splitlines() if l.startswith("| ") and not l.startswith("|---")]


class MainBench(unittest.TestCase):
    def setUp(self):
        self.name, res = quoted("bench")
        rendered = bench.render_md(res)
        rendered = rendered.split("\nETL (")[0]  # the run's own small ETL is not quoted
        self.lines = [l for l in rendered.splitlines()[1:] if l.strip()]
        self.rendered = set(self.lines)

    def test_the_page_shows_the_run_line_for_line(self):
        for line in self.lines:
            self.assertTrue(line in DOC, f"docs/performance.md lacks this line of {self.name}: {line}")

    def test_the_readme_table_and_targets_come_from_the_run(self):
        part = section(README, "## Performance", "ETL —")
        rows = table_rows(part) + [l for l in part.splitlines() if l.startswith("Machine:")]
        self.assertGreater(len(rows), 10)
        for row in rows:
            self.assertIn(row, self.rendered, f"README line not in {self.name}")

    def test_prose_figures_match_the_run(self):
        """The figures the README's and the page's sentences repeat from the table."""
        _, res = quoted("bench")
        doc, readme = " ".join(DOC.split()), " ".join(README.split())  # sentences wrap anywhere
        h = res["latency"]["hivehook"]
        p50, p99 = f"{h['p50_ms']:.2f} ms", f"{h['p99_ms']:.2f} ms"
        self.assertIn(f"{p50} median and {p99} p99", readme)
        self.assertIn(f"(p50 {p50}, p99 {p99})", doc)
        fp = res["footprint"]["hivehook"]
        rss = (f"{fp['idle_rss_kb'] / 1024:.1f} MB RSS on 10,000 partitions, PSS {fp['idle_pss_kb'] / 1024:.1f} MB, "
               f"private {fp['idle_private_kb'] / 1024:.1f} MB")
        self.assertIn(rss, doc)
        lost = res["burst"]["watchman (settle 0)"]["lost"]
        self.assertIn(f"With settle 0 it lost {lost:,} of 10,000 burst files in the quoted run", doc)


class Etl(unittest.TestCase):
    def setUp(self):
        self.name, self.res = quoted("etl")
        self.saved = table_rows(self.res["table_md"])

    def test_the_page_shows_the_saved_table(self):
        self.assertGreater(len(self.saved), 3)
        for row in self.saved:
            self.assertTrue(row in DOC, f"docs/performance.md lacks this row of {self.name}: {row}")

    def test_each_readme_row_is_one_saved_row(self):
        part = section(README, "ETL —", "Where hivehook stands out")
        self.assertIn(f"bench/results/{self.name}", part)
        rows = table_rows(part)[1:]  # after the header
        self.assertEqual(len(rows), 5)
        for row in rows:
            cells = [c.strip() for c in row.strip("|").split("|")][1:]
            self.assertTrue(any(all(f" {c} |" in saved for c in cells) for saved in self.saved),
                            f"README row {row!r} matches no row of {self.name}")


class S3(unittest.TestCase):
    def setUp(self):
        self.name, self.res = quoted("s3")

    def figures(self, server):
        r = self.res[server]
        return (f"{r['small']['objects_per_s']:.0f}", f"{r['big']['mb_per_s']:.0f}", f"{r['cli']['objects_per_s']:.0f}")

    def test_the_page_table(self):
        for label, server in (("hivehook (fsync: true, the default)", "hivehook"),
                              ("hivehook (fsync: false)", "hivehook (fsync: false)")):
            small, big, cli = self.figures(server)
            lat = self.res[server]["latency_ms"]
            self.assertIn(f"| {label} | {small} | {big} | {cli} | {lat['p50']:.1f} ms / {lat['p99']:.1f} ms |", DOC)
        small, big, cli = self.figures("s3rver")
        self.assertIn(f"| s3rver | {small} | {big} | {cli} | (runs no jobs) |", DOC)
        h, s = self.res["hivehook"], self.res["s3rver"]
        ratios = (h["small"]["objects_per_s"] / s["small"]["objects_per_s"], h["big"]["mb_per_s"] / s["big"]["mb_per_s"],
                  h["cli"]["objects_per_s"] / s["cli"]["objects_per_s"])
        self.assertIn("| **ratio, default / s3rver** | " + " | ".join(f"**{r:.2f}×**" for r in ratios) + " | |", DOC)

    def test_the_readme_sentence(self):
        h, s = self.figures("hivehook"), self.figures("s3rver")
        lat = self.res["hivehook"]["latency_ms"]
        text = " ".join(section(README, "S3 API —").split())
        self.assertIn(f"1 KiB PUTs from boto3 {h[0]} vs {s[0]} objects/s", text)
        self.assertIn(f"64 MiB multipart uploads {h[1]} vs {s[1]} MB/s", text)
        self.assertIn(f"of 1,000 files {h[2]} vs {s[2]} objects/s", text)
        self.assertIn(f"p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms", text)


class Lambda(unittest.TestCase):
    def setUp(self):
        self.name, self.res = quoted("lambda")
        self.lines = [l for l in lambda_bench.render_md(self.res).splitlines()[1:] if l.strip()]

    def test_the_page_shows_the_run_line_for_line(self):
        self.assertGreater(len(self.lines), 8)
        for line in self.lines:
            self.assertTrue(line in DOC, f"docs/performance.md lacks this line of {self.name}: {line}")

    def test_the_readme_sentence(self):
        text = " ".join(section(README, "Lambda —").split())
        self.assertIn(f"bench/results/{self.name}", text)
        for lang in ("python", "node"):
            w, c = self.res[lang + "-warm"], self.res[lang + "-cold"]
            tw, tc = w["throughput"]["per_s"], c["throughput"]["per_s"]
            self.assertIn(f"{tw:,.0f} vs {tc:,.0f} invocations/s ({tw / tc:.1f}×)", text)
            self.assertIn(f"p50 {w['latency']['p50_ms']:.1f} vs {c['latency']['p50_ms']:.1f} ms", text)
        cmd = self.res["command"]
        self.assertIn(f"a `command:` job's {cmd['latency']['p50_ms']:.1f} ms and {cmd['throughput']['per_s']:,.0f}/s", text)


if __name__ == "__main__":
    unittest.main()
