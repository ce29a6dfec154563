"""Every sentence budgetbot answers a Slack user with, in one place.

Listeners (commands, buttons, the App Home) and the app's error handler pick their words here, so
the same failure reads the same wherever it shows, and no listener reaches into another for one.
"""

from __future__ import annotations

from budgetbot.ionq import IonQAuthError, IonQNotFound, IonQRequestError
from budgetbot.settings import MissingSetting
from budgetbot.usage import UsageDataError

__all__ = [
    "ACTIONS_OFF",
    "ACTION_IN_PROGRESS",
    "APOLOGY",
    "IONQ_DOWN",
    "IONQ_KEY_REJECTED",
    "IONQ_ORG_UNKNOWN",
    "IONQ_REFUSED",
    "NOT_CONNECTED",
    "NO_ACTIONS",
    "NO_AUDIT",
    "NO_STORE",
    "PERIOD_OVER",
    "QUEUE_NOT_READ",
    "UNKNOWN_PROPOSAL",
    "UNREADABLE",
    "USER_SPEND_PRIVATE",
    "WORKING",
    "failure_sentence",
    "not_an_approver",
]

#: The acknowledgement of every slash command, before its text is read.
WORKING = "Working on it…"
IONQ_DOWN = "IonQ is not answering right now; try again in a few minutes."
IONQ_KEY_REJECTED = "budgetbot's IonQ key was rejected; tell whoever runs budgetbot."
IONQ_ORG_UNKNOWN = "IonQ does not know budgetbot's organization id; tell whoever runs budgetbot."
IONQ_REFUSED = "IonQ could not answer that question; try a shorter range."
NOT_CONNECTED = "budgetbot is not connected to IonQ yet; tell whoever runs budgetbot."
UNREADABLE = "IonQ's answer did not add up, so budgetbot shows nothing rather than a wrong figure."
#: ``/ionq-usage queue`` where budgetbot was started without a queue reader.
QUEUE_NOT_READ = "budgetbot does not read IonQ's queue here; tell whoever runs budgetbot."
#: A snooze button clicked after its alert's period ended.
PERIOD_OVER = "That alert's period is over already: there is nothing left to snooze."
#: A button clicked where budgetbot runs without a state store.
NO_STORE = "budgetbot has no state store here, so it cannot remember that; nothing was changed."
#: Budget action buttons: the action service is not there, the proposal is not known, the
#: operator switched actions off, another click is carrying it out.
NO_AUDIT = "budgetbot has no state store here, so it keeps no audit trail."
NO_ACTIONS = "budgetbot cannot carry out budget actions here (no state store); nothing was done."
UNKNOWN_PROPOSAL = "budgetbot does not know that proposal (any more); nothing was done."
ACTIONS_OFF = "Budget actions are switched off (BUDGETBOT_ACTIONS=off); nothing was done."
ACTION_IN_PROGRESS = (
    "That action is being carried out right now; the message shows what it did when IonQ has"
    " answered."
)
#: Spend by user asked for where BUDGETBOT_USER_REPORTS does not allow it.
USER_SPEND_PRIVATE = (
    "Spend by user is personal: this workspace shows it only to the people and channels"
    " listed in BUDGETBOT_USER_REPORTS. Try `/ionq-usage project weekly`."
)
#: What Slack shows when a listener fails in a way nobody planned for (details are in the log).
APOLOGY = "Sorry, something went wrong inside budgetbot; the details are in its log."


def failure_sentence(exc: Exception) -> str:
    """The one sentence Slack shows for an expected failure (details belong in the log)."""
    if isinstance(exc, IonQAuthError):
        return IONQ_KEY_REJECTED
    if isinstance(exc, IonQNotFound):
        return IONQ_ORG_UNKNOWN
    if isinstance(exc, IonQRequestError):
        return IONQ_REFUSED
    if isinstance(exc, MissingSetting):
        return NOT_CONNECTED
    if isinstance(exc, UsageDataError):
        return UNREADABLE
    return IONQ_DOWN


def not_an_approver(unanswered: list[str]) -> str:
    """The refusal of a click by someone who is not an approver (or could not be checked)."""
    if unanswered:
        return (
            "budgetbot could not check with Slack whether you are one of this action's approvers"
            " (Slack did not answer for some of them), so nothing was done; try again later or"
            " tell whoever runs budgetbot."
        )
    return "Only this action's approvers may do that; nothing was done."
