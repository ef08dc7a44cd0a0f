"""Each use case receives the roles and collaborators it touches, so its signature says what it
may touch: no function in service/flows takes the composition root's ``Services``, nor a whole
store (every role at once), and no dependency bundle holds either."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

import service.flows
from service.api.services import Services
from service.store.memory import MemoryStore
from service.store.redis import RedisStore

WHOLE = (Services, MemoryStore, RedisStore)


def _mentions(annotation: Any) -> bool:
    """Whether a type, or any type inside it (unions, generics), is one of WHOLE."""
    if annotation in WHOLE:
        return True
    return any(_mentions(arg) for arg in typing.get_args(annotation))


def _flow_modules() -> Iterator[types.ModuleType]:
    for info in pkgutil.iter_modules(service.flows.__path__):
        yield importlib.import_module(f"service.flows.{info.name}")


def _functions() -> Iterator[tuple[str, Callable[..., Any]]]:
    for module in _flow_modules():
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
            elif inspect.isclass(obj):
                for method_name, method in vars(obj).items():
                    if inspect.isfunction(method):
                        yield f"{module.__name__}.{name}.{method_name}", method


def _bundles() -> Iterator[tuple[str, type[Any]]]:
    for module in _flow_modules():
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == module.__name__ and dataclasses.is_dataclass(obj):
                yield f"{module.__name__}.{name}", obj


def test_the_check_recognises_what_it_forbids() -> None:
    def takes_everything(svc: Services | None, store: MemoryStore | RedisStore) -> None: ...

    hints = typing.get_type_hints(takes_everything)
    assert _mentions(hints["svc"]) and _mentions(hints["store"])
    assert not _mentions(int | None)


def test_no_flow_function_takes_services_or_a_whole_store() -> None:
    functions = dict(_functions())
    assert len(functions) > 80  # every module of service/flows was read
    offenders = [
        f"{name}({param})"
        for name, fn in functions.items()
        for param, annotation in typing.get_type_hints(fn).items()
        if _mentions(annotation)
    ]
    assert offenders == []


def test_no_dependency_bundle_holds_services_or_a_whole_store() -> None:
    bundles = dict(_bundles())
    assert {"CheckFlow", "TokenFlow", "DecisionFlow", "WorkerFlow"} <= {n.rsplit(".", 1)[1] for n in bundles}
    offenders = [
        f"{name}.{field}"
        for name, cls in bundles.items()
        for field, annotation in typing.get_type_hints(cls).items()
        if _mentions(annotation)
    ]
    assert offenders == []
