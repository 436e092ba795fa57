"""hivehook's Python runtime for AWS Lambda functions.

An execution environment runs this once: it imports the function's module (init), then asks the
Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API for invocations one at a time, calls the handler
`handler(event, context)` and posts its return value or its error back, as AWS's own Python runtime
(awslambdaric) does (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
- the handler string is taken as AWS takes it: rsplit at the last '.', '/' in the module path
  becomes '.', so "src/hello_world/app.lambda_handler" imports src.hello_world.app;
- init errors (Runtime.ImportModuleError, Runtime.HandlerNotFound, Runtime.MalformedHandlerName,
  Runtime.UserCodeSyntaxError, or the exception module code raised) go to /runtime/init/error and
  the process exits 1; handler exceptions go to /invocation/{id}/error as
  {errorMessage, errorType, stackTrace}; both are also logged as "[ERROR] Type: message" + traceback;
- `print` is line-buffered and the root logger has AWS's handler and format on stderr (level
  WARNING unless $AWS_LAMBDA_LOG_LEVEL says otherwise), so output reaches the run's tails;
- for the invocation, os.environ has the run's HIVEHOOK_PATH, _KEY, _BUCKET, _TABLE, _RUN_ID,
  _ATTEMPT and _PART_<NAME> (from the event's "hivehook" object), as a command job's environment;
- SystemExit from a handler ends the process with its code (Lambda reports Runtime.ExitError);
- older botocore releases (before 1.31, e.g. Debian 12's python3-boto3) are made to honour
  $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL as newer ones do, when the function imports them.
Standard library only: it runs under any python3 >= 3.8, a virtualenv's included.
"""

import decimal
import http.client
import importlib
import importlib.abc
import importlib.machinery
import json
import logging
import os
import sys
import time
import traceback

RUNTIME_PATH = "/2018-06-01/runtime"
BOOTSTRAP_FILE = os.path.abspath(__file__)


class RuntimeClient:
    """HTTP/1.1 keep-alive client of the Runtime API; reconnects once if the connection dropped."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        self.conn = None

    def _request(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port)
            try:
                self.conn.request(method, RUNTIME_PATH + path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                return response, response.read()
            except (http.client.HTTPException, ConnectionError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def next_invocation(self):
        response, body = self._request("GET", "/invocation/next")
        if response.status != 200:
            raise RuntimeError("Runtime API /next answered %d: %r" % (response.status, body[:200]))
        return response, body

    def post_response(self, request_id, payload):
        self._request("POST", "/invocation/%s/response" % request_id, payload,
                      {"Content-Type": "application/json"})

    def post_error(self, request_id, error):
        self._request("POST", "/invocation/%s/error" % request_id, to_json(error),
                      {"Content-Type": "application/json",
                       "Lambda-Runtime-Function-Error-Type": error["errorType"]})

    def post_init_error(self, error):
        self._request("POST", "/init/error", to_json(error),
                      {"Content-Type": "application/json",
                       "Lambda-Runtime-Function-Error-Type": error["errorType"]})


class LambdaContext:
    """The context object of AWS's Python runtime (same attributes, same types)."""

    def __init__(self, request_id, deadline_ms, invoked_function_arn):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()


class Fault(Exception):
    """An init error in AWS's terms."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace


def _decimal_default(o):
    if isinstance(o, decimal.Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def to_json(value):
    return json.dumps(value, default=_decimal_default).encode("utf-8")


def _user_frames(tb):
    """The traceback without this bootstrap's own frames, as awslambdaric reports it."""
    return [f for f in traceback.extract_tb(tb) if os.path.abspath(f.filename) != BOOTSTRAP_FILE]


def error_document(exc_info):
    etype, value, tb = exc_info
    return {"errorMessage": str(value), "errorType": etype.__name__, "requestId": "",
            "stackTrace": traceback.format_list(_user_frames(tb))}


def log_error(error):
    lines = ["[ERROR] %s: %s" % (error["errorType"], error["errorMessage"])
             if error.get("errorMessage") else "[ERROR] %s" % error["errorType"]]
    if error.get("stackTrace") is not None:
        lines.append("Traceback (most recent call last):")
        for element in error["stackTrace"]:
            lines.extend(element.splitlines() or [""])
    sys.stdout.flush()
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = _RequestIdFilter.request_id
        return True


def setup_logging():
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                                  "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in ("DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"):
        root.setLevel("WARNING" if level == "WARN" else "CRITICAL" if level == "FATAL" else level)


