"""JSON Schema documents generated from the models (``python -m coco_convert.schemas.generate``
rewrites the checked-in files; a test fails when they are stale)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .coco import Kind

__all__ = ["json_schema", "schema_path", "schema_text"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_TITLES: dict[Kind, str] = {
    "instances": "COCO instances (object detection and instance segmentation)",
    "keypoints": "COCO person keypoints",
    "captions": "COCO captions",
    "panoptic": "COCO panoptic segmentation",
    "stuff": "COCO-Stuff segmentation",
    "results": "COCO detection results",
}


def schema_path(kind: Kind) -> Path:
    """Where the checked-in JSON Schema of ``kind`` lives."""
    return Path(__file__).with_name(f"{kind}.schema.json")


def json_schema(kind: Kind) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a ``kind`` document, generated from the models."""
    from .check import DOCUMENT_TYPES, adapter

    schema = adapter(DOCUMENT_TYPES[kind]).json_schema(mode="validation")
    return {
        "$schema": _DIALECT,
        "title": _TITLES[kind],
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text(kind: Kind) -> str:
    """The file text of ``kind``'s schema: stable key order, 2-space indent, final newline."""
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"
