"""One Runtime per process: the IonQ client, the usage cache, the store and the Slack client are
built in one place, on first use, shared, and closed once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from budgetbot.cli.runtime import Runtime, serve_runtime, slack_deps
from budgetbot.rules import PolicySet
from budgetbot.settings import MissingSetting, Settings
from budgetbot.store import Store

ROOT = Path(__file__).resolve().parents[2] / "budgetbot"
RUNTIME = ROOT / "cli" / "runtime.py"


def _constructions(name: str) -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name | ast.Attribute)
                and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == name
            ):
                found.append(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("name", ["IonQClient", "UsageCache"])
def test_ionq_client_and_cache_are_built_in_one_place(name):
    assert set(_constructions(name)) == {"cli/runtime.py"}


def _settings(tmp_path: Path, **over: object) -> Settings:
    values: dict[str, object] = {
        "ionq_api_key": "runtime-test-key",
        "ionq_org_id": "org-runtime",
        "ionq_base_url": "http://127.0.0.1:9/",
        "database_url": f"sqlite:///{tmp_path / 'state.db'}",
        "slack_bot_token": None,
    }
    values.update(over)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_each_connection_is_built_once_and_shared(tmp_path):
    with Runtime(_settings(tmp_path)) as runtime:
        assert runtime.ionq() is runtime.ionq()
        assert runtime.store() is runtime.store()
        assert runtime.cache() is runtime.cache()
        first, second = runtime.usage_source(), runtime.usage_source()
        assert first is not second  # a fresh memo per use...
        assert first._client is second._client is runtime.ionq()  # ...over one client
        assert first._cache is second._cache is runtime.cache()
        assert runtime.slack_client() is None
        assert runtime.notifiers() is runtime.notifiers()


def test_close_closes_each_connection_once(tmp_path):
    store = Store.memory()
    closed: list[str] = []
    real_close = store.close
    store.close = lambda: (closed.append("store"), real_close())  # type: ignore[method-assign]
    runtime = Runtime(_settings(tmp_path), store=store)
    client = runtime.ionq()
    runtime.close()
    runtime.close()
    assert closed == ["store"]
    assert client._http.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        runtime.ionq()  # a client built now would never be closed
    with pytest.raises(RuntimeError, match="closed"):
        runtime.usage_source()


def test_missing_ionq_settings_create_no_database(tmp_path):
    runtime = Runtime(_settings(tmp_path, ionq_api_key=None))
    with pytest.raises(MissingSetting):
        runtime.usage_source()
    runtime.close()
    assert not (tmp_path / "state.db").exists()


def test_serve_shares_the_runtime_with_the_listeners(tmp_path):
    runtime = serve_runtime(_settings(tmp_path))
    deps = slack_deps(runtime, PolicySet())
    assert deps.store is runtime.store()
    client = runtime.ionq()
    assert deps.usage_source()._client is client
    deps.close()  # the web process stops: the runtime closes, once
    assert client._http.is_closed


def test_runtime_repr_holds_no_secret(tmp_path):
    assert "runtime-test-key" not in repr(Runtime(_settings(tmp_path)))
