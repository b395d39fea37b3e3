"""Email account `acc_…` on the wire (contract schema `EmailAccount`): the SMTP password never leaves."""

from __future__ import annotations

from typing import Any

from fluenzr_server.engine import mailboxes
from fluenzr_server.services.common import now, wire_time


def present_imap(row: Any) -> dict[str, Any]:
    """An `imap_mailboxes` row as the contract's ImapSettings (no password, no cursor)."""
    return {
        "host": row.host,
        "port": row.port,
        "username": row.username,
        "security": row.security,
        "status": row.status,
        "lastError": row.last_error,
        "lastPolledAt": wire_time(row.last_polled_at) if row.last_polled_at is not None else None,
    }


def present(row: Any, imap: Any | None = None) -> dict[str, Any]:
    """An `email_accounts` row (and its `imap_mailboxes` row, if any) as the contract's EmailAccount (no
    password, encrypted or not)."""
    return {
        "id": row.id,
        "fromEmail": row.from_email,
        "fromName": row.from_name,
        "smtp": {
            "host": row.smtp_host,
            "port": row.smtp_port,
            "username": row.smtp_username,
            "security": row.smtp_security,
        },
        "imap": present_imap(imap) if imap is not None else None,
        "dailyLimit": row.daily_limit,
        "minIntervalSeconds": row.min_interval_seconds,
        "status": row.status,
        "lastError": row.last_error,
        "sentToday": mailboxes.used_today(row, now()),
        "createdAt": wire_time(row.created_at),
        "updatedAt": wire_time(row.updated_at),
    }
