"""``ohgithub-fetcher`` / ``python -m fetcher [--processes N] [--threads M]``: the fetcher
workers."""

from __future__ import annotations

from shared.worker import run_worker


def main() -> None:
    run_worker("fetcher.actors")


if __name__ == "__main__":
    main()
