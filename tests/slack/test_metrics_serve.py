"""``GET /metrics`` from real ``serve`` processes while ``check`` runs in another process on the
same store (a SQLite file, and PostgreSQL when BUDGETBOT_TEST_POSTGRES_URL is set), parsed with
``prometheus_client``'s own text parser.

The budgets expected are those the same cycle computes in this process (its App Home hook sees
every burn), so the exposition is checked against the engine, not against itself.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from budgetbot.alerts.pipeline import run_check
from budgetbot.ionq import IonQClient
from budgetbot.rules.findings import Burn
from budgetbot.rules.loader import load_policies
from budgetbot.sim import SimOrg, SimServer
from budgetbot.store import Store
from budgetbot.usage import UsageSource
from tests.fakes.slack_api import FakeSlack
from tests.slack.test_serve import LISTENING
from tests.support import API_KEY, NOW, budgetbot_command, process_env, wait_for

BOT_TOKEN = "xoxb-metrics-3c9e1f-token"
SIGNING_SECRET = "metrics-signing-secret-8d1a"
#: Quotes, a backslash, a newline and braces: what the text format must escape in a label value.
HOSTILE = 'Quantum "Chem"\\ {x="1"}\nnext line'
CAP = 5
POLICY = """
policies:
  - name: project-month
    scope: project
    each: true
    budget: {usd: 3000}
    alert_at: [50, 80, 100]
    forecast_at: [100]
    channel: "#quantum-spend"
  - name: org-month
    scope: organization
    budget: {usd: 60000}
    alert_at: [80]
    channel: "#quantum-spend"
  - name: user-week
    scope: user
    each: true
    period: week
    budget: {usd: 4000}
    alert_at: [100]
    channel: "#quantum-spend"
"""

Labels = tuple[str, str, str, str]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_schema_url"))
    return f"sqlite:///{tmp_path / 'state.db'}"


@contextmanager
def serving(envs: Sequence[dict[str, str]], tmp: Path) -> Iterator[list[str]]:
    """``serve`` processes (started together) on free loopback ports; their base URLs. Each is
    stopped with SIGTERM and must exit cleanly without logging a secret."""
    logs = [tmp / f"serve-{n}.log" for n in range(len(envs))]
    procs = []
    try:
        for env, log in zip(envs, logs, strict=True):
            with log.open("wb") as err:
                argv = budgetbot_command("serve", "--host", "127.0.0.1", "--port", "0")
                procs.append(
                    subprocess.Popen(
                        [*argv, "--now", NOW.isoformat()],
                        cwd=tmp,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                    )
                )

        def ports() -> list[int] | None:
            found = [LISTENING.search(log.read_text(errors="replace")) for log in logs]
            for proc, log in zip(procs, logs, strict=True):
                if proc.poll() is not None:
                    raise AssertionError(f"serve exited:\n{log.read_text()}")
            return [int(m.group(1)) for m in found if m] if all(found) else None

        yield [f"http://127.0.0.1:{port}" for port in wait_for(ports, 30)]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=15) for proc in procs]
    for code, log in zip(codes, logs, strict=True):
        text = log.read_text(errors="replace")
        assert code == 0, text
        for secret in (BOT_TOKEN, SIGNING_SECRET, API_KEY):
            assert secret not in text


def scrape(url: str) -> dict[str, list[Sample]]:
    """Samples by family name; any answer that is not 200 or does not parse fails the test."""
    answer = httpx.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(answer.text)}


def by_labels(samples: Sequence[Sample]) -> dict[Labels, float]:
    return {
        (s.labels["policy"], s.labels["group"], s.labels["period"], s.labels["measure"]): s.value
        for s in samples
    }


def engine_burns(sim: SimServer, rules_path: Path, tmp: Path) -> list[Burn]:
    """Every budget's burn as the same cycle computes it, in this process."""
    seen: list[Burn] = []
    with IonQClient(sim.base_url, sim.org.org_id, API_KEY) as client:
        run_check(
            load_policies(rules_path),
            UsageSource(client),
            Store(f"sqlite:///{tmp / 'engine.db'}"),
            [],
            NOW,
            dry_run=False,
            home=lambda burns, _: seen.extend(burns),
            metrics=False,
        )
    return [b for b in seen if b.rule_type == "policy"]


