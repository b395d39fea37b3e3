"""Configuration, request building, response parsing and the retry loop.

`BaseClient` holds everything that does no I/O — building requests, deciding whether and how long to wait
before a retry, mapping responses to results or errors — so `SyncAPIClient` and `AsyncAPIClient` differ only
in how they send and sleep.
"""
# ruff: noqa: ASYNC109  -- `timeout=` is the per-request HTTP timeout handed to httpx, as in the sync API.

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    FluenzrError,
    make_status_error,
)
from ._rate_limit import RateLimit
from ._retry import retry_delay, should_retry_exception, should_retry_status
from ._types import NOT_GIVEN, Body, NotGiven, Query, Timeout
from ._version import __version__
from .models import Model
from .pagination import AsyncPage, AsyncPageRequest, SyncPage, parse_page

DEFAULT_BASE_URL = "https://api.fluenzr.co/v1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_MAX_RETRIES = 2

_M = TypeVar("_M", bound=Model)
_T = TypeVar("_T")
_Envelope = dict[str, Any]


@dataclass(frozen=True)
class RequestOptions:
    """One API call; the same options (and `Idempotency-Key`) are reused for each of its attempts."""

    method: str
    path: str
    params: Query | None = None
    json: Body | None = None
    timeout: Timeout | NotGiven = NOT_GIVEN
    idempotent: bool = True
    idempotency_key: str | None = field(default=None)

    @classmethod
    def make(
        cls,
        method: str,
        path: str,
        *,
        params: Query | None = None,
        json: Body | None = None,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        idempotent: bool | None = None,
    ) -> RequestOptions:
        is_post = method == "POST"
        return cls(
            method=method,
            path=path,
            # Query parameters have no null: None means "no filter".
            params={k: v for k, v in params.items() if v is not None} if params else None,
            json=json,
            timeout=timeout,
            idempotent=(not is_post) if idempotent is None else idempotent,
            idempotency_key=str(uuid.uuid4()) if is_post else None,
        )


def path_id(value: str) -> str:
    """An id as one URL path segment; an empty id would silently address the collection instead."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"Expected a non-empty id string, got {value!r}")
    return quote(value, safe="")


class BaseClient:
    api_key: str
    base_url: str
    timeout: Timeout
    max_retries: int

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: Timeout,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get("FLUENZR_API_KEY")
        if not api_key:
            raise FluenzrError(
                "No API key: pass FluenzrClient(api_key=...) or set the FLUENZR_API_KEY environment variable."
            )
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.api_key = api_key
        self.base_url = (base_url or os.environ.get("FLUENZR_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self._default_headers = {
            "Accept": "application/json",
            "User-Agent": f"fluenzr-python/{__version__}",
            **(default_headers or {}),
            "Authorization": f"Bearer {api_key}",
        }
        self._rate_limit = RateLimit()
        self._random: Callable[[], float] = random.random  # jitter only, not security
        self._now: Callable[[], float] = time.time

    @property
    def rate_limit(self) -> RateLimit:
        """`limit`, `remaining`, `reset` (epoch seconds) from the last response's `X-RateLimit-*` headers."""
        return self._rate_limit

    def _build_request(self, http: httpx.Client | httpx.AsyncClient, opts: RequestOptions) -> httpx.Request:
        headers = dict(self._default_headers)
        if opts.idempotency_key is not None:
            headers["Idempotency-Key"] = opts.idempotency_key
        return http.build_request(
            opts.method,
            self.base_url + opts.path,
            params=opts.params,
            json=opts.json,
            headers=headers,
            timeout=self.timeout if isinstance(opts.timeout, NotGiven) else opts.timeout,
        )

    def _delay_after_exception(
        self, opts: RequestOptions, exc: httpx.TransportError, retries_taken: int
    ) -> float | None:
        """Seconds to wait before retrying after a transport error, or None to give up."""
        if retries_taken >= self.max_retries or not should_retry_exception(exc, idempotent=opts.idempotent):
            return None
        return retry_delay(retries_taken, random=self._random(), now=self._now())

    def _delay_after_response(
        self, opts: RequestOptions, response: httpx.Response, retries_taken: int
    ) -> float | None:
        """Records the rate-limit figures; seconds to wait before retrying, or None to use this response."""
        self._rate_limit = RateLimit.from_headers(response.headers)
        if response.is_success or retries_taken >= self.max_retries:
            return None
        if not should_retry_status(response.status_code, idempotent=opts.idempotent):
            return None
        return retry_delay(
            retries_taken,
            random=self._random(),
            now=self._now(),
            status_code=response.status_code,
            headers=response.headers,
        )

    @staticmethod
    def _connection_error(request: httpx.Request, exc: httpx.TransportError) -> APIConnectionError:
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(request=request)
        return APIConnectionError(request=request, message=f"Connection error: {exc}")

    @staticmethod
    def _process_response(response: httpx.Response, cast: Callable[[_Envelope], _T]) -> _T:
        """The result of a final response, or the exception for its status."""
        if not response.is_success:
            raise make_status_error(response)
        if response.status_code == 204:  # No Content: a delete that answers nothing
            return cast({"data": None})
        try:
            envelope = response.json()
        except ValueError as exc:
            raise APIResponseValidationError("The response body is not JSON.", response=response) from exc
        if not isinstance(envelope, dict) or "data" not in envelope:
            raise APIResponseValidationError("The response is not a success envelope.", response=response)
        try:
            return cast(envelope)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise APIResponseValidationError(
                f"Unexpected response shape: {exc!r}", response=response
            ) from exc


