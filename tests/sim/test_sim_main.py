"""``python -m budgetbot.sim`` serves in the foreground and says where."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from budgetbot.sim import SimOrg, SimServer
from budgetbot.sim.__main__ import main


def test_module_serves_until_stopped() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "budgetbot.sim", "--port", "0", "--now", "2026-11-18T15:30:00Z"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(6)]
        settings = dict(line.split("=", 1) for line in lines[:4])
        assert settings["IONQ_API_KEY"] == "sim-key"
        assert settings["IONQ_ORG_ID"] == "com.example.quantum-lab"
        org = SimOrg()
        keys = SimServer(org).project_keys
        assert settings["IONQ_PROJECT_KEYS"].split(",") == [keys[p.id] for p in org.projects]
        assert lines[4].startswith("# the project keys of: Quantum Chem, Lattice QCD,")
        assert lines[5].startswith("simulated now: 2026-11-18T15:30:00+00:00")
        r = httpx.get(
            f"{settings['IONQ_BASE_URL']}/organizations/{settings['IONQ_ORG_ID']}/usage",
            params={
                "start_date": "2026-11-18",
                "end_date": "2026-11-25",
                "group_by": "project",
                "modality": "weekly",
            },
            headers={"Authorization": f"apiKey {settings['IONQ_API_KEY']}"},
            timeout=5,
        )
        assert r.status_code == 200
        assert r.json()["usage_data"][0]["from"] == "2026-11-23"
        assert r.json()["usage_data"][0]["job_count"] == 0
    finally:
        process.terminate()
        process.wait(timeout=5)
    assert process.returncode == 0  # SIGTERM stops it cleanly
    assert process.stderr is not None
    assert process.stderr.read() == ""


def test_bad_now_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--now", "tomorrow"])
    assert exit_info.value.code == 2
    assert "not an ISO 8601 date-time" in capsys.readouterr().err


def test_project_keys_can_be_chosen(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--project-keys", "Quantum Chem,No Such Project"])
    assert "No Such Project" in str(exit_info.value.code)
    for bad in (["--cost-unit", "eur"],):
        with pytest.raises(SystemExit):
            main(bad)
    assert "invalid choice" in capsys.readouterr().err
