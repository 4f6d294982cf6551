"""``python -m gateway``: serve the gateway with uvicorn on GATEWAY_HOST:GATEWAY_PORT.

uvicorn's own logging config is off (structlog's handlers are used) and so is its access log:
the gateway logs each request itself, without query strings that could carry OAuth codes.
"""

from __future__ import annotations

import uvicorn

from gateway.app import create_app
from shared.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
