"""The bound logger every ageband logger is made of: structlog's filtering bound logger, with a
shorter path for ``info``.

Its own module, so that the audit chain (service.audit.chain) and the logging set-up
(service.audit.logging), which both use it, need not import each other: the set-up builds on the
chain, never the reverse (an import-linter contract in pyproject.toml keeps it so).
"""

from __future__ import annotations

from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger

_INFO = 20
_CLASSES: dict[int, type[FilteringBoundLogger]] = {}


def bound_logger_class(min_level: int) -> type[FilteringBoundLogger]:
    """structlog's filtering bound logger, with a shorter path for ``info``.

    ``info`` is the level of the request line and of every audit event, so it runs on every
    request: the override hands its keywords to the processor chain as they come, where the
    generic path re-packs them twice and copies them once more (a fifth of a line's cost).
    Other levels, and ``info`` with positional arguments, keep structlog's own path.
    """
    cls = _CLASSES.get(min_level)
    if cls is not None:
        return cls
    base = structlog.make_filtering_bound_logger(min_level)
    if min_level > _INFO:
        cls = base
    else:

        class BoundLogger(base):  # type: ignore[valid-type,misc]  # a class made at run time
            def info(self, event: str, *args: Any, **kw: Any) -> Any:
                if args:
                    return super().info(event, *args, **kw)
                if self._context:
                    kw = {**self._context, **kw}
                kw["event"] = event
                try:
                    for processor in self._processors:
                        kw = processor(self._logger, "info", kw)
                except structlog.DropEvent:
                    return None
                # What the last processor returned, passed on as structlog passes it.
                if isinstance(kw, str | bytes | bytearray):
                    return self._logger.info(kw)
                if isinstance(kw, tuple):
                    return self._logger.info(*kw[0], **kw[1])
                return self._logger.info(**kw)

        cls = BoundLogger
    _CLASSES[min_level] = cls
    return cls
