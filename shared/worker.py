"""The worker services' command line: ``ohgithub-fetcher`` and ``ohgithub-uploader`` (also
``python -m fetcher`` / ``python -m uploader``) run Dramatiq's CLI on their actor module with the
options every deployment must use, and pass any other option (``--processes``, ``--threads``)
through.
"""

from __future__ import annotations

import os
import sys

# Workers stop within this after SIGTERM (they hand back the message they were running);
# Kubernetes' grace period and docker-compose's stop_grace_period are set a little above it.
WORKER_SHUTDOWN_TIMEOUT_MS = 30_000
# Fixed options: structlog configures logging itself, and shutdown is bounded.
FIXED_OPTIONS = ["--skip-logging", "--worker-shutdown-timeout", str(WORKER_SHUTDOWN_TIMEOUT_MS)]


def worker_command(actors_module: str, options: list[str]) -> list[str]:
    """The Dramatiq command line of a worker service with the caller's ``options``."""
    return [sys.executable, "-m", "dramatiq", *options, *FIXED_OPTIONS, actors_module]


def run_worker(actors_module: str) -> None:
    """Replace this process with Dramatiq's (so that signals reach it directly)."""
    command = worker_command(actors_module, sys.argv[1:])
    os.execv(command[0], command)
