"""One way for every configuration to check its fields and name the wrong one.

A config's allowed values are data beside it (`LIMITS`: numeric ranges, `CHOICES`: closed sets
of values), read by its own validation and by whatever offers the field to a user (the Train
tab's spin boxes and combo boxes, the command line's help). `FieldChecks(config)` reads the
config's fields and raises "Config.field: what is wrong, got value" on the first bad one.

The error type is the caller's: `InvalidConfig` for the networks' configs; the application
passes a factory for its own error type (`field_error(ConfigError)`).
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ErrorFactory = Callable[[str, str, str], Exception]
"""(config name, field, message) -> the exception to raise."""


def field_message(config: str, field: str, message: str) -> str:
    """ "Config.field: message"; with config "" (a top-level object's keys), "field: message"."""
    return f"{config}.{field}: {message}" if config else f"{field}: {message}"


class InvalidConfig(ValueError):
    """A configuration field with a bad value. `field` names it."""

    def __init__(self, config: str, field: str, message: str) -> None:
        super().__init__(field_message(config, field, message))
        self.config = config
        self.field = field
        self.message = message


def field_error(error_type: Callable[[str], Exception]) -> ErrorFactory:
    """An `ErrorFactory` for an exception type that takes one message."""

    def make(config: str, field: str, message: str) -> Exception:
        return error_type(field_message(config, field, message))

    return make


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Limits:
    """The allowed values of a number: `low` ≤ value ≤ `high` (strict at an open end; None: no
    bound). `integer` values must be ints; other values must be finite numbers; a bool is
    neither (True is an int to Python, not to a configuration). `why`, when given, ends the
    message (a reason or a hint)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    why: str = ""

    def allows(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.integer:
            if not isinstance(value, int):
                return False
        elif not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def closed(self, step: float, unbounded: float) -> tuple[float, float]:
        """The closed range a widget counting in `step`s can offer (a spin box): an open end
        moves one step inside; a missing bound becomes ±`unbounded`, the widget's own end."""
        low = -unbounded if self.low is None else self.low + step * self.low_open
        high = unbounded if self.high is None else self.high - step * self.high_open
        return low, high

    def describe(self) -> str:
        """What `allows` accepts, in words: "a positive integer", "in (0, 1]", ..."""
        kind = "an integer" if self.integer else "a finite number"
        low, high = self.low, self.high
        if low is None and high is None:
            return kind
        if high is None:
            if self.integer and low == 1 and not self.low_open:
                return "a positive integer"
            return f"{kind} {'>' if self.low_open else '≥'} {_number(low)}"
        if low is None:
            return f"{kind} {'<' if self.high_open else '≤'} {_number(high)}"
        if self.integer and not (self.low_open or self.high_open):
            return f"an integer from {low} to {high}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{_number(low)}, {_number(high)}{right}"


class FieldChecks:
    """Checks of one config object's fields; each failure names the config and the field."""

    def __init__(self, config: object, error: ErrorFactory = InvalidConfig) -> None:
        self.config = config
        self.name = type(config).__name__
        self.error = error

    def require(self, ok: bool, field: str, message: str) -> None:
        if not ok:
            raise self.error(self.name, field, message)

    def within(self, field: str, limits: Limits) -> None:
        value = getattr(self.config, field)
        why = f"; {limits.why}" if limits.why else ""
        self.require(
            limits.allows(value), field, f"must be {limits.describe()}, got {value!r}{why}"
        )

    def one_of(self, field: str, choices: Iterable[Any]) -> None:
        value = getattr(self.config, field)
        choices = tuple(choices)
        self.require(
            value in choices,
            field,
            f"unknown {field} {value!r}; expected one of {', '.join(map(str, choices))}",
        )

    def table(
        self,
        limits: Mapping[str, Limits] | None = None,
        choices: Mapping[str, Iterable[Any]] | None = None,
    ) -> None:
        """Every field of a `CHOICES` table, then every field of a `LIMITS` table, in order."""
        for field, allowed in (choices or {}).items():
            self.one_of(field, allowed)
        for field, field_limits in (limits or {}).items():
            self.within(field, field_limits)


class WrongType(ValueError):
    """A value of the wrong type for its field (from JSON or a flag); `expected` says what the
    field takes, in words."""

    def __init__(self, expected: str, value: Any) -> None:
        super().__init__(f"expected {expected}, got {describe_value(value)}")
        self.expected = expected


def describe_value(value: Any) -> str:
    """A value and its JSON kind, for messages: "'false' (a string)", "True (a boolean)"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"  # as JSON spells it
    elif isinstance(value, (int, float)):
        kind = "a number"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, (list, tuple)):
        kind = "a list"
    elif isinstance(value, dict):
        kind = "an object"
    else:
        kind = type(value).__name__
    text = repr(value)
    return f"{text if len(text) <= 60 else text[:57] + '...'} ({kind})"


def optional_inner(hint: Any) -> Any | None:
    """X for a hint `X | None` (None for any other hint)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0]
    return None


def typed(value: Any, hint: Any) -> Any:
    """`value` as a field annotated `hint` holds it, strictly: a bool must be a bool, an int an
    int (not a bool), a float a number (an int becomes a float; a bool is refused), a str a
    str, a tuple of ints a list or tuple of ints (it becomes a tuple); `X | None` also takes
    None. Raises `WrongType` naming what was expected."""
    inner = optional_inner(hint)
    if inner is not None:
        return None if value is None else typed(value, inner)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise WrongType("true or false (a boolean)", value)
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise WrongType("an integer", value)
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise WrongType("a number", value)
    if hint is str:
        if isinstance(value, str):
            return value
        raise WrongType("a string", value)
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        if isinstance(value, (list, tuple)):
            try:
                return tuple(typed(v, item) for v in value)
            except WrongType:
                pass
        raise WrongType(f"a list of {_plural(item)}", value)
    raise TypeError(f"no type check for fields of type {hint!r}")


def _plural(hint: Any) -> str:
    return {bool: "booleans", int: "integers", float: "numbers", str: "strings"}.get(
        hint, str(hint)
    )


POSITIVE_INT = Limits(low=1, integer=True)
NON_NEGATIVE_INT = Limits(low=0, integer=True)
NON_NEGATIVE = Limits(low=0)

__all__ = [
    "NON_NEGATIVE",
    "NON_NEGATIVE_INT",
    "POSITIVE_INT",
    "ErrorFactory",
    "FieldChecks",
    "InvalidConfig",
    "Limits",
    "WrongType",
    "describe_value",
    "field_error",
    "field_message",
    "optional_inner",
    "typed",
]
