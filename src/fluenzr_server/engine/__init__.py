"""Background work the API promises: the sending engine and the webhook dispatcher.

Workers are stateless; the database is the truth. Any number of worker processes, on any hosts, share
the work through `claim.claim_due` (DESIGN.md "Sending engine").
"""
