"""What a finished run's tables become: COCO detections for tools; overlays and a report for people."""

from calcdetect.exports.coco import COCO_FILE, coco_detections, write_coco
from calcdetect.exports.overlay import draw_crop, draw_overview, write_overlays
from calcdetect.exports.report import REPORT_FILE, plot_froc, write_report

__all__ = ["COCO_FILE", "REPORT_FILE", "coco_detections", "draw_crop", "draw_overview", "plot_froc", "write_coco",
           "write_overlays", "write_report"]
