"""The reliability soak in its 60-second form: kill -9 and restarts, a flapping webhook receiver,
valid and invalid rule edits, failing, timing-out and succeeding jobs. bench/soak checks the
invariants itself and exits non-zero when one fails (`make soak` runs the 10-minute form)."""
import os
import subprocess
import sys
import unittest

from harness import BIN, SOURCE


class Soak(unittest.TestCase):
    def test_one_minute_soak_keeps_every_invariant(self):
        r = subprocess.run(["/usr/bin/python3", str(SOURCE / "bench" / "soak"), "--minutes", "1", "--bin", BIN,
                            "--seed", os.environ.get("HIVEHOOK_SOAK_SEED", "7")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=540)
        out = r.stdout.decode(errors="replace")
        sys.stdout.write(out[-6000:])
        self.assertEqual(r.returncode, 0, "soak invariants failed:\n" + out[-6000:])


if __name__ == "__main__":
    unittest.main()
