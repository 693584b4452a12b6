"""A loopback stand-in for Lambda's Invoke API that checks SigV4 with botocore.

Usage: lambda_server.py PORT RECORD_FILE ACCESS_KEY SECRET_KEY REGION [STATUS]
Every request's signature is recomputed with botocore's SigV4Auth over the
headers the client signed (its own x-amz-date as the timestamp) and compared
with the one received: a mismatch answers 403. Accepted requests are appended
to RECORD_FILE as one JSON line each and answered STATUS (default 200).
"""
import http.server
import json
import os
import sys

# The SigV4 check is shared with the S3 stand-in; this script runs from the runfiles
# tree, where that module sits five directories up, under lib/artifacts/s3/testdata.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "../../../../../lib/artifacts/s3/testdata"))
from sigv4_check import verify  # noqa: E402

PORT, RECORD, ACCESS, SECRET, REGION = sys.argv[1:6]
STATUS = int(sys.argv[6]) if len(sys.argv) > 6 else 200


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        problem = verify(self, body, ACCESS, SECRET, REGION, "lambda")
        status = 403 if problem else STATUS
        if problem:
            sys.stderr.write("lambda_server: refused: %s\n" % problem)
        if not problem:
            with open(RECORD, "a") as f:
                f.write(json.dumps({
                    "path": self.path,
                    "invocationType": self.headers.get("X-Amz-Invocation-Type"),
                    "body": body.decode(),
                }) + "\n")
        answer = json.dumps({"message": problem or "ok"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, fmt, *args):
        sys.stderr.write("lambda_server: " + (fmt % args) + "\n")


http.server.ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler).serve_forever()
