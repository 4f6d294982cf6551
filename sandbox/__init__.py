"""A local imitation of github.com, api.github.com and www.openhumans.org for development and tests.

One Starlette app serves the subset of both services the project uses, over deterministic
synthetic members with known ground truth, plus an admin API under ``/_sandbox/``. See
``sandbox.app.create_app`` and ``python -m sandbox``.
"""
