"""Serve the simulated organization in the foreground: ``python -m budgetbot.sim --port 8099``.

It prints the settings that point budgetbot at it, ``IONQ_PROJECT_KEYS`` included (the keys of
the projects ``--project-keys`` names: every project unless told), one ``NAME=value`` a line.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from budgetbot.sim.jobs_api import COST_UNITS
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
        description=(
            "Serve the simulated IonQ organization (usage, whoami, the jobs endpoints) over HTTP."
        ),
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
    parser.add_argument(
        "--project-keys",
        default="all",
        metavar="PROJECTS",
        help=(
            "whose project keys to print in IONQ_PROJECT_KEYS: 'all', 'none' or project names or"
            " ids, comma-separated (every key works either way; default %(default)s)"
        ),
    )
    parser.add_argument(
        "--cost-unit",
        choices=COST_UNITS,
        default="usd",
        help="the unit of job costs: usd, or credit for an organization billed in credits",
    )
    return parser


def _chosen_keys(org: SimOrg, keys: dict[str, str], wanted: str) -> list[tuple[str, str]]:
    """(project name, key) of the projects ``wanted`` names (``all``: every one, in order)."""
    if wanted.strip() == "all":
        ids = [p.id for p in org.projects]
    elif wanted.strip() == "none":
        ids = []
    else:
        try:
            ids = [org.project(name.strip()).id for name in wanted.split(",") if name.strip()]
        except KeyError as exc:
            raise SystemExit(f"error: --project-keys: {exc.args[0]}") from None
    return [(org.project(i).name, keys[i]) for i in ids]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    org = SimOrg(args.seed, args.org_id)
    server = SimServer(
        org,
        api_key=args.api_key,
        now=args.now,
        base_path=args.base_path,
        new_fields=args.new_fields,
        cost_unit=args.cost_unit,
        host=args.host,
        port=args.port,
    )
    chosen = _chosen_keys(org, server.project_keys, args.project_keys)
    try:
        server.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"IONQ_BASE_URL={server.base_url}")
    print(f"IONQ_API_KEY={args.api_key}")
    print(f"IONQ_ORG_ID={org.org_id}")
    if chosen:
        print(f"IONQ_PROJECT_KEYS={','.join(key for _, key in chosen)}")
        print(f"# the project keys of: {', '.join(name for name, _ in chosen)}")
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
