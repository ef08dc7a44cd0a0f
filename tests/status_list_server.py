"""Status List Tokens made by the ``token-status-list`` package, served on loopback.

The package (an independent implementation of draft-ietf-oauth-status-list) builds the list:
its bits, ZLIB compression, base64url, the ``statuslist+jwt`` header and the claims. Its
``signed_jwt_token`` writes the signature as a Python bytes literal (``b'...'``), so the signature
is appended here instead: ES256 over the package's signing input, made with ``cryptography``.
``StatusListServer`` serves any body at any path from a thread of the test process and counts
the requests it gets, so a test can prove that a URI was, or was never, fetched.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from token_status_list import IssuerStatusList

VALID, INVALID, SUSPENDED = 0x00, 0x01, 0x02


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def es256(key: ec.EllipticCurvePrivateKey, signing_input: bytes) -> str:
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def status_list(bits: int, statuses: dict[int, int], size: int = 1024) -> IssuerStatusList:
    lst = IssuerStatusList.new(bits, size, strategy="linear")  # type: ignore[arg-type]
    for idx, value in statuses.items():
        lst[idx] = value  # type: ignore[assignment]
    return lst


def list_token(
    lst: IssuerStatusList,
    uri: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    iat: int,
    exp: int | None = None,
    ttl: int | None = None,
    **claims: Any,
) -> str:
    """A Status List Token for ``uri``, made by the package and signed with ``key``."""
    signing_input = lst.sign_jwt_payload(
        alg="ES256", kid="status-key", iss="https://issuer.ageband.test", sub=uri, iat=iat, exp=exp, ttl=ttl,
        **claims,
    )  # fmt: skip
    return signing_input.decode() + "." + es256(key, signing_input)


def signed_token(header: dict[str, Any], payload: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> str:
    """A token made by hand, for what the package cannot make (an x5c header, a wrong typ...)."""
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return signing_input + "." + es256(key, signing_input.encode())


def x5c(chain: list[x509.Certificate]) -> list[str]:
    return [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain]


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass
class StatusListServer:
    base: str = ""
    # path -> (status code, body)
    routes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    accepts: list[str] = field(default_factory=list)

    def serve(self, path: str, token: str | bytes, status: int = 200) -> str:
        """Serve ``token`` at ``path``; returns its URI."""
        self.routes[path] = (status, token.encode() if isinstance(token, str) else token)
        return self.base + path

    def uri(self, path: str) -> str:
        return self.base + path


@contextmanager
def status_list_server() -> Iterator[StatusListServer]:
    server = StatusListServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.hits[self.path] += 1
            server.accepts.append(self.headers.get("accept", ""))
            status, body = server.routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("content-type", "application/statuslist+jwt")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
