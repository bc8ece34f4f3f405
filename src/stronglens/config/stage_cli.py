"""The command line every stage script shares: settings flags, declared outputs, the code hash.

A stage reads its config slice with `read_settings` (JSON text or a settings
file; an error exits with the key and the flag named) and writes exactly the
files its rule declares, given as ``--out name=path ...`` (`read_outputs`):
no stage rebuilds an output name from a folder. Standard library only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from stronglens.config.settings import SettingsError, load_settings

T = TypeVar("T")


def stage_parser(doc: str | None, outputs: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """An ArgumentParser with the stage's docstring, --code-hash, and --out for the named outputs."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--code-hash", default=None, help="hash of the library sources the stage imports (provenance)")
    if outputs:
        ap.add_argument("--out", nargs="+", required=True, metavar="NAME=PATH",
                        help=f"every declared output: {', '.join(f'{n}=PATH' for n in outputs)}")
    ap.set_defaults(_outputs=outputs)
    return ap


def read_settings(ap: argparse.ArgumentParser, cls: type[T], source: str, flag: str) -> T:
    """Parse `source` (a flag's JSON text or .json file) as `cls`; exit naming the flag and key when it does not fit."""
    try:
        return load_settings(cls, source, flag)
    except SettingsError as err:
        ap.error(str(err))
        raise  # unreachable: ap.error exits


def read_outputs(ap: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Path]:
    """``--out name=path ...`` as {name: Path}; exits when a declared name is missing or an unknown one is given."""
    declared: tuple[str, ...] = args._outputs
    given: dict[str, Path] = {}
    for item in args.out:
        name, sep, path = item.partition("=")
        if not sep or not path:
            ap.error(f"--out: {item!r} is not NAME=PATH")
        if name not in declared:
            ap.error(f"--out: unknown output {name!r} (declared: {', '.join(declared)})")
        given[name] = Path(path)
    missing = [n for n in declared if n not in given]
    if missing:
        ap.error(f"--out: missing output {missing[0]!r} (declared: {', '.join(declared)})")
    return given


@contextmanager
def user_error(ap: argparse.ArgumentParser, *errors: type[Exception]) -> Iterator[None]:
    """Inside the block, an exception of the given types (a user's bad input) prints one line,
    ``<prog>: error: <message>``, to stderr and exits with status 2, instead of a traceback; anything else is
    a bug and keeps its traceback (both land in the job's log)."""
    try:
        yield
    except errors as err:
        message = " ".join(str(err).split())  # one line, whatever the message held
        print(f"{ap.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2) from None


def shard_stage_parser(doc: str | None, config_help: str) -> argparse.ArgumentParser:
    """`stage_parser` plus the arguments of a stage that simulates one shard: --dataset, --rows START STOP,
    --seed, --config (the dataset's settings slice) and --out (the shard)."""
    ap = stage_parser(doc)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--rows", type=int, nargs=2, required=True, metavar=("START", "STOP"), help="global row range")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--config", required=True, help=config_help)
    ap.add_argument("--out", required=True)
    return ap
