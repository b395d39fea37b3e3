"""API-key authentication: Bearer `fz_live_…` → account, and the Pro plan gate."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from connexion.security import NO_VALUE, SECURITY_HANDLERS, BearerSecurityHandler
from sqlalchemy import bindparam, select

from fluenzr_server.errors import PlanRequired, Unauthorized
from fluenzr_server.ids import API_KEY_PREFIX, hash_api_key
from fluenzr_server.request_resources import request_resources
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.driver_rows import DriverStatement

API_PLAN = "pro"
MAX_KEY_LENGTH = 128


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: str
    plan: str
    key_id: str


# The rate limiter resolves the key before Connexion's security layer does; both run inside one request's
# `key_cache()` block, so the second lookup reuses the first instead of querying again. Outside such a
# block nothing is cached, so a revoked key or a changed plan takes effect on the very next request.
_resolved: ContextVar[dict[str, Principal | None] | None] = ContextVar("fluenzr_resolved_key", default=None)


@contextmanager
def key_cache() -> Iterator[None]:
    token = _resolved.set({})
    try:
        yield
    finally:
        _resolved.reset(token)


# RFC 9110 §11.4 credentials for the Bearer scheme (RFC 6750 §2.1): the scheme name in any case, then
# whitespace, then one token68. Spaces and tabs around the token are tolerated (as Connexion's own parser
# did); anything else - a second word, a comma-separated list, another scheme - is not a bearer token.
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr][ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*")


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None when the header is not one.

    THE parser of the header: the rate limiter counts a request against the account of exactly the token
    that the security layer (`BearerAuth`) authenticates, so no spelling of the header buys a new quota.
    """
    if not authorization:
        return None
    match = _BEARER.fullmatch(authorization)
    return match.group(1) if match else None


class BearerAuth(BearerSecurityHandler):  # type: ignore[misc]
    """Connexion's bearer handler reading the header with `bearer_token`; a header it cannot read is a 401."""

    def _get_verify_func(self, token_info_func: Callable[..., Any]) -> Callable[[Any], Any]:
        check = self.check_bearer_token(token_info_func)

        def verify(request: Any) -> Any:
            header = request.headers.get("Authorization")
            if not header:
                return NO_VALUE  # Connexion answers 401 "missing" when no scheme matched
            token = bearer_token(header)
            if token is None:
                raise Unauthorized("Authorization must be: Bearer <API key>")
            return check(request, token)

        return verify

    @staticmethod
    @functools.cache
    def _accepts_kwarg(func: Callable[..., Any], keyword: str) -> bool:
        # Connexion inspects the info function's signature on every request; it never changes.
        return bool(BearerSecurityHandler._accepts_kwarg(func, keyword))


# The security handlers for `add_api(security_map=...)`: Connexion's, with the bearer one replaced.
SECURITY_MAP: dict[str, Any] = {**SECURITY_HANDLERS, "bearer": BearerAuth}


# Built once, and run through the driver (every request makes this lookup; `store/driver_rows.py`).
_KEY_QUERY = DriverStatement(
    select(t.api_keys.c.id, t.api_keys.c.account_id, t.accounts.c.plan)
    .join(t.accounts, t.accounts.c.id == t.api_keys.c.account_id)
    .where(t.api_keys.c.key_hash == bindparam("key_hash"), t.api_keys.c.revoked_at.is_(None))
)


async def resolve_key(database: Database, token: str) -> Principal | None:
    """The principal for a key, or None when it is malformed, unknown or revoked."""
    cache = _resolved.get()
    if cache is not None and token in cache:
        return cache[token]
    principal = None
    if token.startswith(API_KEY_PREFIX) and len(token) <= MAX_KEY_LENGTH and token.isascii():
        row = await _KEY_QUERY.first(database, {"key_hash": hash_api_key(token)})
        if row is not None:
            key_id, account_id, plan = row
            principal = Principal(account_id=account_id, plan=plan, key_id=key_id)
    if cache is not None:
        cache[token] = principal
    return principal


async def bearer_info(token: str, request: Any) -> dict[str, object]:
    """Connexion's bearerInfoFunc (given the request, for its app's database): 401 for a bad key,
    403 PLAN_REQUIRED off the Pro plan."""
    principal = await resolve_key(request_resources(request.scope).database, token)
    if principal is None:
        raise Unauthorized("Invalid API key")
    if principal.plan != API_PLAN:
        raise PlanRequired(
            "The REST API is available on the Pro plan",
            {"plan": principal.plan, "requiredPlan": API_PLAN},
        )
    return {"sub": principal.account_id, "principal": principal}
