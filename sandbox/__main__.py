"""``python -m sandbox [--host 127.0.0.1] [--port 8900] [--seed 1] [--time-scale 1]``."""

from __future__ import annotations

import argparse
import os

import uvicorn

from sandbox.app import create_app
from sandbox.config import SandboxConfig


def main() -> None:
    parser = argparse.ArgumentParser(description="Local GitHub and Open Humans sandbox")
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8900")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SANDBOX_SEED", "1")))
    parser.add_argument(
        "--time-scale", type=float, default=float(os.environ.get("SANDBOX_TIME_SCALE", "1"))
    )
    args = parser.parse_args()
    config = SandboxConfig(
        host=args.host, port=args.port, seed=args.seed, time_scale=args.time_scale
    )
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level="info",
        date_header=False,  # the sandbox sends its own clock's Date
    )


if __name__ == "__main__":
    main()
