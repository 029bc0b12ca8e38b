"""PII corpus report (`make bench-pii`): what the scrubber misses and what it wrongly removes.

The corpus in tests/fixtures/pii_corpus/ holds PII in many national formats (`pii.jsonl`: emails,
phones of ten countries, SSNs, cards, IPs, JWTs, cloud and API keys, private keys, secrets written
as `key=value` in text and secrets under short property names) and look-alikes that are not PII
(`not_pii.jsonl`: versions, dates, timestamps, prices, UUIDs, hashes, order numbers, coordinates,
builds, device models, prose). Each PII case is scrubbed as a property value and inside a
sentence; each look-alike likewise.

* A PII case **survives** when any piece of its secret with 6 alphanumerics (or the whole secret
  when it is shorter) is still in the scrubbed output, in either placement.
* A look-alike is a **false positive** when scrubbing changes it in either placement.

Then the cost: `scrub` over the properties of realistic synthetic events (the demo's traffic),
in microseconds per event, against a deep copy of the same properties as the baseline.
`--fail` exits 1 when any PII survives (for CI); `--show` lists the cases that failed.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from everreach.privacy.pii import scrub

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "pii_corpus"
FIELD = "note"


@dataclass(frozen=True)
class Case:
    kind: str
    text: str | None  # scrubbed as a value and inside a sentence
    props: dict[str, Any] | None  # scrubbed as given (secrets under a property name)
    secret: str  # what must not survive


def load(name: str) -> list[Case]:
    cases = []
    for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        text = row.get("value")
        cases.append(Case(row["class"], text, row.get("props"), row.get("secret") or text))
    return cases


def placements(case: Case) -> list[dict[str, Any]]:
    if case.props is not None:
        return [case.props]
    return [{FIELD: case.text}, {FIELD: f"see {case.text} ok"}]


def strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def pieces(secret: str) -> set[str]:
    """Substrings of the secret holding min(6, all) of its alphanumeric characters."""
    need = min(6, sum(ch.isalnum() for ch in secret))
    found = set()
    for start in range(len(secret)):
        count = 0
        for end in range(start, len(secret)):
            count += secret[end].isalnum()
            if count >= need:
                found.add(secret[start : end + 1])
                break
    return found


def survives(case: Case) -> bool:
    parts = pieces(case.secret)
    for props in placements(case):
        text = "\n".join(strings(scrub(props)))
        if any(part in text for part in parts):
            return True
    return False


def wrongly_scrubbed(case: Case) -> bool:
    return any(scrub(props) != props for props in placements(case))


def rates(cases: list[Case], failed: list[Case]) -> list[tuple[str, int, int]]:
    total = Counter(case.kind for case in cases)
    bad = Counter(case.kind for case in failed)
    return [(kind, bad[kind], total[kind]) for kind in total]


def scrub_cost_us() -> tuple[float, float, int]:
    """µs per event for scrub and for a deep copy of the same properties, over demo traffic."""
    from everreach_cli.synthetic_traffic import generate_traffic

    traffic = generate_traffic(users=300, days=7, seed=7, end=datetime(2026, 11, 25, tzinfo=UTC))
    props = [event["props"] for request in traffic for event in request.events]

    def per_event(fn: Any) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for p in props:
                fn(p)
            best = min(best, time.perf_counter() - started)
        return best / len(props) * 1e6

    return per_event(scrub), per_event(copy.deepcopy), len(props)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fail", action="store_true", help="exit 1 if any PII survives")
    parser.add_argument("--show", action="store_true", help="list the failing cases")
    parser.add_argument("--no-cost", action="store_true", help="skip the timing")
    args = parser.parse_args()
    pii, lookalikes = load("pii.jsonl"), load("not_pii.jsonl")
    survived = [case for case in pii if survives(case)]
    false_positives = [case for case in lookalikes if wrongly_scrubbed(case)]
    print(f"PII values: {len(pii)}, survived: {len(survived)} ({len(survived) / len(pii):.1%})")
    for kind, bad, total in rates(pii, survived):
        print(f"  {kind:<14} {bad:>3} / {total:<3} survived")
    fp_rate = len(false_positives) / len(lookalikes)
    print(
        f"look-alikes: {len(lookalikes)}, false positives: {len(false_positives)} ({fp_rate:.1%})"
    )
    for kind, bad, total in rates(lookalikes, false_positives):
        print(f"  {kind:<14} {bad:>3} / {total:<3} scrubbed")
    if args.show:
        for case in survived:
            print("SURVIVED", case.kind, json.dumps(case.props or case.text, ensure_ascii=False))
        for case in false_positives:
            print("FALSE POSITIVE", case.kind, case.text, "->", scrub({FIELD: case.text})[FIELD])
    if not args.no_cost:
        ours, baseline, events = scrub_cost_us()
        print(
            f"scrub: {ours:.2f} µs/event over {events} demo events"
            f" (deep copy of the same properties: {baseline:.2f} µs, ratio {ours / baseline:.2f})"
        )
    return 1 if args.fail and survived else 0


if __name__ == "__main__":
    sys.exit(main())
