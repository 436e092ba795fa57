#!/usr/bin/python3
"""A webhook receiver for tests: records every request, answers with scripted statuses.

Usage: http_receiver.py --out FILE [--statuses 503,503,200] [--delay SECONDS] [--body TEXT] [--port N]

Each request is appended to FILE as one JSON line:
  {"method", "path", "headers": {name: value}, "body": "<utf-8 text>", "status": <reply>}
The reply statuses are taken from --statuses in order; the last one repeats. --delay makes every
reply wait (to test client timeouts); --body replaces the reply body "status <n>\n". Prints the bound port on stdout once listening.
Stdlib only, loopback only.
"""
import argparse
import http.server
import json
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--statuses", default="200")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--body", default=None)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    statuses = [int(s) for s in args.statuses.split(",") if s]
    lock = threading.Lock()
    count = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):  # keep test output quiet
            pass

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                status = statuses[min(count[0], len(statuses) - 1)]
                count[0] += 1
                record = {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k: v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                    "status": status,
                }
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")
            if args.delay:
                time.sleep(args.delay)
            reply = (args.body if args.body is not None else "status %d\n" % status).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        do_POST = do_GET = do_PUT = _handle

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
