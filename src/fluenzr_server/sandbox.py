"""`fluenzr-server sandbox`: the real server on a throwaway SQLite file, seeded with a demo Pro account.

Unlike the mock, the sandbox keeps state: what you create you can read back, campaigns move through their
states, and statistics come from send records. Everything is discarded when it stops. The demo key is
fixed and public, so docs and tutorials can use it:

    fz_live_sandbox_demo_key_0000000000000000
"""

from __future__ import annotations

import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import update

from fluenzr_server.ids import KEY_DISPLAY_CHARS, hash_api_key, new_id
from fluenzr_server.resources import Resources
from fluenzr_server.services import accounts, campaigns, contacts, email_accounts, groups, webhooks
from fluenzr_server.services.common import now
from fluenzr_server.store import tables as t
from fluenzr_server.store.database import Database
from fluenzr_server.store.migrate import upgrade

DEMO_API_KEY = "fz_live_sandbox_demo_key_0000000000000000"
DEMO_ACCOUNT_NAME = "FluenzR sandbox"
DEFAULT_PORT = 4020

DEMO_CONTACTS: list[dict[str, Any]] = [
    {
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "company": "Analytical Engines Ltd",
        "customFields": {"title": "CTO", "employees": 42, "customer": False},
    },
    {"email": "grace@example.com"},
    {"email": "alan@turing.example", "firstName": "Alan", "lastName": "Turing", "company": "Bletchley Labs"},
    {"email": "katherine@nasa.example", "firstName": "Katherine", "lastName": "Johnson", "company": "Orbit"},
    {"email": "linus@kernel.example", "firstName": "Linus", "lastName": "Torvalds", "company": "Kernel Co"},
    {
        "email": "margaret@apollo.example",
        "firstName": "Margaret",
        "lastName": "Hamilton",
        "company": "Apollo",
    },
    {"email": "edsger@eindhoven.example", "firstName": "Edsger", "lastName": "Dijkstra", "company": "Paths"},
    {"email": "barbara@mit.example", "firstName": "Barbara", "lastName": "Liskov", "company": "Substitution"},
    {"email": "dennis@bell.example", "firstName": "Dennis", "lastName": "Ritchie", "company": "Bell Labs"},
    {"email": "frances@ibm.example", "firstName": "Frances", "lastName": "Allen", "company": "Compilers Inc"},
]

STEPS = [
    {
        "subject": "Quick question, {{firstName}}",
        "body": "Hi {{firstName}}, is {{company}} hiring engineers this quarter?",
        "delayDays": 0,
    },
    {
        "subject": "Re: Quick question, {{firstName}}",
        "body": "Just bumping this up in your inbox.",
        "delayDays": 3,
    },
]

# What happened to each contact of the running campaign, in DEMO_CONTACTS order: every one was sent the
# first step; (opened, clicked, replied, bounced).
OUTCOMES = [
    (True, True, True, False),
    (True, False, False, False),
    (True, True, False, False),
    (True, False, True, False),
    (False, False, False, True),
    (True, False, False, False),
    (False, False, False, False),
    (True, False, False, False),
    (False, False, False, False),
    (False, False, False, False),
]


@dataclass(frozen=True, slots=True)
class DemoData:
    account_id: str
    api_key: str
    contact_ids: list[str]
    group_id: str
    email_account_id: str
    campaign_id: str
    draft_campaign_id: str
    webhook_id: str


