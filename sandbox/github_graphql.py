"""api.github.com ``POST /graphql``: validation against GitHub's schema, cost, and execution.

graphql-core executes against plain dicts: a callable value receives the field's arguments, and
``__typename`` tells interfaces and unions which type a dict is. Fields not implemented are null.
"""

from __future__ import annotations

import datetime as dt

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    execute,
    parse,
    validate,
)

from sandbox.github_contributions import user_obj
from sandbox.github_gate import ApiCall, ApiResult
from sandbox.graphql_objects import MAX_NODES, Context, Obj, gql_error, ts
from sandbox.graphql_schema import load_schema, query_cost


def _format(error: GraphQLError) -> Obj:
    formatted: Obj = dict(error.formatted)
    extensions = formatted.pop("extensions", None) or {}
    if "type" in extensions:
        formatted = {"type": extensions["type"], **formatted}
    return formatted


async def graphql_endpoint(call: ApiCall) -> ApiResult:
    try:
        payload = await call.request.json()
    except ValueError:
        return ApiResult(400, {"message": "Problems parsing JSON"}, charged_by_handler=True, cost=0)
    query = payload.get("query") if isinstance(payload, dict) else None
    if not isinstance(query, str):
        return ApiResult(
            200,
            {"errors": [{"message": "A query attribute must be specified and must be a string."}]},
            charged_by_handler=True,
            cost=0,
        )
    variables = payload.get("variables") or {}
    schema = load_schema(call.state.config.graphql_schema_path)
    try:
        document: DocumentNode = parse(query)
    except GraphQLError as error:
        return ApiResult(200, {"errors": [_format(error)]}, charged_by_handler=True, cost=0)
    errors = validate(schema, document)
    if errors:
        return ApiResult(
            200, {"errors": [_format(e) for e in errors]}, charged_by_handler=True, cost=0
        )
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    name = payload.get("operationName")
    operation = next(
        (o for o in operations if name is None or (o.name and o.name.value == name)), operations[0]
    )
    cost = query_cost(operation, fragments, variables)
    if cost.node_count > MAX_NODES:
        message = (
            f"By the time this query traverses to the {cost.node_count} nodes, it would exceed "
            f"the limit of {MAX_NODES} nodes."
        )
        return ApiResult(
            200,
            {"errors": [{"message": message, "type": "MAX_NODE_LIMIT_EXCEEDED"}]},
            charged_by_handler=True,
            cost=0,
        )
    window = call.window
    if window.remaining < cost.cost:
        return ApiResult(
            200,
            {
                "errors": [
                    {
                        "type": "RATE_LIMITED",
                        "message": f"API rate limit exceeded for user ID {call.member.id}.",
                    }
                ]
            },
            charged_by_handler=True,
            cost=0,
            violation=window.remaining == 0,
        )
    window.used += cost.cost
    ctx = Context(call=call, now=call.state.clock.now())
    state = call.state

    def user(_info: GraphQLResolveInfo, login: str) -> Obj | None:
        member = state.directory.get(login)
        if member is None or member.created_at > ctx.now:
            raise gql_error(
                f"Could not resolve to a User with the login of '{login}'.", "NOT_FOUND"
            )
        return user_obj(member, ctx)

    root = {
        "viewer": lambda _info: user_obj(call.member, ctx),
        "user": user,
        "rateLimit": lambda _info, **_: {
            "__typename": "RateLimit",
            "cost": cost.cost,
            "limit": window.limit,
            "remaining": window.remaining,
            "used": window.used,
            "resetAt": ts(dt.datetime.fromtimestamp(window.reported_reset_s, tz=dt.UTC)),
            "nodeCount": cost.node_count,
        },
    }
    result = execute(
        schema,
        document,
        root_value=root,
        variable_values=variables,
        operation_name=name,
        type_resolver=lambda value, _info, _type: (
            value.get("__typename") if isinstance(value, dict) else None
        ),
    )
    if not isinstance(result, tuple) and hasattr(result, "__await__"):
        result = await result
    body: Obj = {}
    if result.errors:  # type: ignore[union-attr]
        body["errors"] = [_format(e) for e in result.errors]  # type: ignore[union-attr]
    body["data"] = result.data  # type: ignore[union-attr]
    return ApiResult(200, body, charged_by_handler=True, cost=cost.cost)
