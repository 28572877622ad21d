"""CBIS-DDSM (Lee et al., Sci Data 4:170177, 2017): its case descriptions, its download, and
its vocabulary in the BI-RADS classes of :mod:`calcdetect.lexicon`.

- :mod:`~calcdetect.datasets.cbis_ddsm.vocabulary`: ``calc type`` and ``calc distribution``
  cells to :class:`~calcdetect.lexicon.Morphology` and :class:`~calcdetect.lexicon.Distribution`;
- :mod:`~calcdetect.datasets.cbis_ddsm.cases`: the case-description CSVs, one
  :class:`Abnormality` per row;
- :mod:`~calcdetect.datasets.cbis_ddsm.download`: a TCIA download's files for each
  abnormality (:func:`open_cbis_ddsm`) and its ROI mask on the full image (:func:`read_roi_mask`).
"""

from calcdetect.datasets.cbis_ddsm.cases import Abnormality, Pathology, Split, read_case_descriptions
from calcdetect.datasets.cbis_ddsm.download import (
    DEFAULT_SPACING_MM,
    CaseFiles,
    CbisDdsm,
    DownloadReport,
    SkipReason,
    open_cbis_ddsm,
    read_roi_mask,
)
from calcdetect.datasets.cbis_ddsm.vocabulary import (
    CALC_DISTRIBUTIONS,
    CALC_TYPES,
    parse_calc_distribution,
    parse_calc_type,
    primary_distribution,
    primary_morphology,
)

__all__ = [
    "CALC_DISTRIBUTIONS", "CALC_TYPES", "DEFAULT_SPACING_MM", "Abnormality", "CaseFiles", "CbisDdsm",
    "DownloadReport", "Pathology", "SkipReason", "Split", "open_cbis_ddsm", "parse_calc_distribution",
    "parse_calc_type", "primary_distribution", "primary_morphology", "read_case_descriptions", "read_roi_mask",
]
