"""Runs ``oidc-provider-mock`` on a loopback port (a child process of the tests).

Usage: python mock_idp_main.py '<json list of {"sub": ..., "claims": {...}}>' [--claims-at-userinfo-only]
Prints the port on the first line of stdout, then serves until killed.

``--claims-at-userinfo-only`` makes the mock a strictly conforming provider in the sense of
OpenID Connect Core §5.4: with the authorization code flow an access token is issued, so the
scope claims (``birthdate`` of ``profile``, and the users' other claims) are returned from the
UserInfo endpoint only, never in the ID token. The mock has no setting for this; its ID token
takes its claims from ``OpenIDCode.generate_user_info`` (authlib) while its UserInfo endpoint
reads the user directly, so that one method is narrowed to ``sub``.
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
    if "--claims-at-userinfo-only" in sys.argv[2:]:
        from oidc_provider_mock import _app

        def sub_only(self: object, user: _app.User, scope: str) -> dict[str, object]:
            return {"sub": user.sub}

        _app.OpenIDCode.generate_user_info = sub_only  # type: ignore[method-assign,assignment]
    users = [oidc_provider_mock.User(sub=u["sub"], claims=u["claims"]) for u in json.loads(sys.argv[1])]
    app = oidc_provider_mock.app(user_claims=users, require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever(0.1)


if __name__ == "__main__":
    main()
