"""The rules a value obeys wherever it is given: a seed in ``--seed``, ``compare --seeds`` and
``audit --seeds``; a count in ``--references``, ``--m0s`` and a depths string; a path in any
path setting; a text file given as ``--config``.  One function per rule, so that two commands
never check one kind of value two ways.  Each raises ``ConfigError`` naming the flag and the
value, before any work.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nas_service.core.errors import ConfigError

SEED_LIMIT = 2**32  # numpy's and torch's seeds
# ASCII digits only: str.isdigit() also accepts "²" and other digits that int() refuses
COUNT = re.compile(r"\s*[0-9]+\s*")
# most file systems' limits (ext4, XFS, APFS, NTFS): a name of more bytes fails in open()
NAME_MAX_BYTES = 255
PATH_MAX_BYTES = 4096
BYTE_ORDER_MARKS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}


def check_seed(flag: str, seed: int, shown: object = None) -> None:
    """A seed is in [0, 2**32 - 1]; ``shown``: the value as the user wrote it, if not ``seed``."""
    if not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"{flag} {seed if shown is None else shown!r}: must be between 0 and 2**32 - 1")


def parse_seeds(flag: str, text: str) -> list[int]:
    """``0,1,2``: distinct seeds, each obeying ``check_seed``."""
    parts = str(text).split(",")
    if not all(COUNT.fullmatch(part) for part in parts):
        raise ConfigError(
            f"{flag} {text!r}: must be integers from 0 to 2**32 - 1 separated by commas, e.g. 0,1,2"
        )
    seeds = [int(part) for part in parts]
    for seed in seeds:
        check_seed(flag, seed, text)
    repeated = [seed for index, seed in enumerate(seeds) if seed in seeds[:index]]
    if repeated:
        raise ConfigError(f"{flag} {text!r}: {repeated[0]} is given twice")
    return seeds


def parse_counts(flag: str, text: str, example: str = "7,9,18") -> list[int]:
    """``7,9,18``: distinct positive integers (module counts: ``--references``, ``--m0s``)."""
    parts = str(text).split(",")
    if not all(COUNT.fullmatch(part) and int(part) >= 1 for part in parts):
        raise ConfigError(
            f"{flag} {text!r}: must be distinct positive integers separated by commas, e.g. {example}"
        )
    counts = [int(part) for part in parts]
    repeated = [part.strip() for index, part in enumerate(parts) if counts[index] in counts[:index]]
    if repeated:
        raise ConfigError(f"{flag} {text!r}: {repeated[0]} is given twice (each is trained once)")
    return counts


def check_path(flag: str, path: str | os.PathLike) -> None:
    """Every component of ``path`` fits a file system's name limit and the whole its path limit
    (opening a longer one fails deep inside a library with ENAMETOOLONG)."""
    text = os.fsencode(str(path))
    if len(text) > PATH_MAX_BYTES:
        raise ConfigError(
            f"{flag}: the path is {len(text)} bytes long; file systems take at most {PATH_MAX_BYTES}"
        )
    for part in Path(str(path)).parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX_BYTES:
            shown = part if len(part) <= 40 else f"{part[:20]}...{part[-12:]}"
            raise ConfigError(
                f"{flag} {shown!r}: a path component of {size} bytes; file systems "
                f"take at most {NAME_MAX_BYTES} per name"
            )


def read_utf8(flag: str, path: str) -> str:
    """The text of a settings file: UTF-8, with or without a byte-order mark (Windows editors
    write one).  UTF-16/32 and other encodings are refused in one line naming what was found:
    decoding them by guess could turn a path or name into another silently."""
    check_path(flag, path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or errno.errorcode.get(error.errno or 0, str(error))
        raise ConfigError(f"{flag} {path}: cannot read it ({reason})") from None
    for mark, encoding in BYTE_ORDER_MARKS.items():
        if data.startswith(mark):
            raise ConfigError(f"{flag} {path}: the file is {encoding} text; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{flag} {path}: not UTF-8 text (byte 0x{data[error.start]:02x} at "
            f"offset {error.start}); save it as UTF-8"
        ) from None


def require(condition: bool, flag: str, value: object, what: str) -> None:
    """``--<flag> <value>: <what>`` as a ``ConfigError`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(f"--{flag} {value!r}: {what}")


def flag_of(setting: str) -> str:
    """``--max-train-images`` for setting ``max_train_images``."""
    return "--" + setting.replace("_", "-")


def _any_value(value: Any) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    """What a setting's value must be, declared with the setting (``nas_service.config.setting``):
    ``holds(value)`` for a value that is given (not ``None`` nor ``False``), and at least one of
    the settings in ``needs`` given with it; ``what`` is what the error says otherwise.
    ``choices``: the closed set of values, which ``--help`` shows."""

    holds: Callable[[Any], bool]
    what: str
    needs: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()

    def check(self, setting: str, value: Any, given: Callable[[str], bool]) -> None:
        """A ``ConfigError`` ``--<setting> <value>: <what>`` unless the rule holds; ``given``
        tells whether another setting was given."""
        if value is None or value is False:
            return
        needed = not self.needs or any(given(other) for other in self.needs)
        require(self.holds(value) and needed, setting.replace("_", "-"), value, self.what)


def at_least(low: float, what: str = "") -> Rule:
    """``value >= low``."""
    return Rule(lambda value: value >= low, what or f"must be at least {low}")


def between(low: float, high: float, what: str) -> Rule:
    """``low <= value <= high``."""
    return Rule(lambda value: low <= value <= high, what)


def one_of(choices: Sequence[str]) -> Rule:
    """One of ``choices``, which ``--help`` lists."""
    return Rule(
        lambda value: value in choices, f"must be one of {', '.join(choices)}", choices=tuple(choices)
    )


def needs(*settings: str, what: str = "") -> Rule:
    """Given only with one of ``settings``: ``--finetune-epochs`` needs a transfer."""
    return Rule(_any_value, what or f"needs {' or '.join(map(flag_of, settings))}", needs=settings)


POSITIVE = Rule(lambda value: value > 0, "must be positive")
NOT_NEGATIVE = at_least(0, "must be 0 or more")
