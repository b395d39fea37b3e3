"""Schema-driven data for `Prefer: dynamic=true`: valid against the (resolved) schema, realistic where the
property name says what a value is, and a pure function of the random generator it is given, so one seed
always yields one body.

Supports what an OpenAPI 3.0 response schema uses: type, enum, nullable, allOf (merged), oneOf/anyOf (one
branch), properties/required/additionalProperties, min/maxProperties, items/min/maxItems/uniqueItems,
minimum/maximum, min/maxLength, the date-time/date/email/uri/uuid formats and `pattern` (a regex subset:
literals, classes, escapes, groups, alternation and quantifiers — every pattern of the contract).
"""

from __future__ import annotations

import random
import re
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from fluenzr_server.rates import percent

JsonObject = dict[str, Any]

_NULL_CHANCE = 0.15
_OPTIONAL_CHANCE = 0.7
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = 2 * 365 * 24 * 3600

# Values that read like FluenzR data; used only when they satisfy the property's schema.
_HINTS: dict[str, tuple[str, ...]] = {
    "firstName": ("Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Edsger", "Barbara"),
    "lastName": ("Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Dijkstra", "Liskov"),
    "company": ("Analytical Engines Ltd", "Acme Corp", "Initech", "Globex", "Hooli", "Umbrella Robotics"),
    "name": ("Q1 2025 prospects", "Fintech CTOs", "Automatizada Q1 2025", "Webinar follow-up", "Re-engage"),
    "fromName": ("Sam from Acme", "Ada at Analytical Engines", "The Initech team"),
    "subject": ("Quick question, {{firstName}}", "Re: Quick question, {{firstName}}", "Idea for {{company}}"),
    "body": (
        "Hi {{firstName}}, is {{company}} hiring engineers this quarter?",
        "Just bumping this up in your inbox.",
        "Hi {{firstName}}, would a 15-minute call next week make sense?",
    ),
    "description": ("CTOs of fintechs in Europe", "Sync replies to the CRM", "Imported from the CRM"),
    "host": ("smtp.acme.example", "smtp.mail.example", "mail.initech.example"),
    "timezone": ("UTC", "Europe/Madrid", "America/New_York", "Asia/Tokyo"),
    "message": ("email is required", "No such object", "Invalid API key"),
    "version": ("1.0.0",),
    "title": ("CTO", "VP Engineering", "Head of Sales"),
}
_DOMAINS = ("example.com", "acme.example", "initech.example", "globex.example")
_WORDS = ("alpha", "bravo", "delta", "echo", "lima", "nova", "orbit", "pixel", "quartz", "sierra", "vector")
_EXTRA_KEYS = ("title", "employees", "customer", "source", "score", "region")
_REGEX_UNIVERSE = string.ascii_letters + string.digits + "._-"


def generate(schema: JsonObject, rng: random.Random, *, name: str = "") -> Any:
    """One value valid against `schema` (whose `$ref`s are already resolved)."""
    return _Generator(rng).value(schema, name)


