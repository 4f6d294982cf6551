"""The sandbox's few HTML pages (OAuth consent screens and their errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def render(template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_ENV.get_template(template).render(**context), status_code=status_code)


def error_page(title: str, message: str, *, status_code: int = 400) -> HTMLResponse:
    return render("error.html", status_code=status_code, title=title, message=message)
