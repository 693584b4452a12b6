"""A loopback stand-in for Lambda's Invoke API that checks SigV4 with botocore.

Usage: lambda_server.py PORT RECORD_FILE ACCESS_KEY SECRET_KEY REGION [STATUS]
Every request's signature is recomputed with botocore's SigV4Auth over the
headers the client signed (its own x-amz-date as the timestamp) and compared
with the one received: a mismatch answers 403. Accepted requests are appended
to RECORD_FILE as one JSON line each and answered STATUS (default 200).
"""
import http.server
import json
import re
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

PORT, RECORD, ACCESS, SECRET, REGION = sys.argv[1:6]
STATUS = int(sys.argv[6]) if len(sys.argv) > 6 else 200
AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")


def verify(handler, body):
    m = AUTH_RE.match(handler.headers.get("Authorization", ""))
    if not m:
        return "no SigV4 Authorization header"
    access, date, region, service, signed, signature = m.groups()
    if access != ACCESS or region != REGION or service != "lambda":
        return "wrong credential scope %s/%s/%s" % (access, region, service)
    amz_date = handler.headers.get("X-Amz-Date", "")
    if not amz_date.startswith(date):
        return "x-amz-date does not match the credential scope"
    req = AWSRequest(method=handler.command,
                     url="http://%s%s" % (handler.headers["Host"], handler.path),
                     data=body)
    for name in signed.split(";"):
        value = handler.headers.get(name)
        if value is None:
            return "signed header %s missing" % name
        req.headers[name] = value
    req.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(ACCESS, SECRET), service, REGION)
    canonical = auth.canonical_request(req)
    expected = auth.signature(auth.string_to_sign(req, canonical), req)
    if expected != signature:
        return "signature mismatch"
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        problem = verify(self, body)
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
