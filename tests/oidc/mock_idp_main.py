"""Runs ``oidc-provider-mock`` on a loopback port (a child process of the tests).

Usage: python mock_idp_main.py '<json list of {"sub": ..., "claims": {...}}>'
Prints the port on the first line of stdout, then serves until killed.
"""

from __future__ import annotations

import json
import sys
import warnings

# The mock imports a deprecated authlib module; its warning is not ours to act on.
warnings.simplefilter("ignore")

import oidc_provider_mock  # noqa: E402
import werkzeug.serving  # noqa: E402


def main() -> None:
    users = [oidc_provider_mock.User(sub=u["sub"], claims=u["claims"]) for u in json.loads(sys.argv[1])]
    app = oidc_provider_mock.app(user_claims=users, require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever(0.1)


if __name__ == "__main__":
    main()
