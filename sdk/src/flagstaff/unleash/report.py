"""What the importer could not carry over exactly, flag by flag."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Unmapped:
    """One Unleash item that was dropped or changed on import: which flag, what, and why."""

    flag: str
    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.flag}: {self.what}: {self.why}"


class Notes:
    """Collects ``Unmapped`` items for one feature; the same note is kept once."""

    __slots__ = ("flag", "items")

    def __init__(self, flag: str) -> None:
        self.flag = flag
        self.items: list[Unmapped] = []

    def add(self, what: str, why: str) -> None:
        item = Unmapped(self.flag, what, why)
        if item not in self.items:
            self.items.append(item)
