"""``/ionq-usage queue [project|user]`` through the real Bolt app: acknowledged at once, answered
through ``response_url`` (read back from the fake Slack)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from slack_bolt import App

from budgetbot.cli.runtime import serve_runtime, slack_deps
from budgetbot.ionq import IonQUnavailable
from budgetbot.queue.model import QueuedJob, QueueSnapshot
from budgetbot.render.text import money
from budgetbot.rules import load_policies
from budgetbot.sim import SimOrg, SimServer
from budgetbot.slack.answers import Reply, read_command
from budgetbot.slack.app import build_app
from budgetbot.slack.deps import Deps
from budgetbot.slack.replies import IONQ_DOWN, QUEUE_NOT_READ, WORKING
from tests.cli.test_queue import COMMITTED_POLICIES
from tests.fakes.slack_api import FakeSlack
from tests.slack.test_commands import (  # noqa: F401 (_own_database: each test its own DB)
    REPO,
    SECRET,
    _deps,
    _own_database,
    _settings,
    command,
    text_of,
    wait_for_responses,
)
from tests.slack.test_home import open_home, wait_for_view
from tests.slack.test_home import text_of as home_text
from tests.support import API_KEY, NOW


class StubReader:
    """A queue reader answering a fixed snapshot (or failing), counting its reads."""

    def __init__(self, snapshot: QueueSnapshot | Exception) -> None:
        self.answer = snapshot
        self.reads: list[dt.datetime] = []

    def snapshot(self, now: dt.datetime) -> QueueSnapshot:
        self.reads.append(now)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


SNAPSHOT = QueueSnapshot(
    NOW,
    (
        QueuedJob(
            "j1", "started", "p-chem", "u-alice", name="<!channel> vqe", estimate_usd=Decimal(250)
        ),
        QueuedJob("j2", "submitted", "p-mat", "u-bob", name="lattice", estimate_unit="credit"),
    ),
    covered=frozenset({"p-chem"}),
    known=frozenset({"p-chem", "p-mat"}),
    names={"p-chem": "Quantum Chem", "p-mat": "Materials", "u-alice": "Alice Q", "u-bob": "Bob Q"},
)


def _app(
    sim: SimServer,
    fake: FakeSlack,
    reader: StubReader | None,
    viewers: frozenset[str] | None = None,
) -> tuple[App, Deps]:
    settings = _settings(sim, fake)
    base = _deps(settings)
    deps = Deps(
        rules=base.rules,
        usage_source=base.usage_source,
        now=base.now,
        close=base.close,
        user_report_viewers=viewers,
        queue_reader=None if reader is None else (lambda: reader),
    )
    return build_app(settings, deps), deps


@pytest.fixture
def reader() -> StubReader:
    return StubReader(SNAPSHOT)


@pytest.fixture
def app(sim: SimServer, fake: FakeSlack, reader: StubReader) -> Iterator[App]:
    built, deps = _app(sim, fake, reader)
    yield built
    deps.close()


# -- the grammar ------------------------------------------------------------------------------


def test_queue_words_parse() -> None:
    for text, grouping, share in (
        ("queue", "project", False),
        ("QUEUE user", "user", False),
        ("queue project share", "project", True),
        ("share queue user", "user", True),
    ):
        todo = read_command(text, NOW)
        assert not isinstance(todo, Reply), text
        assert (todo.kind, todo.grouping, todo.share) == ("queue", grouping, share)


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("queue projekt", "/ionq-usage queue project"),
        ("queue usr", "/ionq-usage queue user"),
        ("qeue", "/ionq-usage queue"),
    ],
)
def test_queue_typos_get_help_with_the_fix(text: str, fix: str) -> None:
    reply = read_command(text, NOW)
    assert isinstance(reply, Reply)
    assert fix in text_of({"text": reply.text, "blocks": reply.blocks})


def test_queue_takes_no_range_or_modality() -> None:
    reply = read_command("queue project weekly", NOW)
    assert isinstance(reply, Reply) and "project or user only" in reply.text


def test_help_lists_queue() -> None:
    reply = read_command("help", NOW)
    assert isinstance(reply, Reply)
    assert "/ionq-usage queue [project|user]" in text_of(
        {"text": reply.text, "blocks": reply.blocks}
    )


# -- through the app --------------------------------------------------------------------------


def test_queue_is_acked_then_answered_via_response_url(
    app: App, fake: FakeSlack, sim: SimServer, reader: StubReader
) -> None:
    response = command(app, "queue", fake.response_url("q"))
    assert response.status == 200 and json.loads(response.body)["text"] == WORKING
    (answer,) = wait_for_responses(fake, "q")
    assert answer["response_type"] == "ephemeral"
    text = text_of(answer)
    assert "IonQ queue by project" in text
    assert "*Quantum Chem*: 1 job (1 running), $250.00 estimated" in text
    assert "*Materials*: queue not visible; 1 job (1 submitted) seen" in text
    assert "&lt;!channel&gt; vqe" in text and "<!channel>" not in text
    assert reader.reads == [NOW]


def test_queue_user_shared_in_channel(app: App, fake: FakeSlack) -> None:
    command(app, "queue user share", fake.response_url("qu"))
    (answer,) = wait_for_responses(fake, "qu")
    assert answer["response_type"] == "in_channel"
    text = text_of(answer)
    assert "IonQ queue by user" in text and "*Alice Q*: queue not visible" in text


def test_queue_by_user_is_personal_where_user_reports_are_limited(
    sim: SimServer, fake: FakeSlack, reader: StubReader
) -> None:
    app, deps = _app(sim, fake, reader, viewers=frozenset({"U0BOSS"}))
    command(app, "queue user", fake.response_url("qp"))
    (answer,) = wait_for_responses(fake, "qp")
    assert "Spend by user is personal" in answer["text"]
    command(app, "queue", fake.response_url("qn"))
    (answer,) = wait_for_responses(fake, "qn")
    text = text_of(answer)
    # The project view is shown, without naming who submitted what.
    assert "Quantum Chem" in text and "Alice Q" not in text and "Bob Q" not in text
    deps.close()


def test_queue_failures_are_one_sentence(sim: SimServer, fake: FakeSlack) -> None:
    app, deps = _app(sim, fake, StubReader(IonQUnavailable("503 for GET /jobs")))
    command(app, "queue", fake.response_url("qf"))
    (answer,) = wait_for_responses(fake, "qf")
    assert answer["text"] == IONQ_DOWN
    deps.close()
    app, deps = _app(sim, fake, None)
    command(app, "queue", fake.response_url("qx"))
    (answer,) = wait_for_responses(fake, "qx")
    assert answer["text"] == QUEUE_NOT_READ
    deps.close()


def test_queue_against_the_simulator_with_every_project_key(fake: FakeSlack) -> None:
    """The real reader, from the serve runtime, over HTTP: every key's jobs, each once."""
    org = SimOrg()
    with SimServer(org, api_key=API_KEY, now=NOW) as sim:
        org.submit("Materials Discovery", None, ["400.00", "120.00"], NOW - dt.timedelta(hours=1))
        keys = sim.project_keys
        settings = _settings(sim, fake, ionq_project_keys=",".join(keys.values()))
        runtime = serve_runtime(settings, now=lambda: NOW)
        deps = slack_deps(runtime, load_policies(REPO / "policies"), now=lambda: NOW)
        app = build_app(settings, deps)
        assert command(app, "queue", fake.response_url("qs")).status == 200
        (answer,) = wait_for_responses(fake, "qs")
        text = text_of(answer)
        queued = org.queued(NOW)
        assert f"{len(queued)} jobs queued or running" in text
        materials = org.queued(NOW, "Materials Discovery")
        estimate = sum((j.timeline.estimate for j in materials), Decimal(0))
        assert f"*Materials Discovery*: {len(materials)} jobs" in text
        assert f"{money(estimate)} estimated" in text
        assert not any(key in json.dumps(answer) for key in (API_KEY, *keys.values()))
        assert len(sim.route_requests("cost")) == len(queued)
        # One reader for the process: a second command asks no key its project again, and no
        # job its cost again.
        whoami = len(sim.route_requests("whoami"))
        command(app, "queue user", fake.response_url("qs2"))
        wait_for_responses(fake, "qs2")
        assert len(sim.route_requests("whoami")) == whoami
        assert len(sim.route_requests("cost")) == len(queued)
        deps.close()


