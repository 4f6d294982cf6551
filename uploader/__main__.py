"""``ohgithub-uploader`` / ``python -m uploader [--processes N] [--threads M]``: the uploader
workers."""

from __future__ import annotations

from shared.worker import run_worker


def main() -> None:
    run_worker("uploader.actors")


if __name__ == "__main__":
    main()
