"""Files in, mammograms out: the only package that sees a pydicom Dataset."""

from calcdetect.io.dicom import Mammogram, SpacingSource, read_mammogram, write_mammogram

__all__ = ["Mammogram", "SpacingSource", "read_mammogram", "write_mammogram"]
