"""Checking the keyword options given to `Pool` and `Cluster`: pure functions, no I/O.

A misspelt option (``Pool(dsn, max_szie=3)``) would otherwise surface as
Python's ``__init__() got an unexpected keyword argument``, and through a
`Cluster` as an error of the `Pool` it forwards its options to, with no hint
of the right name.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ConfigurationError

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def option_names(*signatures: Callable[..., Any]) -> list[str]:
    """The keyword options that *signatures* take, in their order (no ``self``, no ``**``)."""
    names: list[str] = []
    for function in signatures:
        for param in inspect.signature(function).parameters.values():
            if param.kind in _NAMED and param.name != "self" and param.name not in names:
                names.append(param.name)
    return names


def check_options(
    owner: str,
    given: Iterable[str],
    *signatures: Callable[..., Any],
    exclude: Iterable[str] = (),
) -> None:
    """Raise `ConfigurationError` for each name of *given* that no function of *signatures* takes.

    The message names each unknown option with the closest valid one (by
    `difflib`), and lists the valid ones; *owner* is the class shown ("Pool").
    Names in *exclude* are not valid even if a signature takes them (a
    `Cluster` sets its pools' ``conninfo`` and ``name`` itself).
    """
    excluded = frozenset(exclude)
    valid = [name for name in option_names(*signatures) if name not in excluded]
    unknown = [name for name in given if name not in valid]
    if not unknown:
        return
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        parts.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    plural = "s" if len(unknown) > 1 else ""
    raise ConfigurationError(
        f"{owner}() got unknown option{plural} {', '.join(parts)};"
        f" its options are: {', '.join(valid)}"
    )
