"""Address evaluation (``orderguard eval address FILE``): how often the parser names the right
province, city and district, and how well the detail checks tell vague addresses from complete
ones, on labelled addresses.

Input: one JSON object per line, ``{"raw": "...", "parts": {"prov": ..., "city": ...,
"district": ..., "town": ..., "road": ..., "roadno": ..., "poi": ..., "houseno": ...,
"roomno": ...}, "vague": true|false}``; ``parts`` and ``vague`` are optional, and a level counts
only where it is labelled. A name matches its full or short form (杭州 ~ 杭州市). "Flagged as
vague" means one of the detail findings (`address.VAGUE_CODES`).

Shares are fractions (None where nothing was labelled); `per_second` is parse + check of every
address, best of three passes over the file, in CPU time of one core.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from orderguard.orders.schema import AddressIn
from orderguard.validation.address import (
    VAGUE_CODES,
    ParsedAddress,
    check_address,
    normalise,
    parse_address,
    short_forms,
)

LEVELS = (("prov", "province"), ("city", "city"), ("district", "district"))
MAX_LINE_CHARS = 100_000


class EvalInputError(ValueError):
    """A line that is not a labelled address; names the line."""


@dataclass(frozen=True, slots=True)
class Labelled:
    raw: str
    parts: dict[str, str]
    vague: bool | None


def read_labelled(lines: Iterable[str]) -> list[Labelled]:
    """Parse the JSONL input; blank lines are skipped, anything else malformed is an error that
    names its line."""
    items: list[Labelled] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            raise EvalInputError(f"line {number}: longer than {MAX_LINE_CHARS} characters")
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("raw"), str):
            raise EvalInputError(f'line {number}: expected an object with a "raw" string')
        parts = record.get("parts") or {}
        vague = record.get("vague")
        if not isinstance(parts, dict) or not all(isinstance(v, str | None) for v in parts.values()):
            raise EvalInputError(f'line {number}: "parts" must be an object of strings')
        if vague is not None and not isinstance(vague, bool):
            raise EvalInputError(f'line {number}: "vague" must be true or false')
        items.append(Labelled(record["raw"], {k: v for k, v in parts.items() if v}, vague))
    return items


def same_name(found: str, label: str) -> bool:
    """杭州 ~ 杭州市: equal, or one is a short form of the other (both normalised)."""
    found, label = normalise(found), normalise(label)
    if not found or not label:
        return False
    if found == label:
        return True
    return label in short_forms(found) or found in short_forms(label)


def _share(right: int, total: int) -> float | None:
    return round(right / total, 4) if total else None


def evaluate(items: list[Labelled]) -> dict[str, Any]:
    addresses = [AddressIn(raw=item.raw) for item in items]
    parsed: list[ParsedAddress] = []
    flagged: list[bool] = []
    best = float("inf")
    for _round in range(3):
        parsed, flagged = [], []
        # CPU time of this process: the figure for one core, whatever else the machine runs.
        started = time.process_time()
        for addr in addresses:
            result = parse_address(addr)
            findings = check_address(addr, result)
            parsed.append(result)
            flagged.append(any(f.code in VAGUE_CODES for f in findings))
        best = min(best, time.process_time() - started)

    right = {key: 0 for key, _attr in LEVELS}
    labelled = {key: 0 for key, _attr in LEVELS}
    all3_right = all3_total = 0
    vague_total = vague_caught = complete_total = complete_flagged = 0
    for item, result, is_flagged in zip(items, parsed, flagged, strict=True):
        levels_ok = []
        for key, attr in LEVELS:
            label = item.parts.get(key)
            if not label:
                continue
            labelled[key] += 1
            # Right only when resolved to a division of that name (not merely repeated as written).
            ok = bool(getattr(result, f"{attr}_code")) and same_name(getattr(result, attr), label)
            right[key] += ok
            levels_ok.append(ok)
        if len(levels_ok) == len(LEVELS):
            all3_total += 1
            all3_right += all(levels_ok)
        if item.vague is True:
            vague_total += 1
            vague_caught += is_flagged
        elif item.vague is False:
            complete_total += 1
            complete_flagged += is_flagged
    accuracy: dict[str, float | None] = {key: _share(right[key], labelled[key]) for key, _attr in LEVELS}
    accuracy["all3"] = _share(all3_right, all3_total)
    return {
        "n": len(items),
        "accuracy": accuracy,
        "vague": {
            "recall": _share(vague_caught, vague_total),
            "false_alarm": _share(complete_flagged, complete_total),
        },
        "per_second": round(len(items) / best) if items and best > 0 else None,
        "counts": {
            **{key: labelled[key] for key, _attr in LEVELS},
            "all3": all3_total,
            "vague": vague_total,
            "complete": complete_total,
        },
    }


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def report_lines(result: dict[str, Any]) -> list[str]:
    counts = result["counts"]
    accuracy = result["accuracy"]
    lines = [f"addresses: {result['n']}"]
    for key in ("prov", "city", "district", "all3"):
        lines.append(f"{key + ' accuracy':<20} {_percent(accuracy[key]):>8}  (of {counts[key]} labelled)")
    lines.append(
        f"{'vague recall':<20} {_percent(result['vague']['recall']):>8}  (of {counts['vague']} vague)"
    )
    lines.append(
        f"{'false alarms':<20} {_percent(result['vague']['false_alarm']):>8}  (of {counts['complete']} complete)"
    )
    per_second = result["per_second"]
    lines.append(f"{'addresses/s':<20} {'—' if per_second is None else f'{per_second:,}':>8}")
    return lines
