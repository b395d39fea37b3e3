"""Bulk loading of benchmark data straight into the server's schema (SQLite executemany, PostgreSQL COPY).

`upgrade(url)` creates the schema exactly as `fluenzr-server migrate` does; the rows then go in without the
service layer, so a million contacts load in seconds. Everything is derived from the row number with cheap
integer mixing (no per-row RNG calls), which keeps generation fast and the data set reproducible.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fluenzr_server.ids import API_KEY_PREFIX, KEY_DISPLAY_CHARS, hash_api_key, new_api_key, new_id
from fluenzr_server.store.engine import sync_url
from fluenzr_server.store.migrate import upgrade

CHUNK = 50_000
GROUPS = 10
SAMPLE_IDS = 1_000
# Share of contacts whose email is on example.com (what the `email=example.com` filter finds).
EXAMPLE_COM_PERCENT = 10
# POST /contacts creates emails on this domain; they are deleted after each POST run.
BENCH_EMAIL_DOMAIN = "load.test"

_FIRST = [
    "ada",
    "grace",
    "alan",
    "linus",
    "margaret",
    "barbara",
    "ken",
    "dennis",
    "edsger",
    "donald",
    "john",
    "frances",
    "radia",
    "katherine",
    "tim",
    "guido",
    "bjarne",
    "james",
    "anders",
    "yukihiro",
    "rasmus",
    "brendan",
    "larry",
    "sergey",
    "sophie",
    "hedy",
    "annie",
    "mary",
    "claude",
    "niklaus",
    "leslie",
    "tony",
    "robin",
    "butler",
    "david",
]
_LAST = [
    "lovelace",
    "hopper",
    "turing",
    "torvalds",
    "hamilton",
    "liskov",
    "thompson",
    "ritchie",
    "dijkstra",
    "knuth",
    "mccarthy",
    "allen",
    "perlman",
    "johnson",
    "berners",
    "rossum",
    "stroustrup",
    "gosling",
    "hejlsberg",
    "matsumoto",
    "lerdorf",
    "eich",
    "page",
    "brin",
    "wilson",
    "lamarr",
    "easley",
    "keller",
    "shannon",
    "wirth",
    "lamport",
    "hoare",
    "milner",
    "lampson",
    "patterson",
]
_COMPANIES = (
    None,
    "Analytical Engines Ltd",
    "Initech",
    "Globex Corporation",
    "Umbrella Corp",
    "Hooli",
    "Pied Piper",
    "Acme Inc",
    "Stark Industries",
    "Wayne Enterprises",
    "Cyberdyne Systems",
    "Soylent",
    "Tyrell Corporation",
)
_OTHER_DOMAINS = (
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "acme.io",
    "initech.com",
    "globex.net",
    "umbrella.org",
    "hooli.xyz",
    "piedpiper.com",
    "stark.co",
    "wayne.dev",
    "fastmail.fm",
    "proton.me",
)
_CUSTOM_FIELDS = (
    "{}",
    json.dumps({"title": "CTO", "employees": 42, "customer": False}),
    json.dumps({"title": "Head of Sales", "source": "webinar"}),
    "{}",
    json.dumps({"plan": "trial", "seats": 5, "customer": True}),
)
_STEPS = json.dumps(
    [
        {"subject": "Quick question, {{firstName}}", "body": "Hi {{firstName}}, ...", "delayDays": 0},
        {"subject": "Following up", "body": "Just bumping this.", "delayDays": 3},
    ]
)
_SCHEDULE = json.dumps(
    {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri"], "startHour": 9, "endHour": 17}
)
_SPAN_SECONDS = 3 * 365 * 24 * 3600
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Dataset:
    """What the workloads need to know about a loaded database."""

    size: int
    account_id: str
    api_key: str
    contact_ids: list[str]  # a sample spread over the table, for GET /contacts/{id}
    campaign_id: str
    campaign_contacts: int
    group_ids: list[str]
    load_seconds: float


def _mix(value: int) -> int:
    """splitmix64 finaliser: a cheap, well-spread 64-bit hash of the row number."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def _contact_id(salt: int, index: int) -> str:
    # Unique because splitmix64 is a bijection on 64-bit values; hex keeps to the `ctc_[A-Za-z0-9]+` shape.
    return f"ctc_{_mix(index ^ salt):016x}"


