"""What the emulator produces and what every sender promises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Post:
    """One emulated post: the three raw records sharing one key (contract section 2)."""

    key: int
    pin: dict[str, Any]
    geo: dict[str, Any]
    user: dict[str, Any]

    def records(self) -> dict[str, dict[str, Any]]:
        return {"pin": self.pin, "geo": self.geo, "user": self.user}


@dataclass
class SendResult:
    """Outcome of a send: every post is either delivered or listed as failed."""

    delivered_posts: int = 0
    failed_posts: int = 0
    records: int = 0
    failures: list[str] = field(default_factory=list)  # one human-readable line per failed post


class Sender(Protocol):
    """A way to deliver posts: ``landing``, ``rest`` or ``kafka``."""

    def send(self, posts: Sequence[Post]) -> None:
        """Deliver (or buffer for delivery) a batch of posts."""

    def close(self) -> SendResult:
        """Flush everything, release resources and report what was delivered."""
