"""Policies checked where they are written: ``budgetbot validate`` on several paths, and the
pre-commit hook of .pre-commit-hooks.yaml run by pre-commit itself on temporary git repos.

pre-commit installs this repository into a virtualenv of its own with pip, which needs a package
index for budgetbot's dependencies (about 90 s here); the first test pays for it, the rest reuse
the environment. Without a reachable index those tests skip and say so; any other failure fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from budgetbot.cli import main
from tests.support import process_env

ROOT = Path(__file__).resolve().parents[2]

GOOD = "policies:\n  - name: chem\n    scope: project\n    budget: {usd: 100}\n"
BROKEN = (
    "policies:\n  - name: team\n    scope: project\n    budget: {usd: 100}\n    alert_at: [120]\n"
)
BROKEN_ERROR = "policies/team.yaml:5:15: policies[0].alert_at (team): 120 is over 100"
#: A repository's other YAML: not a policy file, and no policy either.
WORKFLOW = "on: push\njobs: {}\n"

#: pip's words when no index answers; only these turn a failed install into a skip.
OFFLINE = (
    "No matching distribution found",
    "Could not find a version that satisfies",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


# --- budgetbot validate PATHS...: what the hook runs ---------------------------------------------


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def test_validate_checks_several_files_and_folders_as_one_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, {"a/one.yaml": GOOD, "b/two.yaml": GOOD.replace("chem", "bio")})
    result = CliRunner().invoke(main, ["validate", "a/one.yaml", "b"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("a/one.yaml, b: 2 file(s) OK: 2 policies")

    # A file named on its own and through its folder is one file, not a duplicate name.
    assert CliRunner().invoke(main, ["validate", "a/one.yaml", "a"]).exit_code == 0

    _write(tmp_path, {"b/three.yaml": GOOD})
    result = CliRunner().invoke(main, ["validate", "a/one.yaml", "b/three.yaml", "missing.yaml"])
    assert result.exit_code == 1
    assert "b/three.yaml:2:5: policies[0].name: 'chem' is already defined at a/one.yaml:2:5" in (
        result.output
    )
    assert "missing.yaml: no such file or folder" in result.output


def test_validate_without_paths_still_reads_budgetbot_policies(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, {"mine/team.yaml": BROKEN})
    monkeypatch.setenv("BUDGETBOT_POLICIES", "mine")
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 1
    assert BROKEN_ERROR.replace("policies/", "mine/") in result.output


# --- the hook, run by pre-commit ---------------------------------------------------------------


@dataclass(frozen=True)
class HookRepo:
    """This repository as pre-commit sees it: a clean git repo at ``rev``, and pre-commit's home."""

    path: Path
    rev: str
    home: Path


def _git_env(home: Path) -> dict[str, str]:
    # The hook must run the budgetbot pre-commit installed, not this checkout (PYTHONPATH), and
    # git must see the temporary repositories, not one this test runs inside (GIT_DIR, ...).
    env = {
        k: v
        for k, v in process_env().items()
        if not k.startswith(("GIT_", "PRE_COMMIT")) and k != "PYTHONPATH"
    }
    return env | {
        "PRE_COMMIT_HOME": str(home),
        "GIT_CONFIG_GLOBAL": os.devnull,  # no core.hooksPath or templates of the machine's
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }


def _run(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=_git_env(home), capture_output=True, text=True, timeout=540
    )


def _pre_commit(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "pre_commit", *args], cwd, home)


def _git(args: list[str], cwd: Path, home: Path) -> str:
    done = _run(["git", *args], cwd, home)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def _config(hook: HookRepo, extra: str = "") -> str:
    return (
        f"repos:\n  - repo: {hook.path}\n    rev: {hook.rev}\n"
        f"    hooks:\n      - id: budgetbot-validate\n{extra}"
    )


