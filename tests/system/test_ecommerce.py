"""The e-commerce example end to end through the daemon: generated files dropped into landing →
warehouse state, archive, audit, and each run's result JSON in `hivehook runs`."""
import json
import os
import pathlib
import shutil
import sqlite3
import subprocess
import unittest

from harness import SOURCE, Deployment, wait_until
from test_notify import Receiver, free_port

BUILD = pathlib.Path(os.environ.get("HIVEHOOK_BUILD_DIR", SOURCE / "build"))
TOOLS = BUILD / "examples/ecommerce"


@unittest.skipUnless((TOOLS / "hivehook-etl").exists(), "e-commerce example not built")
class Ecommerce(unittest.TestCase):
    def setUp(self):
        self.d = Deployment("")
        shutil.rmtree(self.d.dir / "rules")
        shutil.copytree(SOURCE / "examples/ecommerce/rules", self.d.dir / "rules")
        self.warehouse = self.d.dir / "warehouse.db"
        self.env = {"PATH": f"{TOOLS}:{os.environ['PATH']}", "WAREHOUSE": f"sqlite:{self.warehouse}"}
        port = free_port()
        self.hooks = Receiver(port, self.d.dir / "hooks.jsonl").start()
        cfg = self.d.config.read_text().replace("rules: rules\n", "rules: rules\nworkers: 2\n")
        cfg += f"notify:\n  ops-hook: {{webhook: http://127.0.0.1:{port}/hook, secret: demo}}\n"
        self.d.config.write_text(cfg)

    def tearDown(self):
        self.hooks.stop()
        self.d.cleanup()

    def gen(self, landing, days, start="2023-03-01"):
        subprocess.run([str(TOOLS / "hivehook-gen"), "--out", str(landing), "--days", str(days), "--rows-per-day",
                        "400", "--customers", "200", "--products", "50", "--start", start, "--seed", "7"],
                       check=True, capture_output=True)

    def test_generated_week_flows_through_the_daemon_into_the_warehouse(self):
        d = self.d
        d.start(env=self.env)
        # generated while the daemon watches: dimensions land first, transactions after
        self.gen(d.landing, days=5)
        total = 2 + 5
        wait_until(lambda: d.count_objects("archived") == total, timeout=120,
                   message=f"{total} files archived (have {d.count_objects('archived')})")
        # the operator hears of each loaded day (transactions notify on success)
        wait_until(lambda: len(self.hooks.requests()) == 5, message="5 success webhooks")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.files(d.landing), [])
        self.assertEqual(len(d.files(d.archive)), total)
        runs = json.loads(d.cli("runs", "--json", "--limit", "0", "--rule", "transactions-etl", check=True).stdout)
        ok = [r for r in runs if r["state"] == "succeeded"]
        self.assertEqual(len(ok), 5)
        inserted = 0
        for r in ok:
            res = r["result"]
            self.assertEqual(res["source_file"], r["key"])
            self.assertEqual(res["rows_read"],
                             res["inserted"] + res["updated"] + res["unchanged"] + res["rejected_total"])
            inserted += res["inserted"]
        con = sqlite3.connect(self.warehouse)
        facts = con.execute("SELECT COUNT(*) FROM fact_transactions").fetchone()[0]
        sources = {s for (s,) in con.execute("SELECT DISTINCT source_file FROM fact_transactions")}
        rejects = con.execute("SELECT COUNT(*) FROM rejected_transactions").fetchone()[0]
        con.close()
        self.assertEqual(facts, inserted)
        self.assertTrue(all(s.startswith("transactions/year=2023/month=03/day=") for s in sources))
        self.assertEqual(rejects, sum(r["result"]["rejected_total"] for r in ok))
        events = [e for e, _, _ in d.events()]
        self.assertEqual(events.count("object.archived"), total)
        self.assertEqual({json.loads(r["body"])["event"] for r in self.hooks.requests()}, {"object.succeeded"})

    def test_transactions_before_dimensions_wait_for_them_without_a_retry(self):
        d = self.d
        staging = d.dir / "gen"
        self.gen(staging, days=3)
        d.start(env=self.env)
        for tx in sorted(staging.rglob("transactions_*.csv"), reverse=True):
            dest = d.landing / tx.relative_to(staging)
            dest.parent.mkdir(parents=True)
            os.rename(tx, dest)  # no dimensions yet: the rule requires them, the files wait
        wait_until(lambda: len(d.events("task.waiting")) == 3, message="three days waiting for the dimensions")
        self.assertEqual(d.query("SELECT COUNT(*) FROM runs")[0][0], 0, "nothing ran")
        for dim in ("dim_products", "dim_customers"):
            src = next((staging / dim).glob("*.csv"))
            (d.landing / dim).mkdir()
            os.rename(src, d.landing / dim / src.name)
        wait_until(lambda: d.count_objects("archived") == 5, timeout=120, message="all archived")
        self.assertEqual(d.stop(), 0)
        runs = json.loads(d.cli("runs", "--json", "--rule", "transactions-etl", check=True).stdout)
        self.assertEqual([r["state"] for r in runs], ["succeeded"] * 3, "one run per day, no exit-75 retry")
        self.assertEqual([r["key"] for r in runs], sorted(r["key"] for r in runs), "loaded in date order")
        self.assertEqual(d.events("run.retry_scheduled"), [])

if __name__ == "__main__":
    unittest.main()
