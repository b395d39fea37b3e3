"""The tests' SMTP server: the reusable sink lives in `fluenzr_server.engine.smtp_sink` (also behind
`fluenzr-server smtp-sink`); this module is the tests' import path for it. Fixtures: `conftest.py`."""

from __future__ import annotations

from fluenzr_server.engine.smtp_sink import (
    ReceivedMessage,
    Rule,
    SmtpSink,
    TestCertificate,
    make_test_certificate,
)

__all__ = ["ReceivedMessage", "Rule", "SmtpSink", "TestCertificate", "make_test_certificate"]
