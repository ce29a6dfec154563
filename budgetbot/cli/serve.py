"""``budgetbot serve``: the web process answering Slack (HTTP or Socket Mode)."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from pathlib import Path

import click

from budgetbot.settings import Settings

from .group import main
from .options import _load, now_option, policies_option
from .runtime import serve_runtime, slack_deps

__all__ = ["serve"]


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=3000,
    envvar="PORT",
    show_envvar=True,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="HTTP worker threads (each holds a Slack request only until it is acknowledged).",
)
@click.option(
    "--socket-mode",
    is_flag=True,
    help="Connect to Slack over Socket Mode with SLACK_APP_TOKEN instead of serving HTTP"
    " (local use without a public URL). Never automatic: a set SLACK_APP_TOKEN alone does"
    " not change how serve runs.",
)
@policies_option
@now_option
def serve(
    host: str,
    port: int,
    threads: int,
    socket_mode: bool,
    policies_path: Path | None,
    now: dt.datetime | None,
) -> None:
    """Serve Slack: /ionq-usage at /slack/events, health at /healthz.

    The web process. Runs the Slack app under waitress, a production WSGI server: POST
    /slack/events takes Slack's signed requests (401 and nothing else for a missing, wrong,
    malformed or stale signature; 400 for a signed but malformed body), GET /healthz answers
    {"status": "ok"}, GET /metrics the last cycle's figures for Prometheus (unauthenticated:
    keep it off the public internet). Slash commands are acknowledged at once and answered
    through their response_url when IonQ has replied. Exits 1 at start-up when
    SLACK_SIGNING_SECRET is missing or Slack refuses SLACK_BOT_TOKEN. With --socket-mode it
    connects out to Slack over a WebSocket instead (SLACK_APP_TOKEN; no public URL needed; exits
    1 if Slack refuses it).

    Reads SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN (--socket-mode), SLACK_API_URL,
    IONQ_API_KEY, IONQ_ORG_ID, IONQ_BASE_URL, BUDGETBOT_POLICIES and PORT (--port).
    --now ISO-8601 pins every request's clock (demos and tests).

    Example: budgetbot serve --port 3000
    """
    from budgetbot.alerts.exposition import exposition
    from budgetbot.alerts.health import HealthProbe
    from budgetbot.slack.app import SlackStartupError, build_app, run_socket_mode
    from budgetbot.slack.deps import utc_now
    from budgetbot.slack.web import create_wsgi_app, serve_http

    log = logging.getLogger("budgetbot.serve")
    settings = Settings()
    rules = _load(policies_path or settings.budgetbot_policies)
    if not (settings.ionq_api_key and settings.ionq_org_id):
        log.warning(
            "IONQ_API_KEY or IONQ_ORG_ID is not set: /ionq-usage will answer that budgetbot"
            " is not connected to IonQ"
        )
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    if socket_mode and not app_token:
        raise click.ClickException(
            "SLACK_APP_TOKEN is not set: --socket-mode needs the app-level token (xapp-…)"
        )
    if app_token and not socket_mode:
        log.info("SLACK_APP_TOKEN is set but unused: serving HTTP (--socket-mode uses it)")
    clock = (lambda: now) if now else utc_now
    runtime = serve_runtime(settings, now=clock)
    deps = slack_deps(runtime, rules, now=clock)
    try:
        app = build_app(settings, deps)
    except SlackStartupError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        if socket_mode:
            try:
                run_socket_mode(app, app_token)
            except SlackStartupError as exc:
                raise click.ClickException(str(exc)) from None
        else:
            probe = HealthProbe(runtime.store(), settings.budgetbot_check_schedule, deps.now)
            secret = settings.slack_signing_secret
            serve_http(
                create_wsgi_app(
                    app,
                    signing_secret=secret.get_secret_value() if secret else "",
                    checks=probe.checks(),
                    info=probe.info,
                    metrics=partial(
                        exposition,
                        runtime.store(),
                        deps.now,
                        settings.budgetbot_metrics_series_cap,
                    ),
                ),
                host=host,
                port=port,
                threads=threads,
                on_listen=lambda h, p: log.info(
                    "budgetbot serving Slack at http://%s:%d/slack/events"
                    " (%d policies, %d threads)",
                    h,
                    p,
                    len(rules.policies),
                    threads,
                ),
            )
    finally:
        deps.close()
    log.info("budgetbot stopped")
