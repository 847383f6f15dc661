"""Immutable registries of named components (cost functions, motion models) with declared needs.

A registry is built once from a tuple of entries and never mutated; :meth:`Registry.with_entry` returns a
new registry, so extending one (in a test, or a plug-in) cannot leak into another tracker.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterable

from tracker.common.config import ConfigError

#: Inputs a component may declare it needs.
NEEDS_EMBEDDINGS = "embeddings"
NEEDS_3D = "3d"
KNOWN_NEEDS = frozenset({NEEDS_EMBEDDINGS, NEEDS_3D})


@dataclass(frozen=True)
class Entry:
    name: str
    factory: Any
    needs: frozenset = frozenset()
    doc: str = ""


class Registry:
    """Name -> :class:`Entry`, read-only."""

    def __init__(self, kind: str, entries: Iterable[Entry]):
        table = {}
        for e in entries:
            unknown = set(e.needs) - KNOWN_NEEDS
            if unknown:
                raise ValueError(f"{kind} '{e.name}': unknown needs {sorted(unknown)}; known: {sorted(KNOWN_NEEDS)}")
            if e.name in table:
                raise ValueError(f"{kind} '{e.name}' registered twice")
            table[e.name] = e
        self.kind = kind
        self._entries = MappingProxyType(table)

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._entries))

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def get(self, name: str, where: str = "") -> Entry:
        """The entry called ``name``; ConfigError listing the valid names otherwise."""
        if name not in self._entries:
            at = f"{where}: " if where else ""
            raise ConfigError(f"{at}unknown {self.kind} '{name}'; valid: {', '.join(self.names())}")
        return self._entries[name]

    def with_entry(self, entry: Entry) -> "Registry":
        return Registry(self.kind, [*self._entries.values(), entry])
