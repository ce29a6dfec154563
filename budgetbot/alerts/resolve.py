"""When a budget's state improves within its period, say so once in the alert's thread (pure).

A level that fired is *resolved* when even the upper bound of its figure is now below it: the
budget in the file was raised, or a forecast or pace level no longer holds. A figure that is
only hidden (IonQ's top-5 lists) is never taken for an improvement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from budgetbot.render.messages import resolved_text
from budgetbot.rules.findings import Burn, resolved_key, thread_key
from budgetbot.rules.kinds import KINDS

__all__ = ["Resolution", "resolutions"]


@dataclass(frozen=True)
class Resolution:
    burn: Burn
    kind: str
    level: Decimal
    text: str

    @property
    def thread_key(self) -> str:
        return thread_key(self.burn.rule, self.burn.group_key, self.burn.period)

    @property
    def dedup_key(self) -> str:
        return resolved_key(self.thread_key, self.kind, self.level)


def resolutions(
    burns: Iterable[Burn], fired: Mapping[tuple[str, str, str, str], set[str]]
) -> list[Resolution]:
    """For each burn, each kind whose highest fired level is now certainly not reached."""
    out = []
    for burn in burns:
        if not burn.measurable:
            continue
        for kind in KINDS.values():
            if not kind.resolvable or kind.figure is None:
                continue
            levels = fired.get((burn.rule, burn.group_key, burn.period, kind.key))
            if not levels:
                continue
            highest = max(Decimal(level) for level in levels)
            now = kind.figure(burn)
            if now is not None and now.high < highest:
                text = resolved_text(burn, kind.key, highest, now)
                out.append(Resolution(burn, kind.key, highest, text))
    return out
