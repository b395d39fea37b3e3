"""Personalisation of subjects and bodies: Jinja2's `SandboxedEnvironment`, plain text, strict.

Variables: `firstName`, `lastName`, `company`, `email`, and every custom field by its key (standard fields
win over a custom field of the same name). `default` is the fallback filter:
`{{ firstName | default("there") }}`.

Rules (issue 13):

- An undefined variable with no fallback is an error (`MissingVariable`), never "Hi " or "Hi {{firstName}}":
  the engine marks that lead `failed` with the reason. A value that is empty or only whitespace counts as
  missing, and takes the fallback.
- Autoescape is off: the output is a text/plain body or a subject, not HTML.
- The sandbox (https://jinja.palletsprojects.com/en/stable/sandbox/, the immutable variant) refuses
  attribute access to internals (`''.__class__`, `cycler.__init__.__globals__`) and changes to lists and
  dicts. The sandbox does not bound work or memory, so we also do (a worker renders many tenants'
  templates): `range` (1,000), repetition, powers, format widths, integer arguments to filters and
  methods (10,000), items per loop (1,000), replacements, the output (200,000 characters) and the work
  of one render (2,000,000 characters through filters, methods and operators); no macros, no loop
  inside a loop, no recursive loop, no `namespace`, no other templates. Any refusal is an
  `UnsafeTemplate`, with a message safe to show.
- `check` reports a template that does not parse or uses a refused construct, with its 1-based line and
  column, for the 400 on campaign create/update (the caller names the field, e.g. `steps.1.subject`).

Each distinct template is compiled once (`functools.lru_cache`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache, wraps
from itertools import islice
from typing import Any, ClassVar

from jinja2 import Environment, StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

_work: ContextVar[list[int] | None] = ContextVar("fluenzr_template_work", default=None)

STANDARD_FIELDS: tuple[str, ...] = ("firstName", "lastName", "company", "email")
MAX_OUTPUT_CHARS = 200_000  # far beyond any real email body; stops `{% for %}` blow-ups
MAX_REPEAT_CHARS = 10_000
MAX_RANGE = 1_000
MAX_LOOP = 1_000  # items one `for` loop may iterate over (loops inside loops are refused)
MAX_WORK = 2_000_000  # characters (or items) filters, methods and operators may handle in one render
MAX_ARGUMENT = 10_000  # the largest integer argument to a filter or method (widths, fill sizes, counts)
_BIG_FORMAT_WIDTH = re.compile(
    r"%[-#0 +]*(\*|\d{5,})|%[-#0 +]*\d*\.(\*|\d{5,})|\{[^{}]*:[^{}]*\d{5,}[^{}]*\}"
)


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


def _check_format(template: Any) -> None:
    if isinstance(template, str) and _BIG_FORMAT_WIDTH.search(template):
        raise SecurityError(f"format width or precision too large (at most {MAX_ARGUMENT})")


def _safe_mod(left: Any, right: Any) -> Any:
    _check_format(left)
    return operator.mod(left, right)


def _check_arguments(args: Iterable[Any]) -> None:
    """Integer arguments (widths, counts, fill sizes) are what make `center`, `zfill`, `indent`... huge."""
    for value in args:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ARGUMENT:
            raise SecurityError(f"argument too large (at most {MAX_ARGUMENT})")


def _check_replace(text: Any, old: Any, new: Any) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        grows = (text.count(old) if old else len(text) + 1) * max(0, len(new) - len(old))
        if len(text) + grows > MAX_OUTPUT_CHARS:
            raise SecurityError(f"replacement longer than {MAX_OUTPUT_CHARS} characters")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict) else 1


def _charge(*values: Any) -> None:
    """Count the characters (items) an operation handled against the render's work budget."""
    budget = _work.get()
    if budget is not None:
        budget[0] -= sum(_size(value) for value in values)
        if budget[0] < 0:
            raise SecurityError(
                f"the template does too much work (more than {MAX_WORK:,} characters handled)"
            )


