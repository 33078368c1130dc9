"""How the wrapped function's signature hides the injected parameter and gains the run
config parameter, and how a call's arguments are mapped back onto the function.
"""

from __future__ import annotations

import inspect
import logging
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from .injection import _Injection, _injection_for

#: The keyword-only parameter added to the wrapper's signature so that LangChain passes the run
#: config (it fills any parameter annotated ``RunnableConfig`` and hides it from the schema).
CONFIG_PARAM = "agentrun_config"

log = logging.getLogger("agentrun_creds_plugin.integrations.tools")

_NO_CONFIG: Any = object()


# -- signatures --------------------------------------------------------------------------------
def _runnable_config_type() -> Any:
    try:
        from langchain_core.runnables import RunnableConfig
    except ImportError:  # plain functions work without LangChain
        return None
    return RunnableConfig


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations; one that cannot be resolved stays as written (a string)."""
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:  # an unresolvable forward reference: resolve the others one by one
        log.debug("annotations of %s: resolving one by one", getattr(func, "__qualname__", func))
    hints: dict[str, Any] = {}
    globalns = getattr(inspect.unwrap(func), "__globals__", {})
    for name, annotation in dict(getattr(func, "__annotations__", {})).items():
        probe = types.SimpleNamespace(__annotations__={name: annotation}, __globals__=globalns)
        try:
            hints[name] = typing.get_type_hints(probe, include_extras=True)[name]
        except Exception:
            hints[name] = annotation
    return hints


@dataclass(frozen=True)
class _Plan:
    """Everything decided at decoration time."""

    func: Callable[..., Any]
    signature: inspect.Signature  # the original, annotations resolved
    visible: inspect.Signature  # what LangChain (and help()) sees
    into: str
    config_param: str | None  # where LangChain puts the run config
    own_config: bool  # the function itself takes that parameter
    injection: _Injection
    annotations: dict[str, Any]


def _plan(func: Callable[..., Any], into: str) -> _Plan:
    where = f"{getattr(func, '__qualname__', func)!s}()"
    if not callable(func):
        raise TypeError(f"requires_credential: expected a function, got {type(func).__name__}")
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(
            f"requires_credential: {where} is a generator; the injected value is only valid "
            "during the call, so return a value instead of yielding"
        )
    try:
        original = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"requires_credential: cannot read the signature of {where}") from exc
    hints = _type_hints(func)
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in original.parameters.values()
    ]
    signature = original.replace(
        parameters=params, return_annotation=hints.get("return", original.return_annotation)
    )
    target = signature.parameters.get(into)
    if target is None:
        names = ", ".join(signature.parameters) or "none"
        raise TypeError(
            f"requires_credential: {where} has no parameter {into!r} to inject into; "
            f"pass into= one of its parameters ({names})"
        )
    if target.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
        raise TypeError(
            f"requires_credential: {into!r} of {where} is *args/**kwargs; inject into a named "
            "parameter"
        )
    is_async = inspect.iscoroutinefunction(func)
    injection = _injection_for(
        target.annotation, where=f"parameter {into!r} of {where}", is_async=is_async
    )

    config_type = _runnable_config_type()
    config_param: str | None = None
    own_config = False
    if config_type is not None:
        for p in signature.parameters.values():
            if p.name != into and p.annotation is config_type:
                config_param, own_config = p.name, True
                break
    visible = [p for p in signature.parameters.values() if p.name != into]
    if config_type is not None and config_param is None:
        config_param = CONFIG_PARAM
        while config_param in signature.parameters:
            config_param += "_"
        extra = inspect.Parameter(
            config_param, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=config_type
        )
        at = next(
            (i for i, p in enumerate(visible) if p.kind is inspect.Parameter.VAR_KEYWORD),
            len(visible),
        )
        visible.insert(at, extra)
    annotations = {
        p.name: p.annotation
        for p in signature.parameters.values()
        if p.annotation is not inspect.Parameter.empty
    }
    if config_param is not None and not own_config:
        annotations[config_param] = config_type
    if signature.return_annotation is not inspect.Signature.empty:
        annotations["return"] = signature.return_annotation
    return _Plan(
        func=func,
        signature=signature,
        visible=signature.replace(parameters=visible),
        into=into,
        config_param=config_param,
        own_config=own_config,
        injection=injection,
        annotations=annotations,
    )


def _call_args(
    plan: _Plan, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """Bind a call to the visible signature: (run config or _NO_CONFIG, arguments by name)."""
    try:
        bound = plan.visible.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{plan.func.__name__}(): {exc}") from None
    values = dict(bound.arguments)
    config: Any = _NO_CONFIG
    if plan.config_param is not None and plan.config_param in values:
        config = values[plan.config_param]
        if not plan.own_config:
            del values[plan.config_param]
        if config is None:
            config = _NO_CONFIG
    return config, values


def _invoke_args(
    plan: _Plan, values: dict[str, Any], injected: Any
) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for the original function, the injected one added."""
    values = {**values, plan.into: injected}
    params = list(plan.signature.parameters.values())
    var_pos = next(
        (i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_POSITIONAL), None
    )
    # Parameters that must go by position: positional-only ones, and every one before a
    # non-empty *args.
    cut = -1
    for i, p in enumerate(params):
        if p.kind is inspect.Parameter.POSITIONAL_ONLY and p.name in values:
            cut = i
    if var_pos is not None and values.get(params[var_pos].name):
        cut = var_pos
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for i, p in enumerate(params):
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            positional.extend(values.get(p.name, ()))
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            keywords.update(values.get(p.name, {}))
        elif i < cut:
            positional.append(values.get(p.name, p.default))
        elif p.name in values:
            if p.kind is inspect.Parameter.POSITIONAL_ONLY:
                positional.append(values[p.name])
            else:
                keywords[p.name] = values[p.name]
    return positional, keywords
