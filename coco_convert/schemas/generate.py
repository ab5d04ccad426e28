"""Write the JSON Schema documents of every kind next to the models.

    python -m coco_convert.schemas.generate          # rewrite coco_convert/schemas/*.schema.json
    python -m coco_convert.schemas.generate --check  # exit 1 if a checked-in file is stale

The files are checked in so that editors and non-Python tools can use them.
"""

from __future__ import annotations

import argparse
import sys

from .coco import KINDS
from .export import schema_path, schema_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the JSON Schema files of every kind.")
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    stale = []
    for kind in KINDS:
        path, text = schema_path(kind), schema_text(kind)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale: {', '.join(stale)} (run python -m coco_convert.schemas.generate)")
        return 1
    for name in stale:
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
