"""Result tables (output contract, schema version 1) and their files.

No computation happens here: a :class:`~calcdetect.pipeline.Result` is turned
into rows, and rows into files, atomically.
"""

SCHEMA_VERSION = 1

IMAGE_COLUMNS = (
    "image_id", "path", "status", "error", "rows", "columns", "spacing_mm",
    "spacing_source", "laterality", "view", "n_calcifications", "n_clusters", "seconds",
)
CALCIFICATION_COLUMNS = (
    "image_id", "calc_id", "cluster_id", "row", "col", "area_mm2", "diameter_mm",
    "length_mm", "width_mm", "contrast", "shape", "score",
)
CLUSTER_COLUMNS = (
    "image_id", "cluster_id", "n_calcifications", "row", "col", "row_min", "col_min",
    "row_max", "col_max", "extent_mm", "area_mm2", "density_per_cm2", "distribution",
    "morphology", "score",
)
