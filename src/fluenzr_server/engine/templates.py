"""Personalisation of subjects and bodies: Jinja2's `SandboxedEnvironment`, plain text, strict.

Variables: `firstName`, `lastName`, `company`, `email`, and every custom field by its key (standard fields
win over a custom field of the same name). `default` is the fallback filter:
`{{ firstName | default("there") }}`.

Rules (issue 13):

- An undefined variable with no fallback is an error (`MissingVariable`), never "Hi " or "Hi {{firstName}}":
  the engine marks that lead `failed` with the reason. A value that is empty or only whitespace counts as
  missing, and takes the fallback.
- Autoescape is off: the output is a text/plain body or a subject, not HTML.
- The sandbox (https://jinja.palletsprojects.com/en/stable/sandbox/) refuses attribute access to internals
  (`''.__class__`, `cycler.__init__.__globals__`); we also cap `range`, string repetition, powers and the
  output size. Any such refusal is an `UnsafeTemplate`, with a message safe to show.
- `check` reports a template that does not parse, with its 1-based line and column, for the 400 on
  campaign create/update (the caller names the field, e.g. `steps.1.subject`).

Each distinct template is compiled once (`functools.lru_cache`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

STANDARD_FIELDS: tuple[str, ...] = ("firstName", "lastName", "company", "email")
MAX_OUTPUT_CHARS = 200_000  # far beyond any real email body; stops `{% for %}` blow-ups
MAX_REPEAT_CHARS = 10_000
MAX_RANGE = 1_000


@dataclass(frozen=True)
class TemplateProblem:
    """A template that does not parse: `message` from Jinja, 1-based `line` and `column` of the failure
    (the column is that of the tag in which parsing failed when Jinja only knows the line)."""

    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class RenderError(Exception):
    """A template that cannot be rendered for a contact; `reason` is one line safe to show the customer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MissingVariable(RenderError):
    """A variable the contact does not have (or has empty) and the template gives no fallback for."""

    def __init__(self, name: str) -> None:
        super().__init__(f"missing variable {name!r} and no default")
        self.name = name


class UnsafeTemplate(RenderError):
    """A template the sandbox refused (internals access, huge ranges or output)."""


class _Missing(StrictUndefined):
    """StrictUndefined that names the variable in our own exception."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        if self._undefined_exception is SecurityError:  # the sandbox's stand-in for an unsafe attribute
            raise UnsafeTemplate(f"refused by the template sandbox: {self._undefined_message}")
        raise MissingVariable(self._undefined_name or "?")

    # StrictUndefined makes these fail through the method above; being explicit keeps mypy quiet.
    __str__ = __iter__ = __len__ = __bool__ = _fail_with_undefined_error


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """Jinja's `default`, where an empty or whitespace-only value is missing too (as in `render`)."""
    if isinstance(value, StrictUndefined) or _blank(value) or (boolean and not value):
        return default_value
    return value


def _safe_mul(left: Any, right: Any) -> Any:
    for text, count in ((left, right), (right, left)):
        if (
            isinstance(text, str | list | tuple)
            and isinstance(count, int)
            and len(text) * count > MAX_REPEAT_CHARS
        ):
            raise SecurityError("repetition too large")
    return operator.mul(left, right)


def _safe_pow(left: Any, right: Any) -> Any:
    if isinstance(right, int | float) and abs(right) > 100:
        raise SecurityError("power too large")
    return operator.pow(left, right)


class _Environment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})
    _binops: ClassVar[dict[str, Callable[[Any, Any], Any]]] = {"*": _safe_mul, "**": _safe_pow}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator in self._binops:
            return self._binops[operator](left, right)
        return super().call_binop(context, operator, left, right)


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SecurityError(f"range too big (at most {MAX_RANGE})")
    return result


_env = _Environment(undefined=_Missing, autoescape=False, keep_trailing_newline=True)
_env.filters["default"] = _default
_env.filters["d"] = _default
_env.globals["range"] = _safe_range
del _env.globals["lipsum"]


@lru_cache(maxsize=1024)
def _compiled(template: str) -> Template:
    return _env.from_string(template)


def _column(template: str, line: int) -> int:
    """The 1-based column of the last tag opened on `line` before parsing failed (1 when there is none)."""
    text = template.splitlines()[line - 1] if 0 < line <= len(template.splitlines()) else ""
    starts = [text.rfind(opener) for opener in ("{{", "{%", "{#")]
    best = max(starts)
    return best + 1 if best >= 0 else 1


_NO_LOADER = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)


def check(template: str) -> TemplateProblem | None:
    """`None` when `template` parses, else where and why it does not. `extends`, `include` and `import`
    are refused here too: a message template has no other templates to load."""
    try:
        parsed = _env.parse(template)
    except TemplateSyntaxError as exc:
        line = exc.lineno or 1
        message = exc.message or "syntax error"
        return TemplateProblem(message=message, line=line, column=_column(template, line))
    for node in parsed.find_all(_NO_LOADER):
        line = node.lineno
        tag = {"FromImport": "from … import"}.get(type(node).__name__, type(node).__name__.lower())
        return TemplateProblem(
            f"'{tag}' is not available in message templates", line, _column(template, line)
        )
    return None


def variables(template: str) -> set[str]:
    """The top-level variable names `template` reads (e.g. {"firstName", "company"}); empty when it does
    not parse."""
    try:
        parsed: nodes.Template = _env.parse(template)
    except TemplateSyntaxError:
        return set()
    return set(meta.find_undeclared_variables(parsed)) - set(_env.globals)


def context(contact: Mapping[str, Any]) -> dict[str, Any]:
    """The variables of a contact given in its wire shape (`email`, `firstName`, `lastName`, `company`,
    `customFields`): custom fields first, standard fields over them; blank values left out (missing)."""
    values: dict[str, Any] = {}
    custom = contact.get("customFields") or {}
    for key, value in custom.items():
        values[str(key)] = value
    for key in STANDARD_FIELDS:
        if key in contact:
            values[key] = contact[key]
    return {key: value for key, value in values.items() if not _blank(value)}


def render(template: str, contact: Mapping[str, Any]) -> str:
    """`template` rendered for `contact` (wire shape, see `context`).

    Raises `MissingVariable(name)` for a variable with no value and no fallback, `UnsafeTemplate` for what
    the sandbox refuses, `RenderError` for any other failure (a template that does not parse, a filter
    given bad arguments).
    """
    try:
        compiled = _compiled(template)
    except TemplateSyntaxError as exc:
        raise RenderError(f"template does not parse: {exc.message}") from None
    parts: list[str] = []
    size = 0
    try:
        for chunk in compiled.generate(context(contact)):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise UnsafeTemplate(f"output longer than {MAX_OUTPUT_CHARS} characters")
            parts.append(chunk)
    except RenderError:
        raise
    except SecurityError as exc:
        raise UnsafeTemplate(f"refused by the template sandbox: {exc}") from None
    except (OverflowError, MemoryError, RecursionError) as exc:
        raise UnsafeTemplate(f"refused by the template sandbox: {type(exc).__name__}") from None
    except UndefinedError as exc:
        raise RenderError(str(exc.message or "undefined value")) from None
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise RenderError(f"template error: {type(exc).__name__}: {exc}") from None
    return "".join(parts)