def _stamp(value: datetime) -> str:
    """The text SQLAlchemy's SQLite dialect stores for a DateTime (and that PostgreSQL parses as UTC)."""
    return value.isoformat(sep=" ", timespec="microseconds")


def _contact_rows(account_id: str, size: int, salt: int, start: datetime) -> Iterator[list[tuple[Any, ...]]]:
    first_count, last_count, company_count = len(_FIRST), len(_LAST), len(_COMPANIES)
    domain_count, fields_count = len(_OTHER_DOMAINS), len(_CUSTOM_FIELDS)
    chunk: list[tuple[Any, ...]] = []
    for index in range(size):
        h = _mix(index + 0x5EED)
        first = _FIRST[h % first_count]
        last = _LAST[(h >> 8) % last_count]
        domain = (
            "example.com"
            if (h >> 16) % 100 < EXAMPLE_COM_PERCENT
            else _OTHER_DOMAINS[(h >> 24) % domain_count]
        )
        created = start + timedelta(seconds=(h >> 32) % _SPAN_SECONDS, microseconds=h % 1_000_000)
        updated = created + timedelta(seconds=(h >> 40) % (30 * 24 * 3600))
        named = (h >> 20) % 10 != 0  # one contact in ten has only an email
        chunk.append(
            (
                _contact_id(salt, index),
                account_id,
                f"{first}.{last}.{index}@{domain}",
                first.capitalize() if named else None,
                last.capitalize() if named else None,
                _COMPANIES[(h >> 28) % company_count] if named else None,
                _CUSTOM_FIELDS[(h >> 12) % fields_count],
                _stamp(created),
                _stamp(updated),
            )
        )
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _membership_rows(
    size: int, salt: int, group_ids: Sequence[str], added: str
) -> Iterator[list[tuple[str, str, str]]]:
    """About 30% of contacts in one group, 5% of them in a second one."""
    chunk: list[tuple[str, str, str]] = []
    groups = len(group_ids)
    for index in range(size):
        h = _mix(index + 0xC0FFEE)
        if h % 100 >= 30:
            continue
        contact_id = _contact_id(salt, index)
        first = (h >> 8) % groups
        chunk.append((group_ids[first], contact_id, added))
        if (h >> 16) % 100 < 5:
            chunk.append((group_ids[(first + 1) % groups], contact_id, added))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _campaign_contact_rows(campaign_id: str, count: int, salt: int, base: datetime) -> list[tuple[Any, ...]]:
    """Send records with a plausible funnel: 90% sent, 40% opened, 10% clicked, 5% replied, 2% bounced."""
    rows = []
    for index in range(count):
        h = _mix(index + 0xCA3)
        roll = h % 100
        sent = base + timedelta(minutes=index % 10_000)
        delivered = roll < 92  # 90 and 91 bounce

        def at(percent: int, minutes: int, *, sent: datetime = sent, roll: int = roll) -> str | None:
            return _stamp(sent + timedelta(minutes=minutes)) if roll < percent else None

        rows.append(
            (
                campaign_id,
                _contact_id(salt, index),
                1 if delivered else 0,
                _stamp(base - timedelta(days=1)),
                _stamp(sent) if delivered else None,
                at(40, 30),
                at(10, 35),
                at(5, 120),
                _stamp(sent) if 90 <= roll < 92 else None,
                at(1, 200),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class _Plan:
    size: int
    campaign_contacts: int
    salt: int
    account_id: str
    api_key: str
    key_id: str
    email_account_id: str
    campaign_id: str
    group_ids: list[str]
    now: datetime

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=3 * 365 + 2)

    def sample_ids(self) -> list[str]:
        step = max(1, self.size // SAMPLE_IDS)
        return [_contact_id(self.salt, index) for index in range(0, self.size, step)][:SAMPLE_IDS]

    def dataset(self, seconds: float) -> Dataset:
        return Dataset(
            size=self.size,
            account_id=self.account_id,
            api_key=self.api_key,
            contact_ids=self.sample_ids(),
            campaign_id=self.campaign_id,
            campaign_contacts=self.campaign_contacts,
            group_ids=self.group_ids,
            load_seconds=seconds,
        )


def _plan(size: int, campaign_contacts: int) -> _Plan:
    api_key = new_api_key()
    assert api_key.startswith(API_KEY_PREFIX)
    return _Plan(
        size=size,
        campaign_contacts=min(size, campaign_contacts),
        salt=_mix(size) & 0xFFFF_FFFF,
        account_id=new_id("org"),
        api_key=api_key,
        key_id=new_id("key"),
        email_account_id=new_id("acc"),
        campaign_id=new_id("cmp"),
        group_ids=[new_id("grp") for _ in range(GROUPS)],
        now=datetime.now(UTC).replace(tzinfo=None),
    )


_CONTACT_COLUMNS = (
    "id, account_id, email, first_name, last_name, company, custom_fields, created_at, updated_at"
)
_CAMPAIGN_CONTACT_COLUMNS = (
    "campaign_id, contact_id, current_step, added_at, sent_at, opened_at, clicked_at, replied_at, "
    "bounced_at, unsubscribed_at"
)


def _sealed_password(secret_key: str) -> str:
    """The SMTP password as the server stores it: a token encrypted with the server's secret key."""
    try:
        from fluenzr_server.crypto import SecretBox
    except ImportError:  # a server without credential encryption
        return "not-a-real-password"
    return SecretBox([secret_key]).encrypt("not-a-real-password")


def _head_rows(plan: _Plan, secret_key: str) -> list[tuple[str, str, tuple[Any, ...]]]:
    """(table, columns, row) for the account, its key, groups, email account and campaign."""
    now = _stamp(plan.now)
    rows: list[tuple[str, str, tuple[Any, ...]]] = [
        ("accounts", "id, name, plan, created_at", (plan.account_id, f"Bench {plan.size}", "pro", now)),
        (
            "api_keys",
            "id, account_id, display_prefix, key_hash, created_at, revoked_at",
            (
                plan.key_id,
                plan.account_id,
                plan.api_key[:KEY_DISPLAY_CHARS],
                hash_api_key(plan.api_key),
                now,
                None,
            ),
        ),
        (
            "email_accounts",
            "id, account_id, from_email, from_name, smtp_host, smtp_port, smtp_username, smtp_password, "
            "smtp_security, daily_limit, created_at, updated_at",
            (
                plan.email_account_id,
                plan.account_id,
                "sales@example.com",
                "Sales",
                "smtp.example.com",
                587,
                "sales@example.com",
                _sealed_password(secret_key),
                "starttls",
                500,
                now,
                now,
            ),
        ),
        (
            "campaigns",
            "id, account_id, name, email_account_id, steps, schedule, status, created_at, updated_at",
            (
                plan.campaign_id,
                plan.account_id,
                "Bench outreach",
                plan.email_account_id,
                _STEPS,
                _SCHEDULE,
                "running",
                now,
                now,
            ),
        ),
    ]
    rows += [
        ("groups", "id, account_id, name, description, created_at, updated_at",
         (group_id, plan.account_id, f"Segment {n}", None, now, now))
        for n, group_id in enumerate(plan.group_ids)
    ]  # fmt: skip
    return rows


def load_sqlite(path: str, size: int, campaign_contacts: int, *, secret_key: str) -> Dataset:
    """Migrate a fresh SQLite file and fill it; returns what the workloads need."""
    began = time.perf_counter()
    upgrade(f"sqlite:///{path}")
    plan = _plan(size, campaign_contacts)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1048576")  # up to 1 GiB while loading
        conn.execute("PRAGMA temp_store=MEMORY")
        # Secondary indexes are dropped and rebuilt from their own CREATE INDEX text after the load: the
        # schema ends up identical, and a sorted index build is about twice as fast as random inserts.
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('contacts', 'group_members', 'campaign_contacts')"
        ).fetchall()
        conn.execute("BEGIN")
        for name, _sql in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for table, columns, row in _head_rows(plan, secret_key):
            marks = ", ".join("?" * len(row))
            conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", row)  # noqa: S608
        for chunk in _contact_rows(plan.account_id, size, plan.salt, plan.start):
            conn.executemany(f"INSERT INTO contacts ({_CONTACT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", chunk)  # noqa: S608
        added = _stamp(plan.now - timedelta(days=1))
        for members in _membership_rows(size, plan.salt, plan.group_ids, added):
            conn.executemany(
                "INSERT INTO group_members (group_id, contact_id, added_at) VALUES (?,?,?)", members
            )
        records = _campaign_contact_rows(plan.campaign_id, plan.campaign_contacts, plan.salt, plan.now)
        conn.executemany(
            f"INSERT INTO campaign_contacts ({_CAMPAIGN_CONTACT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
            records,
        )
        for _name, create in indexes:
            conn.execute(create)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return plan.dataset(time.perf_counter() - began)


def delete_bench_contacts_sqlite(path: str, account_id: str) -> int:
    """Remove the contacts POST /contacts created, so every run sees the same table."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        cursor = conn.execute(
            "DELETE FROM contacts WHERE account_id = ? AND email LIKE ?",
            (account_id, f"%@{BENCH_EMAIL_DOMAIN}"),
        )
        # As the API's own writes do: list totals cached against the version must be recounted.
        conn.execute(
            "UPDATE accounts SET contacts_version = contacts_version + 1 WHERE id = ?", (account_id,)
        )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cursor.rowcount
    finally:
        conn.close()


# --- PostgreSQL -------------------------------------------------------------------------------------


def _pg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(sync_url(url).set(drivername="postgresql").render_as_string(hide_password=False))


def create_pg_database(admin_url: str, name: str) -> str:
    """CREATE DATABASE `name` next to the admin URL's database; returns its URL."""
    from psycopg import sql
    from sqlalchemy.engine import make_url

    with _pg_connect(admin_url) as conn:
        conn.autocommit = True
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(admin_url: str, name: str) -> None:
    from psycopg import sql

    with _pg_connect(admin_url) as conn:
        conn.autocommit = True
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def load_postgres(url: str, size: int, campaign_contacts: int, *, secret_key: str) -> Dataset:
    """Migrate a fresh PostgreSQL database and COPY the rows in; ANALYZE as autovacuum eventually would."""
    began = time.perf_counter()
    upgrade(url)
    plan = _plan(size, campaign_contacts)
    with _pg_connect(url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        for table, columns, row in _head_rows(plan, secret_key):
            marks = ", ".join(["%s"] * len(row))
            conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", row)  # noqa: S608
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY contacts ({_CONTACT_COLUMNS}) FROM STDIN") as copy:
                for chunk in _contact_rows(plan.account_id, size, plan.salt, plan.start):
                    for contact in chunk:
                        copy.write_row(contact)
            added = _stamp(plan.now - timedelta(days=1))
            with cursor.copy("COPY group_members (group_id, contact_id, added_at) FROM STDIN") as copy:
                for members in _membership_rows(size, plan.salt, plan.group_ids, added):
                    for member in members:
                        copy.write_row(member)
            with cursor.copy(f"COPY campaign_contacts ({_CAMPAIGN_CONTACT_COLUMNS}) FROM STDIN") as copy:
                for record in _campaign_contact_rows(
                    plan.campaign_id, plan.campaign_contacts, plan.salt, plan.now
                ):
                    copy.write_row(record)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    return plan.dataset(time.perf_counter() - began)


def delete_bench_contacts_postgres(url: str, account_id: str) -> int:
    with _pg_connect(url) as conn:
        cursor = conn.execute(
            "DELETE FROM contacts WHERE account_id = %s AND email LIKE %s",
            (account_id, f"%@{BENCH_EMAIL_DOMAIN}"),
        )
        conn.execute(
            "UPDATE accounts SET contacts_version = contacts_version + 1 WHERE id = %s", (account_id,)
        )
        return cursor.rowcount or 0
