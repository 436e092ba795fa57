# The benchmark's Python Lambda handler: its first act is to append "<unix sec.nsec> <name>\n" to
# $BENCH_LOG (one O_APPEND write), like bench/jobs/stamp.c does for command jobs.
import os
import time

_log = os.open(os.environ["BENCH_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def handler(event, context):
    t = time.time_ns()
    name = event["hivehook"]["key"].rsplit("/", 1)[-1]
    os.write(_log, b"%d.%09d %s\n" % (t // 1_000_000_000, t % 1_000_000_000, name.encode()))
