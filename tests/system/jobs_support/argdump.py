"""A job that records exactly what it was given: argv (as bytes, hex), stdin, HIVEHOOK_* env.
Usage: argdump.py OUTDIR [ARGS...]; writes OUTDIR/<run_id>.json."""
import json
import os
import sys

out = sys.argv[1]
data = sys.stdin.buffer.read()
env = {k: os.environ[k] for k in os.environ if k.startswith("HIVEHOOK_")}
record = {
    "argv_hex": [os.fsencode(a).hex() for a in sys.argv[2:]],
    "stdin": json.loads(data),
    "env_hex": {k: os.fsencode(v).hex() for k, v in env.items()},
    "cwd": os.getcwd(),
}
tmp = os.path.join(out, ".%s.tmp" % os.environ["HIVEHOOK_RUN_ID"])
with open(tmp, "w") as f:
    json.dump(record, f)
os.rename(tmp, os.path.join(out, os.environ["HIVEHOOK_RUN_ID"] + ".json"))
