#!/usr/bin/env python3
"""hivehook's Lambda runtime shim: runs an unchanged AWS-style handler `def handler(event, context)`.

The S3 event arrives as JSON on stdin. The handler's return value, when it is not None, is written
as JSON to $HIVEHOOK_RESULT. Exit codes: 0 success; 1 the handler raised (traceback on stderr),
could not be imported, or returned something JSON cannot encode; a handler calling sys.exit(N)
exits with N (so sys.exit(65) means "bad input, do not retry", as in the job contract).
"""

import argparse
import datetime
import importlib
import json
import os
import sys
import time
import traceback


class LambdaContext:
    """The attributes and method of AWS's Python context object that handlers use."""

    def __init__(self, function_name, timeout_ms, memory_mb, request_id):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = "arn:aws:lambda:local:000000000000:function:" + function_name
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = "/aws/lambda/" + function_name
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y/%m/%d")
        self.log_stream_name = today + "/[$LATEST]" + request_id
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_ms / 1000.0 if timeout_ms > 0 else None

    def get_remaining_time_in_millis(self):
        if self._deadline is None:
            return 15 * 60 * 1000  # no timeout set: report Lambda's maximum
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def fail(kind, message):
    sys.stderr.write("[ERROR] %s: %s\n" % (kind, message))
    sys.stderr.flush()
    sys.exit(1)


def load_handler(spec, code_dir):
    module_name, _, function_name = spec.rpartition(".")
    if not module_name or not function_name:
        fail("Runtime.MalformedHandlerName", "handler must be module.function, got %r" % spec)
    sys.path.insert(0, code_dir)
    try:
        module = importlib.import_module(module_name)
    except Exception:  # a broken module is the user's error: show why
        traceback.print_exc()
        fail("Runtime.ImportModuleError", "unable to import module %r" % module_name)
    handler = getattr(module, function_name, None)
    if not callable(handler):
        fail("Runtime.HandlerNotFound", "%s has no function %r" % (module_name, function_name))
    return handler


def write_result(value):
    path = os.environ.get("HIVEHOOK_RESULT")
    if value is None or not path:
        return
    try:
        text = json.dumps(value)
    except (TypeError, ValueError) as e:
        fail("Runtime.MarshalError", "handler returned a value JSON cannot encode: %s" % e)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)  # a reader never sees half a result


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--code", required=True)
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--timeout-ms", type=int, default=0)
    parser.add_argument("--memory-mb", type=int, default=128)
    args = parser.parse_args()

    # Start the clock before anything slow (import, reading stdin), as Lambda does.
    context = LambdaContext(args.function_name, args.timeout_ms, args.memory_mb,
                            os.environ.get("HIVEHOOK_RUN_ID", "local"))
    try:
        event = json.loads(sys.stdin.buffer.read())  # bytes: independent of the locale
    except ValueError as e:
        fail("Runtime.InvalidEvent", "stdin is not a JSON event: %s" % e)

    handler = load_handler(args.handler, args.code)
    try:
        value = handler(event, context)
    except Exception:
        traceback.print_exc()
        sys.stderr.flush()
        sys.exit(1)
    write_result(value)


if __name__ == "__main__":
    main()
