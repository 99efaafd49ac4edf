#!/usr/bin/env python3
"""Front for `prism mock` of GitHub's OpenAPI description (tests only).

Forwards every request to Prism, which validates it against GitHub's real schema (a bad
request gets 422 and the problems in the `sl-violations` header), and records it.
GitHub media types are not in the description: plain JSON is added to such Accept headers,
which Prism would otherwise answer with 406.
  GET  /__requests -> JSON list: method, path, query, body, status, violations
  POST /__reset    -> clear the record and the stubs
  POST /__stub     -> {"method":"GET","path":"<regex>","status":200,"body":...,"times":1}
                      answer matching requests with this body instead of Prism's example
                      (Prism is stateless; a test feeds the state a flow needs, e.g. an
                      existing comment). Still recorded.
Usage: gh_mock_proxy.py LISTEN_PORT UPSTREAM_PORT
"""
import http.client
import http.server
import json
import re
import sys
import threading
import urllib.parse

LISTEN, UPSTREAM = int(sys.argv[1]), int(sys.argv[2])
LOCK, RECORDS, STUBS = threading.Lock(), [], []
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
       "trailer", "host", "content-length"}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/__requests":
            with LOCK:
                return self._send(200, json.dumps(RECORDS).encode())
        if url.path == "/__reset":
            with LOCK:
                RECORDS.clear()
                STUBS.clear()
            return self._send(204, b"")
        if url.path == "/__stub":
            rule = json.loads(body)
            rule.setdefault("times", 1)
            with LOCK:
                STUBS.append(rule)
            return self._send(204, b"")
        with LOCK:
            stub = None
            for rule in STUBS:
                if rule["times"] != 0 and rule.get("method", "GET") == self.command \
                        and re.search(rule["path"], url.path):
                    rule["times"] -= 1
                    stub = rule
                    break
        if stub is not None:
            with LOCK:
                RECORDS.append({"method": self.command, "path": url.path, "query": url.query,
                                "body": None, "status": stub.get("status", 200), "violations": [],
                                "stub": True, "authorization": bool(self.headers.get("Authorization"))})
            return self._send(stub.get("status", 200), json.dumps(stub["body"]).encode())
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        for k in [k for k in headers if k.lower() == "accept"]:
            if "vnd.github" in headers[k] and "application/json" not in headers[k]:
                headers[k] += ", application/json"
        conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=60)
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data, status, rh = resp.read(), resp.status, resp.getheaders()
        except Exception as e:  # noqa: BLE001 - report any upstream failure as 502
            return self._send(502, json.dumps({"message": f"mock upstream error: {e}"}).encode())
        finally:
            conn.close()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        viol = dict((k.lower(), v) for k, v in rh).get("sl-violations") or "[]"
        rec = {"method": self.command, "path": url.path, "query": url.query, "body": parsed,
               "status": status, "violations": json.loads(viol),
               "authorization": bool(self.headers.get("Authorization"))}
        with LOCK:
            RECORDS.append(rec)
        self.send_response(status)
        for k, v in rh:
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


if __name__ == "__main__":
    http.server.ThreadingHTTPServer.daemon_threads = True
    http.server.ThreadingHTTPServer(("127.0.0.1", LISTEN), H).serve_forever()
