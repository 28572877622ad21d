"""Formats other tools read, made from a finished run's tables: COCO detections."""

from calcdetect.exports.coco import COCO_FILE, coco_detections, write_coco

__all__ = ["COCO_FILE", "coco_detections", "write_coco"]
