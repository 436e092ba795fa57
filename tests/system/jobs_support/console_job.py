"""A CSV loader for the console tests: fails with a Python traceback on a non-numeric amount,
unless the deployment's 'fixed' marker exists (the job was fixed; replays then succeed)."""
import os
import pathlib
import sys

path = pathlib.Path(sys.argv[1])
fixed = any((p / "fixed").exists() and (p / "hivehook.yaml").exists() for p in path.parents)
print(f"loading {os.environ['HIVEHOOK_KEY']}")
print("connecting to postgresql://etl:hunter2@localhost/warehouse", file=sys.stderr)
rows = path.read_text().splitlines()[1:]
for n, row in enumerate(rows, 1):
    amount = row.split(",")[1]
    if not fixed and not amount.isdigit():
        raise ValueError(f"row {n}: amount '{amount}' is not a number")
print(f"loaded {len(rows)} rows")