def _data_as(model: type[_M]) -> Callable[[_Envelope], _M]:
    return lambda envelope: model.from_dict(envelope["data"])


def _nothing(_envelope: _Envelope) -> None:
    return None


class SyncAPIClient(BaseClient):
    _http: httpx.Client

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: Timeout,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        http_client: httpx.Client | None,
        transport: httpx.BaseTransport | None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        if http_client is not None and transport is not None:
            raise ValueError("Pass either http_client or transport, not both.")
        self._owns_http_client = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(transport=transport)
        self._sleep: Callable[[float], None] = time.sleep

    def request(
        self,
        model: type[_M],
        method: str,
        path: str,
        *,
        params: Query | None = None,
        json: Body | None = None,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        idempotent: bool | None = None,
    ) -> _M:
        opts = RequestOptions.make(
            method, path, params=params, json=json, timeout=timeout, idempotent=idempotent
        )
        return self._send(opts, _data_as(model))

    def request_no_content(self, method: str, path: str, *, timeout: Timeout | NotGiven = NOT_GIVEN) -> None:
        """A call answered with 204 No Content."""
        self._send(RequestOptions.make(method, path, timeout=timeout), _nothing)

    def get_page(
        self, model: type[_M], path: str, *, params: Query, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> SyncPage[_M]:
        def cast(envelope: _Envelope) -> SyncPage[_M]:
            items, page, per_page, total = parse_page(envelope, model.from_dict)
            return SyncPage(data=items, page=page, per_page=per_page, total=total, fetch=fetch)

        def fetch(page: int) -> SyncPage[_M]:
            return self._send(
                RequestOptions.make("GET", path, params={**params, "page": page}, timeout=timeout), cast
            )

        return self._send(RequestOptions.make("GET", path, params=params, timeout=timeout), cast)

    def _send(self, opts: RequestOptions, cast: Callable[[_Envelope], _T]) -> _T:
        retries_taken = 0
        while True:
            request = self._build_request(self._http, opts)
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                delay = self._delay_after_exception(opts, exc, retries_taken)
                if delay is None:
                    raise self._connection_error(request, exc) from exc
            else:
                delay = self._delay_after_response(opts, response, retries_taken)
                if delay is None:
                    return self._process_response(response, cast)
                response.close()
            self._sleep(delay)
            retries_taken += 1

    def close(self) -> None:
        """Close the connection pool, unless you passed your own `http_client` (that one stays yours)."""
        if self._owns_http_client:
            self._http.close()


class AsyncAPIClient(BaseClient):
    _http: httpx.AsyncClient

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: Timeout,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        http_client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        if http_client is not None and transport is not None:
            raise ValueError("Pass either http_client or transport, not both.")
        self._owns_http_client = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient(transport=transport)
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def request(
        self,
        model: type[_M],
        method: str,
        path: str,
        *,
        params: Query | None = None,
        json: Body | None = None,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        idempotent: bool | None = None,
    ) -> _M:
        opts = RequestOptions.make(
            method, path, params=params, json=json, timeout=timeout, idempotent=idempotent
        )
        return await self._send(opts, _data_as(model))

    async def request_no_content(
        self, method: str, path: str, *, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> None:
        """A call answered with 204 No Content."""
        await self._send(RequestOptions.make(method, path, timeout=timeout), _nothing)

    def get_page(
        self, model: type[_M], path: str, *, params: Query, timeout: Timeout | NotGiven = NOT_GIVEN
    ) -> AsyncPageRequest[_M]:
        def cast(envelope: _Envelope) -> AsyncPage[_M]:
            items, page, per_page, total = parse_page(envelope, model.from_dict)
            return AsyncPage(data=items, page=page, per_page=per_page, total=total, fetch=fetch)

        async def fetch(page: int) -> AsyncPage[_M]:
            opts = RequestOptions.make("GET", path, params={**params, "page": page}, timeout=timeout)
            return await self._send(opts, cast)

        async def first_page() -> AsyncPage[_M]:
            return await self._send(RequestOptions.make("GET", path, params=params, timeout=timeout), cast)

        return AsyncPageRequest(first_page)

    async def _send(self, opts: RequestOptions, cast: Callable[[_Envelope], _T]) -> _T:
        retries_taken = 0
        while True:
            request = self._build_request(self._http, opts)
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                delay = self._delay_after_exception(opts, exc, retries_taken)
                if delay is None:
                    raise self._connection_error(request, exc) from exc
            else:
                delay = self._delay_after_response(opts, response, retries_taken)
                if delay is None:
                    return self._process_response(response, cast)
                await response.aclose()
            await self._sleep(delay)
            retries_taken += 1

    async def close(self) -> None:
        """Close the connection pool, unless you passed your own `http_client` (that one stays yours)."""
        if self._owns_http_client:
            await self._http.aclose()
