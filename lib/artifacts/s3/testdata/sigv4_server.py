"""A loopback S3 stand-in that checks every request's SigV4 signature with botocore.

Usage: sigv4_server.py PORT RECORD_FILE ACCESS_KEY SECRET_KEY REGION

Each request's Authorization header is recomputed with botocore's S3SigV4Auth
over the headers the client signed (its own x-amz-date as the timestamp) and
compared with the one received; a declared payload hash must also match the
body (or be UNSIGNED-PAYLOAD). A mismatch answers 403 with an S3 error body.
Accepted requests are recorded to RECORD_FILE as one JSON line each
({method, path, signed_headers, payload_hash, body_size}) and answered as a
tiny in-memory S3 would: PUT stores, GET/HEAD read, DELETE removes, multipart
uploads assemble, ListObjectsV2 lists (one page).
"""
import http.server
import json
import os
import sys
import threading
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sigv4_check import AUTH_RE, verify  # noqa: E402

PORT, RECORD, ACCESS, SECRET, REGION = sys.argv[1:6]
OBJECTS = {}
UPLOADS = {}
LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body=b"", content_type="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        body = b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        problem = verify(self, body, ACCESS, SECRET, REGION, "s3")
        if problem:
            sys.stderr.write("sigv4_server: refused %s %s: %s\n" %
                             (self.command, self.path, problem))
            return self.answer(403, (
                "<Error><Code>SignatureDoesNotMatch</Code><Message>%s</Message></Error>" %
                problem).encode())
        m = AUTH_RE.match(self.headers["Authorization"])
        with open(RECORD, "a") as f:
            f.write(json.dumps({
                "method": self.command,
                "path": self.path,
                "signed_headers": m.group(5),
                "payload_hash": self.headers.get("x-amz-content-sha256"),
                "body_size": len(body),
            }) + "\n")
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query, keep_blank_values=True)
        with LOCK:
            if self.command == "POST" and "uploads" in query:
                UPLOADS[path] = {}
                return self.answer(200, (
                    "<InitiateMultipartUploadResult><UploadId>id/+=%s</UploadId>"
                    "</InitiateMultipartUploadResult>" % len(UPLOADS)).encode())
            if self.command == "PUT" and "partNumber" in query:
                UPLOADS[path][int(query["partNumber"][0])] = body
                self.send_response(200)
                self.send_header("ETag", '"p%s"' % query["partNumber"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.command == "POST" and "uploadId" in query:
                parts = UPLOADS.pop(path)
                OBJECTS[path] = b"".join(parts[k] for k in sorted(parts))
                return self.answer(200, b"<CompleteMultipartUploadResult/>")
            if self.command == "GET" and "list-type" in query:
                bucket = path.rstrip("/")
                prefix = query.get("prefix", [""])[0]
                entries = "".join(
                    "<Contents><Key>%s</Key><Size>%d</Size></Contents>" %
                    (escape(unquote(k[len(bucket) + 1:])), len(v))
                    for k, v in sorted(OBJECTS.items())
                    if unquote(k[len(bucket) + 1:]).startswith(prefix))
                return self.answer(200, (
                    "<ListBucketResult><IsTruncated>false</IsTruncated>%s</ListBucketResult>" %
                    entries).encode())
            if self.command == "PUT":
                OBJECTS[path] = body
                return self.answer(200)
            if self.command == "DELETE":
                OBJECTS.pop(path, None)
                return self.answer(204)
            if path not in OBJECTS:
                return self.answer(404, b"<Error><Code>NoSuchKey</Code></Error>")
            return self.answer(200, OBJECTS[path], "application/octet-stream")

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_any

    def log_message(self, fmt, *args):
        sys.stderr.write("sigv4_server: " + (fmt % args) + "\n")


http.server.ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler).serve_forever()
