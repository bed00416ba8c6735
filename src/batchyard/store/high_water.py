"""Numbers never to be handed out twice, kept past the deletion of the rows that used them."""

from __future__ import annotations

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from batchyard.store.tables import high_water

ATTEMPTS = "attempts"


def raise_high_water(conn: Connection, name: str, value: int) -> None:
    """Remember ``value`` as used, unless a higher one already is (one upsert, in the dialect's words)."""
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(high_water).values(name=name, value=value)
        greatest = func.greatest(high_water.c.value, pg.excluded.value)
        conn.execute(pg.on_conflict_do_update(index_elements=[high_water.c.name], set_={"value": greatest}))
    else:
        lite = sqlite.insert(high_water).values(name=name, value=value)
        larger = func.max(high_water.c.value, lite.excluded.value)
        conn.execute(lite.on_conflict_do_update(index_elements=[high_water.c.name], set_={"value": larger}))


def high_water_mark(conn: Connection, name: str) -> int:
    return int(conn.scalar(select(high_water.c.value).where(high_water.c.name == name)) or 0)
