"""Typed settings at the stage boundary: a config slice parsed once into a frozen dataclass.

Every stage script receives its config slice as JSON (text on the command
line, or a small .json file that a local rule wrote under results/settings/)
and turns it into one frozen dataclass with `load_settings`. The library below
the stage boundary takes those objects, never dicts. A missing, unknown or
mistyped key fails here, naming the key and where it was read from, so a
hand-run stage with a typo never starts work.

Conventions of the settings classes (defined in each stage package's
`settings` module):
- fields are documented with their units in the class docstring;
- lists become tuples (the objects are frozen and hashable);
- a field whose config key is not a Python name (``pass``) gives the key in
  ``field(metadata={"key": ...})``;
- `as_dict` gives back the config slice exactly (JSON types, config keys, and
  only the keys the slice named: a default filled in by the class is not
  added), so provenance records and hashes are those of the config itself.

Standard library only: the Snakefile imports this package.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


GIVEN = "_settings_given"  # attribute holding the fields a parsed object's slice named


class SettingsError(ValueError):
    """A config slice that does not fit its settings class (names the key and the source)."""


def _key(f: dataclasses.Field) -> str:
    return f.metadata.get("key", f.name)


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _options(tp: Any) -> tuple[Any, ...]:
    """The members of a union type (X | None), or (tp,)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


def _convert(value: Any, tp: Any, where: str) -> Any:
    """`value` (JSON types) as an instance of the annotation `tp`; SettingsError naming `where` otherwise."""
    options = _options(tp)
    if value is None:
        if type(None) in options or tp is Any:
            return None
        raise SettingsError(f"{where}: null is not allowed (expected {_name(tp)})")
    errors = []
    for option in (o for o in options if o is not type(None)):
        try:
            return _convert_one(value, option, where)
        except SettingsError as err:
            errors.append(err)
    raise errors[0] if len(errors) == 1 else SettingsError(f"{where}: {value!r} is not {_name(tp)}")


def _convert_one(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return parse_settings(tp, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SettingsError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise SettingsError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise SettingsError(f"{where}: expected a mapping, got {value!r}")
        val_tp = typing.get_args(tp)[1] if typing.get_args(tp) else Any
        return types.MappingProxyType({str(k): _convert(v, val_tp, f"{where}.{k}") for k, v in value.items()})
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"{where}: expected a number, got {value!r}")
        return value  # ints stay ints: as_dict must give back the config's own JSON
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise SettingsError(f"{where}: expected {tp.__name__}, got {value!r}")
        return value
    raise TypeError(f"settings annotation {tp!r} at {where} is not supported")


def _name(tp: Any) -> str:
    return " or ".join(getattr(o, "__name__", str(o)) for o in _options(tp))


def parse_settings(cls: type[T], data: Any, where: str) -> T:
    """`data` (a config slice) as a `cls` instance, checking every key.

    where: what the slice is and where it came from (file, flag), used in errors.
    Raises SettingsError for a missing key, an unknown key (with the closest
    known one) and a value of the wrong type.
    """
    if not isinstance(data, Mapping):
        raise SettingsError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    by_key = {_key(f): f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in by_key]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(by_key), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(by_key))})"
        raise SettingsError(f"{where}: unknown key {unknown[0]!r}{hint}")
    missing = [k for k, f in by_key.items() if _required(f) and k not in data]
    if missing:
        raise SettingsError(f"{where}: missing key {missing[0]!r}")
    values = {f.name: _convert(data[k], hints[f.name], f"{where}.{k}") for k, f in by_key.items() if k in data}
    obj = cls(**values)
    object.__setattr__(obj, GIVEN, frozenset(values))  # so as_dict gives back this slice, defaults not added
    return obj


def load_settings(cls: type[T], source: str, where: str) -> T:
    """Parse settings from JSON text, or from a .json file when `source` names one (the file goes into errors)."""
    if source.endswith(".json") and not source.lstrip().startswith(("{", "[")):
        path = Path(source)
        if not path.is_file():
            raise SettingsError(f"{where}: settings file {path} does not exist")
        text, where = path.read_text(), f"{where} ({path})"
    else:
        text = source
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SettingsError(f"{where}: not valid JSON ({err})") from None
    return parse_settings(cls, data, where)


def settings_keys(cls: type) -> tuple[str, ...]:
    """The config keys a settings class reads: the exact slice a rule passes to its stage."""
    return tuple(_key(f) for f in dataclasses.fields(cls) if f.init)


def as_dict(obj: Any) -> Any:
    """The config slice a settings object was parsed from: config keys, lists, dicts (JSON types)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        given = getattr(obj, GIVEN, None)
        return {_key(f): as_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj) if given is None or f.name in given}
    if isinstance(obj, (list, tuple)):
        return [as_dict(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: as_dict(v) for k, v in obj.items()}
    return obj


@dataclasses.dataclass(frozen=True)
class Threshold:
    """One gate's thresholds: pass (config key ``pass``) and optional fail; between them is WARN (shortcut gates)
    or BORDERLINE (D01 gates). Units are the gate's own (AUCs and probabilities unitless, drops relative)."""

    passes: float = dataclasses.field(metadata={"key": "pass"})
    fail: float | None = None