def merge_all_of(schema: JsonObject) -> JsonObject:
    """`allOf` folded into one schema: properties merged, `required` united, other keywords first-wins."""
    if "allOf" not in schema:
        return schema
    merged: JsonObject = {key: value for key, value in schema.items() if key != "allOf"}
    for part in schema["allOf"]:
        for key, value in merge_all_of(part).items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            else:
                merged.setdefault(key, value)
    return merged


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def value(self, schema: JsonObject, name: str = "") -> Any:
        schema = merge_all_of(schema)
        if schema.get("nullable") and self.rng.random() < _NULL_CHANCE:
            return None
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        for keyword in ("oneOf", "anyOf"):
            if keyword in schema:
                return self.value(self.rng.choice(schema[keyword]), name)
        kind = schema.get("type") or _implied_type(schema)
        match kind:
            case "object":
                return _cohere(self.object(schema), self.rng)
            case "array":
                return self.array(schema, name)
            case "integer":
                return self.integer(schema)
            case "number":
                return self.number(schema)
            case "boolean":
                return self.rng.random() < 0.5
            case "string":
                return self.string(schema, name)
            case _:
                return self.rng.choice(_WORDS)

    def object(self, schema: JsonObject) -> JsonObject:
        properties: dict[str, JsonObject] = {
            key: prop for key, prop in schema.get("properties", {}).items() if not prop.get("writeOnly")
        }
        required = set(schema.get("required", []))
        wanted = [key for key in properties if key in required or self.rng.random() < _OPTIONAL_CHANCE]
        minimum = schema.get("minProperties", 0)
        maximum = schema.get("maxProperties")
        for key in properties:
            if len(wanted) >= minimum:
                break
            if key not in wanted:
                wanted.append(key)
        if maximum is not None:
            optional = [key for key in wanted if key not in required]
            while len(wanted) > maximum and optional:
                wanted.remove(optional.pop())
        result = {key: self.value(properties[key], key) for key in properties if key in wanted}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and not properties:
            room = (maximum if maximum is not None else 3) - len(result)
            count = self.rng.randint(max(0, minimum - len(result)), max(0, min(3, room)))
            for key in self.rng.sample(_EXTRA_KEYS, min(count, len(_EXTRA_KEYS))):
                result[key] = self.value(extra, key)
        return result

    def array(self, schema: JsonObject, name: str) -> list[Any]:
        items: JsonObject = schema.get("items", {})
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", low + 3)
        # An unconstrained list is more useful with something in it.
        count = self.rng.randint(max(low, 1) if high >= 1 else 0, min(high, max(low, 1) + 2))
        unique = schema.get("uniqueItems", False)
        result: list[Any] = []
        for _ in range(count * 10):
            if len(result) == count:
                break
            item = self.value(items, name)
            if unique and item in result:
                continue
            result.append(item)
        return result

    def integer(self, schema: JsonObject) -> int:
        low, high = _bounds(schema, default_span=500)
        return self.rng.randint(int(low), int(high))

    def number(self, schema: JsonObject) -> float:
        low, high = _bounds(schema, default_span=100)
        value = round(self.rng.uniform(low, high), 1)
        return min(max(value, low), high)

    def string(self, schema: JsonObject, name: str) -> str:
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", max(low, 255)))
        pattern = schema.get("pattern")
        candidate = self._formatted(schema.get("format"), name)
        fits = candidate is not None and low <= len(candidate) <= high
        if candidate is not None and fits and (pattern is None or re.search(pattern, candidate)):
            return candidate
        if pattern is not None:
            return self._from_pattern(pattern, low, high)
        text = " ".join(self.rng.choice(_WORDS) for _ in range(3))
        while len(text) < low:
            text += " " + self.rng.choice(_WORDS)
        return text[:high]

    def _formatted(self, fmt: str | None, name: str) -> str | None:
        rng = self.rng
        match fmt:
            case "date-time":
                moment = _EPOCH + timedelta(seconds=rng.randrange(_SPAN_SECONDS))
                return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
            case "date":
                return (_EPOCH + timedelta(days=rng.randrange(730))).strftime("%Y-%m-%d")
            case "email":
                first, last = rng.choice(_HINTS["firstName"]), rng.choice(_HINTS["lastName"])
                return f"{first}.{last}{rng.randrange(100)}@{rng.choice(_DOMAINS)}".lower()
            case "uri" | "url":
                return f"https://{rng.choice(_WORDS)}.{rng.choice(_DOMAINS)}/hooks/{rng.choice(_WORDS)}"
            case "uuid":
                return str(_uuid(rng))
        if name == "username":
            return self._formatted("email", "")
        if name in _HINTS:
            return rng.choice(_HINTS[name])
        return None

    def _from_pattern(self, pattern: str, low: int, high: int) -> str:
        tree = _RegexParser(pattern).parse()
        for _ in range(50):
            candidate = _emit(tree, self.rng)
            if low <= len(candidate) <= high and re.search(pattern, candidate):
                return candidate
        raise ValueError(f"cannot generate a string of {low}..{high} characters matching {pattern!r}")


def _implied_type(schema: JsonObject) -> str:
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    return "array" if "items" in schema else ""


