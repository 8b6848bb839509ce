"""Run every benchmark: `python -m bench [name ...]`."""

from __future__ import annotations

import sys

from bench import billing, browser, generation, retention, scale, usage

BENCHMARKS = {
    "generation": generation.main,
    "billing": billing.main,
    "browser": browser.main,
    "retention": retention.main,
    "usage": usage.main,
    "scale": scale.main,
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    for name in names:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
            return 2
        BENCHMARKS[name]()
    return 0


raise SystemExit(main(sys.argv[1:]))
