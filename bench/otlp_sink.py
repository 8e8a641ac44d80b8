#!/usr/bin/env python3
"""The collectors of bench/tracing.sh: an OTLP/HTTP traces receiver (POST /v1/traces: counts
the requests, bytes and spans, walking the protobuf: ExportTraceServiceRequest.resource_spans(1)
-> ResourceSpans.scope_spans(2) -> ScopeSpans.spans(2)) and an audit collector (any other POST:
JSON lines, counted); writes the counts on SIGTERM.
Usage: otlp_sink.py PORT COUNTS_FILE"""
import signal, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {"posts": 0, "bytes": 0, "spans": 0, "audit_posts": 0, "audit_entries": 0}
lock = threading.Lock()


def varint(b, i):
    shift = v = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, i
        shift += 7


def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            _, i = varint(b, i); yield num, None
        elif wt == 1:
            i += 8; yield num, None
        elif wt == 5:
            i += 4; yield num, None
        elif wt == 2:
            n, i = varint(b, i); yield num, b[i:i + n]; i += n
        else:
            raise ValueError(wt)


def spans(body):
    n = 0
    for f, rs in fields(body):
        if f == 1:
            for g, ss in fields(rs):
                if g == 2:
                    n += sum(1 for h, _ in fields(ss) if h == 2)
    return n


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/v1/traces":
            n = spans(body)
            with lock:
                counts["posts"] += 1; counts["bytes"] += len(body); counts["spans"] += n
        else:
            n = sum(1 for line in body.splitlines() if line.strip())
            with lock:
                counts["audit_posts"] += 1; counts["audit_entries"] += n
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)


def stop(*_):
    with open(sys.argv[2], "w") as f:
        f.write(" ".join(f"{k}={v}" for k, v in counts.items()) + "\n")
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
server.serve_forever()
