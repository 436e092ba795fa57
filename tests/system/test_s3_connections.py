"""The S3 endpoint's connection budget against clients that hold connections without using them, and
against ordinary parallel use from one machine (every local client shares 127.0.0.1's budget):
a trickling or silent client cannot lock the others out, and the real clients' usual parallelism
fits the default budget."""
import concurrent.futures
import os
import pathlib
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config

from harness import Deployment, free_port, wait_until

AWS = "/usr/bin/aws"
KEY_ID = "AKIDHIVEHOOKTEST"
SECRET = "s3cr3t/For+Tests"


def signed_put_head(port, path, length):
    """The head of a SigV4-signed PUT (UNSIGNED-PAYLOAD) announcing `length` body bytes."""
    req = botocore.awsrequest.AWSRequest(method="PUT", url=f"http://127.0.0.1:{port}{path}",
                                         headers={"Content-Length": str(length)})

    class NoPayloadSigning:
        s3 = {"payload_signing_enabled": False}
    req.context["client_config"] = NoPayloadSigning()
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(KEY_ID, SECRET), "s3", "us-east-1").add_auth(req)
    lines = [f"PUT {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in req.headers.items() if k.lower() != "host"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# A client process holding `count` uploads open, each sending 2 KiB a second (twice the endpoint's
# floor: legal, and busy, so no eviction frees them). Prints "holding N <answer to one more>" once
# all are accepted, then keeps trickling until killed.
HOG = r"""
import resource, socket, sys, time
sys.path.insert(0, %r)
from test_s3_connections import signed_put_head
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
port, count = int(sys.argv[1]), int(sys.argv[2])
probe = sys.argv[3:] != ["noprobe"]  # ask for one more connection once all are held
socks = []
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    head = signed_put_head(port, f"/landing/hog/h{i}.bin", 100_000_000)
    s.sendall(head[:-2] + b"Expect: 100-continue\r\n\r\n")
    s.settimeout(30)
    got = b""
    while b"\r\n\r\n" not in got:  # the server has the head and reads the body: busy, not waiting
        piece = s.recv(4096)
        if not piece:
            sys.exit(f"connection {i} closed: {got!r}")
        got += piece
    if not got.startswith(b"HTTP/1.1 100"):
        sys.exit(f"connection {i} answered {got[:300]!r}")
    s.sendall(b"x" * 2048)
    socks.append(s)
if probe:
    extra = socket.create_connection(("127.0.0.1", port))
    extra.settimeout(30)
    answer = extra.recv(4096).decode(errors="replace")
    code = "SlowDown" if "<Code>SlowDown</Code>" in answer else repr(answer[:200])
    budget = ("per-user" if "from user " in answer else "per-process" if "from 127.0.0.1 (pid " in answer
              else "per-address")
    print("holding", len(socks), code, budget, flush=True)
else:
    print("holding", len(socks), flush=True)
while True:
    started = time.monotonic()
    for s in socks:
        try:
            s.sendall(b"x" * 2048)
        except OSError as e:
            sys.exit(f"a held upload was cut off: {e}")
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
""" % os.path.dirname(os.path.abspath(__file__))


class S3Connections(unittest.TestCase):
    def start(self, extra=""):
        port = free_port()
        d = Deployment("rules: []\n", config_extra=f"""\
            s3:
              listen: 127.0.0.1:{port}
              access_key_id: {KEY_ID}
              secret_access_key: {SECRET}
            {extra}""", prefix="hivehook-s3-conn-")
        self.addCleanup(d.cleanup)
        d.start()
        return d, port

    def client(self, port):
        return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=KEY_ID,
                            aws_secret_access_key=SECRET, region_name="us-east-1",
                            config=Config(signature_version="s3v4", retries={"max_attempts": 1}))

    def test_a_client_trickling_a_body_byte_every_2s_on_every_slot_is_cut_off_with_request_timeout(self):
        d, port = self.start("  max_connections_per_client: 8\n")
        socks = []
        for i in range(8):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(signed_put_head(port, f"/landing/slow/loris{i}.bin", 100_000_000))
            socks.append(s)
        self.addCleanup(lambda: [s.close() for s in socks])
        # Every slot is busy with a request: a ninth client is refused for now (SlowDown)...
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.client(port).list_objects_v2(Bucket="landing")
        self.assertEqual(cm.exception.response["Error"]["Code"], "SlowDown")
        # ... but a byte every 2 s is far under the floor: each trickler gets RequestTimeout within a
        # rate window (30 s) and a few bytes, and its connection is closed (after a short drain),
        # where before it held its slot for as long as it liked.
        started, answers, open_socks = time.monotonic(), {s: b"" for s in socks}, list(socks)
        while open_socks and time.monotonic() - started < 120:
            for s in list(open_socks):
                try:
                    s.sendall(b"z")
                except OSError:
                    pass
            readable, _, _ = select.select(open_socks, [], [], 2.0)
            for s in readable:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                answers[s] += data
                if not data:
                    open_socks.remove(s)
        self.assertEqual(open_socks, [], "tricklers still connected after 120 s")
        for s in socks:
            self.assertIn(b"<Code>RequestTimeout</Code>", answers[s])
            self.assertIn(b"bytes/s", answers[s])

        def lists():
            try:
                self.client(port).list_objects_v2(Bucket="landing")
                return True
            except botocore.exceptions.ClientError:
                return False
        wait_until(lists, timeout=10, message="a listing once the tricklers are gone")
        self.assertEqual(d.files(d.landing), [])

    def test_silent_connections_on_every_slot_make_room_for_a_client_with_a_request(self):
        d, port = self.start("  max_connections_per_client: 8\n")
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
        self.addCleanup(lambda: [s.close() for s in socks])
        # No wait for idle_timeout (60 s): the connection that has waited longest gives way.
        s3 = self.client(port)
        s3.put_object(Bucket="landing", Key="prompt.txt", Body=b"x\n")
        self.assertEqual(s3.get_object(Bucket="landing", Key="prompt.txt")["Body"].read(), b"x\n")

        def closed(s):
            s.setblocking(False)
            try:
                return s.recv(1) == b""
            except BlockingIOError:
                return False
            except OSError:
                return True
        wait_until(lambda: sum(closed(s) for s in socks) >= 1, timeout=10, message="a silent connection evicted")

    def test_one_process_holding_its_512_legal_slow_uploads_leaves_another_process_room(self):
        """Was: one local process with 512 uploads each sending 2 KiB/s (over the rate floor, busy so
        never evicted) held all of 127.0.0.1's budget, and every other local client got SlowDown."""
        d, port = self.start()
        work = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-s3-conn-hog-"))
        self.addCleanup(shutil.rmtree, work, True)
        hog = subprocess.Popen([sys.executable, "-c", HOG, str(port), "512"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)

        def stop_hog():
            hog.kill()
            hog.wait()
        self.addCleanup(stop_hog)
        line = hog.stdout.readline()
        if not line:
            hog.wait(timeout=30)
            self.fail("the hog stopped: " + hog.stderr.read())
        self.assertEqual(line.split()[:2], ["holding", "512"], line)
        self.assertEqual(line.split()[2:], ["SlowDown", "per-process"])  # its 513th was refused: it holds its maximum
        # A real second client, in its own process, is served: boto3 (this process) and the AWS CLI.
        s3 = self.client(port)
        s3.put_object(Bucket="landing", Key="fair/boto.csv", Body=b"b\n")
        self.assertEqual(s3.get_object(Bucket="landing", Key="fair/boto.csv")["Body"].read(), b"b\n")
        (work / "cli.csv").write_bytes(b"c\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": str(work / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "none"),
                    "HOME": str(work), "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"})
        r = subprocess.run([AWS, "--endpoint-url", f"http://127.0.0.1:{port}", "s3", "cp", str(work / "cli.csv"),
                            "s3://landing/fair/cli.csv"], env=env, capture_output=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        if hog.poll() is not None:
            self.fail("the hog stopped: " + hog.stderr.read())

    def test_many_processes_of_one_user_leave_another_user_a_quarter_of_the_connections(self):
        """Was: the budget was per process only, so many processes of one user (or one that forks)
        could fill all 1,024 connections with legal slow uploads and lock every other user out.
        Now one user's processes together hold at most 768: three processes of user `nobody`
        holding 256 busy uploads each are at that cap (a new connection of theirs gets SlowDown
        saying so, though each process is far under its own 512), and root's clients are served."""
        if os.geteuid() != 0:
            self.skipTest("needs root to run the clients as another user")
        d, port = self.start()
        work = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-s3-conn-users-"))
        self.addCleanup(shutil.rmtree, work, True)
        hogs = []

        def stop_hogs():
            for h in hogs:
                h.kill()
                h.wait()
        self.addCleanup(stop_hogs)
        for i in range(3):
            hog = subprocess.Popen([sys.executable, "-c", HOG, str(port), "256"] + (["noprobe"] if i < 2 else []),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, user=65534, group=65534,
                                   cwd="/")
            hogs.append(hog)
            line = hog.stdout.readline()
            if not line:
                hog.wait(timeout=30)
                self.fail(f"hog {i} stopped: " + hog.stderr.read())
            self.assertEqual(line.split()[:2], ["holding", "256"], line)
        self.assertEqual(line.split()[2:], ["SlowDown", "per-user"])  # the user's 769th, from a process at 256
        s3 = self.client(port)
        s3.put_object(Bucket="landing", Key="users/boto.csv", Body=b"b\n")
        self.assertEqual(s3.get_object(Bucket="landing", Key="users/boto.csv")["Body"].read(), b"b\n")
        (work / "cli.csv").write_bytes(b"c\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": str(work / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "none"),
                    "HOME": str(work), "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"})
        r = subprocess.run([AWS, "--endpoint-url", f"http://127.0.0.1:{port}", "s3", "cp", str(work / "cli.csv"),
                            "s3://landing/users/cli.csv"], env=env, capture_output=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        for i, h in enumerate(hogs):
            if h.poll() is not None:
                self.fail(f"hog {i} stopped: " + h.stderr.read())

    def test_r16_two_greedy_processes_of_a_user_leave_that_users_other_processes_room(self):
        """Retest R16 (a regression of the per-user budget): two processes of one user holding 512
        and 256 busy uploads filled the user's 768, and every other process of that same user (a
        probe, the AWS CLI: on a one-user machine, every client) got SlowDown. A process holding
        few connections may now go past its user's budget, up to all but 64 of the total."""
        d, port = self.start()
        work = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-s3-conn-r16-"))
        self.addCleanup(shutil.rmtree, work, True)
        hogs = []

        def stop_hogs():
            for h in hogs:
                h.kill()
                h.wait()
        self.addCleanup(stop_hogs)
        for count, extra in (("512", []), ("256", ["noprobe"])):
            hog = subprocess.Popen([sys.executable, "-c", HOG, str(port), count] + extra, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            hogs.append(hog)
            line = hog.stdout.readline()
            if not line:
                hog.wait(timeout=30)
                self.fail("a hog stopped: " + hog.stderr.read())
            self.assertEqual(line.split()[:2], ["holding", count], line)
        s3 = self.client(port)
        s3.put_object(Bucket="landing", Key="r16/boto.csv", Body=b"b\n")
        self.assertEqual(s3.get_object(Bucket="landing", Key="r16/boto.csv")["Body"].read(), b"b\n")
        (work / "cli.csv").write_bytes(b"c\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": str(work / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "none"),
                    "HOME": str(work), "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"})
        r = subprocess.run([AWS, "--endpoint-url", f"http://127.0.0.1:{port}", "s3", "cp", str(work / "cli.csv"),
                            "s3://landing/r16/cli.csv"], env=env, capture_output=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        for h in hogs:
            if h.poll() is not None:
                self.fail("a hog stopped: " + h.stderr.read())

    def test_four_cli_recursive_copies_rclone_32_transfers_and_50_boto3_threads_at_once_all_succeed(self):
        """The tester's ordinary parallel use from one machine (about 120 requests at once from
        127.0.0.1) met SlowDown under the old default budget of 128 and the CLI gave up on a file."""
        d, port = self.start()
        work = pathlib.Path(tempfile.mkdtemp(prefix="hivehook-s3-conn-clients-"))
        self.addCleanup(shutil.rmtree, work, True)
        many = work / "many"
        many.mkdir()
        for i in range(150):
            (many / f"f{i:03}.csv").write_bytes(os.urandom(2048))
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": str(work / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "none"),
                    "HOME": str(work), "AWS_PAGER": ""})
        endpoint = f"http://127.0.0.1:{port}"
        procs = [subprocess.Popen([AWS, "--endpoint-url", endpoint, "s3", "cp", "--recursive", "--only-show-errors",
                                   str(many), f"s3://landing/load/aws{c}/"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT) for c in range(4)]
        rclone_env = dict(env, RCLONE_CONFIG_HH_TYPE="s3", RCLONE_CONFIG_HH_PROVIDER="Other",
                          RCLONE_CONFIG_HH_ENDPOINT=endpoint, RCLONE_CONFIG_HH_ACCESS_KEY_ID=KEY_ID,
                          RCLONE_CONFIG_HH_SECRET_ACCESS_KEY=SECRET, RCLONE_CONFIG_HH_REGION="us-east-1",
                          RCLONE_CONFIG="/dev/null")
        procs.append(subprocess.Popen(["rclone", "copy", "--transfers", "32", "--retries", "1", str(many),
                                       "hh:landing/load/rclone/"], env=rclone_env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT))
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                          region_name="us-east-1", config=Config(signature_version="s3v4", max_pool_connections=50))
        names = sorted(p.name for p in many.iterdir())
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            list(pool.map(lambda n: s3.put_object(Bucket="landing", Key=f"load/boto/{n}",
                                                  Body=(many / n).read_bytes()), names))
        for p in procs:
            out, _ = p.communicate(timeout=600)
            self.assertEqual(p.returncode, 0, out.decode(errors="replace"))
        for folder in ["aws0", "aws1", "aws2", "aws3", "rclone", "boto"]:
            got = sorted(p.name for p in (d.landing / "load" / folder).iterdir())
            self.assertEqual(got, names, folder)


if __name__ == "__main__":
    unittest.main()
