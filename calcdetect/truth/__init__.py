"""The truth model: what a run is scored against, shared by the generator, the data-set
adapters and the evaluation.

Two kinds of truth, one module each:

- calcifications marked one by one, grouped into clusters (:mod:`calcdetect.truth.model`:
  :class:`Truth`, :class:`TruthImage`, :class:`TruthCluster`, :class:`TruthCalcification`,
  :class:`Artefact`), made by :mod:`calcdetect.synth` and stored as ``truth.json``
  (:mod:`calcdetect.truth.file`: :func:`read_truth`, :func:`write_truth`;
  ``docs/truth-format.md``); :mod:`calcdetect.evaluate` scores clusters and
  calcifications against it;
- lesions given as regions (:mod:`calcdetect.truth.regions`: :class:`LesionImage`,
  :class:`Lesion` and the regions), made by the adapters of :mod:`calcdetect.datasets`
  from CBIS-DDSM, INbreast and mini-MIAS, and by :func:`lesions_from_truth` from a
  ``truth.json``; :mod:`calcdetect.datasets.scoring` scores lesions against them.
"""

from calcdetect.truth.file import image_to_dict, read_truth, truth_to_dict, write_truth
from calcdetect.truth.model import (
    FORMAT_VERSION,
    Artefact,
    ArtefactKind,
    Truth,
    TruthCalcification,
    TruthCluster,
    TruthImage,
)
from calcdetect.truth.regions import (
    CircleRegion,
    Lesion,
    LesionImage,
    MaskRegion,
    PolygonRegion,
    WholeImage,
    lesions_from_truth,
)

__all__ = [
    "FORMAT_VERSION",
    "Artefact",
    "ArtefactKind",
    "CircleRegion",
    "Lesion",
    "LesionImage",
    "MaskRegion",
    "PolygonRegion",
    "Truth",
    "TruthCalcification",
    "TruthCluster",
    "TruthImage",
    "WholeImage",
    "image_to_dict",
    "lesions_from_truth",
    "read_truth",
    "truth_to_dict",
    "write_truth",
]
