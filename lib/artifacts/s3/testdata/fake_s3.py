"""A misbehaving loopback S3 for the client's failure paths (no signatures).

Usage: fake_s3.py PORT MODE RECORD_FILE
  flaky    each (method, path)'s first request answers 500, the second 503
           SlowDown; then PUT stores, GET/HEAD read, DELETE removes
  forever  every request answers 503 SlowDown
  cut      a GET's first answer promises the whole object but sends half and
           closes; later ones honour Range (206)
  hostile  list answers chosen by the prefix (deep, unterminated, entity,
           loop, binary, huge, notlist, badsize); any other request answers
           404 with a body that is not XML
Every request is recorded to RECORD_FILE as "METHOD PATH RANGE" lines.
"""
import http.server
import os
import sys
import threading
from urllib.parse import parse_qs, urlsplit

PORT, MODE, RECORD = int(sys.argv[1]), sys.argv[2], sys.argv[3]
OBJECTS = {}
SEEN = {}
LOCK = threading.Lock()

HOSTILE = {
    "deep": b"<ListBucketResult>" + b"<a>" * 200000,
    "unterminated": b"<ListBucketResult><Contents><Key>a",
    "entity": b"<!DOCTYPE x [<!ENTITY a 'b'>]><ListBucketResult>&a;</ListBucketResult>",
    "loop": (b"<ListBucketResult><IsTruncated>true</IsTruncated>"
             b"<NextContinuationToken></NextContinuationToken></ListBucketResult>"),
    "binary": bytes(range(256)) * 64,
    "notlist": b"<Something><Contents><Key>x</Key></Contents></Something>",
    "badsize": b"<ListBucketResult><Contents><Key>x</Key><Size>-12z</Size></Contents></ListBucketResult>",
    "badentity": b"<ListBucketResult><Contents><Key>&#xD800;</Key></Contents></ListBucketResult>",
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def slow_down(self):
        self.answer(503, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate."
                    b"</Message></Error>")

    def read_body(self):
        if self.headers.get("Expect", "").lower() == "100-continue":
            pass  # http.server already answered 100 Continue
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def handle_any(self):
        with open(RECORD, "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Range", "-")))
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if MODE == "forever":
            self.read_body()
            return self.slow_down()
        if MODE == "hostile":
            self.read_body()
            if "list-type" in query:
                which = query.get("prefix", [""])[0]
                if which == "huge":
                    return self.answer(200, b"<ListBucketResult>" + b" " * (40 << 20))
                return self.answer(200, HOSTILE.get(which, b"<"))
            return self.answer(404, b"\x00\xff<<<not xml &bogus; <Error><Code>")
        body = self.read_body()
        with LOCK:
            n = SEEN.get((self.command, url.path), 0)
            SEEN[(self.command, url.path)] = n + 1
        if MODE == "flaky" and n == 0:
            return self.answer(500, b"<Error><Code>InternalError</Code></Error>")
        if MODE == "flaky" and n == 1:
            return self.slow_down()
        if self.command == "PUT":
            OBJECTS[url.path] = body
            return self.answer(200, headers={"ETag": '"e"'})
        if self.command == "DELETE":
            OBJECTS.pop(url.path, None)
            return self.answer(204)
        data = OBJECTS.get(url.path)
        if data is None:
            return self.answer(404, b"<Error><Code>NoSuchKey</Code></Error>")
        rng = self.headers.get("Range")
        if MODE == "cut" and n == 0 and self.command == "GET":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            return self.answer(206, data[start:], {
                "Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data))})
        return self.answer(200, data)

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_any

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
