#!/usr/bin/python3
"""A feed server for ward's updater tests: a real HTTP/1.1 server on 127.0.0.1 that
serves files from a directory (normally $WARD_SHARED_DATA/feeds) with scripted failures.

Run as a program it binds a free port, prints "PORT <n>" on stdout and serves until
killed. Imported, FeedServer starts it as a child process (by PID) and drives it.

URLs
  /feed/<name>       served as the "route" <name> says (set with FeedServer.route);
                     the URL stays the same while its behaviour changes between runs
  /_route            POST {"name", "mode", "path", "code"}: set a route
  /_log              GET: JSON list of the requests seen so far (path + headers)
Modes
  ok        200 with ETag (digest of the body) and Last-Modified (file mtime); 304 when
            If-None-Match / If-Modified-Since match
  gzip      as ok, but the body is sent gzip-encoded when the client accepts gzip
  status    answer with status `code` (404, 500 ...) and a small text body
  hang      read the request and never answer (the client must time out)
  truncate  Content-Length of the whole file, send half of it, close the connection
  html      200 text/html, an HTML error page
  html-text 200 text/plain, but the body is an HTML page
  half      200, the first half of the file's lines (a list that shrank)
  big       200, `code` bytes of generated domain lines (more than the size cap)
  bomb      as big, but gzip-encoded: small on the wire, `code` bytes once decoded
  empty     200, empty body
"""
import email.utils
import gzip
import hashlib
import http.server
import json
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
import urllib.request


class State:
    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.routes = {}
        self.log = []
        self.lock = threading.Lock()

    def file(self, rel):
        path = os.path.realpath(os.path.join(self.root, rel))
        if not path.startswith(self.root + os.sep):
            raise ValueError("path outside the root")
        return path


def etag_of(body):
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "feedserver/1"

    def log_message(self, fmt, *args):
        pass

    def send_body(self, code, body, ctype="text/plain; charset=utf-8", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_POST(self):
        st = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        data = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/_route" or "name" not in data:
            return self.send_body(404, b"no such control\n")
        with st.lock:
            st.routes[data["name"]] = data
        self.send_body(200, b"ok\n")

    def do_GET(self):
        st = self.server.state
        if self.path == "/_log":
            with st.lock:
                body = json.dumps(st.log).encode()
            return self.send_body(200, body, "application/json")
        with st.lock:
            st.log.append({"path": self.path, "headers": dict(self.headers.items())})
            route = st.routes.get(self.path[len("/feed/"):]) if self.path.startswith("/feed/") else None
        if route is None:
            return self.send_body(404, b"not found\n")
        getattr(self, "mode_" + route["mode"].replace("-", "_"))(route)

    def read_route_file(self, route):
        path = self.server.state.file(route["path"])
        with open(path, "rb") as f:
            return f.read(), os.stat(path).st_mtime

    def mode_ok(self, route, allow_gzip=False):
        body, mtime = self.read_route_file(route)
        tag = etag_of(body)
        lm = email.utils.formatdate(mtime, usegmt=True)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if (inm is not None and inm == tag) or (inm is None and ims == lm):
            self.send_response(304)
            self.send_header("ETag", tag)
            self.send_header("Last-Modified", lm)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {"ETag": tag, "Last-Modified": lm}
        if allow_gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        self.send_body(200, body, headers=headers)

    def mode_gzip(self, route):
        self.mode_ok(route, allow_gzip=True)

    def mode_status(self, route):
        code = int(route.get("code", 500))
        self.send_body(code, ("error %d\n" % code).encode())

    def mode_hang(self, route):
        # Hold the connection open without a word until the client gives up.
        self.server.stopping.wait(120)
        self.close_connection = True

    def mode_truncate(self, route):
        body, _ = self.read_route_file(route)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    HTML = (b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>"
            b"<body><h1>Service Unavailable</h1><p>example.com</p></body></html>\n")

    def mode_html(self, route):
        self.send_body(200, self.HTML, "text/html; charset=utf-8")

    def mode_html_text(self, route):
        self.send_body(200, b"\n  " + self.HTML, "text/plain")

    def mode_half(self, route):
        body, _ = self.read_route_file(route)
        lines = body.splitlines(keepends=True)
        self.send_body(200, b"".join(lines[: len(lines) // 2]))

    def mode_big(self, route):
        size = int(route.get("code", 1 << 20))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        sent, n = 0, 0
        try:
            while sent < size:
                chunk = b"".join(b"big-%08d.example.com\n" % (n + i) for i in range(4096))
                chunk = chunk[: size - sent]
                self.wfile.write(chunk)
                sent += len(chunk)
                n += 4096
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hit its cap and hung up, as it should
        self.close_connection = True

    def mode_bomb(self, route):
        size = int(route.get("code", 1 << 20))
        line = b"bomb.example.com\n"
        body = gzip.compress(line * (size // len(line) + 1), compresslevel=9)
        self.send_body(200, body, headers={"Content-Encoding": "gzip"})

    def mode_empty(self, route):
        self.send_body(200, b"")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that hangs up early (size cap, timeout) is part of the script.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def serve(root):
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(root)
    srv.stopping = threading.Event()

    def stop(*_):
        srv.stopping.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever(poll_interval=0.1)


class FeedServer:
    """Starts feedserver.py as a child process and talks to it over loopback."""

    def __init__(self, root):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), root],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            self.stop()
            raise RuntimeError("feedserver did not start")
        self.port = int(line[1])
        self.base = "http://127.0.0.1:%d" % self.port

    def url(self, name):
        return "%s/feed/%s" % (self.base, name)

    def route(self, name, mode, path=None, code=None):
        data = json.dumps({"name": name, "mode": mode, "path": path, "code": code}).encode()
        req = urllib.request.Request(self.base + "/_route", data=data, method="POST")
        with self._opener().open(req, timeout=5) as r:
            r.read()

    def log(self):
        with self._opener().open(self.base + "/_log", timeout=5) as r:
            return json.loads(r.read())

    @staticmethod
    def _opener():
        # Never a proxy from the environment: this is loopback only.
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: feedserver.py ROOT")
    serve(sys.argv[1])
