"""Files in, mammograms out: the only package that sees a pydicom Dataset."""

from calcdetect.io.dicom import (
    LoadOptions,
    Mammogram,
    SpacingSource,
    is_image_file,
    read_mammogram,
    write_mammogram,
)

__all__ = ["LoadOptions", "Mammogram", "is_image_file", "SpacingSource", "read_mammogram", "write_mammogram"]
