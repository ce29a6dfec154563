"""Settings from the environment and a ``.env`` file (DESIGN §4): the only reader of os.environ.

Secrets are ``SecretStr``: their repr, str and any error mentioning them show ``**********``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from budgetbot.ionq import DEFAULT_BASE_URL
from budgetbot.store import Store

__all__ = ["MissingSetting", "Settings"]


class MissingSetting(Exception):
    """A setting a command needs is not set; the message names the variable."""


class Settings(BaseSettings):
    """budgetbot's configuration. Every field mirrors the environment variable of its name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    ionq_api_key: SecretStr | None = Field(None, description="IonQ API key (secret)")
    ionq_org_id: str | None = Field(None, description="IonQ organization id")
    ionq_base_url: str = Field(DEFAULT_BASE_URL, description="IonQ API base URL")
    ionq_project_keys: SecretStr | None = Field(
        None,
        description="Comma-separated IonQ project keys (secret) whose projects' queues may be read",
    )
    slack_bot_token: SecretStr | None = Field(None, description="Slack bot token xoxb-…")
    slack_signing_secret: SecretStr | None = Field(None, description="Slack signing secret")
    slack_app_token: SecretStr | None = Field(None, description="Slack app token for Socket Mode")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL")
    database_url: str = Field("sqlite:///budgetbot.db", description="State store URL")
    budgetbot_policies: Path = Field(Path("policies"), description="Folder of policy files")
    budgetbot_check_schedule: str = Field("*/15 * * * *", description="Cron of the check cycle")
    slack_allowed_team_ids: str | None = Field(
        None, description="Comma-separated Slack team ids allowed to use the bot (unset: any)"
    )
    budgetbot_user_reports: str | None = Field(
        None,
        description="Comma-separated Slack user or channel ids that may see spend by user"
        " (unset: everyone)",
    )
    budgetbot_delivery_lease: float = Field(
        600.0, gt=0, description="Seconds one process may hold a notification while sending it"
    )
    budgetbot_default_channel: str | None = Field(
        None, description="Slack channel for rules without `channel:`"
    )
    budgetbot_ledger: bool = Field(
        False,
        description="Exact figures beyond IonQ's top 5 from the job ledger: walks every visible"
        " completed job and asks each new job's cost once (off: IonQ's usage alone)",
    )
    budgetbot_actions: Literal["on", "dry-run", "off"] = Field(
        "on",
        description="Budget actions: on (propose and cancel), dry-run (propose, say what would"
        " be cancelled, cancel nothing) or off (propose nothing)",
    )
    budgetbot_metrics_series_cap: int = Field(
        1000,
        ge=0,
        description="Most budgets /metrics exports (the largest kept; the rest counted in"
        " budgetbot_series_dropped)",
    )

    def require_ionq(self) -> tuple[str, str, SecretStr]:
        """Base URL, organization id and key for live data, or a MissingSetting naming the gap."""
        missing = [
            name
            for name, value in (
                ("IONQ_API_KEY", self.ionq_api_key),
                ("IONQ_ORG_ID", self.ionq_org_id),
            )
            if not value
        ]
        if missing:
            raise MissingSetting(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: live IonQ"
                " data needs both (or run `budgetbot demo` to use the simulated organization)"
            )
        assert self.ionq_api_key is not None and self.ionq_org_id is not None
        return self.ionq_base_url, self.ionq_org_id, self.ionq_api_key

    @property
    def project_keys(self) -> tuple[SecretStr, ...]:
        """The keys of IONQ_PROJECT_KEYS, in order (each its own secret); empty when unset."""
        if self.ionq_project_keys is None:
            return ()
        parts = self.ionq_project_keys.get_secret_value().split(",")
        return tuple(SecretStr(part.strip()) for part in parts if part.strip())

    @staticmethod
    def _ids(value: str | None) -> frozenset[str] | None:
        if value is None or not value.strip():
            return None
        return frozenset(part.strip() for part in value.split(",") if part.strip())

    @property
    def allowed_team_ids(self) -> frozenset[str] | None:
        """Teams allowed to talk to the bot; None: any."""
        return self._ids(self.slack_allowed_team_ids)

    @property
    def user_report_viewers(self) -> frozenset[str] | None:
        """User and channel ids allowed to see spend by user; None: everyone."""
        return self._ids(self.budgetbot_user_reports)

    def store(self) -> Store:
        """The state store at DATABASE_URL, created or upgraded as needed."""
        lease = dt.timedelta(seconds=self.budgetbot_delivery_lease)
        return Store(self.database_url, delivery_lease=lease)
