"""Email account `acc_…` on the wire (contract schema `EmailAccount`): the SMTP password never leaves."""

from __future__ import annotations

from typing import Any

from fluenzr_server.services.common import wire_time


def present(row: Any) -> dict[str, Any]:
    """An `email_accounts` row as the contract's EmailAccount (no password, encrypted or not)."""
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
        "dailyLimit": row.daily_limit,
        "createdAt": wire_time(row.created_at),
        "updatedAt": wire_time(row.updated_at),
    }
