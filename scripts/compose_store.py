"""The rename that made the delivery log and the protest marks parts of ``Store`` (issue 26):
``store.delivery(...)`` became ``store.deliveries.state(...)`` and so on. Kept as a record of
the change; running it again changes nothing."""

import re
import sys
from pathlib import Path

RENAMES = {
    "delivery": "deliveries.state",
    "deliveries": "deliveries.rows",
    "delivery_counts": "deliveries.counts",
    "delivery_days": "deliveries.days",
    "set_deliveries": "deliveries.set",
    "prune_deliveries": "deliveries.prune",
    "was_told": "marks.was_told",
    "told_among": "marks.told_among",
    "coming_count": "marks.coming_count",
    "is_coming": "marks.is_coming",
    "set_coming": "marks.set_coming",
    "drop_marks": "marks.drop",
    "marked_events": "marks.protest_ids",
}
RECEIVER = r"((?:\b(?:store|reopened|restored|found\.store|self\.store|app\.bot_data\.store)))"
PATTERN = re.compile(RECEIVER + r"\.(" + "|".join(RENAMES) + r")\b(?=\()")
PASSED = re.compile(r"\bself\.store\.deliveries,")  # the planner's lookup, passed uncalled


def rename(text: str) -> str:
    text = PATTERN.sub(lambda m: f"{m.group(1)}.{RENAMES[m.group(2)]}", text)
    return PASSED.sub("self.store.deliveries.rows,", text)


def main(roots: list[str]) -> None:
    for root in roots:
        for path in Path(root).rglob("*.py"):
            if path.name == "compose_store.py":
                continue
            old = path.read_text()
            new = rename(old)
            if new != old:
                path.write_text(new)
                print(path)


if __name__ == "__main__":
    main(sys.argv[1:] or ["bot", "tests", "bench", "emulator"])