def _skip_if_offline(done: subprocess.CompletedProcess[str]) -> None:
    output = done.stdout + done.stderr
    if done.returncode != 0 and any(words in output for words in OFFLINE):
        pytest.skip(f"pre-commit could not pip-install budgetbot (no package index):\n{output}")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookRepo]:
    """This checkout's tracked files as they are now, committed or not (as ``pre-commit
    try-repo`` takes them), in a clean repository pre-commit can install from."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: pre-commit installs hooks from a git repository")
    base = tmp_path_factory.mktemp("hook")
    home = base / "pre-commit-home"
    rev = _git(["stash", "create"], ROOT, home) or _git(["rev-parse", "HEAD"], ROOT, home)
    path = base / "budgetbot"
    _git(["clone", "--quiet", "--shared", "--no-checkout", str(ROOT), str(path)], base, home)
    _git(["checkout", "--quiet", "--detach", rev], path, home)
    yield HookRepo(path, rev, home)
    shutil.rmtree(home, ignore_errors=True)  # the hook's virtualenv: a few hundred MB per run


@pytest.fixture(scope="module")
def hook(snapshot: HookRepo, tmp_path_factory: pytest.TempPathFactory) -> HookRepo:
    """The snapshot with the hook's environment installed once in its pre-commit home."""
    policy_repo = tmp_path_factory.mktemp("install")
    _git(["init", "--quiet", str(policy_repo)], policy_repo, snapshot.home)
    _write(policy_repo, {".pre-commit-config.yaml": _config(snapshot)})
    installed = _pre_commit(["install-hooks"], policy_repo, snapshot.home)
    _skip_if_offline(installed)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return snapshot


def _policy_repo(tmp_path: Path, hook: HookRepo, files: dict[str, str]) -> Path:
    """A team's policy repository with ``files`` staged."""
    repo = tmp_path / "team-policies"
    _git(["init", "--quiet", str(repo)], tmp_path, hook.home)
    _write(repo, files)
    _git(["add", "--all"], repo, hook.home)
    return repo


@pytest.mark.timeout(600)
def test_try_repo_fails_on_a_broken_policy_with_its_file_and_line(snapshot, tmp_path):
    """try-repo installs into a store of its own each time (about 90 s): one run, the broken
    case; the tests below show good policies passing through the installed hook."""
    repo = _policy_repo(tmp_path, snapshot, {"policies/team.yaml": BROKEN})
    try_repo = ["try-repo", str(snapshot.path), "budgetbot-validate", "--ref", snapshot.rev]
    failed = _pre_commit(try_repo, repo, snapshot.home)
    _skip_if_offline(failed)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "budgetbot validate" in failed.stdout and "Failed" in failed.stdout
    assert BROKEN_ERROR in failed.stdout


@pytest.mark.timeout(600)
def test_the_installed_hook_refuses_a_commit_with_a_broken_policy(hook, tmp_path):
    repo = _policy_repo(
        tmp_path,
        hook,
        {
            ".pre-commit-config.yaml": _config(hook),
            "policies/chem.yaml": GOOD,
            ".github/workflows/ci.yml": WORKFLOW,  # YAML outside policies/ is not checked
        },
    )
    assert _pre_commit(["install"], repo, hook.home).returncode == 0
    passed = _run(["git", "commit", "-m", "chem's budget"], repo, hook.home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "budgetbot validate" in passed.stderr and "Passed" in passed.stderr

    _write(repo, {"policies/team.yaml": BROKEN})
    _git(["add", "--all"], repo, hook.home)
    refused = _run(["git", "commit", "-m", "team's budget"], repo, hook.home)
    assert refused.returncode != 0
    assert BROKEN_ERROR in refused.stderr
    assert _git(["log", "--format=%s"], repo, hook.home) == "chem's budget"


@pytest.mark.timeout(600)
def test_files_changed_together_are_checked_together(hook, tmp_path):
    """require_serial: pre-commit would otherwise split the files over parallel runs, and two
    new files defining one name could each pass alone."""
    files = {f"policies/p{i}.yaml": GOOD.replace("chem", f"chem{i}") for i in range(16)}
    files["policies/p15.yaml"] = GOOD.replace("chem", "chem0")
    repo = _policy_repo(tmp_path, hook, {".pre-commit-config.yaml": _config(hook), **files})
    refused = _pre_commit(["run"], repo, hook.home)
    assert refused.returncode == 1
    assert "'chem0' is already defined at policies/p0.yaml:2:5" in refused.stdout


@pytest.mark.timeout(600)
def test_the_whole_folder_override_sees_names_in_unchanged_files(hook, tmp_path):
    """README's override: validate all of policies/ whenever one file changes."""
    whole = "        pass_filenames: false\n        args: [policies]\n"
    repo = _policy_repo(
        tmp_path,
        hook,
        {".pre-commit-config.yaml": _config(hook, whole), "policies/chem.yaml": GOOD},
    )
    assert _pre_commit(["install"], repo, hook.home).returncode == 0
    _git(["commit", "--quiet", "-m", "chem's budget"], repo, hook.home)

    _write(repo, {"policies/again.yaml": GOOD})
    _git(["add", "--all"], repo, hook.home)
    refused = _run(["git", "commit", "-m", "chem again"], repo, hook.home)
    assert refused.returncode != 0
    assert "'chem' is already defined at policies/again.yaml:2:5" in refused.stderr
