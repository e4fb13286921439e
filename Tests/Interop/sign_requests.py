#!/usr/bin/env python3
"""Signs requests with the third-party `requests-http-signature` package, offline, for the SynHTTPSig interop test.

Install: python3 -m pip install requests-http-signature   (add --break-system-packages on a Debian-managed python)

Usage: sign_requests.py --seed HEX32 --other-seed HEX32 --now UNIX_SECONDS [--url POST_URL] [--get-url GET_URL]
Prints one JSON object: {"library": version, "keyid": ..., "cases": [{"name", "expect", "method", "url",
"headers": [[name, value], ...], "body_b64"}]}. "expect" is "ok" or the error code the Swift verifier must return.
No request is ever sent: each is built with requests.Request(...).prepare() and signed in place.
Exit status 3 when the package (or cryptography) is missing, so the caller can tell "not installed" from a bug.
"""

import argparse
import base64
import datetime
import hashlib
import json
import sys

try:
    import requests
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from importlib.metadata import version
    from requests_http_signature import HTTPSignatureAuth, algorithms
except ImportError as error:  # pragma: no cover - reported to the Swift test
    print(f"missing python package: {error}", file=sys.stderr)
    sys.exit(3)

URL = "http://127.0.0.1:7420/v1/apps/hello/echo"  # POST cases (--url)
GET_URL = URL  # GET cases (--get-url); a live gateway verifies GETs on /v1/admin/apps
BODY = b'{"message":"hello","n":1}'


def private_key(seed_hex):
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))


def pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def key_id(key):
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def make_auth(signing_key, keyid, created, *, nonce=False, include_alg=True):
    """HTTPSignatureAuth with a fixed created time (the library otherwise uses the wall clock)."""

    class FixedClockAuth(HTTPSignatureAuth):
        def get_created(self, request):
            moment = datetime.datetime.fromtimestamp(created, tz=datetime.timezone.utc)
            self.add_date(request, timestamp=created)
            return moment

    return FixedClockAuth(signature_algorithm=algorithms.ED25519, key=pem(signing_key), key_id=keyid,
                          covered_component_ids=("@method", "@authority", "@target-uri"),
                          use_nonce=nonce, include_alg=include_alg)


def signed(method, url, body, auth):
    request = requests.Request(method, url, data=body,
                               headers={"Content-Type": "application/json"} if body else {}).prepare()
    auth(request)
    return request


def case(name, expect, request, *, url=None, body=None):
    raw = request.body if body is None else body
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    return {
        "name": name,
        "expect": expect,
        "method": request.method,
        "url": url or request.url,
        "headers": [[k, v] for k, v in request.headers.items()],
        "body_b64": base64.b64encode(raw or b"").decode("ascii"),
    }


def main():
    global URL, GET_URL
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", required=True)
    parser.add_argument("--other-seed", required=True)
    parser.add_argument("--now", type=int, required=True)
    parser.add_argument("--url", default=URL)
    parser.add_argument("--get-url", default=None)
    args = parser.parse_args()
    URL = args.url
    GET_URL = args.get_url or args.url

    key = private_key(args.seed)
    other = private_key(args.other_seed)
    kid = key_id(key)
    now = args.now
    cases = []

    cases.append(case("get", "ok", signed("GET", GET_URL, None, make_auth(key, kid, now))))
    cases.append(case("get-nonce", "ok", signed("GET", GET_URL, None, make_auth(key, kid, now, nonce=True))))
    cases.append(case("get-query", "ok",
                      signed("GET", GET_URL + "?a=1&b=two", None, make_auth(key, kid, now - 60, nonce=True))))
    cases.append(case("post", "ok", signed("POST", URL, BODY, make_auth(key, kid, now, nonce=True))))
    cases.append(case("post-no-alg", "ok",
                      signed("POST", URL, BODY, make_auth(key, kid, now + 20, include_alg=False))))

    tampered = signed("POST", URL, BODY, make_auth(key, kid, now, nonce=True))
    cases.append(case("tampered-body", "signature_digest_mismatch", tampered, body=BODY.replace(b"1", b"2")))

    rehashed = signed("POST", URL, BODY, make_auth(key, kid, now, nonce=True))
    new_body = BODY.replace(b"1", b"2")
    rehashed.headers["Content-Digest"] = "sha-256=:" + base64.b64encode(hashlib.sha256(new_body).digest()).decode() + ":"
    cases.append(case("tampered-body-and-digest", "signature_bad_signature", rehashed, body=new_body))

    moved = signed("GET", GET_URL, None, make_auth(key, kid, now, nonce=True))
    cases.append(case("tampered-url", "signature_bad_signature", moved, url=GET_URL + "?tampered=1"))

    cases.append(case("wrong-key", "signature_bad_signature",
                      signed("POST", URL, BODY, make_auth(other, kid, now, nonce=True))))
    cases.append(case("stale", "signature_stale", signed("GET", GET_URL, None, make_auth(key, kid, now - 1000))))
    cases.append(case("future", "signature_stale", signed("GET", GET_URL, None, make_auth(key, kid, now + 1000))))

    json.dump({"library": version("requests-http-signature"), "keyid": kid, "cases": cases}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
