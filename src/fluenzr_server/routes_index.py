"""Routing that tries only the routes a path can match, in their order: Starlette's result, fewer regexes.

Starlette's `Router` tries every route's regular expression in turn until one matches: for
`GET /v1/campaigns/{id}/stats` that was most of the contract's ~50 routes, 20-50 CPU µs a request
(issue 12, `bench/layers.py`). A route whose parameters are single path segments (Starlette's `str`,
`int` and `float` convertors never match a `/`) can only match a path with as many segments as its own,
and, when its first segment is text, only a path with that first segment. `IndexedRouter` keeps, for each
such (segment count, first segment), the routes that could match, in the router's order: the first full
match, or else the first partial one (a known path with another method: the 405), is then the one
Starlette would find. A path no candidate matches goes through Starlette's own loop, with its fallbacks
(slash redirect, default), exactly as before.
"""

from __future__ import annotations

from typing import Any

from connexion.frameworks.starlette import FloatConverter, IntegerConverter
from starlette._utils import get_route_path
from starlette.convertors import FloatConvertor, IntegerConvertor, StringConvertor, UUIDConvertor
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

# The patterns of the convertors that never match a "/" (Starlette's and Connexion's); any other (`path`,
# a custom one) makes its route a candidate for every path.
_ONE_SEGMENT = frozenset(
    convertor.regex
    for convertor in (
        StringConvertor(),
        IntegerConvertor(),
        FloatConvertor(),
        UUIDConvertor(),
        IntegerConverter(),
        FloatConverter(),
    )
)


def _shape(route: BaseRoute) -> tuple[int, str | None] | None:
    """(segment count, first segment or None when it holds a parameter), or None: may match any path."""
    if not isinstance(route, Route):
        return None
    if any(convertor.regex not in _ONE_SEGMENT for convertor in route.param_convertors.values()):
        return None
    segments = route.path.split("/")
    first = segments[1] if len(segments) > 1 else ""
    return len(segments), (None if "{" in first else first)


class IndexedRouter(Router):
    """A Starlette `Router` over fixed routes that looks up the routes a path can match first."""

    def __init__(self, routes: list[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes=routes, **kwargs)
        shapes = [_shape(route) for route in self.routes]
        self._any = [i for i, shape in enumerate(shapes) if shape is None]
        self._by_count: dict[int, list[int]] = {}  # routes whose first segment is a parameter
        self._by_first: dict[tuple[int, str], list[int]] = {}
        for i, shape in enumerate(shapes):
            if shape is None:
                continue
            count, first = shape
            if first is None:
                self._by_count.setdefault(count, []).append(i)
            else:
                self._by_first.setdefault((count, first), []).append(i)
        # The candidates of every key, merged in the router's order, made once (keys come from the routes
        # only: a path with an unknown first segment gets its count's list, never a new entry).
        self._for_count = {
            count: [self.routes[i] for i in sorted({*self._any, *indices})]
            for count, indices in self._by_count.items()
        }
        self._for_first = {
            key: [self.routes[i] for i in sorted({*self._any, *self._by_count.get(key[0], []), *indices})]
            for key, indices in self._by_first.items()
        }
        self._for_other = [self.routes[i] for i in self._any]

    def candidates(self, path: str) -> list[BaseRoute]:
        """The routes that may match `path` (a route-relative path), in the router's order."""
        segments = path.split("/", 2)
        count = path.count("/") + 1
        first = segments[1] if len(segments) > 1 else ""
        found = self._for_first.get((count, first))
        if found is not None:
            return found
        return self._for_count.get(count, self._for_other)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        partial = partial_scope = None
        for route in self.candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None and partial_scope is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        await super().app(scope, receive, send)  # no candidate: Starlette's own search and fallbacks
