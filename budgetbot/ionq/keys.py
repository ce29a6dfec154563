"""The keys budgetbot reads IonQ's jobs with: ``IONQ_API_KEY``'s client first, then one per project
key, each asked ``/whoami`` once per process (a key's project does not change while it runs).

Shared by the queue reader and the ledger walk: which project a key covers, how a refused key is
logged (by its setting's label and IonQ's name for it, never its value), and the requests spent.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._errors import IonQAuthError
from ._jobs import Whoami

if TYPE_CHECKING:
    from ._client import IonQClient

__all__ = ["KeyRing"]


class KeyRing:
    """``clients`` (one per key, the organization's first) and what ``/whoami`` said of each."""

    def __init__(self, clients: Sequence[IonQClient], log: logging.Logger) -> None:
        if not clients:
            raise ValueError("reading IonQ's jobs needs at least one IonQ client")
        self.clients = tuple(clients)
        self._log = log
        self._whoami: dict[int, Whoami] = {}

    def __repr__(self) -> str:
        return f"KeyRing(keys={[c.key_label for c in self.clients]!r})"

    def who(self, index: int) -> Whoami:
        """``/whoami`` of the ``index``-th key, asked once (raises ``IonQAuthError`` if refused)."""
        who = self._whoami.get(index)
        if who is None:
            client = self.clients[index]
            who = client.whoami()
            self._whoami[index] = who
            self._log.info(
                "%s is key %r%s",
                client.key_label,
                who.key_name or who.key_id,
                f" of project {who.project_id}" if who.project_id else " (no project)",
            )
        return who

    def refused(self, index: int, exc: IonQAuthError, what: str) -> None:
        """Log that IonQ refused the ``index``-th key and that ``what`` is not read."""
        known = self._whoami.get(index)
        named = f" (IonQ names it {known.key_name!r})" if known and known.key_name else ""
        self._log.warning("%s%s; %s is not read", exc, named, what)

    def client_for(self, project_id: str | None) -> IonQClient:
        """The client of the key whose ``/whoami`` named ``project_id`` (the first such key);
        the organization's key otherwise."""
        for index, who in sorted(self._whoami.items()):
            if who.project_id == project_id and project_id is not None:
                return self.clients[index]
        return self.clients[0]

    def requests(self) -> Counter[str]:
        """IonQ requests made by every key's client so far, by kind."""
        total: Counter[str] = Counter()
        for client in self.clients:
            total.update(client.requests)
        return total
