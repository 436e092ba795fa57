"""A job that forks a grandchild ignoring SIGTERM, records both pids, then sleeps (until killed)."""
import os
import signal
import sys
import time

pidfile = sys.argv[1]
child = os.fork()
if child == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only the group SIGKILL can end it
    time.sleep(1000)
    os._exit(0)
with open(pidfile + ".tmp", "w") as f:
    f.write("%d %d\n" % (os.getpid(), child))
os.rename(pidfile + ".tmp", pidfile)
time.sleep(1000)
