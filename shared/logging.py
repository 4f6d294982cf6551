"""structlog JSON logging for every service, with tokens scrubbed before anything is written."""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import Any

import structlog

# What GitHub, Open Humans and Fernet tokens look like, and keys whose values are secrets.
_TOKEN_PATTERN = re.compile(
    r"(gh[opusr]_[A-Za-z0-9]{20,}|gAAAAA[A-Za-z0-9_\-=]{20,}|(?<=Bearer )[A-Za-z0-9._\-]{8,}"
    r"|(?<=token=)[A-Za-z0-9._\-]{8,}|(?<=code=)[A-Za-z0-9._\-]{8,})"
)
_SECRET_KEYS = re.compile(r"token|secret|password|authorization|cookie|code$", re.IGNORECASE)
REDACTED = "[redacted]"


def scrub_secrets(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Drop values of secret-named keys and anything in a string that looks like a token."""
    for key, value in list(event_dict.items()):
        if _SECRET_KEYS.search(key) and key != "event":
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            event_dict[key] = _TOKEN_PATTERN.sub(REDACTED, value)
    return event_dict


def _naming(service: str) -> Any:
    """A processor putting ``service`` on every line, whichever thread logs it (a thread starts
    with a context of its own, so a value bound in the main thread's would miss Dramatiq's and
    APScheduler's workers)."""

    def add_service(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


class _StderrLogger:
    """structlog's logger: writes each rendered line to ``sys.stderr`` as it is at that moment
    (a logger is cached on first use; a stream chosen at that time would outlive a redirect).
    ``name`` is the one given to ``get_logger``, for ``add_logger_name``."""

    _lock = threading.Lock()

    def __init__(self, name: str = "", *_: Any) -> None:
        self.name = name

    def msg(self, message: str) -> None:
        with self._lock:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    debug = info = warning = warn = error = err = critical = exception = fatal = log = msg


def configure_logging(level: str = "INFO", *, service: str) -> None:
    """JSON lines on stderr; stdlib loggers (uvicorn, dramatiq) go through the same processors.

    structlog's own loggers render and write their line themselves, and a line below ``level``
    costs one comparison: the gateway writes an access line per request, which through the
    stdlib's records and formatter cost more than the rest of a status answer.
    """
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _naming(service),
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,  # the stdlib record's name, or _StderrLogger's
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrub_secrets,
    ]
    numeric_level = logging.getLevelNamesMapping().get(level.upper())
    if numeric_level is None:
        raise ValueError(f"LOG_LEVEL {level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    structlog.configure(
        processors=[*shared_processors, structlog.processors.JSONRenderer()],
        logger_factory=_StderrLogger,
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        # Not cached: a logger bound on first use would keep that configuration's level and
        # service through a later configure_logging (a process that configures again, such as
        # a test run after the CLI's WARNING). Binding per call costs about 1.5 µs.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # httpx logs full URLs at INFO, which can carry OAuth codes: keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.captureWarnings(True)  # library warnings become JSON log lines too


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
