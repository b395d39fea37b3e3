"""The one handler behind every operation: pick a status and a body from the contract as `Prefer` asks.

An example answer is serialised once: its bytes and headers are kept per operation, status, example and
page (`respond`), made at start-up for each operation's default answer (`prepare`) and on first use for
the others. A request then costs a lookup, plus, where the path names an id, putting that id in a copy.
"""

from __future__ import annotations

import copy
import random
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from jsonschema import Draft4Validator
from starlette.responses import Response as StarletteResponse

from fluenzr_mock.contract import Operation, Response
from fluenzr_mock.generate import generate, merge_all_of
from fluenzr_mock.prefer import Preferences
from fluenzr_server import envelope
from fluenzr_server.errors import ValidationFailed

# Serialised answers kept (least recently used go first): one per operation, status, example and page.
CANNED_ANSWERS = 4096


@dataclass(frozen=True, slots=True)
class Canned:
    """An answer serialised ahead of its requests: status, JSON body and headers, as bytes."""

    status: int
    body: bytes
    raw_headers: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def of(cls, status: int, body: bytes) -> Canned:
        headers = StarletteResponse(body, status_code=status, media_type=envelope.JSON).raw_headers
        return cls(status, body, tuple(headers))

    @classmethod
    def empty(cls, status: int) -> Canned:
        """An answer without a body (204: RFC 9110 §15.3.5)."""
        return cls(status, b"", tuple(StarletteResponse(b"", status_code=status).raw_headers))


class CannedResponse(StarletteResponse):
    """A Starlette response sending a `Canned` answer as it is (Connexion passes framework responses on)."""

    def __init__(self, canned: Canned) -> None:
        self.status_code = canned.status
        self.body = canned.body
        self.raw_headers = list(canned.raw_headers)
        self.background = None


class Responder:
    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = seed
        self._canned: OrderedDict[tuple[str, str, str, int, int], Canned] = OrderedDict()

    def prepare(self, operation: Operation, query_defaults: Mapping[str, Any]) -> None:
        """Serialise the operation's default answer now (start-up), for a request with no query."""
        status = self._status(operation, Preferences())
        examples = operation.responses[status].examples
        if examples:
            self._example(operation, status, next(iter(examples)), Page.of(query_defaults))

    def respond(
        self,
        operation: Operation,
        prefs: Preferences,
        path_values: Mapping[str, str],
        query: Mapping[str, Any] | None = None,
    ) -> StarletteResponse:
        """`answer` as a response, from the serialised example when the answer is one."""
        status = self._status(operation, prefs)
        response = operation.responses[status]
        if response.schema is None:
            return CannedResponse(Canned.empty(int(status)))
        page = Page.of(query or {})
        if prefs.dynamic or not response.examples:
            code, body = self.answer(operation, prefs, path_values, query)
            return CannedResponse(Canned.of(code, envelope.dumps(body)))
        name = prefs.example if prefs.example is not None else next(iter(response.examples))
        canned = self._example(operation, status, name, page)
        if operation.path_params and path_values:
            echoed = echo_path(orjson.loads(canned.body), response.schema, operation, path_values)
            canned = Canned.of(canned.status, envelope.dumps(echoed))
        return CannedResponse(canned)

    def _example(self, operation: Operation, status: str, name: str, page: Page) -> Canned:
        key = (operation.operation_id, status, name, page.page, page.per_page)
        canned = self._canned.get(key)
        if canned is None:
            body = page.apply(copy.deepcopy(operation.responses[status].examples[name]))
            canned = Canned.of(int(status), envelope.dumps(body))
            self._canned[key] = canned
            while len(self._canned) > CANNED_ANSWERS:
                self._canned.popitem(last=False)
        else:
            self._canned.move_to_end(key)
        return canned

    def answer(
        self,
        operation: Operation,
        prefs: Preferences,
        path_values: Mapping[str, str],
        query: Mapping[str, Any] | None = None,
    ) -> tuple[int, Any]:
        """The status and body for one request; `query` (the validated query parameters) sets the page."""
        status = self._status(operation, prefs)
        response = operation.responses[status]
        if response.schema is None:
            return int(status), None  # no body (204)
        page = Page.of(query or {})
        if prefs.dynamic or not response.examples:
            body = self._generated(operation, response, prefs.seed, page)
        elif prefs.example is not None:
            body = copy.deepcopy(response.examples[prefs.example])
        else:
            body = copy.deepcopy(next(iter(response.examples.values())))
        return int(status), echo_path(page.apply(body), response.schema, operation, path_values)

    def _status(self, operation: Operation, prefs: Preferences) -> str:
        label = f"{operation.method} {operation.path}"
        if prefs.code is not None:
            if prefs.code not in operation.responses:
                raise ValidationFailed(
                    f"Prefer code={prefs.code}: {label} documents {', '.join(operation.statuses)}",
                    {"Prefer": f"code={prefs.code} is not documented", "availableCodes": operation.statuses},
                )
            candidates = [prefs.code]
        else:
            default = operation.default_status
            candidates = [default, *(s for s in operation.statuses if s != default)]
        if prefs.example is None:
            return candidates[0]
        for status in candidates:
            if prefs.example in operation.responses[status].examples:
                return status
        where = f" for {prefs.code}" if prefs.code is not None else ""
        raise ValidationFailed(
            f"Prefer example={prefs.example}: {label} has no such example{where}",
            {
                "Prefer": f"example={prefs.example} is not documented{where}",
                "availableExamples": operation.example_names(),
            },
        )

    def _generated(self, operation: Operation, response: Response, seed: int | None, page: Page) -> Any:
        if response.schema is None:
            return None
        if seed is None:
            seed = self.seed if self.seed is not None else secrets.randbits(32)
        # Seeding with a string is stable across processes (it is hashed with SHA-512, not hash()).
        rng = random.Random(f"{seed}:{operation.operation_id}:{response.status}")  # noqa: S311
        body = generate(response.schema, rng)
        codes = _error_codes(response)
        if codes and isinstance(body, dict) and isinstance(body.get("error"), dict):
            body["error"]["code"] = rng.choice(
                codes
            )  # a 409 is CONFLICT or INVALID_STATE, never RATE_LIMITED
        if page.requested and isinstance(body, dict) and isinstance(body.get("data"), list):
            # A full page of `perPage` items, as a list with more objects than one page would answer.
            items = merge_all_of(response.schema).get("properties", {}).get("data", {}).get("items", {})
            body["data"] = [generate(items, rng) for _ in range(page.per_page)]
            if isinstance(body.get("meta"), dict):
                body["meta"]["total"] = page.page * page.per_page + rng.randrange(page.per_page + 1)
        return body


