"""Serve the simulated organization in the foreground: ``python -m budgetbot.sim --port 8099``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from budgetbot.sim.model import DEFAULT_ORG_ID, DEFAULT_SEED, SimOrg
from budgetbot.sim.server import DEFAULT_API_KEY, DEFAULT_BASE_PATH, SimServer


def _instant(text: str) -> datetime:
    """ISO 8601; ``Z`` is UTC and a time without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m budgetbot.sim",
        description="Serve the simulated IonQ organization (usage endpoint and whoami) over HTTP.",
        epilog="Example: python -m budgetbot.sim --port 8099 --now 2026-11-18T15:30:00Z",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8099, help="port, 0 for any free one (default %(default)s)"
    )
    parser.add_argument(
        "--now",
        type=_instant,
        default=None,
        help="the simulated present, ISO 8601 (default: the real clock)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="default %(default)s")
    parser.add_argument("--org-id", default=DEFAULT_ORG_ID, help="default %(default)s")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="default %(default)s")
    parser.add_argument("--base-path", default=DEFAULT_BASE_PATH, help="default %(default)s")
    parser.add_argument(
        "--new-fields",
        action="store_true",
        help="answer with IonQ's Sept. 2026 fields (amount_totals, amount_unit, amounts)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    org = SimOrg(args.seed, args.org_id)
    server = SimServer(
        org,
        api_key=args.api_key,
        now=args.now,
        base_path=args.base_path,
        new_fields=args.new_fields,
        host=args.host,
        port=args.port,
    )
    try:
        server.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"IONQ_BASE_URL={server.base_url}")
    print(f"IONQ_API_KEY={args.api_key}")
    print(f"IONQ_ORG_ID={org.org_id}")
    now = "real clock" if args.now is None else args.now.isoformat()
    print(f"simulated now: {now}; press Ctrl-C to stop", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
