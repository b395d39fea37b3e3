"""SQLite write connections (both kinds: aiosqlite's and the `@one_hop` in-place ones) take the write lock
up front and hold a larger page cache; read connections keep SQLite's default cache."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fluenzr_server.store.database import Database
from fluenzr_server.store.engine import WRITE_CACHE_KIB
from fluenzr_server.store.migrate import upgrade
from fluenzr_server.store.one_hop import drive


async def test_write_connections_have_the_larger_cache(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    upgrade(url)
    db = Database(url)
    try:
        async with db.write() as conn:
            assert (await conn.exec_driver_sql("PRAGMA cache_size")).scalar() == -WRITE_CACHE_KIB

        async def in_hop() -> int:
            async with db.write() as conn:
                return int((await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one())

        assert await asyncio.to_thread(drive, in_hop) == -WRITE_CACHE_KIB  # as `one_hop` runs it
        async with db.read() as conn:
            assert (await conn.exec_driver_sql("PRAGMA cache_size")).scalar() == -2000
        async with db.read(offload=True) as conn:
            assert (await conn.exec_driver_sql("PRAGMA cache_size")).scalar() == -2000
    finally:
        await db.dispose()
