"""The rule implementations, one module per family; importing them registers the checks."""

from . import geometry, images, keypoints, panoptic, profiles, references, structure

__all__ = ["geometry", "images", "keypoints", "panoptic", "profiles", "references", "structure"]
