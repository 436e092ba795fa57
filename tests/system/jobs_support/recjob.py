"""A job that records when it ran: `recjob.py LOG SLEEP_S [EXIT]` appends
"start <ns> <rule> <key>" and "end <ns> <rule> <key>" (CLOCK_MONOTONIC, shared by all processes),
each line one O_APPEND write. An EXIT of "fail-if:TEXT" exits 1 when the key contains TEXT."""
import os
import sys
import time

log, sleep_s = sys.argv[1], float(sys.argv[2])
code = sys.argv[3] if len(sys.argv) > 3 else "0"
key = os.environ["HIVEHOOK_KEY"]
rule = os.environ["HIVEHOOK_RULE"]


def note(what, extra=""):
    line = "%s %d %s %s%s\n" % (what, time.monotonic_ns(), rule, key, extra)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


note("start")
time.sleep(sleep_s)
note("end", " present" if os.path.exists(os.environ["HIVEHOOK_PATH"]) else " absent")
if code.startswith("fail-if:"):
    sys.exit(1 if code[len("fail-if:"):] in key else 0)
sys.exit(int(code))
