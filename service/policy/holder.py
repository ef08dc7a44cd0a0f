"""The live policy. Swapped atomically: readers take one reference and use it throughout."""

from __future__ import annotations

from pathlib import Path

from service.policy.compiled import Policy
from service.policy.loader import load_policy
from service.policy.yaml_source import PolicyError


class PolicyHolder:
    def __init__(self, path: Path, policy: Policy) -> None:
        self.path = path
        self._policy = policy
        # The last rejected reload's issues (file:line: path: message), until a reload succeeds.
        self.rejected: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path) -> PolicyHolder:
        return cls(path, load_policy(path))

    @property
    def current(self) -> Policy:
        return self._policy

    def reload(self) -> Policy:
        """Load and swap; on error the live policy stays and the PolicyError propagates."""
        try:
            policy = load_policy(self.path)
        except PolicyError as exc:
            self.rejected = tuple(str(i) for i in exc.issues)
            raise
        self._policy = policy  # a single reference assignment is atomic
        self.rejected = ()
        return policy
