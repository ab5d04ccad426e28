"""I: image records (sizes, file names) and, with ``--images DIR``, the files themselves."""

from __future__ import annotations

import re

from ...images import (
    MAX_PIXELS,
    ImageFileError,
    ImageOutsideFolderError,
    ImageSizeError,
    find_image,
    read_size,
)
from ..context import Context, check
from ..diagnostics import Fix

_ABSOLUTE = re.compile(r"^([A-Za-z]:[\\/]|[\\/])")


@check("I002", scope="document")
def repeated_file_names(ctx: Context) -> None:
    names: dict[str, int] = {}
    for i, name in ctx.tables.file_names:
        if name in names:
            ctx.report(
                "I002",
                f"/images/{i}/file_name",
                f"file_name {name!r} is also used by /images/{names[name]}",
            )
        else:
            names[name] = i


@check("I001", "I003", "I004", "I007", "I009")
def image_records(ctx: Context) -> None:
    if ctx.kind == "results":
        return
    for i, image in ctx.records("images"):
        where = f"/images/{i}"
        missing = [key for key in ("width", "height") if key not in image]
        if missing:
            ctx.report("I001", where, f"image has no {' or '.join(missing)}")
        bad = {key: image[key] for key in ("width", "height") if image.get(key, 1) <= 0}
        for key, value in bad.items():
            ctx.report("I007", f"{where}/{key}", f"image {key} is {value}")
        width, height = image.get("width", 1), image.get("height", 1)
        if not bad and width * height > MAX_PIXELS:
            ctx.report(
                "I009",
                where,
                f"image is {width} x {height} = {width * height:,} pixels, more than "
                f"Pillow's {MAX_PIXELS:,}",
            )
        name = image["file_name"]
        if _ABSOLUTE.match(name) or (".." in name and ".." in re.split(r"[\\/]", name)):
            ctx.report("I003", f"{where}/file_name", f"file_name {name!r} is not a relative path")
        if "\\" in name:
            fixed = name.replace("\\", "/")
            ctx.report(
                "I004",
                f"{where}/file_name",
                f"file_name {name!r} uses backslashes",
                Fix.replace(f"write {fixed!r}", f"{where}/file_name", fixed),
            )


@check("I005", "I006", "I008", kinds=("instances", "keypoints", "stuff", "captions", "panoptic"))
def image_files(ctx: Context) -> None:
    folder = ctx.settings.images
    if folder is None:
        return
    for i, image in ctx.records("images"):
        where = f"/images/{i}/file_name"
        try:
            path = find_image(folder, image["file_name"], by_base_name=False)
        except ImageOutsideFolderError as exc:
            ctx.report("I005", where, f"image file is not inside {folder}: {exc}")
            continue
        except ImageFileError as exc:
            path = folder / image["file_name"].replace("\\", "/")
            ctx.report(
                "I005",
                where,
                f"image file {path} does not exist" if not path.exists() else str(exc),
            )
            continue
        try:
            size = read_size(path)
        except ImageSizeError:
            ctx.report("I008", where, f"{path} cannot be read as an image")
            continue
        declared = (image.get("width"), image.get("height"))
        if None in declared or size == declared:
            continue
        swapped = " (width and height swapped: EXIF rotation?)" if size == declared[::-1] else ""
        ctx.report(
            "I006",
            f"/images/{i}",
            f"image file is {size[0]}x{size[1]} but the record says "
            f"{declared[0]}x{declared[1]}{swapped}",
        )
