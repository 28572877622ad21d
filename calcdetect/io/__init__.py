"""Files in, mammograms out: the only package that sees a pydicom Dataset."""

from calcdetect.io.dicom import LoadOptions, Mammogram, SpacingSource, read_mammogram, write_mammogram

__all__ = ["LoadOptions", "Mammogram", "SpacingSource", "read_mammogram", "write_mammogram"]
