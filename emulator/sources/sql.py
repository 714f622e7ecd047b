"""``sql:URL``: random rows from the original project's three tables.

Like the original emulator (``SELECT * FROM pinterest_data LIMIT random_row, 1``
with ``random_row = random.randint(0, 11000)``, then the same row number of
``geolocation_data`` and ``user_data``): every post is one row number picked at
random *with replacement* (so a row can be sent twice: an exact replay), read
from the three tables. Differences: the RNG is seeded, the row count comes
from ``COUNT(*)`` (the smallest of the three tables), and rows are ordered by
the key column so a row number means the same post in every table and every
run (the sorted keys are read once; each post is then three ``WHERE key =``
look-ups; a key that occurs twice in a table yields its first row). Values are converted to the contract's JSON types (datetimes become
``YYYY-MM-DD HH:MM:SS``, decimals become numbers).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from ..model import Post
from .base import SourceError, json_value, make_post

#: Kind -> (table, key column) of the original MySQL database.
TABLES: dict[str, tuple[str, str]] = {
    "pin": ("pinterest_data", "index"),
    "geo": ("geolocation_data", "ind"),
    "user": ("user_data", "ind"),
}


def sql_source(url: str, seed: int = 42) -> Iterator[Post]:
    """Connect and count rows now (errors are :class:`SourceError`), then iterate."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
    except Exception as exc:  # noqa: BLE001 - ArgumentError, NoSuchModuleError, ImportError of a driver
        raise SourceError(f"sql source: bad database URL {url!r}: {exc}") from None
    try:
        meta = sa.MetaData()
        tables = {}
        with engine.connect() as conn:
            for kind, (name, key) in TABLES.items():
                table = sa.Table(name, meta, autoload_with=conn)
                if key not in table.c:
                    raise SourceError(f"sql source: table {name} has no column {key!r}")
                tables[kind] = table
            count = min(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables.values())
    except SourceError:
        engine.dispose()
        raise
    except sa.exc.NoSuchTableError as exc:
        engine.dispose()
        raise SourceError(f"sql source: table {exc} not found (need {', '.join(t for t, _ in TABLES.values())})") from None
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise SourceError(f"sql source: cannot read {engine.url.render_as_string(hide_password=True)}: {exc}") from None
    if count == 0:
        engine.dispose()
        raise SourceError("sql source: the tables are empty")
    return _rows(engine, tables, count, seed)


def _rows(engine, tables, count: int, seed: int) -> Iterator[Post]:
    import sqlalchemy as sa

    rng = random.Random(seed)
    try:
        with engine.connect() as conn:
            keys, queries = {}, {}
            for kind, table in tables.items():
                column = table.c[TABLES[kind][1]]
                keys[kind] = conn.execute(sa.select(column).order_by(column).limit(count)).scalars().all()
                queries[kind] = sa.select(table).where(column == sa.bindparam("key")).limit(1)
            while True:
                row = rng.randrange(count)
                records = {}
                for kind, query in queries.items():
                    result = conn.execute(query, {"key": keys[kind][row]}).mappings().first()
                    if result is None:  # the table changed meanwhile
                        raise SourceError(f"sql source: row {row} of {TABLES[kind][0]} disappeared")
                    records[kind] = {k: json_value(v) for k, v in result.items()}
                yield make_post(records["pin"], records["geo"], records["user"], f"sql row {row}")
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"sql source: query failed: {exc}") from None
    finally:
        engine.dispose()