def _bounds(schema: JsonObject, *, default_span: int) -> tuple[float, float]:
    low = schema.get("minimum")
    high = schema.get("maximum")
    if low is None:
        low = 0 if high is None or high >= 0 else high - default_span
    if high is None:
        high = low + default_span
    if schema.get("exclusiveMinimum") is True:
        low += 1
    if schema.get("exclusiveMaximum") is True:
        high -= 1
    return float(low), float(high)


def _uuid(rng: random.Random) -> str:
    hex_digits = f"{rng.getrandbits(128):032x}"
    return f"{hex_digits[:8]}-{hex_digits[8:12]}-4{hex_digits[13:16]}-a{hex_digits[17:20]}-{hex_digits[20:]}"


def _cohere(obj: JsonObject, rng: random.Random) -> JsonObject:
    """Make independently drawn fields agree where the API guarantees they do."""
    created, updated = obj.get("createdAt"), obj.get("updatedAt")
    if isinstance(created, str) and isinstance(updated, str) and updated < created:
        obj["createdAt"], obj["updatedAt"] = updated, created
    data, meta = obj.get("data"), obj.get("meta")
    if isinstance(data, list) and isinstance(meta, dict) and {"page", "perPage", "total"} <= set(meta):
        meta.update(page=1, perPage=max(20, len(data)), total=len(data))
    if isinstance(obj.get("contacts"), int) and {"sent", "opened", "openRate", "bounceRate"} <= set(obj):
        _funnel(obj, rng)
    if set(obj) >= _SUPPRESSION_FIELDS:
        _suppression(obj, rng)
    if set(obj) >= _SENDING_STATUS_FIELDS and isinstance(obj["reasons"], list):
        _sending_status(obj)
    return obj


_SENDING_STATUS_FIELDS = frozenset({"sending", "reasons", "window", "leads"})


def _sending_status(status: JsonObject) -> None:
    """A campaign's SendingStatus as the contract words it: no `waiting_for_interval` while no lead is
    due, no `outside_window` while the window is open, not `sending` while it is closed, and no reasons
    while sending."""
    window, leads = status["window"], status["leads"]
    status["reasons"] = [
        reason
        for reason in status["reasons"]
        if not (reason.get("code") == "waiting_for_interval" and leads.get("due") == 0)
        and not (reason.get("code") == "outside_window" and window.get("open"))
    ]
    if not window.get("open"):
        status["sending"] = False
    if status["sending"]:
        status["reasons"] = []


_SUPPRESSION_FIELDS = frozenset({"entry", "email", "domain", "reason", "campaignId"})


def _suppression(entry: JsonObject, rng: random.Random) -> None:
    """A suppression entry (schema `Suppression`) is an address or a domain: exactly one of `email` and
    `domain` is set, and `entry` is the address, or `@` and the domain. A domain entry is always `manual`,
    and a manual entry has no campaign."""
    if rng.random() < 0.3:
        domain = (
            f"{rng.choice(_WORDS)}.{rng.choice(_DOMAINS)}" if rng.random() < 0.5 else rng.choice(_DOMAINS)
        )
        entry.update(entry="@" + domain, email=None, domain=domain, reason="manual")
    else:
        address = _Generator(rng).string({"format": "email"}, "email")
        entry.update(entry=address, email=address, domain=None)
    if entry["reason"] == "manual":
        entry["campaignId"] = None


def _funnel(stats: JsonObject, rng: random.Random) -> None:
    """Campaign statistics as a funnel: sent ≤ contacts, opened ≤ sent, clicked ≤ opened, rates from sent."""

    def part(whole: int, low: float, high: float) -> int:
        return round(whole * rng.uniform(low, high))

    sent = part(stats["contacts"], 0.5, 1.0)
    opened = part(sent, 0.3, 0.6)
    stats.update(
        sent=sent,
        opened=opened,
        clicked=part(opened, 0.1, 0.4),
        replied=part(sent, 0.02, 0.1),
        bounced=part(sent, 0.0, 0.05),
        unsubscribed=part(sent, 0.0, 0.02),
    )
    for rate, count in (("openRate", "opened"), ("clickRate", "clicked"), ("replyRate", "replied")):
        stats[rate] = percent(stats[count], sent)
    stats["bounceRate"] = percent(stats["bounced"], sent + stats["bounced"])


