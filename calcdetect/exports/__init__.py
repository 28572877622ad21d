"""What a finished run's tables become: COCO detections for tools, overlays for people."""

from calcdetect.exports.coco import COCO_FILE, coco_detections, write_coco
from calcdetect.exports.overlay import draw_crop, draw_overview, write_overlays

__all__ = ["COCO_FILE", "coco_detections", "draw_crop", "draw_overview", "write_coco", "write_overlays"]
