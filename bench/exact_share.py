"""Benchmark (g), second half: the share of project budgets whose figure is exact, with and
without the job ledger, for the shipped ``project-monthly-cap`` ($40,000 a month for each project)
on the simulated organization with every project keyed.

Run from the repository root: `.venv/bin/python bench/exact_share.py [--at ISO-8601]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from budgetbot.ionq import IonQClient  # noqa: E402
from budgetbot.ledger.figures import LedgerFigures  # noqa: E402
from budgetbot.ledger.walk import LedgerReader  # noqa: E402
from budgetbot.reports.fetch import fetch_burns  # noqa: E402
from budgetbot.rules import load_policies  # noqa: E402
from budgetbot.rules.loader import PolicySet  # noqa: E402
from budgetbot.sim import SimOrg, SimServer  # noqa: E402
from budgetbot.store import Store  # noqa: E402
from budgetbot.usage import UsageSource  # noqa: E402

KEY = "bench-key"
RULE = "project-monthly-cap"


def exact_share(at: dt.datetime) -> dict[str, object]:
    """Per project of the organization: exact, a bound, or no figure at all, without and with
    the ledger; and what the ledger's walk cost."""
    rules = load_policies(REPO / "policies")
    cap = PolicySet(policies=tuple(p for p in rules.policies if p.name == RULE))
    org = SimOrg()
    out: dict[str, object] = {"projects": len(org.projects)}
    with SimServer(org, api_key=KEY, now=at) as sim, IonQClient(sim.base_url, org.org_id, KEY) as c:
        missing = org.quiet_projects[0].id

        def ledger(*, but: str | None = None) -> LedgerFigures:
            keys = [k for p, k in sim.project_keys.items() if p != but]
            clients = [c] + [
                c.with_key(key, key_label=f"IONQ_PROJECT_KEYS key {n}")
                for n, key in enumerate(keys, start=1)
            ]
            return LedgerFigures(LedgerReader(clients, Store.memory()), at)

        every, short = ledger(), ledger(but=missing)
        for label, source in (
            ("without the ledger", UsageSource(c)),
            ("with the ledger", UsageSource(c, refiner=every)),
            ("with the ledger, one quiet project's key missing", UsageSource(c, refiner=short)),
        ):
            burns = fetch_burns(cap, source, at)
            exact = sum(b.value.low == b.value.high for b in burns)
            out[label] = {"exact": exact, "bounds": len(burns) - exact}
        out["requests"] = dict(every.requests)
        out["kept_as_bounds"] = len([r for r in short.reasons if r.kind != "unread"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--at", default="2026-11-20T12:00:00+00:00")
    at = dt.datetime.fromisoformat(parser.parse_args().at)
    g = exact_share(at)
    n = g["projects"]
    print(f"## (g) exact project budgets ({RULE}) at {at:%Y-%m-%d %H:%M} UTC, {n} projects")
    for label in (k for k in g if k.startswith("with")):
        row = g[label]
        assert isinstance(row, dict)
        print(
            f"{label}: {row['exact']}/{n} exact, {row['bounds']} bounds,"
            f" {n - row['exact'] - row['bounds']} no figure (never named)"
        )
    print(
        f"ledger requests (first walk, every key): {g['requests']}; buckets kept as bounds with"
        f" one key missing: {g['kept_as_bounds']}"
    )


if __name__ == "__main__":
    main()
