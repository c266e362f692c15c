"""ConfigSpace export of the design space: the conditional space SMAC, DEHB and HPOBench read.

Each hierarchy level becomes one :class:`ConfigSpace.ConfigurationSpace` built from
:func:`flexibench.interop.schema.hyperparameters`: ordinal hyperparameters for sizes and
counts (so model-based tuners see their order), categorical ones for operations and
their parameters, conditions for everything that exists only in deeper cards (the
second stack at level 1) or under one operation, and forbidden clauses for heads that do
not divide the hidden size. :func:`card_to_configuration` and :func:`configuration_to_card`
are inverse on every card of the level; a configuration that is no card is refused with
the :class:`~flexibench.core.errors.CardError` users of the cards already get.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flexibench.core import DesignSpace, ModelCard
from flexibench.core.errors import CardError
from flexibench.interop.schema import card_to_values, hyperparameters, values_to_card

if TYPE_CHECKING:  # pragma: no cover
    import ConfigSpace

__all__ = ["card_to_configuration", "configuration_to_card", "to_configspace"]


def to_configspace(
    space: DesignSpace | None = None, level: int = 1, seed: int | None = None
) -> ConfigSpace.ConfigurationSpace:
    """The level's cards as a conditional ConfigSpace (``seed`` seeds its own sampler)."""
    import ConfigSpace as CS

    space = space or DesignSpace.default()
    choices = hyperparameters(space, level)
    cs = CS.ConfigurationSpace(name=f"{space.name}-level{level}", seed=seed)
    made = {}
    for choice in choices:
        if choice.ordinal:
            made[choice.name] = CS.OrdinalHyperparameter(choice.name, list(choice.values))
        else:
            made[choice.name] = CS.CategoricalHyperparameter(choice.name, list(choice.values))
    cs.add(list(made.values()))
    conditions = []
    for choice in choices:
        if choice.parent is None:
            continue
        child, parent = made[choice.name], made[choice.parent]
        if len(choice.parent_values) == 1:
            conditions.append(CS.EqualsCondition(child, parent, choice.parent_values[0]))
        else:
            conditions.append(CS.InCondition(child, parent, list(choice.parent_values)))
    cs.add(conditions)
    forbidden = []
    for hidden in (c for c in choices if c.name.endswith("_hidden")):
        heads = made[hidden.name.replace("_hidden", "_heads")]
        for h in hidden.values:
            for n in heads.sequence:
                if int(h) % int(n):
                    forbidden.append(
                        CS.ForbiddenAndConjunction(
                            CS.ForbiddenEqualsClause(made[hidden.name], h), CS.ForbiddenEqualsClause(heads, n)
                        )
                    )
    if forbidden:
        cs.add(forbidden)
    return cs


def card_to_configuration(
    card: ModelCard, cs: ConfigSpace.ConfigurationSpace, space: DesignSpace | None = None, level: int = 1
) -> ConfigSpace.Configuration:
    """The configuration of ``card`` in ``cs`` (made by :func:`to_configspace` for the same level)."""
    import ConfigSpace as CS

    return CS.Configuration(cs, values=card_to_values(card, space or DesignSpace.default(), level))


def configuration_to_card(
    configuration: ConfigSpace.Configuration | Mapping[str, Any],
    space: DesignSpace | None = None,
    level: int = 1,
    cs: ConfigSpace.ConfigurationSpace | None = None,
) -> ModelCard:
    """The card a configuration (or a plain dict of its active values) describes.

    Values outside a hyperparameter's choices, missing active values and values for
    inactive hyperparameters raise :class:`CardError` naming the hyperparameter; with
    ``cs``, ConfigSpace's own check (conditions, forbidden clauses) runs as well and its
    refusal is reported as a CardError too.
    """
    values = dict(configuration)
    card = values_to_card(values, space or DesignSpace.default(), level, strict=True)
    if cs is not None:
        import ConfigSpace as CS

        try:
            CS.Configuration(cs, values=values).check_valid_configuration()
        except (ValueError, KeyError, TypeError) as exc:
            raise CardError("configuration", values, f"a valid configuration of {cs.name!r} ({exc})") from None
    return card
