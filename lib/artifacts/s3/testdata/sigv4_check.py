"""SigV4 checking shared by the loopback AWS stand-ins (sigv4_server.py for S3,
services/events/sensors/triggers/testdata/lambda_server.py for Lambda).

verify() recomputes a request's Authorization signature with botocore over the
headers the client signed (its own x-amz-date as the timestamp) and returns
None when it matches, else a short reason. For service "s3" it also requires a
signed x-amz-content-sha256 that matches the body (or is UNSIGNED-PAYLOAD), and
signs with S3SigV4Auth as S3 does.
"""
import hashlib
import re

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")


def verify(handler, body, access_key, secret_key, want_region, want_service):
    m = AUTH_RE.match(handler.headers.get("Authorization", ""))
    if not m:
        return "no SigV4 Authorization header"
    access, date, region, service, signed, signature = m.groups()
    if access != access_key or region != want_region or service != want_service:
        return "wrong credential scope %s/%s/%s" % (access, region, service)
    amz_date = handler.headers.get("X-Amz-Date", "")
    if not amz_date.startswith(date):
        return "x-amz-date does not match the credential scope"
    if service == "s3":
        declared = handler.headers.get("x-amz-content-sha256")
        if declared is None:
            return "no x-amz-content-sha256 header (S3 requires one)"
        if "x-amz-content-sha256" not in signed.split(";"):
            return "x-amz-content-sha256 is not signed"
        if declared != "UNSIGNED-PAYLOAD" and declared != hashlib.sha256(body).hexdigest():
            return "x-amz-content-sha256 does not match the body"
    req = AWSRequest(method=handler.command,
                     url="http://%s%s" % (handler.headers["Host"], handler.path),
                     data=body)
    for name in signed.split(";"):
        value = handler.headers.get(name)
        if value is None:
            return "signed header %s missing" % name
        req.headers[name] = value
    req.context["timestamp"] = amz_date
    auth_class = S3SigV4Auth if service == "s3" else SigV4Auth
    auth = auth_class(Credentials(access_key, secret_key), service, want_region)
    canonical = auth.canonical_request(req)
    expected = auth.signature(auth.string_to_sign(req, canonical), req)
    if expected != signature:
        return "signature mismatch"
    return None
