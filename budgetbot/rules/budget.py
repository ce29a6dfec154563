"""A policy's ``budget:``: one key per registered measure (pure).

The keys of :data:`Budget`, and so of the policy file's JSON Schema, are derived from the
measure registry (:mod:`budgetbot.usage.measures`); :mod:`budgetbot.rules.models` rebuilds them
when a measure is registered.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import (
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
    model_validator,
)

from budgetbot.usage.measures import MEASURES, Measure

from .policy_fields import MAX_AMOUNT, MAX_PLACES, _Model

__all__ = ["Budget", "budget_doc", "budget_field"]


class _BudgetBase(_Model):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [key for key in MEASURES if getattr(self, key, None) is not None]
        if len(given) != 1:
            got = " and ".join(given) if given else "none"
            raise ValueError(f"must have exactly one of {', '.join(MEASURES)} (got {got})")
        return self

    @property
    def measure(self) -> str:
        """The key of the unit this budget is in, e.g. ``"usd"``."""
        for key in MEASURES:
            if getattr(self, key, None) is not None:
                return key
        raise AssertionError("a validated Budget has exactly one measure")  # pragma: no cover

    @property
    def unit(self) -> Measure:
        """The unit this budget is in."""
        return MEASURES[self.measure]

    @property
    def amount(self) -> Decimal:
        """The budget in its unit."""
        value = getattr(self, self.measure)
        return value if isinstance(value, Decimal) else Decimal(value)

    @property
    def info(self) -> Measure:
        """Label and formatting of this budget's unit."""
        return self.unit

    def format(self) -> str:
        """The budget for people, e.g. ``$5,000.00``."""
        return self.unit.format(self.amount)


def budget_field(unit: Measure) -> tuple[Any, Any]:
    """The ``budget:`` key of one measure: a positive amount, whole for counted units."""
    title = unit.label[:1].upper() + unit.label[1:]
    if unit.whole:
        return (
            Annotated[
                int | None,
                Field(gt=0, le=int(MAX_AMOUNT), title=title, description=unit.description),
                WithJsonSchema(
                    {"type": "integer", "exclusiveMinimum": 0, "maximum": int(MAX_AMOUNT)}
                ),
            ],
            None,
        )
    return (
        Annotated[
            Decimal | None,
            Field(
                gt=0,
                le=MAX_AMOUNT,
                decimal_places=MAX_PLACES,
                title=title,
                description=unit.description,
            ),
            WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_AMOUNT)}),
        ],
        None,
    )


def budget_doc() -> str:
    keys = list(MEASURES)
    listed = f"{', '.join(keys[:-1])} or {keys[-1]}" if len(keys) > 1 else keys[0]
    return f"How much a period may use: exactly one of {listed}."


def _budget_model() -> type[_BudgetBase]:
    fields = {key: budget_field(unit) for key, unit in MEASURES.items()}
    return create_model(  # type: ignore[call-overload, no-any-return]
        "Budget",
        __base__=_BudgetBase,
        __doc__=budget_doc(),
        __module__=__name__,
        **fields,
    )


if TYPE_CHECKING:
    Budget = _BudgetBase
else:
    Budget = _budget_model()
    """How much a period may use: exactly one of usd, qpu_hours or jobs (one key per measure)."""
