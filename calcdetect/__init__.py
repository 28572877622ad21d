"""calcdetect: find, cluster and describe microcalcifications in mammograms."""

__version__ = "0.1.0"
