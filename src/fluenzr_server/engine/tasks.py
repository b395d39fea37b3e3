"""The engine's tasks, in the order `serve` (embedded) and `worker` start them."""

from __future__ import annotations

from fluenzr_server.engine.poller import ImapPollTask
from fluenzr_server.engine.retention import RetentionTask
from fluenzr_server.engine.runner import Task
from fluenzr_server.engine.sender import SendTask
from fluenzr_server.engine.webhooks import WebhookDispatcher
from fluenzr_server.resources import Resources


def default_tasks(resources: Resources) -> list[Task]:
    """Every task a worker runs: the sender, the webhook dispatcher, the IMAP poller and the retention
    sweep."""
    return [SendTask(resources), WebhookDispatcher(), ImapPollTask(resources), RetentionTask()]
