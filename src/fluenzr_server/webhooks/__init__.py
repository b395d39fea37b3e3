"""Webhook delivery (issue 14): secrets, signing, the SSRF-safe HTTP client, the retry policy.

The dispatcher task that uses them is `fluenzr_server.engine.webhooks`; the API's operations are
`services/webhooks.py` and `services/webhook_deliveries.py`.
"""
