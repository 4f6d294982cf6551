"""What every route needs, built once by ``create_app`` and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from authlib.integrations.starlette_client import OAuth
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from gateway.metrics import Metrics
from shared.crypto import TokenCipher
from shared.settings import Settings


@dataclass(frozen=True, kw_only=True)
class Gateway:
    settings: Settings
    cipher: TokenCipher
    redis: redis.Redis
    oauth: OAuth
    templates: Jinja2Templates
    metrics: Metrics


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway
