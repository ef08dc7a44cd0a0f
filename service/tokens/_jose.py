"""The one place where the tokens package adapts joserfc to its needs."""

from __future__ import annotations

from joserfc.errors import UnsupportedAlgorithmError
from joserfc.jwa import JWSAlgModel
from joserfc.jws import JWSRegistry


class _PinnedRegistry(JWSRegistry):
    """A JWS registry that allows exactly the algorithms it was built with.

    joserfc emits a ``SecurityWarning`` on every use of "EdDSA" because RFC 9864 deprecates
    that name: it does not say which curve is meant. Our key ring admits only Ed25519 keys
    and pins the algorithm per kid, so that ambiguity cannot arise here; the warning would
    be noise on the hot path (and an error wherever warnings are errors, as in our tests).
    ``get_alg`` is otherwise the library's: unknown or unlisted names are refused.
    """

    def get_alg(self, name: str) -> JWSAlgModel:
        if not self.allowed or name not in self.allowed or name not in self.algorithms:
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not allowed")
        return self.algorithms[name]


def pinned_registry(alg: str) -> JWSRegistry:
    return _PinnedRegistry(algorithms=[alg])


def algorithm(alg: str) -> JWSAlgModel:
    return pinned_registry(alg).get_alg(alg)
