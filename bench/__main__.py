"""`make bench`: every benchmark, one figure per line as ``name: value``.

BENCH_ONLY (comma-separated: fetch, merge, upload, gateway, scale) runs some of them.
"""

from __future__ import annotations

import datetime as dt
import os

from bench import fetch, gateway, gateway_parts, merge, scale, upload

EVERY = ("fetch", "merge", "upload", "gateway", "scale")


def main() -> None:
    only = [name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()]
    chosen = set(only or EVERY)
    print(f"date: {dt.date.today().isoformat()}")
    if "fetch" in chosen:
        requests_and_time()
    if "merge" in chosen:
        figures = merge.run()
        print(f"merge: {figures['seconds']:.2f} s, {figures['peak_mb']:.0f} MB")
    if "upload" in chosen:
        upload.main()
    if "gateway" in chosen:
        gateway.main()
        gateway_parts.main()
    if "scale" in chosen:
        scale.main()


def requests_and_time() -> None:
    with fetch.bench_environment() as environment:
        members = [
            fetch.measure_member(environment, login) for login in ("octo-heavy", "octo-typical")
        ]
        timed = fetch.measure_backfill_time(environment, "octo-heavy")
    for figures in members:
        login = figures["login"]
        print(
            f"member {login}: {figures['weeks']} weeks, {figures['commits']} commits in "
            f"{figures['repositories']} repositories"
        )
        minimum = figures["backfill_minimum"]
        print(f"{login} backfill requests: {figures['backfill']} (minimum {minimum})")
        print(
            f"{login} refresh requests: {figures['refresh']} (minimum {figures['refresh_minimum']})"
        )
        print(f"{login} older integration backfill requests: {figures['old_backfill']}")
        print(f"{login} older integration refresh requests: {figures['old_refresh']}")
    heavy = members[0]
    print(f"backfill ratio: {heavy['backfill'] / heavy['backfill_minimum']:.2f}")
    print(f"refresh ratio: {heavy['refresh'] / heavy['refresh_minimum']:.2f}")
    typical = members[1]
    print(f"typical backfill ratio: {typical['backfill'] / typical['backfill_minimum']:.2f}")
    print(f"typical refresh ratio: {typical['refresh'] / typical['refresh_minimum']:.2f}")
    print(
        f"older integration backfill ratio: {heavy['old_backfill'] / heavy['backfill_minimum']:.2f}"
    )
    print(f"older integration refresh ratio: {heavy['old_refresh'] / heavy['refresh_minimum']:.2f}")
    print(f"violations: {sum(m['violations'] for m in members) + timed['violations']}")
    print(
        f"backfill time: {timed['elapsed_s']:.1f} s for {timed['core']} core requests at "
        f"{fetch.TIMED_CORE_LIMIT} per {fetch.TIMED_WINDOW_S:.0f} s window "
        f"({timed['waits']} waits; bound {timed['bound_s']:.1f} s)"
    )
    print(f"backfill time ratio: {timed['elapsed_s'] / timed['bound_s']:.2f}")


if __name__ == "__main__":
    main()
