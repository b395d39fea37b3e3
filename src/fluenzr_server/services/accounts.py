"""Accounts (tenants) and their API keys. Only a key's SHA-256 hash is stored."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from fluenzr_server.ids import KEY_DISPLAY_CHARS, hash_api_key, new_api_key, new_id
from fluenzr_server.services.common import now
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database

PLANS = ("free", "starter", "pro")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    account_id: str
    key_id: str
    plaintext: str  # shown once; never stored

    @property
    def display_prefix(self) -> str:
        return self.plaintext[:KEY_DISPLAY_CHARS]


async def create_account(db: Database, *, name: str, plan: str) -> str:
    if plan not in PLANS:
        raise ValueError(f"plan must be one of {', '.join(PLANS)}")
    account_id = new_id("org")
    async with db.write() as conn:
        await conn.execute(t.accounts.insert().values(id=account_id, name=name, plan=plan, created_at=now()))
    return account_id


async def create_key(db: Database, *, account_id: str) -> IssuedKey:
    async with db.write() as conn:
        found = (await conn.execute(select(t.accounts.c.id).where(t.accounts.c.id == account_id))).first()
        if found is None:
            raise LookupError(f"no account {account_id}")
        plaintext = new_api_key()
        key_id = new_id("key")
        await conn.execute(
            t.api_keys.insert().values(
                id=key_id,
                account_id=account_id,
                display_prefix=plaintext[:KEY_DISPLAY_CHARS],
                key_hash=hash_api_key(plaintext),
                created_at=now(),
            )
        )
    return IssuedKey(account_id=account_id, key_id=key_id, plaintext=plaintext)


async def revoke_keys(db: Database, *, key_prefix: str) -> int:
    """Revoke every live key whose plaintext starts with this prefix (at least the display prefix)."""
    if len(key_prefix) < KEY_DISPLAY_CHARS:
        raise ValueError(f"give at least the first {KEY_DISPLAY_CHARS} characters of the key")
    display = key_prefix[:KEY_DISPLAY_CHARS]
    async with db.write() as conn:
        candidates = (
            await conn.execute(
                select(t.api_keys.c.id, t.api_keys.c.key_hash).where(
                    t.api_keys.c.display_prefix == display, t.api_keys.c.revoked_at.is_(None)
                )
            )
        ).all()
        # A full key must match its hash exactly; a prefix revokes every key it names.
        ids = [
            row.id
            for row in candidates
            if len(key_prefix) == KEY_DISPLAY_CHARS or row.key_hash == hash_api_key(key_prefix)
        ]
        if ids:
            await conn.execute(update(t.api_keys).where(t.api_keys.c.id.in_(ids)).values(revoked_at=now()))
    return len(ids)


async def set_plan(db: Database, *, account_id: str, plan: str) -> None:
    if plan not in PLANS:
        raise ValueError(f"plan must be one of {', '.join(PLANS)}")
    async with db.write() as conn:
        await conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(plan=plan))
