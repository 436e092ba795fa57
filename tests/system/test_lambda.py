"""Lambda functions through the real daemon (`hivehook run`), black box: unchanged Python, Node.js
and custom-runtime handlers in warm execution environments, their logs in `hivehook runs --output`,
errors, timeouts, crashes and init failures as Lambda reports them, and the S3-trigger blueprint
reading its object through the local S3 API."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import unittest
import urllib.request

from harness import SOURCE, Deployment, wait_until

DATA = SOURCE / "tests" / "data" / "lambda"
HAVE_NODE = shutil.which("node") is not None
HAVE_CURL = shutil.which("curl") is not None and os.path.exists("/bin/bash")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def have_boto3():
    return subprocess.run(["/usr/bin/python3", "-c", "import boto3"], capture_output=True).returncode == 0


class Lambda(unittest.TestCase):
    def tearDown(self):
        if getattr(self, "d", None):
            self.d.cleanup()

    def runs(self, *extra):
        return json.loads(self.d.cli("runs", "--json", "--limit", "0", "--output", *extra, check=True).stdout)

    def test_python_handler_is_warm_keeps_module_state_and_its_logs_are_kept_with_each_run(self):
        port = free_port()
        self.d = d = Deployment(f"""\
            rules:
              - name: counter
                match: {{prefix: c/}}
                concurrency: 1
                job:
                  lambda: {{handler: lifecycle.count, code: "{DATA / 'python'}", runtime: python3}}
              - name: sam
                match: {{prefix: s/}}
                job:
                  lambda: {{handler: src/hello_world.app.lambda_handler, code: "{DATA / 'python'}"}}
            """, config_extra=f"metrics: 127.0.0.1:{port}\n")
        self.assertEqual(d.cli("check").returncode, 0, d.cli("check").stderr)
        d.start()
        for i in range(4):
            d.drop(f"c/file-{i}.csv")
            wait_until(lambda: d.count_objects("archived") == i + 1, message=f"file {i} archived")
        d.drop("s/x.csv")
        wait_until(lambda: d.count_objects("archived") == 5, message="sam handler archived")
        runs = sorted(self.runs("--rule", "counter"), key=lambda r: r["key"])
        self.assertEqual([r["result"]["count"] for r in runs], [1, 2, 3, 4], "module state survives: one warm environment")
        self.assertEqual(len({r["result"]["pid"] for r in runs}), 1)
        self.assertIn("Loading function", runs[0]["stdout_tail"], "init output goes with the first invocation")
        self.assertNotIn("Loading function", runs[1]["stdout_tail"])
        for r in runs:
            self.assertIn(f"count handler saw {r['key']}", r["stdout_tail"])
            self.assertIn(f"\t{r['run_id']}\tinvocation ", r["stderr_tail"], "logging, with AWS's request id")
        (sam,) = self.runs("--rule", "sam")
        self.assertEqual(sam["result"]["statusCode"], 200)
        out = d.cli("runs", "--output", "--rule", "counter", check=True).stdout.decode()
        self.assertIn("count handler saw c/file-3.csv", out)

        def metric(name):
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            m = re.search(rf"^{name} (\S+)$", text, re.M)
            return float(m.group(1)) if m else None
        # Two functions, two environments; 5 invocations of which 3 went to a used environment.
        wait_until(lambda: metric("hivehook_lambda_warm_starts_total") == 3, message="warm starts exported")
        self.assertEqual(metric("hivehook_lambda_cold_starts_total"), 2)
        self.assertEqual(metric("hivehook_lambda_environments"), 2)
        self.assertEqual(d.stop(), 0)

    def test_a_reload_keeps_an_unchanged_functions_environment_and_restarts_a_changed_one(self):
        rules = """\
            rules:
              - name: counter
                match: {{prefix: c/}}
                concurrency: 1
                job:
                  lambda: {{handler: lifecycle.count, code: "{code}"}}
                  env: {{SETTING: "{setting}"}}
              - name: other
                match: {{prefix: o/}}
                job: {{command: [/bin/true]}}
            """
        self.d = d = Deployment(rules.format(code=DATA / "python", setting="one"))
        d.start()

        def run(key, n):
            d.drop(key)
            wait_until(lambda: d.count_objects("archived") == n, message=f"{key} archived")
            (r,) = [r for r in self.runs("--rule", "counter") if r["key"] == key]
            return r["result"]

        def reload(text):
            before = len(d.events("rules.loaded"))
            d.write_rules(text)
            d.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: len(d.events("rules.loaded")) > before, message="rules reloaded")

        first, second = run("c/1.csv", 1), run("c/2.csv", 2)
        self.assertEqual((first["count"], second["count"]), (1, 2))
        # Another rule changes: the function's warm environment and its module state stay.
        reload(rules.format(code=DATA / "python", setting="one").replace("/bin/true", "/bin/echo"))
        third = run("c/3.csv", 3)
        self.assertEqual((third["count"], third["pid"]), (3, first["pid"]))
        # The function's own settings change: a new environment initialises the new function.
        reload(rules.format(code=DATA / "python", setting="two"))
        fourth = run("c/4.csv", 4)
        self.assertEqual(fourth["count"], 1, "a changed function starts afresh")
        self.assertNotEqual(fourth["pid"], first["pid"])
        gone = lambda pid: subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0  # noqa: E731
        wait_until(lambda: gone(first["pid"]), message="the old environment stopped")
        # The rule is removed: its warm environment stops at once, not after warm.idle (5 min).
        self.assertFalse(gone(fourth["pid"]))
        reload(rules.format(code=DATA / "python", setting="two").split("              - name: counter")[0] +
               "              - name: other\n                match: {prefix: o/}\n"
               "                job: {command: [/bin/true]}\n")
        wait_until(lambda: gone(fourth["pid"]), timeout=20, message="the removed function's environment stopped")
        self.assertEqual(d.stop(), 0)

    @unittest.skipUnless(HAVE_NODE and HAVE_CURL, "needs node, bash and curl")
    def test_a_daemon_killed_with_sigkill_leaves_no_execution_environment_behind(self):
        # Nothing can kill the environments when the daemon dies; each runtime ends itself once its
        # Runtime API connection is gone (Python and Node.js bootstraps, AWS's bash bootstrap).
        self.d = d = Deployment(f"""\
            rules:
              - name: py
                match: {{prefix: p/}}
                job: {{lambda: {{handler: lifecycle.count, code: "{DATA / 'python'}"}}}}
              - name: js
                match: {{prefix: j/}}
                job: {{lambda: {{handler: callback_handler.handler, code: "{DATA / 'nodejs'}", runtime: nodejs}}}}
              - name: sh
                match: {{prefix: s/}}
                job: {{lambda: {{handler: function.handler, code: "{DATA / 'provided'}", runtime: provided}}}}
            """)
        d.start()
        for k in ("p/a.csv", "j/a.csv", "s/a.csv"):
            d.drop(k)
        wait_until(lambda: d.count_objects("archived") == 3, message="the three functions ran")
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(d.proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        self.assertEqual(len(children), 3, "one warm environment per function")
        d.kill9()
        for pid in children:
            wait_until(lambda: not os.path.exists(f"/proc/{pid}") or
                       open(f"/proc/{pid}/stat").read().split(") ")[-1].startswith("Z"),
                       timeout=20, message=f"environment {pid} ended")

    def test_errors_timeouts_crashes_and_init_failures_as_lambda_reports_them(self):
        self.d = d = Deployment(f"""\
            rules:
              - name: raises
                match: {{prefix: e/}}
                job: {{lambda: {{handler: lifecycle.boom, code: "{DATA / 'python'}"}}}}
                retries: 0
              - name: slow
                match: {{prefix: t/}}
                job: {{lambda: {{handler: lifecycle.sleep, code: "{DATA / 'python'}"}}, timeout: 1s}}
                retries: 0
              - name: exits
                match: {{prefix: x/}}
                job: {{lambda: {{handler: lifecycle.bad_input, code: "{DATA / 'python'}"}}}}
                retries: 3
              - name: broken
                match: {{prefix: b/}}
                job: {{lambda: {{handler: broken_init.handler, code: "{DATA / 'python_broken'}"}}}}
                retries: 1
                backoff: {{initial: 100ms, max: 100ms}}
            """)
        d.start()
        for k in ("e/a.csv", "t/a.csv", "x/a.csv", "b/a.csv"):
            d.drop(k)
        wait_until(lambda: d.count_objects("quarantined") == 4, timeout=60, message="all four quarantined")

        (boom,) = self.runs("--key", "e/")
        self.assertEqual(boom["state"], "failed")
        self.assertEqual(boom["result"]["errorType"], "ValueError")
        self.assertEqual(boom["result"]["errorMessage"], "cannot parse this")
        self.assertTrue(boom["result"]["stackTrace"])
        self.assertIn("[ERROR] ValueError: cannot parse this\nTraceback (most recent call last):", boom["stderr_tail"])

        (slow,) = self.runs("--key", "t/")
        self.assertEqual(slow["state"], "timed_out")
        self.assertIn("Task timed out after 1.00 seconds", slow["error"])
        self.assertIn("going to sleep", slow["stdout_tail"])

        (ex,) = self.runs("--key", "x/")
        self.assertEqual((ex["state"], ex["exit_code"]), ("failed", 65), "sys.exit(65): bad input, never retried")
        self.assertIn("Runtime exited with error: exit status 65", ex["error"])

        broken = self.runs("--key", "b/")
        self.assertEqual([r["state"] for r in broken], ["failed", "failed"], "init is tried again on the retry")
        for r in broken:
            self.assertEqual(r["result"]["errorType"], "JSONDecodeError")
            self.assertIn("initialising, about to fail", r["stdout_tail"])
        self.assertEqual(d.stop(), 0)

    @unittest.skipUnless(HAVE_NODE, "needs node")
    def test_nodejs_async_es_module_and_callback_commonjs_handlers(self):
        self.d = d = Deployment(f"""\
            rules:
              - name: esm-async
                match: {{prefix: a/}}
                concurrency: 1
                job: {{lambda: {{handler: async_handler.handler, code: "{DATA / 'nodejs'}", runtime: nodejs20.x}}}}
              - name: cjs-callback
                match: {{prefix: c/}}
                concurrency: 1
                job: {{lambda: {{handler: callback_handler.handler, code: "{DATA / 'nodejs'}", runtime: nodejs}}}}
            """)
        self.assertEqual(d.cli("check").returncode, 0, d.cli("check").stderr)
        d.start()
        for i in range(3):
            d.drop(f"a/{i}.csv")
            d.drop(f"c/{i}.csv")
            wait_until(lambda: d.count_objects("archived") == 2 * (i + 1), message=f"round {i} archived")
        esm = sorted(self.runs("--rule", "esm-async"), key=lambda r: r["key"])
        self.assertEqual([r["result"]["count"] for r in esm], [1, 2, 3])
        self.assertEqual([r["result"]["requestId"] for r in esm], [r["run_id"] for r in esm])
        self.assertIn("INFO\tasync handler invocation 3", esm[2]["stdout_tail"])
        cjs = sorted(self.runs("--rule", "cjs-callback"), key=lambda r: r["key"])
        self.assertEqual([r["result"]["count"] for r in cjs], [1, 2, 3])
        self.assertEqual(cjs[0]["result"]["style"], "callback")
        self.assertEqual(d.stop(), 0)

    @unittest.skipUnless(HAVE_CURL, "needs bash and curl")
    def test_a_provided_runtime_bootstrap_runs_unchanged(self):
        self.d = d = Deployment(f"""\
            rules:
              - name: custom
                match: {{prefix: p/}}
                concurrency: 1
                job: {{lambda: {{handler: function.handler, code: "{DATA / 'provided'}", runtime: provided.al2023}}}}
            """)
        d.start()
        d.drop("p/one.csv")
        d.drop("p/two.csv")
        wait_until(lambda: d.count_objects("archived") == 2, message="both archived")
        for r in self.runs("--rule", "custom"):
            self.assertTrue(r["result"].startswith("Echoing request: '{\"Records\""), r["result"])
            self.assertIn(r["key"], r["stderr_tail"], "the bootstrap's own logging")
        self.assertEqual(d.stop(), 0)


class Blueprint(unittest.TestCase):
    """The AWS console's S3-trigger blueprint (s3-get-object-python), unchanged, with Debian's
    python3-boto3 (botocore 1.29, older than AWS_ENDPOINT_URL_S3) under /usr/bin/python3."""

    def tearDown(self):
        if getattr(self, "d", None):
            self.d.cleanup()

    @unittest.skipUnless(have_boto3(), "needs python3-boto3")
    def test_the_blueprint_reads_the_triggering_object_through_the_local_s3_api(self):
        import boto3
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        self.d = d = Deployment("rules: []\n", config_extra=f"""\
            s3: {{listen: "127.0.0.1:{port}", access_key_id: AKIDHIVEHOOKLAMBDA, secret_access_key: lambda-test-secret}}
            """)
        # The same handler under a function's own virtualenv (`python:`), which sees Debian's boto3
        # through --system-site-packages, as a venv made on this machine would.
        venv = d.dir / "venv"
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
                       check=True)
        d.write_rules(f"""\
            rules:
              - name: blueprint
                match: {{prefix: uploads/}}
                job:
                  lambda: {{handler: lambda_function.lambda_handler, code: "{DATA / 'blueprint'}", runtime: python3}}
                  timeout: 30s
                retries: 0
              - name: blueprint-venv
                match: {{prefix: venv/}}
                job:
                  lambda: {{handler: lambda_function.lambda_handler, code: "{DATA / 'blueprint'}", python: "{venv / 'bin' / 'python'}"}}
                  timeout: 30s
                retries: 0
            """)
        self.assertEqual(d.cli("check").returncode, 0, d.cli("check").stderr)
        d.start()
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="AKIDHIVEHOOKLAMBDA",
                          aws_secret_access_key="lambda-test-secret", region_name="us-east-1")
        s3.put_object(Bucket="landing", Key="uploads/report 2024.csv", Body=b"a,b\n1,2\n", ContentType="text/csv")
        d.drop("uploads/dropped file.json", b'{"x": 1}')
        s3.put_object(Bucket="landing", Key="venv/through a venv.txt", Body=b"hello\n", ContentType="text/plain")
        wait_until(lambda: d.count_objects("archived") + d.count_objects("quarantined") == 3, timeout=60,
                   message="the three runs ended")
        runs = {r["key"]: r for r in json.loads(d.cli("runs", "--json", "--output", check=True).stdout)}
        for key, r in runs.items():
            self.assertEqual(r["state"], "succeeded", r)
            self.assertIsInstance(r["result"], str)
            self.assertIn("CONTENT TYPE: " + r["result"], r["stdout_tail"])
        self.assertEqual(runs["uploads/report 2024.csv"]["result"], "text/csv")
        self.assertEqual(runs["venv/through a venv.txt"]["result"], "text/plain")
        self.assertEqual(runs["venv/through a venv.txt"]["rule"], "blueprint-venv")
        self.assertIn("Loading function", "".join(r["stdout_tail"] for r in runs.values()))
        out = d.cli("runs", "--output", "--rule", "blueprint", check=True).stdout.decode()
        self.assertIn("CONTENT TYPE: text/csv", out, "the handler's print shown by `hivehook runs --output`")
        self.assertEqual(d.stop(), 0)

if __name__ == "__main__":
    unittest.main()
