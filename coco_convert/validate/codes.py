"""The rule table: every rule's stable code, name, severity, fix and documentation.

Codes are stable: a rule's code never changes and a retired code is never reused, so
``--select``/``--ignore`` lists and ``per-file-ignores`` in users' configuration keep meaning
the same thing. Families:

====  ==========================================================================
F     files: cannot be read, not JSON, not COCO, a labeling tool's own format
S     structure: the schema (from the models), wrong types, ``1.0`` ids, keys pycocotools needs
R     references: duplicate and dangling ids, category id 0, duplicate names
G     geometry: boxes, polygons and RLE against each other and against the image
K     keypoints: lengths, visibility, ``num_keypoints``, skeleton
I     images: sizes, file names, and (``--images DIR``) the files themselves
P     panoptic: segment ids and PNGs
D     detection results: scores
T     tool profiles: known quirks of the tool that wrote the file
V     Pascal VOC XML
Y     YOLO datasets
C     CVAT XML
L     Label Studio JSON exports
M     LabelMe JSON
A     VIA (VGG Image Annotator) projects and exports
B     SA-1B (Segment Anything) JSON files and tar shards
X     the validator itself
====  ==========================================================================

``coco-convert validate --explain CODE`` prints a rule's documentation (``doc`` below).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Literal

from .diagnostics import Applicability, Severity

__all__ = ["FAMILIES", "RULES", "Rule", "resolve_codes"]

FAMILIES: dict[str, str] = {
    "F": "files",
    "S": "structure",
    "R": "references",
    "G": "geometry",
    "K": "keypoints",
    "I": "images",
    "P": "panoptic",
    "D": "detection results",
    "T": "tool profiles",
    "V": "Pascal VOC",
    "Y": "YOLO",
    "C": "CVAT XML",
    "L": "Label Studio",
    "M": "LabelMe",
    "A": "VIA",
    "B": "SA-1B",
    "X": "validator",
}

_COCOEVAL = "https://github.com/cocodataset/cocoapi/blob/master/PythonAPI/pycocotools/cocoeval.py"
_COCO_FORMAT = "https://cocodataset.org/#format-data"
_ULTRALYTICS_DATA = "https://github.com/ultralytics/ultralytics/blob/main/ultralytics/data/utils.py"


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    doc: str
    fix: Applicability | None = None
    needs: Literal["", "images"] = ""

    @property
    def family(self) -> str:
        return FAMILIES[self.code[0]]

    def explain(self) -> str:
        """The text of ``--explain CODE``."""
        fix = {
            None: "no automatic fix",
            "safe": "safe fix (applied by --fix)",
            "unsafe": "unsafe fix (applied by --fix --unsafe-fixes only)",
        }[self.fix]
        head = f"{self.code} {self.name} ({self.family}; {self.severity}; {fix})"
        needs = "\nRuns only with --images DIR.\n" if self.needs else ""
        return f"{head}\n\n{self.summary}\n{needs}\n{inspect.cleandoc(self.doc)}\n"


def _rules(*rules: Rule) -> dict[str, Rule]:
    table: dict[str, Rule] = {}
    for rule in rules:
        assert rule.code not in table, rule.code
        table[rule.code] = rule
    return table


RULES: dict[str, Rule] = _rules(
    # --- F: files ----------------------------------------------------------------------------
    Rule(
        "F001",
        "unreadable-file",
        "error",
        "The file cannot be read.",
        """
        The path does not exist, is a folder where a file was expected, cannot be read
        (permissions), is empty, or holds corrupt gzip data. Nothing else is checked.
        """,
    ),
    Rule(
        "F002",
        "invalid-json",
        "error",
        "The file is not valid JSON.",
        """
        The first syntax error is reported with its line and column. Common causes: a
        truncated download, NaN or Infinity written by Python's json module with
        allow_nan=True (not JSON), trailing commas, a file that is not UTF-8.
        """,
    ),
    Rule(
        "F003",
        "not-coco",
        "error",
        "The JSON is not a COCO document (or the folder is no dataset).",
        """
        A COCO dataset is a JSON object with "images" and "annotations" (and usually
        "categories"); detection results are a JSON array of objects. Anything else (a
        number, a string, an object with neither key) cannot be trained on as COCO. A folder
        given as PATH must be a YOLO dataset (data.yaml, labels/) or hold Pascal VOC XML.
        """,
    ),
    Rule(
        "F004",
        "tool-native-format",
        "error",
        "The file is a labeling tool's own format, validated as COCO.",
        """
        A Label Studio task export (a list of tasks with "data" and "annotations"), a LabelMe
        file or a VIA project is not COCO: checking it with COCO's rules would only list
        hundreds of schema errors. `coco-convert validate PATH` recognises these formats and
        checks them with their own readers (CVAT XML too): L, M, A and C rules. This finding
        comes when such a file is validated as COCO all the same (the library's
        `validate_path`, or a file its format's detection does not accept); the message
        names the verb that converts it (`labelstudio2coco`, `labelme2coco`, `via2coco`).
        """,
    ),
    Rule(
        "F005",
        "reader-warning",
        "warning",
        "The format's reader found a problem that has no rule of its own.",
        """
        Formats other than COCO are validated by the reader that converts them (see
        `coco-convert formats`): each problem it reports is a finding at the place it names.
        The problems a format's table maps to rules get those rules' codes; this code
        stands for the others, and the message names the reader's problem key.
        """,
    ),
    # --- S: structure ------------------------------------------------------------------------
    Rule(
        "S001",
        "schema",
        "error",
        "A value does not fit the COCO schema.",
        f"""
        The schema is the one coco-convert's models define (`coco-convert schema --kind K`
        prints it as JSON Schema): required keys (ids, image_id, category_id, file_name),
        types (strict: "640" is not a width, true is not an iscrowd), bbox of 4 numbers,
        polygons of at least 3 points with an even number of coordinates, RLE objects with
        counts and size, keypoints in (x, y, v) triples. The location is a JSON pointer.
        See {_COCO_FORMAT}.
        """,
    ),
    Rule(
        "S002",
        "float-id",
        "error",
        "An integer field holds an integer-valued float (`1.0`).",
        """
        Ids, widths and heights are integers. Exporters that go through pandas or JavaScript
        numbers write `1.0`; pycocotools then builds dictionaries keyed by floats and
        `loadImgs(1)` and `imgToAnns[1]` silently miss. The fix writes the same number as
        an integer.
        """,
        fix="safe",
    ),
    Rule(
        "S003",
        "number-as-string",
        "error",
        'A number or 0/1 flag is written as a string (`"640"`, `"false"`).',
        """
        COCO Annotator's export writes iscrowd as the string "false"
        (https://github.com/jsbroks/coco-annotator/issues/109); spreadsheet round trips
        write "640". Python's `if ann["iscrowd"]:` is then true for "false". The fix
        writes the number ("false"/"true" become 0/1).
        """,
        fix="safe",
    ),
    Rule(
        "S004",
        "boolean-flag",
        "error",
        "iscrowd (or isthing) is true/false, not 0/1.",
        """
        COCO flags are the integers 0 and 1. COCO Annotator and hand-written exporters
        write JSON booleans (https://github.com/jsbroks/coco-annotator/issues/109); C and
        Lua readers of the format and strict schema validators reject them. The fix writes
        0 or 1.
        """,
        fix="safe",
    ),
    Rule(
        "S005",
        "flat-segmentation",
        "error",
        "segmentation is one flat list of numbers, not a list of polygons.",
        """
        COCO polygons are a list of rings: [[x1, y1, x2, y2, ...]]. VGG Image Annotator's
        COCO export writes a single flat list [x1, y1, ...]
        (https://github.com/matterport/Mask_RCNN/issues/1922), which pycocotools reads as
        many one-number polygons and fails on. The fix wraps the list in another list.
        """,
        fix="safe",
    ),
    Rule(
        "S006",
        "integer-out-of-range",
        "error",
        "An integer does not fit in 64 bits (or a number lies beyond +-2**63).",
        """
        JSON has no limit, but pycocotools' C code, orjson, JavaScript, C++ (int64) and Java
        readers overflow or round such numbers, so an id silently becomes another id. Usually
        a corrupted or concatenated number. A coordinate such as 1e308 is finite, but the
        box's right edge x + w is not; the schema refuses numbers beyond +-2**63.
        """,
    ),
    Rule(
        "S101",
        "missing-iscrowd",
        "warning",
        "An annotation has no iscrowd.",
        f"""
        pycocotools' COCOeval reads `o['iscrowd']` for every ground-truth annotation and
        stops with KeyError when it is missing (evaluateImg in {_COCOEVAL};
        https://github.com/cocodataset/cocoapi/issues/374). mmdetection's test fixture
        (../shared/realdata/coco_mmdet_d2) has none. The fix sets 0 (polygons or no mask)
        or 1 (uncompressed RLE, as COCO stores crowds).
        """,
        fix="safe",
    ),
    Rule(
        "S102",
        "missing-area",
        "warning",
        "An annotation has no area.",
        f"""
        COCOeval filters ground truth by area range (`g['area']` in evaluateImg,
        {_COCOEVAL}) and stops with KeyError when it is missing. The fix computes the area
        with pycocotools from the segmentation, or width * height of the box when there is
        no segmentation (as COCO.loadRes does).
        """,
        fix="safe",
    ),
    Rule(
        "S103",
        "missing-bbox",
        "warning",
        "An annotation has no bbox.",
        """
        Detectron2 (`load_coco_json` asserts "bbox" is present), mmdetection and torchvision
        need a box per instance. The fix computes it from the segmentation with pycocotools.
        """,
        fix="safe",
    ),
    # --- R: references -----------------------------------------------------------------------
    Rule(
        "R001",
        "duplicate-image-id",
        "error",
        "Two images share an id.",
        """
        pycocotools keeps the last image with an id; the annotations of the other are then
        drawn on the wrong picture. Usually two exports were concatenated without
        renumbering.
        """,
    ),
    Rule(
        "R002",
        "duplicate-annotation-id",
        "error",
        "Two annotations share an id.",
        f"""
        pycocotools' `anns` index keeps one of them, and COCOeval matches detections to
        ground truth by annotation id ({_COCOEVAL}), so duplicates corrupt evaluation. The
        unsafe fix gives the later ones new ids after the largest.
        """,
        fix="unsafe",
    ),
    Rule(
        "R003",
        "duplicate-category-id",
        "error",
        "Two categories share an id.",
        """
        The name an id stands for is then ambiguous; frameworks keep either the first or
        the last. Merge or renumber the categories by hand.
        """,
    ),
    Rule(
        "R004",
        "unknown-image-id",
        "error",
        "An annotation's image_id names no image.",
        """
        The annotation belongs to no picture: loaders either crash (KeyError in
        pycocotools' `imgs[...]`) or skip it silently. Usually an image was deleted after
        labelling, or splits were cut apart inconsistently. The unsafe fix deletes the
        annotation.
        """,
        fix="unsafe",
    ),
    Rule(
        "R005",
        "unknown-category-id",
        "error",
        "An annotation's category_id names no category.",
        """
        Detectron2 and mmdetection map category ids to class indices through the
        categories list and stop with KeyError on an unknown id; others drop the box
        silently. The unsafe fix deletes the annotation.
        """,
        fix="unsafe",
    ),
    Rule(
        "R006",
        "category-id-zero",
        "error",
        "A category has id 0.",
        """
        COCO numbers categories from 1; 0 means background to torchvision's detection models
        (labels are category ids there, and 0 is the background class), and CVAT's COCO
        import rejects it (https://github.com/roboflow/supervision/pull/2276,
        https://github.com/voxel51/fiftyone/issues/1939). Datumaro treats category_id 0 as
        "no label" (https://github.com/open-edge-platform/datumaro/issues/156).
        Written by: Label Studio (https://github.com/HumanSignal/label-studio/issues/6609),
        FiftyOne (https://github.com/voxel51/fiftyone/issues/4615), Roboflow (its
        placeholder superclass, see T001) and labelme2coco (its _background_, see T002).
        The unsafe fix renumbers category 0 to the next free id and updates every
        annotation that refers to it.
        """,
        fix="unsafe",
    ),
    Rule(
        "R007",
        "duplicate-category-name",
        "error",
        "Two categories share a name.",
        """
        Class names are how people and converters (YOLO's names list, VOC's <name>) tell
        classes apart; two ids with one name are merged or split arbitrarily downstream.
        """,
    ),
    Rule(
        "R008",
        "unused-category",
        "info",
        "No annotation uses this category.",
        """
        Frameworks size the classifier from the categories list, so an unused category is a
        class the model must learn with no examples. Often harmless (a split without that
        class), sometimes a placeholder written by a tool (see T001, T002).
        """,
    ),
    Rule(
        "R009",
        "annotation-id-zero",
        "warning",
        "An annotation has id 0.",
        f"""
        COCOeval stores matches as annotation ids and uses 0 for "unmatched" ({_COCOEVAL};
        https://github.com/cocodataset/cocoapi/issues/664), so a ground-truth annotation
        with id 0 is never counted as matched and evaluation is silently wrong. CVAT fixed
        its exporter for this (https://github.com/cvat-ai/cvat/pull/748); labelme2coco,
        Roboflow, makesense.ai and COCO Annotator still number from 0. The unsafe fix gives
        it the next free id.
        """,
        fix="unsafe",
    ),
    Rule(
        "R010",
        "duplicate-annotation",
        "warning",
        "An annotation repeats another exactly (same image, category and geometry).",
        """
        Exact copies come from double submissions or merged exports; they count twice in
        training and evaluation. The fix drops the later copy.
        """,
        fix="safe",
    ),
    # --- G: geometry -------------------------------------------------------------------------
    Rule(
        "G101",
        "empty-bbox",
        "error",
        "A bbox has zero or negative width or height.",
        """
        A box [x, y, w, h] with w <= 0 or h <= 0 is nothing to learn from; some loaders drop
        it (Detectron2's filter_empty_annotations), others produce NaN losses. A negative
        size usually means the tool wrote [x1, y1, x2, y2] with x2 < x1, or a point click.
        COCO Annotator exports deleted shapes as bbox [0, 0, 0, 0]
        (https://github.com/jsbroks/coco-annotator/issues/109).
        """,
    ),
    Rule(
        "G102",
        "bbox-past-edge",
        "warning",
        "A bbox extends past the image's edge.",
        """
        Part of the box lies outside [0, width] x [0, height]. Frameworks clip silently,
        which changes the box the model learns from the one that was labelled. The fix
        clips the box to the image (and keeps what lies inside).
        """,
        fix="safe",
    ),
    Rule(
        "G103",
        "bbox-outside-image",
        "error",
        "A bbox lies entirely outside the image.",
        """
        Nothing of the box is inside the image: usually coordinates of another image, a
        resized image whose annotations were not scaled, or normalised (0-1) coordinates
        read as pixels the other way round.
        """,
    ),
    Rule(
        "G104",
        "bbox-mismatch",
        "warning",
        "The bbox disagrees with the segmentation's bounding box.",
        """
        The box should be the tight box of the object's outline. Two conventions agree with
        a polygon segmentation: the box of its vertices (what COCO's own files hold, exact to a
        fraction of a pixel) and pycocotools' `toBbox` of the rasterised mask (whole pixels);
        an RLE has only the latter. A box further than `bbox-tolerance` pixels (default 1)
        from both means the box or the mask was edited without the other. The fix sets
        pycocotools' box.
        """,
        fix="safe",
    ),
    Rule(
        "G105",
        "area-mismatch",
        "warning",
        "The area disagrees with the segmentation's area.",
        """
        COCO's area is the mask's pixel count (pycocotools' `area` of the segmentation's
        RLE); COCOeval uses it for the small/medium/large split. Tools that write the box
        area (w * h) or the polygon's exact (shoelace) area instead put objects in the wrong
        size bucket. Reported when the difference exceeds both `area-tolerance` (relative,
        default 0.1) and the mask box's width + height (what a one-pixel rim weighs: a polygon's
        exact area and its pixel count differ by about that much). The fix writes
        pycocotools' pixel count.
        """,
        fix="safe",
    ),
    Rule(
        "G106",
        "degenerate-polygon",
        "error",
        "A polygon encloses no area.",
        """
        Fewer than 3 distinct points, or all points on one line: a line or point drawn with
        the polygon tool. pycocotools rasterises it to an empty mask, so the object has a
        box but no pixels. The unsafe fix removes the polygon (and the annotation's
        segmentation when nothing is left).
        """,
        fix="unsafe",
    ),
    Rule(
        "G107",
        "self-intersecting-polygon",
        "warning",
        "A polygon crosses itself.",
        """
        A bow-tie polygon: rasterisers fill it by the even-odd rule, so the crossing part
        is a hole the annotator did not draw, and shapely-based tools report it invalid.
        Usually points clicked out of order. Checked with shapely.
        """,
    ),
    Rule(
        "G108",
        "rle-size-mismatch",
        "error",
        "An RLE's size is not the image's [height, width].",
        """
        An RLE mask is only meaningful at the size it was encoded at; a mask of another size
        decodes to the wrong pixels (or fails in pycocotools' merge). Often width and
        height swapped, or the image resized after labelling.
        """,
    ),
    Rule(
        "G109",
        "rle-counts-invalid",
        "error",
        "RLE counts do not cover the mask exactly (h * w pixels).",
        """
        The runs must add up to height * width. A compressed string that pycocotools cannot
        decode, or runs that add up to another number, decode to garbage or crash.
        """,
    ),
    Rule(
        "G110",
        "crowd-segmentation-type",
        "warning",
        "iscrowd disagrees with the segmentation type.",
        """
        COCO stores crowd regions (iscrowd 1) as RLE and single objects (iscrowd 0) as
        polygons. A crowd with polygons, or an object with an uncompressed RLE, usually
        means the flag was set wrongly; COCOeval ignores crowd ground truth, so a wrong
        flag silently drops objects from evaluation.
        """,
    ),
    Rule(
        "G111",
        "polygon-past-edge",
        "warning",
        "A polygon point lies outside the image.",
        """
        pycocotools clips polygons to the image when rasterising, so the mask differs from
        what the coordinates say. Usually a drag past the edge in the labelling tool.
        """,
    ),
    Rule(
        "G112",
        "empty-segmentation",
        "info",
        "segmentation is an empty list (a box-only object).",
        """
        The usual way to say "no mask": CVAT (box-only exports), Roboflow, COCO Annotator,
        Datumaro and coco-convert's own readers write "segmentation": []
        (../shared/realdata/coco_cvat, coco_roboflow;
        https://github.com/jsbroks/coco-annotator/issues/109). Fine for box training. For
        mask training such objects have no mask: pycocotools' annToMask fails on them
        (IndexError in frPyObjects; a missing key fails too, with KeyError), and Detectron2
        loads them without one. Leaving the key out is no better: the COCO format lists it
        for every instance and Datumaro warns once per annotation without it.
        """,
    ),
    # --- K: keypoints ------------------------------------------------------------------------
    Rule(
        "K001",
        "keypoints-length",
        "error",
        "keypoints does not hold 3 numbers per keypoint of the category.",
        """
        A person in COCO has 17 named keypoints, so 51 numbers. Another length shifts every
        keypoint after the gap and breaks OKS evaluation (COCOeval.computeOks reshapes by
        the category's count).
        """,
    ),
    Rule(
        "K002",
        "num-keypoints",
        "warning",
        "num_keypoints is missing or wrong.",
        f"""
        num_keypoints must count the keypoints with visibility > 0. COCOeval ignores
        ground truth with num_keypoints 0 and reads it without a default ({_COCOEVAL}).
        The fix sets the count.
        """,
        fix="safe",
    ),
    Rule(
        "K003",
        "keypoint-visibility",
        "error",
        "A keypoint's visibility is not 0, 1 or 2.",
        """
        v is 0 (not labelled), 1 (labelled, not visible) or 2 (labelled and visible). Other
        values come from writing a confidence or a class in its place.
        """,
    ),
    Rule(
        "K004",
        "skeleton-index",
        "error",
        "A skeleton edge names a keypoint that does not exist.",
        """
        Skeleton edges use 1-based keypoint indices (COCO's person skeleton starts
        [16, 14]). Index 0, or one larger than the number of keypoint names, usually means
        0-based indices: datumaro's fixture writes [[0, 1], [1, 2]] with no keypoint names
        (../shared/realdata/coco_keypoints).
        """,
    ),
    Rule(
        "K005",
        "keypoint-outside-box",
        "warning",
        "A labelled keypoint lies far outside its box.",
        """
        A labelled keypoint further than `keypoint-margin` (default 0.5) times the box size
        outside the box: usually a keypoint attached to the wrong instance.
        """,
    ),
    Rule(
        "K006",
        "unlabelled-keypoint-coordinates",
        "info",
        "A keypoint with visibility 0 has non-zero coordinates.",
        """
        COCO writes unlabelled keypoints as 0, 0, 0. CVAT's exports keep the coordinates of
        hidden points (../shared/realdata/yolo_pose); code that ignores v draws them. The
        fix sets x and y to 0.
        """,
        fix="safe",
    ),
    # --- I: images ---------------------------------------------------------------------------
    Rule(
        "I001",
        "missing-image-size",
        "error",
        "An image has no width or height.",
        """
        Masks (polygon or RLE) are rasterised at the image's size, YOLO conversion
        normalises by it, and aspect-ratio grouping needs it. makesense.ai and hand-written
        exporters leave it out.
        """,
    ),
    Rule(
        "I002",
        "duplicate-file-name",
        "error",
        "Two images share a file_name.",
        """
        Two ids for one picture: its annotations are split between them and the image is
        seen twice per epoch. Usually the same file exported in two tasks.
        """,
    ),
    Rule(
        "I003",
        "unportable-path",
        "warning",
        "file_name is absolute or climbs out with `..`.",
        """
        file_name is relative to the image folder. An absolute path works only on the
        exporting machine (Label Studio writes its storage paths,
        https://github.com/HumanSignal/label-studio/issues/9366); `..` escapes the folder.
        """,
    ),
    Rule(
        "I004",
        "backslash-path",
        "warning",
        "file_name uses backslashes.",
        """
        Windows exporters write "images\\\\a.jpg", which is a single odd file name on Linux
        and macOS, so the image is not found. The fix writes forward slashes.
        """,
        fix="safe",
    ),
    Rule(
        "I005",
        "image-file-missing",
        "error",
        "The image file does not exist.",
        "Looked up as DIR/file_name for `--images DIR`.",
        needs="images",
    ),
    Rule(
        "I006",
        "image-size-mismatch",
        "error",
        "The image file's size is not the declared width and height.",
        """
        Read from the file's header (Pillow, EXIF orientation applied, as training loaders
        see the picture). Swapped width and height usually mean a phone photo whose EXIF
        rotation one tool applied and another did not; any other difference means the
        images were resized after labelling, and every box is off by the scale.
        """,
        needs="images",
    ),
    Rule(
        "I007",
        "bad-image-size",
        "error",
        "An image's width or height is zero or negative.",
        """
        VGG Image Annotator's COCO export writes width and height -1 for images it has not
        displayed (https://github.com/facebookresearch/detectron2/issues/1966).
        """,
    ),
    Rule(
        "I008",
        "image-unreadable",
        "error",
        "The image file cannot be read as an image.",
        "The file exists but Pillow cannot read its header (truncated, not an image).",
        needs="images",
    ),
    Rule(
        "I009",
        "huge-image",
        "warning",
        "An image is larger than Pillow opens (more than 178,956,970 pixels).",
        """
        Pillow refuses to decode an image of more than twice its MAX_IMAGE_PIXELS (89,478,485)
        as a possible decompression bomb, so Pillow-based loaders (torchvision, Datumaro,
        coco-convert's mask writers) stop on it; a mask of that size takes hundreds of
        megabytes. Usually a corrupted size (100000 x 100000); tile real gigapixel images.
        """,
    ),
    # --- P: panoptic -------------------------------------------------------------------------
    Rule(
        "P001",
        "duplicate-segment-id",
        "error",
        "Two segments of one image share an id.",
        """
        A panoptic segment id is the RGB colour of its pixels in the PNG
        (R + 256 G + 256^2 B); two segments with one id are one region in the PNG.
        """,
    ),
    Rule(
        "P002",
        "panoptic-png-missing",
        "error",
        "The panoptic PNG does not exist.",
        """
        Looked up as DIR/file_name for `--images DIR` (point it at the panoptic PNG folder,
        panoptic_val2017/ beside panoptic_val2017.json).
        """,
        needs="images",
    ),
    Rule(
        "P003",
        "duplicate-panoptic-annotation",
        "error",
        "An image has two panoptic annotations.",
        "Each image has exactly one PNG and one segments_info list.",
    ),
    Rule(
        "P004",
        "void-segment-id",
        "error",
        "A segment has id 0.",
        "Colour (0, 0, 0) is VOID in panopticapi; a segment with id 0 is never read.",
    ),
    # --- D: detection results ----------------------------------------------------------------
    Rule(
        "D001",
        "score-range",
        "warning",
        "A detection's score is outside [0, 1].",
        """
        COCOeval only sorts by score, but scores outside [0, 1] usually are logits or a
        class index written in the wrong column, and score thresholds mean nothing then.
        """,
    ),
    Rule(
        "D002",
        "empty-results",
        "warning",
        "The results list is empty.",
        """
        `[]` is valid JSON and a valid (empty) results file, but pycocotools' COCO.loadRes
        stops on it with IndexError (it looks at the first result to tell boxes from masks
        and captions), so an evaluation script fails far from the cause: usually a model
        that detected nothing, or a score threshold set too high.
        """,
    ),
    # --- T: tool profiles --------------------------------------------------------------------
    Rule(
        "T001",
        "roboflow-superclass",
        "warning",
        "Roboflow's placeholder superclass is a category.",
        """
        Roboflow's COCO export prepends a category named after the project (id 0,
        supercategory "none") that every real class names as its supercategory and no
        annotation uses (../shared/realdata/coco_roboflow). Frameworks count it as a class:
        RF-DETR had to filter it (https://github.com/roboflow/rf-detr/pull/1303), and
        Roboflow-100 users got one class more than expected
        (https://github.com/roboflow/roboflow-100-benchmark/issues/45). The unsafe fix
        removes the category.
        """,
        fix="unsafe",
    ),
    Rule(
        "T002",
        "labelme-background-class",
        "warning",
        "labelme2coco's `_background_` is a category.",
        """
        labelme2coco.py writes the first line of labels.txt, `_background_`, as category
        id 0 (../shared/realdata/coco_labelme). COCO has no background category and
        frameworks add their own, so the model gets a class with no examples
        (https://github.com/wkentaro/labelme/pull/377). The unsafe fix removes the
        category when no annotation uses it.
        """,
        fix="unsafe",
    ),
    Rule(
        "T003",
        "cvat-rotated-box",
        "error",
        "A CVAT rotated box was exported as an axis-aligned bbox.",
        """
        CVAT's COCO export writes the box of a rotated rectangle unrotated and keeps the
        angle only in attributes.rotation (https://github.com/cvat-ai/cvat/issues/4745,
        https://github.com/cvat-ai/cvat/issues/6785). Every framework reading "bbox" trains
        on the wrong box. Export rotated boxes as polygons, or convert them.
        """,
    ),
    Rule(
        "T004",
        "label-studio-upload-prefix",
        "info",
        "file_name carries Label Studio's upload prefix.",
        """
        Label Studio renames uploaded files to "<8 hex digits>-<original name>" and its
        exports use those names (../shared/realdata/yolo, ls-yolo-*); images kept under
        their original names are then not found. Export "with images", or strip the prefix
        on both sides.
        """,
    ),
    Rule(
        "T005",
        "makesense-unlabelled",
        "error",
        "makesense.ai exported shapes without a label.",
        """
        makesense.ai's COCO export leaves out category_id for shapes that have no label
        and writes an empty categories list when no label was defined
        (../shared/realdata/coco_makesense; https://github.com/SkalskiP/make-sense/issues/144).
        Assign labels in makesense.ai before exporting.
        """,
    ),
    Rule(
        "T006",
        "via-string-ids",
        "error",
        "VGG Image Annotator wrote ids or category ids as strings or null.",
        """
        VIA's COCO export writes image_id as a string ("0") and category_id as null when a
        region attribute's option ids are not numbers
        (https://github.com/matterport/Mask_RCNN/issues/1922,
        https://github.com/neuroinformatics-unit/ethology/issues/38). Use numeric option
        ids in VIA's attribute editor before exporting.
        """,
    ),
    # --- V: Pascal VOC -----------------------------------------------------------------------
    Rule(
        "V001",
        "unreadable-xml",
        "error",
        "The XML cannot be read as a Pascal VOC annotation.",
        """
        Malformed XML (with its line), a root element other than <annotation>, or a document
        that declares entities (how XXE and expansion-bomb attacks work; VOC never needs
        them). Read by the VOC converter's parser, so what passes here converts.
        """,
    ),
    Rule(
        "V002",
        "voc-missing-size",
        "warning",
        "The file has no <size> with a width and height above 0.",
        """
        LabelImg writes width and height 0 when it could not read the image. Boxes cannot be
        checked against the image, and converters must open every image to learn its size.
        """,
    ),
    Rule(
        "V003",
        "object-without-name",
        "error",
        "An <object> has no <name>.",
        "An object without a class cannot be trained on; converters drop it.",
    ),
    Rule(
        "V004",
        "object-without-box",
        "error",
        "An <object> has no usable <bndbox>.",
        "No <bndbox>, a missing corner, or a corner that is not a number.",
    ),
    Rule(
        "V005",
        "inverted-box",
        "error",
        "A box has xmax < xmin or ymax < ymin.",
        """
        The corners are swapped or the box was dragged backwards and written as is; every
        loader computes a negative width from it.
        """,
    ),
    Rule(
        "V006",
        "voc-box-outside-image",
        "warning",
        "A box reaches outside the image's <size>.",
        """
        Corners below 0 or beyond width/height. VOC devkit boxes are 1-based (1..width),
        tools such as CVAT and LabelImg write 0-based corners; both stay inside [0, width].
        """,
    ),
    Rule(
        "V007",
        "filename-mismatch",
        "warning",
        "<filename> names another image than the XML file's name.",
        """
        mmdetection and the VOC devkit find the image by the XML's name (ImageSets ids),
        datumaro and most converters by <filename>; when they differ the two disagree about
        which picture the boxes belong to. mmdetection's own fixture 000001.xml says
        <filename>000002.jpg</filename> (../shared/realdata/voc_xml).
        """,
    ),
    Rule(
        "V008",
        "unknown-class",
        "error",
        "An object's class is not in the folder's class list.",
        """
        Checked when the folder has a class list (CVAT's labelmap.txt, labels.txt or
        classes.txt): a typo or a class added after the list was written; converters given
        the list drop the object.
        """,
    ),
    Rule(
        "V009",
        "fractional-voc-box",
        "info",
        "A box has fractional pixel coordinates.",
        """
        Devkit boxes are whole pixels; CVAT writes floats (../shared/realdata/voc_xml). Scripts
        that read corners with int(text) fail on them, and fractional corners suggest a
        0-based tool (coco-convert voc2coco --coords zero-based).
        """,
    ),
    Rule(
        "V010",
        "duplicate-object",
        "warning",
        "An object repeats another exactly (same class and box).",
        "Counted twice in training and evaluation; usually a double click or a merge.",
    ),
    Rule(
        "V011",
        "zero-corner-one-based",
        "info",
        "A box corner is 0, which one-based (devkit) coordinates never are.",
        """
        VOC devkit boxes run from 1 to the image size; 0 is the first pixel only in the
        zero-based convention of LabelImg, CVAT/Datumaro, Label Studio and labelme. Read as
        one-based (voc2coco's default) such a box starts at -1; convert these files with
        --coords zero-based (docs/voc.md).
        """,
    ),
    # --- Y: YOLO -----------------------------------------------------------------------------
    Rule(
        "Y001",
        "yolo-unreadable",
        "error",
        "The dataset description cannot be read.",
        """
        data.yaml that is not valid YAML (with its line; unquoted Windows paths in double
        quotes are the usual cause), nc that disagrees with names, names that are neither a
        list nor an index -> name mapping, or a folder with no images at all.
        """,
    ),
    Rule(
        "Y002",
        "class-index-out-of-range",
        "error",
        "A label row's class index is not one of 0..nc-1.",
        f"""
        ultralytics stops on it ("Label class N exceeds dataset class count", in
        verify_image_label, {_ULTRALYTICS_DATA}). Usually a class list that lost an entry,
        or labels exported with 1-based class ids.
        """,
    ),
    Rule(
        "Y003",
        "value-outside-unit-range",
        "error",
        "A label row holds coordinates outside [0, 1].",
        f"""
        YOLO coordinates are normalised by the image size. Values beyond 1 are pixels
        (DOTA-style exports such as ../shared/realdata/yolo's Roboflow OBB file) or the
        wrong image size; ultralytics drops the whole image ("non-normalized or out of
        bounds coordinates", {_ULTRALYTICS_DATA}). Values within 0.01 of the range are
        rounding and pass.
        """,
    ),
    Rule(
        "Y004",
        "malformed-row",
        "error",
        "A label row has the wrong number of values or values that are not numbers.",
        f"""
        A box row is class + 4 values; a polygon row class + an even number (at least 6)
        of values; a pose row class + 4 + kpt_shape values. An odd polygon length is a
        dangling x; class names or pixel corners (DOTA) are not YOLO rows. ultralytics
        rejects the image's labels ("labels require 5 columns", {_ULTRALYTICS_DATA}).
        """,
    ),
    Rule(
        "Y005",
        "yolo-empty-box",
        "error",
        "A label row's box has zero width or height.",
        "Nothing to learn from; ultralytics filters such boxes out silently.",
    ),
    Rule(
        "Y006",
        "duplicate-row",
        "warning",
        "A label row repeats an earlier row of the same file exactly.",
        f"""
        ultralytics removes them with a warning ("duplicate labels removed",
        {_ULTRALYTICS_DATA}); other trainers count the object twice. Rows are compared
        value by value, so a copy with other spacing is a repeat too. Fix: drop the
        repeated row (the file is rewritten atomically, its line endings and byte-order
        mark kept).
        """,
        fix="safe",
    ),
    Rule(
        "Y007",
        "yolo-image-unreadable",
        "error",
        "An image of the dataset cannot be read.",
        "Its header cannot be parsed (truncated, not an image): ultralytics skips the image.",
    ),
    Rule(
        "Y008",
        "label-unreadable",
        "error",
        "A label file is not UTF-8 text.",
        "The labels of that image cannot be read; the image trains as background.",
    ),
    Rule(
        "Y009",
        "label-without-image",
        "info",
        "Label files with no image of the same name.",
        "ultralytics never reads them: usually images deleted or renamed after export.",
    ),
    Rule(
        "Y010",
        "class-names-disagree",
        "error",
        "The class names of data.yaml differ from the names file beside it.",
        """
        Label Studio's YOLO export writes classes.txt; hand-written data.yaml files copy the
        names and fix typos on the way ('keybaord' vs 'keyboard' in
        ../shared/realdata/yolo/ls-yolo-mousekb-*), or reorder them, which silently swaps
        classes. ultralytics uses data.yaml's names.
        """,
    ),
    Rule(
        "Y011",
        "splits-share-images",
        "warning",
        "Two splits list the same images.",
        """
        val pointing at train/images (../shared/realdata/yolo/ls-yolo-mousekb-data.yaml):
        validation scores then measure memorisation.
        """,
    ),
    Rule(
        "Y012",
        "no-class-names",
        "warning",
        "The dataset names no classes.",
        "No names:, classes.txt or obj.names: classes are only numbers downstream.",
    ),
    Rule(
        "Y013",
        "path-not-here",
        "warning",
        "data.yaml's path: is not a folder on this machine.",
        """
        An absolute path from the exporting machine (/Users/..., C:\\...; both in
        ../shared/realdata/yolo). ultralytics looks there and fails; coco-convert reads the
        dataset beside data.yaml. Use a path relative to data.yaml.
        """,
    ),
    Rule(
        "Y014",
        "split-missing",
        "error",
        "A split's images are not found.",
        "train:/val:/test: names a folder or list file that does not exist.",
    ),
    Rule(
        "Y015",
        "yolo-other",
        "warning",
        "Another problem the YOLO reader reported.",
        "The message names the reader's problem key.",
    ),
    Rule(
        "Y016",
        "similar-class-names",
        "warning",
        "Two class names differ only in case, spaces, '_' or '-'.",
        """
        'RAE 734W' and 'RAE 734 W' (LabelImg classes.txt in ../shared/realdata/yolo): one
        class split in two by a typo, each with half the examples.
        """,
    ),
    # --- C: CVAT XML -------------------------------------------------------------------------
    Rule(
        "C001",
        "unreadable-cvat-xml",
        "error",
        "The file cannot be read as a CVAT XML export.",
        """
        Malformed XML (with its line), a root other than <annotations>, a document that
        declares entities (never expanded), a coordinate that is not a finite number (NaN,
        inf, text), a required attribute missing (xtl=, points=, label=, rle=...), or a mask
        whose run lengths do not cover its box or that reaches outside its image. Read by
        the cvat2coco reader, so what passes here converts.
        """,
    ),
    Rule(
        "C002",
        "cvat-image-without-size",
        "warning",
        "An <image> (or a video's frames) has no width and height.",
        """
        CVAT writes width= and height= on every image and <original_size> for videos;
        without them boxes cannot be checked against the image and masks cannot be placed
        (they are dropped). Pass --images DIR to read the sizes from the image files.
        """,
    ),
    Rule(
        "C003",
        "cvat-undeclared-label",
        "error",
        "A shape's label is not declared in <meta><labels>.",
        """
        CVAT refuses to import annotations of labels its task does not have ("Label ... is
        not registered for this task"), and the converters have to invent a category.
        """,
    ),
    Rule(
        "C004",
        "cvat-undeclared-attribute",
        "warning",
        "A shape has an <attribute> its label does not declare.",
        """
        CVAT's import keeps only attributes declared for the label: this value is dropped
        when the file is imported into CVAT again.
        """,
    ),
    Rule(
        "C005",
        "cvat-attribute-type",
        "warning",
        "An attribute value is not of its declared type (checkbox, number).",
        """
        A checkbox holds true or false and a number a number; anything else is kept as text
        by the converter and refused or reset by CVAT's import.
        """,
    ),
    Rule(
        "C006",
        "cvat-attribute-choice",
        "warning",
        "A select or radio attribute holds a value that is not among its label's choices.",
        """
        The label's <values> lists the choices; a value outside them usually comes from a
        renamed choice or a hand-edited file, and splits one class of answers in two.
        """,
    ),
    Rule(
        "C007",
        "cvat-degenerate-shape",
        "error",
        "A box has no area, a polygon fewer than 3 points, or an ellipse a radius of 0.",
        """
        xbr <= xtl or ybr <= ytl, a polygon of one or two points, rx or ry 0 or less: no
        detector can learn from it; the converter drops it.
        """,
    ),
    Rule(
        "C008",
        "cvat-mask-without-size",
        "error",
        "A mask is on an image whose size is unknown.",
        """
        CVAT stores a mask over its own box; placing it in the image needs the image's
        size. The converter drops it; pass --images DIR.
        """,
    ),
    Rule(
        "C009",
        "cvat-skeleton",
        "warning",
        "A skeleton's drawing cannot be read, or it has a point its label does not declare.",
        """
        The label's <svg> names the skeleton's points and edges; without it the keypoints
        have no edges, and a point the meta does not list is added at the end.
        """,
    ),
    Rule(
        "C010",
        "cvat-frame-outside-task",
        "warning",
        "A track has shapes on frames outside its task's frame range.",
        """
        The task's start_frame, stop_frame and frame_filter give its frames; a shape beyond
        them belongs to no image the task exported.
        """,
    ),
    Rule(
        "C011",
        "cvat-frame-names-unknown",
        "warning",
        "An image task exported as CVAT for video: the XML has no image names.",
        """
        CVAT for video refers to frames by number only; for an image task the names of the
        images are lost (frames are named frame_NNNNNN.PNG). Export CVAT for images.
        """,
    ),
    # --- L: Label Studio -------------------------------------------------------------------
    Rule(
        "L001",
        "labelstudio-unreadable",
        "error",
        "The file cannot be read as a Label Studio export.",
        """
        Not JSON (NaN and Infinity, which Python's json module writes, are named by their
        JSON pointer), not a list of tasks, a task without data naming its image, a value
        of the wrong type, or a brush mask whose RLE is truncated or decodes to another
        number of values than its image's 4 x width x height (a mask of another image).
        Read by the labelstudio2coco reader, so what passes here converts.
        """,
    ),
    Rule(
        "L002",
        "region-without-label",
        "error",
        "A region has no label.",
        """
        A rectangle, polygon or brush stroke drawn but never given a label (or drawn with a
        tag that has none): no class to train on; converters drop it.
        """,
    ),
    Rule(
        "L003",
        "keypoint-without-parent",
        "error",
        "A keypoint is not linked to a region (parentID).",
        """
        Label Studio links a keypoint to the rectangle of its instance by parentID when the
        point is drawn inside a selected region. A point drawn with nothing selected belongs
        to no instance: COCO keypoints are per instance, so it is dropped. label-studio-sdk's
        own COCO export instead merges every point of an image into one annotation.
        JSON-MIN exports keep no parentID at all: export JSON.
        """,
    ),
    Rule(
        "L004",
        "label-not-in-config",
        "warning",
        "A region's label is not in the labeling config.",
        """
        The label was renamed or removed from the project after it was used (the
        label-studio-converter fixture in ../shared/realdata/label_studio_json labels
        polygons "Airplane" under a config listing "parasites" and "white"). Its category is
        numbered after the config's labels.
        """,
    ),
    Rule(
        "L005",
        "region-size-mismatch",
        "error",
        "A region carries no image size, or another one than the task's other regions.",
        """
        Coordinates are percent of original_width x original_height; a region without them
        cannot be placed, and one with another size was drawn on another image (a task
        whose image was replaced). Converters drop it.
        """,
    ),
    Rule(
        "L006",
        "image-without-size",
        "warning",
        "No region of the task gives its image's size.",
        """
        Label Studio records the size only on regions; a task without any (or whose image
        cannot be read from --images) gets an image without width and height, which
        training frameworks need.
        """,
    ),
    Rule(
        "L007",
        "region-outside-image",
        "warning",
        "A region reaches outside the image (beyond 0..100%).",
        "Usually a pre-annotation imported with pixel values or the wrong image size.",
    ),
    Rule(
        "L008",
        "empty-region",
        "error",
        "A region has no area: a box of zero width or height, a polygon of fewer than 3 "
        "points, an ellipse of zero radius, a brush mask without pixels.",
        "Nothing to learn from; converters drop it.",
    ),
    Rule(
        "L009",
        "duplicate-keypoint",
        "warning",
        "An instance has two keypoints of the same label.",
        "COCO has one slot per keypoint name; the first one is kept.",
    ),
    Rule(
        "L010",
        "task-id",
        "warning",
        "Tasks whose ids are missing, repeated or not whole numbers.",
        """
        Task ids become image ids; when they cannot, images are numbered 1, 2, ... and
        nothing ties them back to the tasks. Exports of two projects concatenated repeat
        ids.
        """,
    ),
    Rule(
        "L011",
        "rotated-image-view",
        "info",
        "A region was drawn on a rotated view of the image (image_rotation).",
        """
        Label Studio keeps the coordinates of regions in the image as stored; check that the
        image file is not rotated by EXIF in one tool and not in another.
        """,
    ),
    Rule(
        "L012",
        "prediction-without-score",
        "warning",
        "A prediction has no score.",
        """
        Neither the region nor its prediction has a score; COCO results need one, so
        converters give 1.0, which breaks precision-recall curves.
        """,
    ),
    Rule(
        "L013",
        "labelstudio-other",
        "warning",
        "Another problem the Label Studio reader reported.",
        "The message names the reader's problem key.",
    ),
    # --- M: LabelMe JSON ----------------------------------------------------------------------
    Rule(
        "M001",
        "labelme-unreadable",
        "error",
        "The LabelMe file cannot be read.",
        """
        Malformed JSON (with its line and column), a coordinate that is not a finite number
        (LabelMe writes a NaN point as `NaN`, which no JSON parser but Python's reads),
        imageData or a mask that is not base64 of an image, a mask that does not fit in its
        image at its first point, an imageWidth/imageHeight that is no pixel count. Read by
        the labelme2coco reader, so what passes here converts.
        """,
    ),
    Rule(
        "M002",
        "not-labelme",
        "info",
        "A JSON file in the folder is not a LabelMe annotation.",
        """
        A LabelMe file is a JSON object with a "shapes" list. Other JSON files in the folder
        (a COCO export, a config) are skipped; move them out if they should not be there.
        """,
    ),
    Rule(
        "M003",
        "unreadable-shape",
        "error",
        "A shape cannot be read: it is not an object, its label is not text or its points "
        "are not [x, y] pairs.",
        "LabelMe itself refuses to open the file (its LabelFile checks every shape).",
    ),
    Rule(
        "M004",
        "unknown-shape-type",
        "error",
        "A shape's shape_type is not one LabelMe draws.",
        """
        LabelMe draws polygon, rectangle, oriented_rectangle, circle, line, linestrip,
        point, points and mask; another type (a typo, another tool's name such as "rect")
        opens in no LabelMe version and is dropped.
        """,
    ),
    Rule(
        "M005",
        "too-few-points",
        "error",
        "A shape has too few points for its type.",
        """
        A polygon needs 3 points, a rectangle and a circle 2, an oriented rectangle 4.
        LabelMe's own shape_to_mask asserts these counts, so its converters crash on them.
        """,
    ),
    Rule(
        "M006",
        "empty-shape",
        "warning",
        "A shape encloses no area.",
        """
        A rectangle of width or height 0, a circle of radius 0, a polygon with all its
        points on one line: a double click, usually. Nothing to learn from; dropped.
        """,
    ),
    Rule(
        "M007",
        "skewed-oriented-rectangle",
        "warning",
        "An oriented rectangle's four corners are not a rectangle's.",
        """
        Edited outside LabelMe, or moved corner by corner: kept as a polygon, without the
        rotation angle a rotated box has (attributes.rotation).
        """,
    ),
    Rule(
        "M008",
        "labelme-shape-outside-image",
        "warning",
        "A shape reaches outside the image.",
        """
        Points below 0 or beyond imageWidth/imageHeight (LabelMe lets points be dragged
        there). pycocotools clips segmentations to the image, so the box and the pixels
        disagree.
        """,
    ),
    Rule(
        "M009",
        "image-size-mismatch",
        "error",
        "imageWidth/imageHeight disagree with the image embedded in the file.",
        """
        The image was replaced or resized after it was labelled; every shape may be off.
        LabelMe 6 refuses to open such a file ("imageHeight mismatch"). The embedded
        image's size is used.
        """,
    ),
    Rule(
        "M010",
        "labelme-no-image-size",
        "warning",
        "The image's size is unknown.",
        """
        No imageWidth/imageHeight (LabelMe 3 wrote none), no embedded image, and no image
        file beside the JSON file or in --images. COCO images then have no width and
        height, masks cannot be placed and nothing can be checked against the image.
        """,
    ),
    Rule(
        "M011",
        "mask-size-mismatch",
        "warning",
        "A mask shape's points disagree with the size of its PNG.",
        """
        LabelMe stores a mask as a PNG over the box of its two points (inclusive); its
        shapes_to_label crashes when they disagree. The PNG is placed at the first point.
        """,
    ),
    Rule(
        "M012",
        "labelme-unknown-class",
        "error",
        "A shape's label is not in the class list (--labels or labels.txt).",
        "A typo or a class added later; converters given the list drop the shape.",
    ),
    Rule(
        "M013",
        "empty-label",
        "error",
        "A shape has an empty label.",
        "An object without a class cannot be trained on; dropped.",
    ),
    Rule(
        "M014",
        "duplicate-image",
        "warning",
        "Two label files name the same image.",
        """
        Copies of one file, or files renamed without editing their imagePath: the image's
        objects are counted twice.
        """,
    ),
    Rule(
        "M015",
        "bad-group-or-flags",
        "warning",
        "A group_id is not an integer, or flags are not true/false values.",
        """
        LabelMe refuses to open such a file (its LabelFile checks both). The value is
        ignored: the shape is an object of its own, without flags.
        """,
    ),
    Rule(
        "M016",
        "duplicate-keypoint",
        "warning",
        "Two points of one object (one group_id) have the same label.",
        "A keypoint is named once per object; the first point is kept.",
    ),
    Rule(
        "M017",
        "image-path-outside",
        "warning",
        "imagePath is absolute or leads outside the label folder.",
        """
        An absolute path from the labelling machine (C:\\Users\\..., /home/...) or a
        ../ path: the COCO file_name cannot be found relative to the dataset's images.
        Absolute paths are replaced by their base name.
        """,
    ),
    Rule(
        "M018",
        "no-image-path",
        "warning",
        "The file has no imagePath.",
        "The image is taken to be the JSON file's name with .jpg.",
    ),
    Rule(
        "M019",
        "labelme-other",
        "warning",
        "Another problem the LabelMe reader reported.",
        "The message names the reader's problem key.",
    ),
    # --- A: VIA (VGG Image Annotator) --------------------------------------------------------
    Rule(
        "A001",
        "via-unreadable",
        "error",
        "The VIA file cannot be read, or its images have no size.",
        """
        Malformed JSON (with its line and column), a CSV without VIA's header, an image entry
        without a filename, regions that are neither a list nor an object, a coordinate that
        is not a finite number, or images whose size cannot be read: VIA keeps no image
        sizes, so every image must be found (beside the file or under --images DIR) for its
        regions to be checked or converted. Read by the via2coco reader.
        """,
    ),
    Rule(
        "A002",
        "unreadable-region",
        "error",
        "A region's shape_attributes cannot be read.",
        "Missing, or a rect/circle/ellipse without its numbers, or polygon point lists of "
        "different lengths. VIA itself skips such regions when it draws them.",
    ),
    Rule(
        "A003",
        "unknown-region-shape",
        "error",
        "A region's shape is not one VIA 2 draws.",
        "VIA 2 draws rect, circle, ellipse, polygon, polyline and point.",
    ),
    Rule(
        "A004",
        "via-too-few-points",
        "error",
        "A polygon has fewer than 3 points.",
        "Usually a polygon closed after two clicks; it encloses nothing.",
    ),
    Rule(
        "A005",
        "empty-region",
        "warning",
        "A region encloses no area.",
        "A rect of width or height 0, a circle or ellipse of radius 0, a polygon on a line.",
    ),
    Rule(
        "A006",
        "via-region-outside-image",
        "warning",
        "A region reaches outside its image.",
        """
        VIA lets regions be drawn past the image's edge; pycocotools clips segmentations to
        the image, so the box and the pixels then disagree.
        """,
    ),
    Rule(
        "A007",
        "region-without-label",
        "error",
        "A region has no value for the label attribute.",
        """
        The attribute that names the class (--label-attribute, or the project's only region
        attribute, or 'label'/'class') is empty or missing: the region has no class and is
        dropped.
        """,
    ),
    Rule(
        "A008",
        "several-labels",
        "warning",
        "A region has several options of a checkbox label attribute set.",
        "COCO gives an object one category; the first option is used.",
    ),
    Rule(
        "A009",
        "via-unknown-class",
        "error",
        "A region's class is not in the class list (--labels).",
        "A typo or a class added later; the region is dropped.",
    ),
    Rule(
        "A010",
        "no-label-attribute",
        "warning",
        "The project has no region attribute that names the class.",
        """
        VIA's default project has none: every region of ../shared/realdata/via_json's
        Mask R-CNN export has empty region_attributes. All regions become one category
        'object'; name the attribute with --label-attribute when there is one.
        """,
    ),
    Rule(
        "A011",
        "file-size-differs",
        "warning",
        "The image file is not the size in bytes VIA recorded for it.",
        """
        VIA keys images by file name and byte size: another file of the same name (resized,
        recompressed, a different image) is on disk, and the regions may not fit it.
        """,
    ),
    Rule(
        "A012",
        "via-duplicate-image",
        "warning",
        "An image is listed twice.",
        "Two entries with one file name (different recorded sizes): its regions are split.",
    ),
    Rule(
        "A013",
        "via-other",
        "warning",
        "Another problem the VIA reader reported.",
        "The message names the reader's problem key.",
    ),
    Rule(
        "A014",
        "bad-csv-row",
        "error",
        "A row of a VIA CSV export cannot be read.",
        """
        Not 7 fields, or a JSON field that is not JSON. VIA writes file names unquoted, so a
        comma in a file name breaks its own CSV; export as JSON instead.
        """,
    ),
    # --- B: SA-1B (Segment Anything) ---------------------------------------------------------
    Rule(
        "B001",
        "sa1b-unreadable",
        "error",
        "An SA-1B file or shard cannot be read.",
        """
        Malformed JSON (with its line and column), a JSON file that is not one image's SA-1B
        record (``{"image": {"image_id", "width", "height", "file_name"}, "annotations":
        [...]}``), a tar shard that is damaged, or one that ends inside a member (a truncated
        download: the member is named). Read by the sa1b2coco reader.
        """,
    ),
    Rule(
        "B002",
        "sa1b-bad-annotation",
        "error",
        "An annotation is not an object with an integer id.",
        "SA-1B annotations carry their own ids, which COCO keeps; one without is left out.",
    ),
    Rule(
        "B003",
        "sa1b-bad-segmentation",
        "error",
        "A segmentation is not a COCO RLE.",
        """
        SA-1B masks are compressed COCO RLE (``size`` and ``counts``); counts that do not
        decode, or runs that do not add up to the size, are left out.
        """,
    ),
    Rule(
        "B004",
        "sa1b-mask-size",
        "error",
        "A mask's size is not its image's.",
        """
        The RLE's ``size`` must be the image's ``[height, width]``: pycocotools would decode it
        to the wrong shape. Left out.
        """,
    ),
    Rule(
        "B005",
        "sa1b-bbox-mismatch",
        "warning",
        "A box is not its mask's box.",
        """
        SA-1B's boxes run from the first to the last pixel of the mask (COCO's width minus one),
        which is converted silently; any other box disagrees with the mask, and COCO gets the
        mask's box (pycocotools' toBbox).
        """,
    ),
    Rule(
        "B006",
        "sa1b-area-mismatch",
        "warning",
        "An area is not its mask's pixel count.",
        "COCO gets the mask's pixel count (pycocotools' area).",
    ),
    Rule(
        "B007",
        "sa1b-empty-mask",
        "warning",
        "A mask has no pixel.",
        "It is kept; it can match nothing in evaluation and trains nothing.",
    ),
    Rule(
        "B008",
        "sa1b-bad-score",
        "warning",
        "predicted_iou or stability_score is not a number in range.",
        """
        Both are non-negative numbers; the stability score is an IoU, at most 1 (the predicted
        IoU is a prediction and may pass 1). Kept as it is; --min-predicted-iou and --min-
        stability treat a missing or non-number score as below any minimum.
        """,
    ),
    Rule(
        "B009",
        "sa1b-bad-prompt",
        "warning",
        "point_coords or crop_box has the wrong shape.",
        """
        ``point_coords`` is a list of ``[x, y]`` points, ``crop_box`` four numbers ``[x, y, w,
        h]``.
        """,
    ),
    Rule(
        "B010",
        "sa1b-image-missing",
        "warning",
        "A shard holds images, but not this file's.",
        "The image named by ``file_name`` is not among the shard's members.",
    ),
    Rule(
        "B011",
        "sa1b-duplicate-image",
        "error",
        "An image_id is used by two files.",
        "The later file and its masks are left out.",
    ),
    Rule(
        "B012",
        "sa1b-duplicate-id",
        "error",
        "An annotation id is used twice.",
        "SA-1B's ids are kept, so COCO gets the same id twice (pycocotools keeps only one).",
    ),
    Rule(
        "B013",
        "sa1b-other",
        "warning",
        "Another problem of an SA-1B file.",
        "A problem the reader reports that no other B rule names.",
    ),
    # --- X: the validator --------------------------------------------------------------------
    Rule(
        "X001",
        "internal-error",
        "error",
        "coco-convert failed while checking this file.",
        """
        A bug in coco-convert, not necessarily in the file. The message names the rule
        that failed; please report it with the file (or a piece of it).
        """,
    ),
)


def resolve_codes(selectors: list[str] | tuple[str, ...]) -> set[str]:
    """Codes matching any of ``selectors``: a code (``G102``), a prefix (``G``, ``G1``) or
    ``ALL``. Unknown selectors raise ValueError."""
    codes: set[str] = set()
    for selector in selectors:
        selector = selector.strip().upper()
        if not selector:
            continue
        if selector == "ALL":
            codes.update(RULES)
            continue
        matched = {code for code in RULES if code.startswith(selector)}
        if not matched:
            raise ValueError(f"unknown rule code or prefix {selector!r}")
        codes |= matched
    return codes