async def seed_demo_data(resources: Resources) -> DemoData:
    """A Pro account with the fixed demo key and a small, realistic data set (on a migrated database)."""
    db = resources.database
    account_id = await accounts.create_account(db, name=DEMO_ACCOUNT_NAME, plan="pro")
    async with db.write() as conn:
        await conn.execute(
            t.api_keys.insert().values(
                id=new_id("key"),
                account_id=account_id,
                display_prefix=DEMO_API_KEY[:KEY_DISPLAY_CHARS],
                key_hash=hash_api_key(DEMO_API_KEY),
                created_at=now(),
            )
        )

    mailbox = await email_accounts.create_email_account(
        db,
        account_id=account_id,
        body={
            "fromEmail": "sales@acme.example",
            "fromName": "Sam from Acme",
            "smtp": {
                "host": "smtp.acme.example",
                "port": 587,
                "username": "sales@acme.example",
                "password": "sandbox-not-a-real-password",
                "security": "starttls",
            },
            "dailyLimit": 200,
        },
        secret_box=resources.secret_box,
    )
    contact_ids = [
        (await contacts.create_contact(db, account_id=account_id, body=body))["id"] for body in DEMO_CONTACTS
    ]
    group = await groups.create_group(
        db,
        account_id=account_id,
        body={"name": "Q1 2025 prospects", "description": "CTOs of fintechs in Europe"},
    )
    await groups.add_contacts(db, account_id=account_id, group_id=group["id"], contact_ids=contact_ids)

    campaign = await campaigns.create_campaign(
        db,
        account_id=account_id,
        body={
            "name": "Automatizada Q1 2025",
            "emailAccountId": mailbox["id"],
            "steps": STEPS,
            "schedule": {
                "timezone": "Europe/Madrid",
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "startHour": 9,
                "endHour": 17,
            },
        },
    )
    await campaigns.add_contacts(
        db, account_id=account_id, campaign_id=campaign["id"], body={"groupId": group["id"]}
    )
    await campaigns.start_campaign(db, account_id=account_id, campaign_id=campaign["id"])
    await _record_sends(db, campaign["id"], contact_ids)

    draft = await campaigns.create_campaign(
        db, account_id=account_id, body={"name": "Webinar follow-up", "emailAccountId": mailbox["id"]}
    )
    webhook = await webhooks.create_webhook(
        db,
        account_id=account_id,
        body={
            "url": "https://crm.acme.example/hooks/fluenzr",
            "events": ["email.replied", "contact.unsubscribed"],
            "description": "Sync replies to the CRM",
        },
    )
    return DemoData(
        account_id=account_id,
        api_key=DEMO_API_KEY,
        contact_ids=contact_ids,
        group_id=group["id"],
        email_account_id=mailbox["id"],
        campaign_id=campaign["id"],
        draft_campaign_id=draft["id"],
        webhook_id=webhook["id"],
    )


async def _record_sends(db: Database, campaign_id: str, contact_ids: list[str]) -> None:
    """Send records as the sending engine would leave them two days into the campaign."""
    sent_at = now() - timedelta(days=2)
    records = t.campaign_contacts.c
    async with db.write() as conn:
        for contact_id, (opened, clicked, replied, bounced) in zip(contact_ids, OUTCOMES, strict=True):
            values = {
                "current_step": 1,
                "sent_at": sent_at,
                "opened_at": sent_at + timedelta(hours=3) if opened else None,
                "clicked_at": sent_at + timedelta(hours=4) if clicked else None,
                "replied_at": sent_at + timedelta(hours=20) if replied else None,
                "bounced_at": sent_at + timedelta(minutes=1) if bounced else None,
            }
            scope = (records.campaign_id == campaign_id) & (records.contact_id == contact_id)
            await conn.execute(update(t.campaign_contacts).where(scope).values(values))


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    sys.exit(128 + signum)


def _announce(demo: DemoData, base: str) -> None:
    print(
        f"\nFluenzR sandbox on {base}  (Swagger UI: {base}/ui/)\n"
        f"The real API on a throwaway database (discarded on exit), seeded with demo data.\n"
        f"Demo Pro API key:\n\n    {demo.api_key}\n\n"
        f"Try it:\n\n"
        f"    curl -s -H 'Authorization: Bearer {demo.api_key}' {base}/contacts\n"
        f"    curl -s -H 'Authorization: Bearer {demo.api_key}' \\\n"
        f"        {base}/campaigns/{demo.campaign_id}/stats\n",
        flush=True,
    )


def run_sandbox(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Migrate a temporary database, serve it, seeded by the app's lifespan with the app's own resources
    (so the demo mailbox's password is encrypted with the key the app decrypts with), until interrupted."""
    import uvicorn

    from fluenzr_server.app import build_app
    from fluenzr_server.settings import Settings

    # uvicorn re-raises SIGTERM after its graceful shutdown; exiting through SystemExit instead of the
    # default handler lets the temporary directory below be removed.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with tempfile.TemporaryDirectory(prefix="fluenzr-sandbox-") as workdir:
        database_url = f"sqlite:///{Path(workdir) / 'sandbox.db'}"
        upgrade(database_url)
        settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]

        @asynccontextmanager
        async def seeded(resources: Resources) -> AsyncIterator[None]:
            _announce(await seed_demo_data(resources), f"http://{host}:{port}/v1")
            yield

        app = build_app(settings, lifespan=seeded)
        uvicorn.run(app, host=host, port=port, log_level=settings.log_level, access_log=False)
