# box_residual.py: a user's filter in one file (see README, "Filter workbench")
import cv2
import numpy as np

from calcdetect.filters import register_filter


def box_residual(image, *, spacing, radius_mm, backend="opencv"):
    """The image minus its mean over a box 2 x radius_mm wide (one implementation: backend is ignored)."""
    size = [2 * round(radius_mm / s) + 1 for s in spacing]  # (rows, cols) in pixels
    image = np.asarray(image, np.float32)
    return image - cv2.blur(image, (size[1], size[0]), borderType=cv2.BORDER_REFLECT)


def size_to_window(min_diameter_mm, max_diameter_mm):
    return {"radius_mm": max_diameter_mm}


def reach(*, radius_mm):
    return radius_mm


register_filter("box-residual", box_residual, sizing=size_to_window, reach_mm=reach,
                summary="image minus its local box mean")
