"""The live policy. Swapped atomically: readers take one reference and use it throughout."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from service.policy.compiled import Policy
from service.policy.loader import load_policy
from service.policy.yaml_source import Issue, PolicyError


class PolicyHolder:
    def __init__(self, path: Path, policy: Policy) -> None:
        self.path = path
        self._policy = policy
        # The last rejected reload's issues (file:line: path: message), until a reload succeeds.
        # /readyz shows them, to anyone: files are named relative to the policy path.
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
            self.rejected = tuple(str(self._shown(i)) for i in exc.issues)
            raise
        self._policy = policy  # a single reference assignment is atomic
        self.rejected = ()
        return policy

    def _shown(self, issue: Issue) -> Issue:
        """The issue with its file named inside the policy path, not by the server's folders."""
        file = Path(issue.file)
        try:
            name = file.relative_to(self.path).as_posix() if self.path.is_dir() else file.name
        except ValueError:  # not under the policy path (cannot happen today): the name alone
            name = file.name
        return replace(issue, file=name if name not in ("", ".") else self.path.name)
