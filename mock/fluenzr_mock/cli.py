"""`fluenzr-mock [--host H] [--port P] [--seed N] [--cors-origin O ...]`: the mock server's own command.

It imports the server's public stack (`fluenzr_server.stack`, `failures`, `spec`) and never the other
way round: the server package does not know the mock exists.
"""

from __future__ import annotations

import argparse
import warnings

from fluenzr_mock import DEFAULT_PORT
from fluenzr_mock.server import run_mock


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fluenzr-mock", description="Serve the FluenzR contract's examples, no database (make mock)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--seed", type=int, default=None, help="seed for Prefer: dynamic=true responses")
    parser.add_argument(
        "--cors-origin", action="append", default=None, help="allowed CORS origin (repeatable)"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    # Connexion imports Starlette's TestClient at start-up, which warns about httpx; not ours to act on.
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    args = build_parser().parse_args(argv)
    run_mock(host=args.host, port=args.port, seed=args.seed, cors_origins=args.cors_origin)


if __name__ == "__main__":
    main()
