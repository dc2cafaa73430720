"""Collect short, de-duplicated defect strings while one mail is parsed."""

from __future__ import annotations

import re
from collections.abc import Iterable

_MAX = 64  # a hostile mail must not grow this without bound
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class Defects:
    """Ordered set of defect strings, capped at a fixed size."""

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}

    def add(self, defect: str) -> None:
        if len(self._seen) < _MAX:
            self._seen.setdefault(defect[:200], None)

    def add_stdlib(self, found: Iterable[Exception], where: str) -> None:
        """Record ``email.errors`` defects as "where:kebab-case-name"."""
        for defect in found:
            name = type(defect).__name__.removesuffix("Defect")
            self.add(f"{where}:{_CAMEL.sub('-', name).lower()}")

    def freeze(self) -> tuple[str, ...]:
        return tuple(self._seen)