def _check_result(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_OUTPUT_CHARS:
        raise SecurityError(f"value longer than {MAX_OUTPUT_CHARS}")
    return value


def _loop_bound(sequence: Any) -> list[Any]:
    """What a `for` loop iterates, at most MAX_LOOP items (every loop is made to go through this)."""
    items = list(islice(iter(sequence), MAX_LOOP + 1))
    if len(items) > MAX_LOOP:
        raise SecurityError(f"a loop over more than {MAX_LOOP} items")
    return items


def _guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)  # keeps Jinja's pass_context/pass_eval_context marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_arguments((*args, *kwargs.values()))
        values = [a for a in args if not isinstance(a, Context | EvalContext | Environment)]
        if name == "replace" and len(values) >= 3:
            _check_replace(values[0], values[1], values[2])
        if name == "format" and values:
            _check_format(values[0])
        if name == "indent" and values and isinstance(values[0], str):
            width = kwargs.get("width", values[1] if len(values) > 1 else 4)
            pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
            if len(values[0]) + (values[0].count("\n") + 1) * pad > MAX_OUTPUT_CHARS:
                raise SecurityError(f"indented text longer than {MAX_OUTPUT_CHARS} characters")
        result = _check_result(function(*args, **kwargs))
        _charge(*values, *kwargs.values(), result)
        return result

    return guarded


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox (no internals, no mutation of lists and dicts) with bounds on everything that can make
    a value or the work huge: repetition, powers, format widths, call arguments, replacements."""

    intercepted_binops = frozenset({"*", "**", "%"})
    _binops: ClassVar[dict[str, Callable[[Any, Any], Any]]] = {
        "*": _safe_mul,
        "**": _safe_pow,
        "%": _safe_mod,
    }

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        result = self._binops[operator](left, right)
        _charge(left, right, result)
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(value.__self__)
        return wrapped

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_arguments((*args, *kwargs.values()))
        if getattr(__obj, "__name__", None) == "replace" and len(args) >= 2:
            _check_replace(getattr(__obj, "__self__", None), args[0], args[1])
        result = _check_result(super().call(__context, __obj, *args, **kwargs))
        _charge(getattr(__obj, "__self__", None), *args, *kwargs.values(), result)
        return result


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SecurityError(f"range too big (at most {MAX_RANGE})")
    return result


_env = _Environment(undefined=_Missing, autoescape=False, keep_trailing_newline=True)
_env.filters["default"] = _default
_env.filters["d"] = _default
_env.filters = {name: _guarded_filter(name, function) for name, function in _env.filters.items()}
_env.filters["loop_bound"] = _loop_bound
# No lipsum (output for nothing) and no namespace (it carries values across loop iterations: accumulation).
_env.globals = {name: _env.globals[name] for name in ("dict", "cycler", "joiner")} | {"range": _safe_range}


_LOADER_TAGS = {"Extends": "extends", "Include": "include", "Import": "import", "FromImport": "from"}


def _refused_construct(parsed: nodes.Template) -> tuple[str, int, str, int] | None:
    """The first construct message templates may not use: (message, line, tag keyword, how many tags
    with that keyword come before it on its line). Refused: loading other templates, macros (recursion),
    loops inside loops and recursive loops (work that multiplies)."""
    for node in parsed.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        keyword = _LOADER_TAGS[type(node).__name__]
        tag = "from … import" if keyword == "from" else keyword
        return f"'{tag}' is not available in message templates", node.lineno, keyword, 0
    for node in parsed.find_all((nodes.Macro, nodes.CallBlock)):
        keyword = "macro" if isinstance(node, nodes.Macro) else "call"
        return "macros are not available in message templates", node.lineno, keyword, 0
    loops = list(parsed.find_all(nodes.For))  # depth first: an outer loop before its inner loops
    for loop in loops:
        if loop.recursive:
            before = sum(1 for other in loops[: loops.index(loop)] if other.lineno == loop.lineno)
            return "recursive loops are not available in message templates", loop.lineno, "for", before
        for inner in loop.find_all(nodes.For):
            before = sum(1 for other in loops[: loops.index(inner)] if other.lineno == inner.lineno)
            return "a loop inside a loop is not available in message templates", inner.lineno, "for", before
    return None


class _Refused(TemplateSyntaxError):
    """A template that parses but uses a construct `_refused_construct` refuses."""

    def __init__(self, message: str, lineno: int, keyword: str, before: int) -> None:
        super().__init__(message, lineno)
        self.keyword = keyword
        self.before = before


@lru_cache(maxsize=1024)
def _compiled(template: str) -> Template:
    parsed = _env.parse(template)
    refused = _refused_construct(parsed)
    if refused is not None:
        raise _Refused(*refused)
    for loop in parsed.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, "loop_bound", [], [], None, None, lineno=loop.lineno)
    parsed.set_environment(_env)
    return _env.from_string(parsed)


def _column(template: str, line: int, keyword: str | None = None, before: int = 0) -> int:
    """The 1-based column on `line` of the `keyword` tag (after `before` others), or, for a parse error,
    of the last tag opened on the line (1 when there is none)."""
    lines = template.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if keyword is not None:
        tags = list(re.finditer(r"\{%[-+]?\s*" + keyword + r"\b", text))
        if len(tags) > before:
            return tags[before].start() + 1
    best = max(text.rfind(opener) for opener in ("{{", "{%", "{#"))
    return best + 1 if best >= 0 else 1


def check(template: str) -> TemplateProblem | None:
    """`None` when `template` parses, else where and why it does not. Also refused, with their line:
    `extends`/`include`/`import` (there are no other templates), macros, nested and recursive loops."""
    try:
        _compiled(template)
    except _Refused as exc:
        line = exc.lineno or 1
        column = _column(template, line, exc.keyword, exc.before)
        return TemplateProblem(message=exc.message or "refused", line=line, column=column)
    except TemplateSyntaxError as exc:
        line = exc.lineno or 1
        message = exc.message or "syntax error"
        return TemplateProblem(message=message, line=line, column=_column(template, line))
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
    except _Refused as exc:
        raise UnsafeTemplate(f"{exc.message} (line {exc.lineno})") from None
    except TemplateSyntaxError as exc:
        raise RenderError(f"template does not parse: {exc.message}") from None
    parts: list[str] = []
    size = 0
    budget = _work.set([MAX_WORK])
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
    finally:
        _work.reset(budget)
    return "".join(parts)
