"""The resources one process holds, built once at start-up and handed to whatever needs them.

The ASGI app, the engine's workers, the CLI, the sandbox and the tests each get a `Resources`; nothing
reads the environment or a module global after start-up (DESIGN.md "Resources, not globals"). An app built
from `Settings` opens its own in its lifespan and closes them at shutdown (`app.build_app`); requests reach
them through their scope (`request_resources`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fluenzr_server.crypto import SecretBox
from fluenzr_server.settings import Settings
from fluenzr_server.store.database import Database
from fluenzr_server.tracking.tokens import TokenBox


def secret_box_for(settings: Settings) -> SecretBox:
    """The secret box of these settings: encrypts with `secret_key`, decrypts with it or any old key."""
    return SecretBox([key.get_secret_value() for key in (settings.secret_key, *settings.old_secret_keys)])


def token_box_for(settings: Settings) -> TokenBox:
    """The tracking tokens of these settings: sealed with `secret_key`, opened with it or any old key."""
    return TokenBox([key.get_secret_value() for key in (settings.secret_key, *settings.old_secret_keys)])


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    database: Database
    secret_box: SecretBox
    tokens: TokenBox  # tracking tokens (`tracking/tokens.py`)

    @classmethod
    def open(cls, settings: Settings, *, database: Database | None = None) -> Resources:
        """Resources for these settings; `database` lets tests share one handle between apps."""
        return cls(
            settings=settings,
            database=database
            or Database(
                settings.database_url,
                pool_size=settings.database_pool_size,
                max_overflow=settings.database_max_overflow,
            ),
            secret_box=secret_box_for(settings),
            tokens=token_box_for(settings),
        )

    async def close(self) -> None:
        await self.database.dispose()
