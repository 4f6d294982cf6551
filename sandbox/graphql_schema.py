"""GitHub's public GraphQL schema, loaded once, and GitHub's query cost rules.

Every query the sandbox receives is validated against the real schema, so the sandbox cannot
accept a field that github.com would reject.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    build_schema,
)

# GitHub divides the requests a query may need by 100 to get its cost in points.
COST_DIVISOR = 100


@functools.lru_cache(maxsize=2)
def load_schema(path: str) -> GraphQLSchema:
    """Build the executable schema from GitHub's SDL (about a second, hence cached)."""
    with open(path, encoding="utf-8") as handle:
        schema = build_schema(handle.read(), assume_valid_sdl=True)
    # The published SDL trips two of graphql-core's checks on the schema itself; queries are
    # still validated in full against it.
    schema._validation_errors = []
    return schema


@dataclass(frozen=True)
class QueryCost:
    cost: int  # points charged
    node_count: int  # nodes the query may return at most


def _int_argument(node: FieldNode, names: tuple[str, ...], variables: dict[str, Any]) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value not in names:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            found = variables.get(value.name.value)
            return int(found) if isinstance(found, int) else None
    return None


def query_cost(
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> QueryCost:
    """GitHub's rule: sum over connections of the requests needed to fill them, divided by 100.

    A connection (a field with ``first``/``last``) nested under others is requested once per
    parent node; ``maxRepositories`` multiplies what lies under it the same way.
    """
    requests = 0
    nodes = 0

    def walk(selection_set: SelectionSetNode | None, multiplier: int, seen: frozenset[str]) -> None:
        nonlocal requests, nodes
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                limit = _int_argument(selection, ("first", "last"), variables)
                child = multiplier
                if limit is not None:
                    requests += multiplier
                    child = multiplier * max(1, limit)
                    nodes += child
                repos = _int_argument(selection, ("maxRepositories",), variables)
                if repos is not None:
                    child *= max(1, repos)
                walk(selection.selection_set, child, seen)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    walk(fragments[name].selection_set, multiplier, seen | {name})

    walk(operation.selection_set, 1, frozenset())
    return QueryCost(cost=max(1, round(requests / COST_DIVISOR)), node_count=nodes)
