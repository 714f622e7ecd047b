"""Ways to deliver posts: ``landing`` (direct), ``rest`` (REST proxy), ``kafka``."""

from __future__ import annotations

from typing import Any

from .model import Sender

VIAS: tuple[str, ...] = ("landing", "rest", "kafka")
_LANDING_OPTS = {"flush_size", "rotate_ms", "clock"}


def make_sender(via: str, target: str | None, *, topic_prefix: str, landing_uri: str, **opts: Any) -> Sender:
    """A :class:`Sender` for ``via``.

    * ``landing``: writes ``landing_uri`` (``target``, if given, overrides it);
      ``opts``: ``flush_size``, ``rotate_ms``.
    * ``rest``: ``RestSender(target, topic_prefix)``, ``target`` = proxy URL.
    * ``kafka``: ``KafkaSender(target, topic_prefix)``, ``target`` = bootstrap servers.

    Raises ``ValueError`` for an unknown ``via`` or a missing target.
    """
    if via == "landing":
        from .landing_sender import LandingSender

        return LandingSender(target or landing_uri, topic_prefix, **opts)
    if via not in VIAS:
        raise ValueError(f"unknown --via {via!r}: expected one of {', '.join(VIAS)}")
    if not target:
        what = "a REST proxy URL" if via == "rest" else "Kafka bootstrap servers"
        raise ValueError(f"--via {via} needs {what} (e.g. --via {via} TARGET)")
    extra = {k: v for k, v in opts.items() if k not in _LANDING_OPTS}
    if via == "rest":
        from .rest_sender import RestSender as cls
    else:
        from .kafka_sender import KafkaSender as cls
    return cls(target, topic_prefix, **extra)
