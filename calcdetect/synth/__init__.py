"""Synthetic mammograms with ground truth: the project's ruler.

Each image is a small physical model of a for-presentation (log) mammogram, built
in this order:

1. **Anatomy.** A compressed breast of thickness ``H`` (35-70 mm) whose outline is
   a perturbed half super-ellipse against the chest wall (image left edge for
   laterality ``"L"``, right edge for ``"R"``); MLO views add the axillary tail and
   the pectoral muscle as a bright curved wedge in the upper chest-wall corner.
   Near the skin line the thickness falls to zero over 10-20 mm with an
   elliptical (semicircular) profile, so brightness falls off towards the skin,
   and a 1-2 mm skin shell, seen edge-on, gives the thin bright rim.
   Fibroglandular tissue is a soft-thresholded 1/f^beta Gaussian field
   (beta about 3 between about 40 mm and 1 mm, isotropic plus a component
   streaming towards the nipple), whose glandular area sets the density class; a
   subcutaneous fat layer and a few soft-tissue vessels complete it. Everything
   is expressed as attenuation ``A`` (optical depth, dimensionless) with
   effective coefficients of fat, gland, skin, blood and muscle at about 20 keV.
   The presentation image subtracts a fat-equivalent of the local thickness (a
   linear, display-only offset, as vendors' processing flattens fat), so fat is
   mid-grey; the photon count, and so the noise, follows the physical ``A``.
2. **Calcifications.** Each is a small 3-D object (ellipsoids, prisms, spherical
   shells, capsule chains, unions of those) whose projected thickness is computed
   with 4 x 4 supersampling in a small patch; its attenuation is that thickness
   times a per-cluster coefficient chosen so that the cluster's median peak
   contrast over the local quantum noise equals a drawn contrast-to-noise ratio.
3. **Detector.** Stored value ``lo + gain * A`` (log image, dense = bright; the
   gain maps the 99.5th percentile of the breast to about 80 % of the range), with
   signal-dependent quantum noise (``N = N0 exp(-A)`` photons per pixel, ``N0``
   set by automatic exposure control) and electronic noise, then a Gaussian
   detector blur (sigma 0.5-0.7 px) that correlates the noise, then
   quantisation to 12 or 14 bits.

Everything is drawn from a :class:`numpy.random.Generator`, so one seed gives
one image; :func:`make_set` derives image ``i`` of a set from ``(seed, i)`` alone.
The ground truth follows ``docs/truth-format.md`` (format version 1).

The wide domain
---------------
``SynthSettings(domain="wide")`` (``calcdetect synth --domain wide``) randomises,
per image, what the classic domain holds fixed, so that a detector tuned on it
meets film, processed exports and artefacts during tuning (domain
randomisation). The classic domain (the default) is unchanged bit for bit:
every new draw happens only in the wide domain.

- **Source.** About a third of images are digitised screen-film (spacing
  0.04-0.05 mm, 12 or 16 bits, the field-of-view scale as for digital). The
  log exposure (no display offset, so the skin region is over-exposed) goes
  through the film's characteristic (H&D) curve, :func:`film_density`: a
  generalised logistic (Richards) curve from base plus fog (0.12-0.3) to
  ``D_max`` (3.4-4.2) whose greatest slope, the film gamma, is 2-3.5, with a
  toe/shoulder asymmetry; exposure control puts typical tissue at a density
  of 1.0-1.8, so dense tissue falls in the toe and the skin region in the
  shoulder, where grey levels are compressed. A wider screen blur (sigma
  0.8-1.5 px) replaces the detector's. Film grain is Gaussian noise
  correlated over 0.5-1.2 px added to the density, its std (0.008-0.03 at
  mid-curve) growing up to 2-4 fold towards the toe, where the film
  gradient also shrinks calcification contrast (dense film areas are
  hardest). The digitiser stores values linear in density over 0 to
  3.2-4.0 (dense bright) and adds stripes along rows or columns (1/f noise
  and a few sharp bands, 0.003-0.02 in density).
- **Display processing** of digital images, each drawn independently:
  peripheral equalisation (the fat lost where the breast thins at the skin
  line is added back with strength 0.7-1.3 and a mis-estimated roll-off, so
  a bright band along the skin line is common), unsharp masking (Gaussian
  low-pass of sigma 2-20 mm, amount 0.3-1.5), an export window with a tone
  exponent 0.8-1.25 whose top clips the brightest 0.5-5 % of the breast's
  grey levels flat in half of the images, and 8-bit exports.
- **Anatomy.** Cooper's ligaments (scalloped thin bright arcs in the
  subcutaneous fat and curved arcs across fatty areas), trabecular strands
  pointing at the nipple, and 2-8 more soft-tissue vessels.
- **Benign calcifications**, more often (``benign_fraction`` 0.6): calcified
  vessels of every length (4-80 mm), wall separation (0.5-3.5 mm, or one
  wall) and dash pattern (pieces 0.4-12 mm long, gaps 0.3-6 mm, from dotted
  to nearly continuous); a third of vascular draws are a calcified network
  (2-5 roughly parallel vessels up to 80 mm long, 3-20 mm beside the first,
  two thick walls calcified nearly all along, as on film of older women);
  wall pieces 0.1-1 mm thick; popcorn,
  rim, skin and secretory (large rod-like).
- **Normal images** are common (``normal_fraction`` 0.5).
- **Artefacts**, recorded in the truth with their position: dust (1-5 pixel
  specks, not blurred, from 6 local noise sigmas to near white, a third in
  clumps of 3-7 within a few mm), hot pixels (1 or 2 x 2, stuck near full
  scale or partly, a third in defect clusters of 3-6 within 2 mm),
  fibres (thin bright curvy lines, 1.5-6 mm), labels (text beside the
  breast), film borders (bright or dark strips with a sharp edge) and skin
  markers (a metal bead or wire ring on the skin line, in the beam).

The truth stays exact after every step: calcifications are not planted where
the chain would flatten them (clipped tissue, the film's toe and shoulder);
each cluster's coefficient is calibrated on the noise of the *stored* image
(quantum noise carried through the chain, grain, quantisation); each
calcification's ``contrast`` is the noise-free peak the whole chain leaves,
and ``cnr`` is measured against the output noise. Each image's truth adds
``source`` (``"ffdm"`` or ``"film"``), ``acquisition`` and ``artefacts``.

Modules: :mod:`~calcdetect.synth.anatomy` (breast outline, tissue, vessels,
ligaments), :mod:`~calcdetect.synth.calcifications` (shapes, layouts,
placement, cluster specs), :mod:`~calcdetect.synth.acquisition` (detector,
noise, blur, film and processing chains, artefacts),
:mod:`~calcdetect.synth.generate` (one image: the stages chained),
:mod:`~calcdetect.synth.writer` (DICOM and ``truth.json``, :func:`make_set`);
:mod:`~calcdetect.synth.settings` and :mod:`~calcdetect.synth.image` hold the
option and result types; the truth each image carries is :mod:`calcdetect.truth`'s
(:meth:`SynthImage.to_truth`), which also reads and writes ``truth.json``.

References
----------
.. [1] F. Hurter and V. C. Driffield, J. Soc. Chem. Ind. 9 (1890) 455-469: the
   characteristic curve of photographic film (density against log exposure).
.. [2] F. J. Richards, J. Exp. Bot. 10 (1959) 290-300: the generalised logistic
   curve used for its toe and shoulder.
.. [3] J. T. Bushberg, J. A. Seibert, E. M. Leidholdt, J. M. Boone, The Essential
   Physics of Medical Imaging, 3rd ed. (2012): screen-film gamma and latitude,
   film granularity, screen blur, mammographic film.
.. [4] J. Tobin, "Domain randomization for transferring deep neural networks
   from simulation to the real world", IROS 2017 (the idea behind the wide
   domain).
"""

from calcdetect.synth.acquisition import FILM_BITS_CHOICES as FILM_BITS_CHOICES
from calcdetect.synth.acquisition import FILM_SPACINGS_MM as FILM_SPACINGS_MM
from calcdetect.synth.acquisition import film_density
from calcdetect.synth.calcifications import ClusterSpec, allowed_pairs, balanced_specs
from calcdetect.synth.generate import image_rng, synthesize
from calcdetect.synth.image import Acquisition, Source, SynthImage
from calcdetect.synth.settings import BITS_STORED_CHOICES as BITS_STORED_CHOICES
from calcdetect.synth.settings import SPACINGS_MM as SPACINGS_MM
from calcdetect.synth.settings import Density, Domain, SynthSettings
from calcdetect.synth.writer import make_set

__all__ = [
    "balanced_specs",
    "ClusterSpec",
    "Density",
    "SynthImage",
    "SynthSettings",
    "allowed_pairs",
    "image_rng",
    "make_set",
    "synthesize",
    # the wide domain
    "Acquisition",
    "Domain",
    "Source",
    "film_density",
]
