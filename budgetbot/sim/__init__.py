"""The simulated IonQ organization (DESIGN §7) and its loopback HTTP server.

``SimOrg`` is a deterministic, seeded organization whose ``usage_body`` answers exactly what IonQ's
usage endpoint answers (top-5 truncation included) and whose ``truth`` gives the untruncated
figures; its jobs wait in a queue and are billed on the day they complete (``queued``, ``submit``,
``cancel``, ``clone``). ``SimServer`` serves it over HTTP — usage, ``/whoami`` per key and IonQ's
jobs endpoints, with ``project_keys`` — with fault injection. ``python -m budgetbot.sim`` runs the
server in the foreground.
"""

from budgetbot.sim.examples import example_policies
from budgetbot.sim.model import GroupTotals, Job, Project, SimOrg, User, to_json
from budgetbot.sim.server import RecordedRequest, SimServer

__all__ = [
    "GroupTotals",
    "Job",
    "Project",
    "RecordedRequest",
    "SimOrg",
    "SimServer",
    "User",
    "example_policies",
    "to_json",
]
