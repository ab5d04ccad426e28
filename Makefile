# Two commands on a fresh machine (each creates .venv as needed):
#   make run    install, then run the main jobs on the bundled fixtures (output in out/)
#   make test   install with test tools, then lint, type-check and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/coco-convert
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# Datumaro, which tests/test_datumaro_interop.py imports our outputs with, lives in its own
# environment: it pins Pillow 12, and the project's tests run on what users install.
DATUMARO_VERSION := 1.13.12
DATUMARO := .venv-datumaro
DATUMARO_STAMP := $(DATUMARO)/.installed-$(DATUMARO_VERSION)

# LabelMe, whose own code tests/test_labelme.py checks our masks and files against, lives in its
# own environment too: it pulls in PyQt5 and onnxruntime.
LABELME_VERSION := 6.3.1
LABELME := .venv-labelme
LABELME_STAMP := $(LABELME)/.installed-$(LABELME_VERSION)

# label-studio-sdk, whose brush decoder tests/test_labelstudio_sdk.py reads our brush masks
# with, lives in its own environment as well: it pulls in OpenCV, pandas and NLTK.
LABELSTUDIO_VERSION := 2.1.2
LABELSTUDIO := .venv-labelstudio
LABELSTUDIO_STAMP := $(LABELSTUDIO)/.installed-$(LABELSTUDIO_VERSION)

.PHONY: run test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	rm -rf out && mkdir -p out
	$(CLI) --version
	$(CLI) info fixtures/coco/instances.json
	$(CLI) info fixtures/coco/person_keypoints.json
	$(PY) -c "import coco_convert as cc; cc.load('fixtures/coco/instances.json').save('out/instances.json')"
	$(CLI) schema --kind instances > out/instances.schema.json
	$(CLI) voc2coco fixtures/voc/datumaro-segmentation --coords zero-based --masks -o out/voc_masks.json
	$(CLI) coco2voc out/voc_masks.json -o out/voc --masks --coords zero-based
	$(CLI) coco2yolo fixtures/coco/instances.json -o out/yolo --task segment --split val2014
	$(CLI) yolo2coco fixtures/yolo/exif --images fixtures/yolo/exif -o out/exif-sizes.json
	$(CLI) formats
	$(CLI) convert fixtures/voc/datumaro-one-based --split train --to yolo -o out/voc-yolo
	$(CLI) convert fixtures/yolo/coco-val2014/data.yaml --to voc -o out/yolo-voc
	$(CLI) poly2rle fixtures/coco/instances.json -o out/instances_rle.json
	$(CLI) rle2poly out/instances_rle.json -o out/instances_polygons.json --report out/rle2poly.json
	$(CLI) merge fixtures/coco/instances.json fixtures/coco/person_keypoints.json -o out/merged.json
	$(CLI) split out/merged.json -o out/splits --ratios train=0.5,val=0.5 --stratify --seed 0
	$(CLI) stats out/merged.json
	$(CLI) validate fixtures/validate/clean.json
	$(CLI) validate --exit-zero --diff --unsafe-fixes fixtures/validate/broken.json
	$(CLI) draw fixtures/coco/panoptic.json --images fixtures/coco -o out/draw-panoptic
	$(CLI) gallery fixtures/coco/instances.json --images fixtures/coco -o out/gallery.html --compare fixtures/coco/results_bbox.json
	@echo "outputs in out/"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

$(DATUMARO_STAMP):
	$(PYTHON) -m venv $(DATUMARO)
	$(DATUMARO)/bin/python -m pip install --quiet "datumaro==$(DATUMARO_VERSION)"
	rm -f $(DATUMARO)/.installed-*
	touch $(DATUMARO_STAMP)

$(LABELME_STAMP):
	$(PYTHON) -m venv $(LABELME)
	$(LABELME)/bin/python -m pip install --quiet "labelme==$(LABELME_VERSION)"
	rm -f $(LABELME)/.installed-*
	touch $(LABELME_STAMP)

$(LABELSTUDIO_STAMP):
	$(PYTHON) -m venv $(LABELSTUDIO)
	$(LABELSTUDIO)/bin/python -m pip install --quiet "label-studio-sdk==$(LABELSTUDIO_VERSION)"
	rm -f $(LABELSTUDIO)/.installed-*
	touch $(LABELSTUDIO_STAMP)

test: lint $(DATUMARO_STAMP) $(LABELME_STAMP) $(LABELSTUDIO_STAMP)
	sh .ci/install-chromium
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) $(DATUMARO) $(LABELME) $(LABELSTUDIO) out .mypy_cache .ruff_cache .pytest_cache .hypothesis