class _BotocoreEndpointHook(importlib.abc.MetaPathFinder):
    """Patches botocore.session when it is first imported, if that botocore predates the
    AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL variables (botocore 1.31)."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "botocore.session":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        real_exec = spec.loader.exec_module

        def exec_module(module):
            real_exec(module)
            _patch_create_client(module)

        spec.loader.exec_module = exec_module
        return spec


def _version_tuple(text):
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _patch_create_client(session_module):
    botocore = sys.modules.get("botocore")
    if botocore is None or _version_tuple(getattr(botocore, "__version__", "0")) >= (1, 31, 0):
        return
    original = session_module.Session.create_client

    def create_client(self, *args, **kwargs):
        args = list(args)
        service = args[0] if args else kwargs.get("service_name", "")
        configured = args[5] if len(args) > 5 else kwargs.get("endpoint_url")
        if configured is None:
            env_name = "AWS_ENDPOINT_URL_" + str(service).upper().replace("-", "_").replace(" ", "_")
            url = os.environ.get(env_name) or os.environ.get("AWS_ENDPOINT_URL")
            if url:
                if len(args) > 5:
                    args[5] = url
                else:
                    kwargs["endpoint_url"] = url
        return original(self, *args, **kwargs)

    session_module.Session.create_client = create_client


def load_handler(handler_name):
    try:
        module_name, function_name = handler_name.rsplit(".", 1)
    except ValueError as e:
        raise Fault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler_name, e))
    if not module_name or not function_name:
        raise Fault("Runtime.MalformedHandlerName", "Bad handler '%s'" % handler_name)
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise Fault("Runtime.BuiltInModuleConflict",
                    "Cannot use built-in module %s as a handler module" % module_name)
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise Fault("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s\n' % (e.filename, e.lineno, (e.text or "").strip())]
        raise Fault("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_name, e), trace)
    handler = getattr(module, function_name, None)
    if handler is None:
        raise Fault("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (function_name, module_name))
    if not callable(handler):
        raise Fault("Runtime.HandlerNotFound", "Handler '%s' on module '%s' is not callable"
                    % (function_name, module_name))
    return handler


def init(client):
    """Imports the handler; on failure reports the init error as AWS does and exits 1."""
    try:
        return load_handler(os.environ["_HANDLER"])
    except Fault as f:
        error = {"errorMessage": f.message, "errorType": f.error_type, "requestId": "",
                 "stackTrace": f.trace or []}
    except Exception:  # the module's own code raised during import
        error = error_document(sys.exc_info())
    log_error(error)
    client.post_init_error(error)
    sys.exit(1)


_RUN_VARIABLES = set()


def set_run_environment(event):
    """The job contract's per-run HIVEHOOK_* variables, from the event's "hivehook" object."""
    for name in _RUN_VARIABLES:
        os.environ.pop(name, None)
    _RUN_VARIABLES.clear()
    h = event.get("hivehook") if isinstance(event, dict) else None
    if not isinstance(h, dict):
        return
    values = {"HIVEHOOK_PATH": h.get("path"), "HIVEHOOK_KEY": h.get("key"), "HIVEHOOK_TABLE": h.get("table"),
              "HIVEHOOK_RUN_ID": h.get("run_id"), "HIVEHOOK_ATTEMPT": h.get("attempt")}
    try:
        values["HIVEHOOK_BUCKET"] = event["Records"][0]["s3"]["bucket"]["name"]
    except (KeyError, IndexError, TypeError):
        pass
    for column, value in (h.get("partition") or {}).items():
        raw = str(column).encode("utf-8", "surrogateescape")  # per byte, as the daemon names them
        values["HIVEHOOK_PART_" + "".join(chr(b).upper() if chr(b).isascii() and chr(b).isalnum() else "_"
                                          for b in raw)] = value
    for name, value in values.items():
        if value is not None:
            os.environ[name] = str(value)
            _RUN_VARIABLES.add(name)


def invoke(client, handler, response, body):
    request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
    deadline_ms = int(response.getheader("Lambda-Runtime-Deadline-Ms") or 0)
    trace_id = response.getheader("Lambda-Runtime-Trace-Id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    _RequestIdFilter.request_id = request_id
    context = LambdaContext(request_id, deadline_ms, response.getheader("Lambda-Runtime-Invoked-Function-Arn"))
    try:
        event = json.loads(body) if body else {}
        set_run_environment(event)
        result = handler(event, context)
        try:
            payload = to_json(result)
        except (TypeError, ValueError) as e:
            error = {"errorMessage": "Unable to marshal response: %s" % e, "errorType": "Runtime.MarshalError",
                     "requestId": request_id, "stackTrace": []}
            log_error(error)
            client.post_error(request_id, error)
            return
    except Exception:
        error = error_document(sys.exc_info())
        error["requestId"] = request_id
        log_error(error)
        client.post_error(request_id, error)
        return
    # Output printed for this invocation reaches the pipe before the answer does.
    sys.stdout.flush()
    sys.stderr.flush()
    client.post_response(request_id, payload)


def main():
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    # The function's folder, not this script's, comes first on sys.path (as /var/task on AWS).
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(BOOTSTRAP_FILE):
        sys.path[0] = task_root
    else:
        sys.path.insert(0, task_root)
    sys.stdout.reconfigure(line_buffering=True)
    sys.meta_path.insert(0, _BotocoreEndpointHook())
    setup_logging()
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    handler = init(client)
    while True:
        response, body = client.next_invocation()
        invoke(client, handler, response, body)


if __name__ == "__main__":
    main()