def test_the_home_tab_shows_committed_beside_spend_when_opened(
    sim: SimServer, fake: FakeSlack, tmp_path: Path
) -> None:
    policies = tmp_path / "committed.yaml"
    policies.write_text(COMMITTED_POLICIES)
    settings = _settings(sim, fake, ionq_project_keys=",".join(sim.project_keys.values()))
    runtime = serve_runtime(settings, now=lambda: NOW)
    deps = slack_deps(runtime, load_policies(policies), now=lambda: NOW)
    app = build_app(settings, deps)
    assert open_home(app, "U0QUEUE", secret=SECRET).status == 200
    shown = home_text(wait_for_view(fake, "U0QUEUE"))
    [chem] = [line for line in shown.splitlines() if "Quantum Chem — November" in line]
    assert re.search(r"; \$[\d,.]+ committed \(\d+%, \d+ queued\)$", chem), chem
    deps.close()


def test_budgets_show_committed_beside_spend(
    sim: SimServer, fake: FakeSlack, tmp_path: Path
) -> None:
    policies = tmp_path / "committed.yaml"
    policies.write_text(COMMITTED_POLICIES)
    settings = _settings(sim, fake, ionq_project_keys=",".join(sim.project_keys.values()))
    runtime = serve_runtime(settings, now=lambda: NOW)
    deps = slack_deps(runtime, load_policies(policies), now=lambda: NOW)
    app = build_app(settings, deps)
    command(app, "budgets", fake.response_url("qb"))
    (answer,) = wait_for_responses(fake, "qb")
    [chem] = [x for x in text_of(answer).split("\n") if "Quantum Chem — November" in x]
    assert re.search(r"; \$[\d,.]+ committed \(\d+%, \d+ queued\)", chem), chem
    deps.close()