def test_metrics_from_serve_while_check_runs(database_url: str, tmp_path: Path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(POLICY)
    org = SimOrg(rename={"Quantum Chem": HOSTILE}, extra_projects=6)
    with SimServer(org, api_key=API_KEY, now=NOW) as sim, FakeSlack(token=BOT_TOKEN) as fake:
        burns = engine_burns(sim, rules, tmp_path)
        periods = {"project-month": "month", "org-month": "month", "user-week": "week"}
        expected = {(b.rule, b.group_name, periods[b.rule], b.measure): b for b in burns}
        assert len(expected) == len(burns) > CAP
        assert any(not b.value.exact for b in burns), "the sim gives no bounded figure"
        common = {
            "IONQ_BASE_URL": sim.base_url,
            "IONQ_ORG_ID": sim.org.org_id,
            "IONQ_API_KEY": API_KEY,
            "DATABASE_URL": database_url,
            "BUDGETBOT_POLICIES": str(rules),
        }
        slack = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.base_url,
        }
        serve_env = process_env(**common, **slack)
        capped_env = process_env(**common, **slack, BUDGETBOT_METRICS_SERIES_CAP=CAP)
        with serving([serve_env, capped_env], tmp_path) as (url, capped_url):
            before = scrape(url)
            assert before["budgetbot_budget_spend"] == []
            assert "budgetbot_last_good_cycle_timestamp_seconds" not in before

            asked_before = len(sim.usage_requests)
            sim.latency = 0.01  # the check takes a while: scrapes land while it runs
            check = subprocess.Popen(
                [*budgetbot_command("check", "--now", NOW.isoformat())],
                cwd=tmp_path,
                env=process_env(**common),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            during = 0
            while check.poll() is None:
                scrape(url)  # every answer meanwhile is whole and parses
                during += 1
            _, err = check.communicate()
            assert check.returncode == 0, err.decode()
            assert during > 0
            sim.latency = 0

            after = scrape(url)
            spend = by_labels(after["budgetbot_budget_spend"])
            assert set(spend) == set(expected)  # every budget, the hostile name unharmed
            assert any(labels[1] == HOSTILE for labels in spend)
            amounts = by_labels(after["budgetbot_budget_amount"])
            lower = by_labels(after["budgetbot_budget_spend_lower"])
            upper = by_labels(after["budgetbot_budget_spend_upper"])
            forecast = by_labels(after["budgetbot_budget_forecast"])
            for labels, burn in expected.items():
                assert spend[labels] == pytest.approx(float(burn.value.high))
                assert amounts[labels] == pytest.approx(float(burn.budget or 0))
                if burn.value.exact:
                    assert labels not in lower and labels not in upper
                else:
                    assert lower[labels] == pytest.approx(float(burn.value.low))
                    assert upper[labels] == pytest.approx(float(burn.value.high))
                if burn.forecast is not None:
                    assert forecast[labels] == pytest.approx(float(burn.forecast.high))
            assert after["budgetbot_series_dropped"][0].value == 0
            assert after["budgetbot_cycles"][0].value == 1
            good = after["budgetbot_last_good_cycle_timestamp_seconds"][0].value
            assert good == NOW.timestamp()
            requests = {s.labels["kind"]: s.value for s in after["budgetbot_ionq_requests"]}
            assert requests["usage"] == len(sim.usage_requests) - asked_before
            assert after["budgetbot_outbox_depth"][0].value == 0

            # The other serve, capped, answers from the same store: the largest budgets only.
            small = scrape(capped_url)
            kept = by_labels(small["budgetbot_budget_amount"])
            assert len(kept) == CAP
            assert small["budgetbot_series_dropped"][0].value == len(expected) - CAP
            left_out = set(amounts) - set(kept)
            assert min(kept.values()) >= max(amounts[labels] for labels in left_out)
            for family in small:
                if family.startswith("budgetbot_budget_"):
                    assert set(by_labels(small[family])) <= set(kept)
            assert small["budgetbot_cycles"] == after["budgetbot_cycles"]