def _error_codes(response: Response) -> list[str]:
    """The envelope codes this error response's examples use (the codes it documents), in order."""
    found = (body.get("error") for body in response.examples.values() if isinstance(body, dict))
    return list(
        dict.fromkeys(error["code"] for error in found if isinstance(error, dict) and "code" in error)
    )


@dataclass(frozen=True, slots=True)
class Page:
    """The page a list request asked for (`page`, `perPage`, with the contract's defaults)."""

    page: int = 1
    per_page: int = 20
    requested: bool = False

    @classmethod
    def of(cls, query: Mapping[str, Any]) -> Page:
        if "page" not in query and "perPage" not in query:
            return cls()
        return cls(page=int(query.get("page", 1)), per_page=int(query.get("perPage", 20)), requested=True)

    def apply(self, body: Any) -> Any:
        """`meta.page`/`meta.perPage` as requested, at most `perPage` items, a total that fits them."""
        if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
            return body
        data, meta = body.get("data"), body["meta"]
        if not isinstance(data, list) or not {"page", "perPage", "total"} <= set(meta):
            return body
        del data[self.per_page :]
        meta.update(page=self.page, perPage=self.per_page)
        before = (self.page - 1) * self.per_page
        meta["total"] = max(int(meta["total"]), before + len(data)) if data else max(0, int(meta["total"]))
        return body


def echo_path(
    body: Any, schema: dict[str, Any] | None, operation: Operation, values: Mapping[str, str]
) -> Any:
    """Put the requested ids where the body names the same object: `data.<param>`, else the last path
    parameter as `data.id` (GET/PUT/DELETE/start/pause), and a 404's `details.id` — when they fit the schema.
    """
    if not operation.path_params or not isinstance(body, dict):
        return body
    last = operation.path_params[-1]
    data = body.get("data")
    if isinstance(data, dict):
        envelope_schema = merge_all_of(schema or {})
        data_schema = merge_all_of(envelope_schema.get("properties", {}).get("data", {}))
        properties = data_schema.get("properties", {})
        for name in operation.path_params:
            if name not in values:
                continue
            key = name if name in data else "id" if name == last and "id" in data else None
            if key is not None and _fits(values[name], properties.get(key)):
                data[key] = values[name]
    error = body.get("error")
    if isinstance(error, dict):
        details = error.get("details")
        if isinstance(details, dict) and "id" in details and last in values:
            details["id"] = values[last]
    return body


def _fits(value: str, schema: dict[str, Any] | None) -> bool:
    if not schema:
        return True
    return bool(_validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)).is_valid(value))


@lru_cache(maxsize=256)
def _validator(schema: bytes) -> Draft4Validator:
    """A compiled validator per schema (the contract's few id schemas), keyed by its canonical JSON."""
    return Draft4Validator(merge_all_of(orjson.loads(schema)), format_checker=Draft4Validator.FORMAT_CHECKER)