# --- a tiny regex generator: enough of the syntax for id prefixes, secrets and email-like patterns -------

Node = tuple[Any, ...]


class _RegexParser:
    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0

    def parse(self) -> Node:
        node = self._alternation()
        if self.pos != len(self.text):
            raise ValueError(f"unsupported regex syntax at {self.pos} in {self.text!r}")
        return node

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _take(self) -> str:
        char = self.text[self.pos]
        self.pos += 1
        return char

    def _alternation(self) -> Node:
        branches = [self._sequence()]
        while self._peek() == "|":
            self._take()
            branches.append(self._sequence())
        return ("alt", branches) if len(branches) > 1 else branches[0]

    def _sequence(self) -> Node:
        items: list[Node] = []
        while self._peek() not in ("", "|", ")"):
            atom = self._atom()
            items.append(self._quantified(atom))
        return ("seq", items)

    def _atom(self) -> Node:
        char = self._take()
        if char in "^$":
            return ("seq", [])
        if char == "(":
            if self.text.startswith("?:", self.pos):
                self.pos += 2
            inner = self._alternation()
            if self._take() != ")":
                raise ValueError(f"unbalanced group in {self.text!r}")
            return inner
        if char == "[":
            return ("set", self._class())
        if char == ".":
            return ("set", _REGEX_UNIVERSE)
        if char == "\\":
            return ("set", self._escaped())
        return ("set", char)

    def _escaped(self) -> str:
        """The characters an escape stands for (after the backslash): `\\uXXXX`, a class, or itself."""
        char = self._take()
        if char == "u":
            code = self.text[self.pos : self.pos + 4]
            self.pos += 4
            return chr(int(code, 16))
        return _escape(char)

    def _member(self) -> str:
        """One member of a character class: a character, or the characters of an escaped class."""
        char = self._take()
        return self._escaped() if char == "\\" else char

    def _class(self) -> str:
        negate = self._peek() == "^"
        if negate:
            self._take()
        chars: list[str] = []
        first = True
        while first or self._peek() != "]":
            first = False
            char = self._member()
            if (
                len(char) == 1
                and self._peek() == "-"
                and self.text[self.pos + 1 : self.pos + 2] not in ("]", "")
            ):
                self._take()
                end = self._member()
                chars.append("".join(chr(code) for code in range(ord(char), ord(end[-1]) + 1)))
            else:
                chars.append(char)
        self._take()
        members = "".join(chars)
        if negate:
            return "".join(c for c in _REGEX_UNIVERSE if c not in members)
        return members

    def _quantified(self, atom: Node) -> Node:
        char = self._peek()
        if char == "+":
            self._take()
            return ("rep", atom, 1, None)
        if char == "*":
            self._take()
            return ("rep", atom, 0, None)
        if char == "?":
            self._take()
            return ("rep", atom, 0, 1)
        if char == "{":
            end = self.text.index("}", self.pos)
            low, comma, high = self.text[self.pos + 1 : end].partition(",")
            self.pos = end + 1
            minimum = int(low)
            maximum = minimum if not comma else (int(high) if high else None)
            return ("rep", atom, minimum, maximum)
        return atom


def _escape(char: str) -> str:
    classes = {
        "d": string.digits,
        "w": string.ascii_letters + string.digits + "_",
        "s": " ",
        "D": string.ascii_letters + "._-",
        "W": ".-",
        "S": _REGEX_UNIVERSE,
    }
    return classes.get(char, char)


def _emit(node: Node, rng: random.Random) -> str:
    kind = node[0]
    if kind == "set":
        return rng.choice(node[1]) if node[1] else ""
    if kind == "seq":
        return "".join(_emit(child, rng) for child in node[1])
    if kind == "alt":
        return _emit(rng.choice(node[1]), rng)
    _, atom, low, high = node
    count = rng.randint(low, high if high is not None else low + 11)
    return "".join(_emit(atom, rng) for _ in range(count))
