"""The app factory: Connexion AsyncApp on the contract, built from one `Resources` and the stack in
`stack.py`.

An app either borrows resources (`build_app(resources)`: the caller opened them and closes them; tests,
the sandbox) or owns them (`build_app(settings)`: its lifespan opens them at start-up and closes them at
shutdown; `uvicorn --factory fluenzr_server.app:asgi`). The lifespan is the one hook for work that lives
as long as the app (the engine's background tasks): pass it as `lifespan=`.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any

from connexion import AsyncApp
from connexion.options import SwaggerUIOptions

from fluenzr_server.auth import SECURITY_MAP
from fluenzr_server.concrete_paths import ConcretePathMethods
from fluenzr_server.connexion_once import OnceAsyncApp
from fluenzr_server.edge import EdgeMiddleware
from fluenzr_server.engine.embedded import embedded
from fluenzr_server.envelope import EnvelopeJsonifier
from fluenzr_server.failures import error_handlers
from fluenzr_server.idempotency import IdempotencyMiddleware
from fluenzr_server.ratelimit import RateLimiter
from fluenzr_server.request_resources import ResourcesMiddleware
from fluenzr_server.resources import Resources
from fluenzr_server.settings import Settings
from fluenzr_server.spec import base_path, load_spec
from fluenzr_server.stack import middlewares, validator_map
from fluenzr_server.tracking.routes import TrackingRoutes
from handlers.resolver import TagResolver

# Work that runs while the app serves, with its resources open (the engine's background tasks).
AppLifespan = Callable[[Resources], AbstractAsyncContextManager[Any]]


class _Held:
    """The resources an app serves with: given at build time, or opened by its lifespan."""

    def __init__(self, resources: Resources | None) -> None:
        self.resources = resources

    def __call__(self) -> Resources:
        if self.resources is None:
            raise RuntimeError("this app owns its resources: they are open while its lifespan runs")
        return self.resources


def _lifespan(held: _Held, settings: Settings, extra: AppLifespan | None) -> Callable[[Any], Any]:
    owned = held.resources is None

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        if owned:
            held.resources = Resources.open(settings)
            # What start-up built (the contract, its validators, the routes) lives as long as the process:
            # moved out of the collector's reach, full collections stop rescanning it (a 1,000-row batch
            # allocates enough to trigger several): about 10% of a batch import's CPU.
            gc.freeze()
        try:
            if extra is None:
                yield
            else:
                async with extra(held()):
                    yield
        finally:
            if owned and held.resources is not None:
                await held.resources.close()
                held.resources = None

    return lifespan


def build_app(
    resources: Resources | Settings,
    *,
    spec: dict[str, Any] | None = None,
    lifespan: AppLifespan | None = None,
    limiter: RateLimiter | None = None,
) -> AsyncApp:
    """The API as an ASGI app, serving with `resources` (borrowed) or with resources opened from
    `Settings` by its own lifespan (owned)."""
    if isinstance(resources, Resources):
        held, settings = _Held(resources), resources.settings
    else:
        held, settings = _Held(None), resources
    spec = spec if spec is not None else load_spec()
    edge = partial(
        EdgeMiddleware,
        limiter=limiter or RateLimiter(settings.rate_limit, settings.redis_url),
        max_body_bytes=settings.max_body_bytes,
        trust_forwarded_for=settings.trust_forwarded_for,
        docs_prefix=base_path(spec) + "/ui",
    )
    app = OnceAsyncApp(
        __name__,
        lifespan=_lifespan(held, settings, lifespan),
        middlewares=middlewares(
            resources=partial(ResourcesMiddleware, held=held),
            edge=edge,
            idempotency=IdempotencyMiddleware,
            validate_responses=settings.validate_responses,
            concrete_paths=partial(ConcretePathMethods, spec=spec),
            tracking=partial(
                TrackingRoutes,
                limiter=RateLimiter(settings.tracking_rate_limit, settings.redis_url),
                trust_forwarded_for=settings.trust_forwarded_for,
            ),
        ),
        swagger_ui_options=SwaggerUIOptions(swagger_ui=True, swagger_ui_path="/ui"),
        jsonifier=EnvelopeJsonifier(),
    )
    app.add_api(
        spec,
        strict_validation=True,
        validate_responses=settings.validate_responses,
        pythonic_params=True,
        validator_map=validator_map(spec),
        resolver=TagResolver(),
        security_map=SECURITY_MAP,
    )
    for exc_class, handler in error_handlers(spec, expose_internal=settings.environment == "test").items():
        app.add_error_handler(exc_class, handler)
    return app


def asgi() -> AsyncApp:
    """uvicorn factory entry point (`uvicorn --factory fluenzr_server.app:asgi`): reads `Settings()` from
    the environment once, in each worker process, and owns the resources opened from them; the sending
    engine runs inside it unless FLUENZR_ENGINE=off."""
    return build_app(Settings(), lifespan=embedded)
