"""Each resource's wire mapping: a stored row -> the contract's JSON object, one module per resource.

One `present()` per resource, and every service returns what it returns (list, get, create, update
alike), so a field is named, formatted and hidden in exactly one place. Wire names are the contract's
camelCase; timestamps are `services.common.wire_time` (UTC, microseconds, `Z`).
"""
