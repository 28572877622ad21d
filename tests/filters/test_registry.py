import math
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

import calcdetect.filters.registry
from calcdetect.filters import (BUILT_IN, ENTRY_POINT_GROUP, FilterSpec, UnknownFilterError, available_filters,
                                get_filter, register_filter, user_filters)
from calcdetect.pipeline import Params, _reach_mm, detect, saturated_margin_mm
from calcdetect.synth import SynthSettings, synthesize


def _identity(image, *, spacing, backend="opencv"):
    return np.asarray(image, np.float32)


M = 1 / (2 * math.sqrt(2))  # matched sigma per mm of diameter (Lindeberg 1998)


@pytest.mark.parametrize(("name", "window", "reach_mm"), [
    ("tophat", (0.1, 1.0), 1.2), ("tophat", (0.1, 2.0), 2.4),  # an opening looks 2 radii away
    ("tophat-octagon", (0.1, 1.0), 1.2 * math.sqrt(2)),  # ... to the corner of the disk's bounding box
    ("dog", (0.1, 1.0), 4.0), ("bandpass", (0.1, 1.0), 16 * 0.1 * M), ("bandpass", (0.2, 1.0), 16 * 0.2 * M),
    ("log", (0.1, 1.0), 4 * 1.0 * M), ("hessian-blob", (0.1, 1.0), 4 * math.sqrt(0.1) * M),
    ("hessian-line", (0.1, 1.0), 0.4), ("atrous", (0.1, 1.0), 2 * math.sqrt(2)), ("hdome", (0.1, 1.0), math.inf),
], ids=["tophat", "tophat-wide-window", "tophat-octagon", "dog", "bandpass", "bandpass-larger-smallest", "log",
        "hessian-blob", "hessian-line", "atrous", "hdome"])
def test_built_in_filters_follow_the_size_window(name, window, reach_mm):
    spec = get_filter(name)
    assert name in BUILT_IN
    assert spec.reach_mm(min_diameter_mm=window[0], max_diameter_mm=window[1]) == pytest.approx(reach_mm)


LOCAL_BUILT_IN = [name for name in sorted(BUILT_IN) if math.isfinite(get_filter(name).reach_mm())]


@pytest.mark.parametrize("spacing", [(0.05, 0.05), (0.1, 0.1), (0.3, 0.3), (1.0, 1.0), (2.0, 2.0), (0.05, 0.1),
                                     (0.3, 1.0)], ids=lambda s: f"{s[0]}x{s[1]}mm")
@pytest.mark.parametrize("window", [(0.1, 1.0), (0.1, 0.3)], ids=["default-window", "small-window"])
@pytest.mark.parametrize("name", LOCAL_BUILT_IN)
def test_a_crop_grown_by_the_reach_at_the_pixel_size_gives_the_whole_images_response(name, window, spacing):
    # On coarse pixels the LoG's and the Hessian's scales are floored at half a pixel and the a
    # trous takes at least one level: they look farther than their parameters say, and the
    # reach for the spacing covers it.
    spec, size = get_filter(name), {"min_diameter_mm": window[0], "max_diameter_mm": window[1]}
    margin = [math.ceil(spec.reach_mm(**size, spacing=spacing) / s) for s in spacing]
    inner, edge = 20, 7  # the window compared, and image beyond the crop
    shape = [2 * (edge + m) + inner for m in margin]
    image = np.random.default_rng(7).normal(100.0, 10.0, shape).astype(np.float32)
    compared = tuple(slice(edge + m, edge + m + inner) for m in margin)
    whole = spec(image, spacing=spacing, **size)[compared]
    crop = spec(image[edge: shape[0] - edge, edge: shape[1] - edge], spacing=spacing, **size)
    np.testing.assert_allclose(crop[tuple(slice(m, m + inner) for m in margin)], whole, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(("name", "pixel_mm", "reach_mm"), [
    ("log", 1.0, 4 * 1.5 * 0.5), ("log", 0.05, 4 * 1.0 * M),  # the finest scale floored at 0.5 px, the widest 1.5 x it
    ("hessian-line", 1.0, 4 * 0.5), ("hessian-line", 0.05, 0.4),
    ("atrous", 2.0, 2 * 2.0), ("atrous", 0.05, (2 ** 5 - 2) * 0.05),  # 1 level at least; 4 levels of 0.05 mm
    ("tophat", 1.0, 1.2), ("bandpass", 1.0, 16 * 0.1 * M),  # no floor: the same at every pixel size
], ids=["log-coarse", "log-fine", "hessian-line-coarse", "hessian-line-fine", "atrous-coarse", "atrous-fine",
        "tophat", "bandpass"])
def test_the_reach_follows_the_pixel_size_where_a_filter_floors_its_scale(name, pixel_mm, reach_mm):
    assert get_filter(name).reach_mm(spacing=(pixel_mm, pixel_mm)) == pytest.approx(reach_mm)


def test_the_pipelines_margins_take_the_reach_at_the_images_pixel_size():
    # The LoG looks 6 mm on 2 mm pixels (1.41 mm by its parameters): past the measurements' 4 mm.
    log = Params(filter="log")
    assert _reach_mm(log, spacing=(2.0, 2.0)) == pytest.approx(6.0 + 4.0)
    assert _reach_mm(log, spacing=(0.05, 0.05)) == pytest.approx(4.0 + 4.0)
    # Specks found on the LoG itself: a plateau's margin is its reach, 3 mm on 1 mm pixels.
    assert saturated_margin_mm(Params(filter="log", detector="response"), spacing=(1.0, 1.0)) == pytest.approx(3.0)


def _reach_by_pixel(*, radius_mm, spacing=None):
    return radius_mm if spacing is None else radius_mm + spacing[1]


def _reach_needing_pixel(*, radius_mm, spacing):
    return radius_mm + spacing[1]


def test_a_reach_is_given_the_spacing_only_when_it_names_it(filter_registry):
    fixed = register_filter("fixed", _identity, defaults={"radius_mm": 1.0}, reach_mm=2.0)
    by_pixel = register_filter("by-pixel", _identity, defaults={"radius_mm": 1.0}, reach_mm=_reach_by_pixel)
    assert fixed.reach_mm(spacing=(0.5, 0.5)) == fixed.reach_mm() == 2.0
    assert by_pixel.reach_mm(spacing=(0.5, 0.25)) == 1.25 and by_pixel.reach_mm() == 1.0
    for spec in (fixed, by_pixel):
        with pytest.raises(ValueError, match="spacing"):
            spec.reach_mm(spacing=(0.5, -1.0))
    with pytest.raises(ValueError, match="'needs-pixel': its reach names spacing without a default; give it "
                                         "spacing=None"):
        register_filter("needs-pixel", _identity, defaults={"radius_mm": 1.0}, reach_mm=_reach_needing_pixel)


def _spy_reach(*, name, radius_mm, spacing=None):
    return _reach_by_pixel(radius_mm=radius_mm, spacing=spacing)


def test_the_pipeline_crops_by_the_reach_at_the_images_pixel_size(mammogram, filter_registry):
    image, spacing = mammogram
    crops = {}

    def spy(image, *, spacing, name, radius_mm, backend="opencv"):
        crops[name] = image.shape
        return get_filter("tophat")(image, spacing=spacing, backend=backend)

    register_filter("six", spy, defaults={"name": "six", "radius_mm": 1.0}, reach_mm=6.0 + 4.0)
    register_filter("by-pixel", spy, defaults={"name": "by-pixel", "radius_mm": 6.0 + 4.0 - spacing[1]},
                    reach_mm=_spy_reach)
    for name in ("six", "by-pixel"):
        detect(image, spacing=spacing, params=Params(filter=name))
    assert crops["by-pixel"] == crops["six"]  # 10 mm with the image's spacing, 10 mm less a pixel without


def test_a_registered_filter_is_called_with_its_parameters(filter_registry):
    seen = {}

    def scaled(image, *, spacing, gain, backend="opencv"):
        seen.update(gain=gain, backend=backend)
        return np.asarray(image, np.float32) * gain

    spec = register_filter("scaled", scaled, defaults={"gain": 2.0}, reach_mm=0.0)
    assert get_filter("scaled") is spec and user_filters() == {"scaled": spec}
    assert spec(np.ones((2, 2)), spacing=(0.1, 0.1), backend="reference").sum() == 8
    assert seen == {"gain": 2.0, "backend": "reference"}
    assert "scaled" in available_filters()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"name": "tophat", "reach_mm": 1.0}, "filter 'tophat' is built in and cannot be replaced"),
    ({"name": "x", "reach_mm": -1.0}, r"reach_mm must be >= 0 \(mm, or math.inf\); got -1.0"),
    ({"name": "x", "reach_mm": 1.0, "defaults": {}, "sizing": lambda lo, hi: {}}, "give sizing or defaults, not both"),
], ids=["built-in", "negative-reach", "sizing-and-defaults"])
def test_bad_registrations_are_refused(filter_registry, kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        register_filter(name, _identity, **kwargs)


def test_a_name_registered_twice_needs_replace(filter_registry):
    register_filter("same", _identity, reach_mm=0.0)
    with pytest.raises(ValueError, match="filter 'same' is already registered; pass replace=True"):
        register_filter("same", _identity, reach_mm=0.0)
    assert register_filter("same", _identity, reach_mm=1.0, replace=True).reach_mm() == 1.0


def test_an_unknown_name_lists_the_filters():
    with pytest.raises(ValueError, match=r"filter must be one of \[.*'tophat'.*\]; got 'nope'"):
        get_filter("nope")
    with pytest.raises(ValueError, match=r"detector must be 'response' or one of \[.*'bandpass'.*\]; got 'nope'"):
        Params(detector="nope")


@pytest.mark.parametrize("make", [lambda: get_filter("nope"), lambda: Params(filter="nope"),
                                  lambda: Params(detector="nope")], ids=["get_filter", "filter", "detector"])
def test_an_unknown_name_is_an_unknown_filter_error(make):
    """Its own type (a ValueError), which the command line completes with how to add a filter."""
    with pytest.raises(UnknownFilterError):
        make()


def test_an_installed_package_declares_filters_by_entry_point(monkeypatch, filter_registry):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "helpers"))
    point = EntryPoint("wide-tophat", "user_filter:WIDE_TOPHAT", ENTRY_POINT_GROUP)
    monkeypatch.setattr(calcdetect.filters.registry, "entry_points",
                        lambda group: [point] if group == ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(calcdetect.filters.registry, "_entry_points_loaded", False)
    spec = get_filter("wide-tophat")
    assert isinstance(spec, FilterSpec) and spec.reach_mm(max_diameter_mm=1.5) == 3.0
    assert "wide-tophat" in available_filters()


@pytest.mark.parametrize(("value", "why"), [
    ("math:pi", "must be a calcdetect.filters.FilterSpec; got float"),
    ("no_such_module_xyz:SPEC", "cannot be loaded, left out: ModuleNotFoundError"),
    ("user_filter:WIDE_TOPHAT", "declares a filter named 'wide-tophat'; the two names must agree"),
], ids=["not-a-spec", "broken", "name-mismatch"])
def test_a_bad_plugin_is_left_out_with_a_warning_and_the_others_load(monkeypatch, filter_registry, value, why):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "helpers"))
    points = [EntryPoint("bad", value, ENTRY_POINT_GROUP),
              EntryPoint("wide-tophat", "user_filter:WIDE_TOPHAT", ENTRY_POINT_GROUP)]
    monkeypatch.setattr(calcdetect.filters.registry, "entry_points", lambda group: points)
    monkeypatch.setattr(calcdetect.filters.registry, "_entry_points_loaded", False)
    with pytest.warns(UserWarning, match=f"entry point 'bad' .*{why}"):
        names = available_filters()
    assert "wide-tophat" in names and "bad" not in names


def test_response_is_not_a_filter_name(filter_registry):
    with pytest.raises(ValueError, match="filter name 'response' is reserved"):
        register_filter("response", _identity, reach_mm=0.0)


@pytest.fixture(scope="module")
def synthetic():
    return synthesize(rng=np.random.default_rng(7), settings=SynthSettings(scale=0.25))  # 3 planted clusters


@pytest.fixture(scope="module")
def mammogram(synthetic):
    return synthetic.pixels, synthetic.spacing


def test_the_pipeline_crops_by_the_filters_reach(mammogram, filter_registry):
    image, spacing = mammogram
    crops = {}

    def spy(image, *, spacing, reach, backend="opencv"):
        crops[reach] = image.shape
        return get_filter("tophat")(image, spacing=spacing, backend=backend)

    margins = {}
    for reach_mm in (1.0, 6.0, math.inf):
        register_filter(f"spy-{reach_mm}", spy, defaults={"reach": reach_mm}, reach_mm=reach_mm)
        params = Params(filter=f"spy-{reach_mm}")
        margins[reach_mm] = _reach_mm(params, spacing=spacing)
        detect(image, spacing=spacing, params=params)
    # the measurements' own reach (4 mm) is the least margin; a farther filter widens it
    assert margins[1.0] == 4.0 + 4.0 and margins[6.0] == 6.0 + 4.0
    assert crops[math.inf] == image.shape  # not local: the whole image
    for axis in (0, 1):
        side = math.ceil(margins[6.0] / spacing[axis]) - math.ceil(margins[1.0] / spacing[axis])
        # both sides grow, or one where the box already reaches the image's edge (the chest wall)
        assert crops[6.0][axis] - crops[1.0][axis] in (side, 2 * side) or crops[6.0][axis] == image.shape[axis]
    assert crops[1.0] != crops[6.0]


def _inside_the_breast(image: np.ndarray, size: int) -> np.ndarray:
    """The `size` x `size` window round the brightest smoothed spot's row, mid-breast."""
    rows, cols = image.shape
    r0, c0 = rows // 2 - size // 2, int(np.argmax(image[rows // 2] > np.median(image))) + size
    return image[r0:r0 + size, c0:c0 + size]


@pytest.mark.parametrize("name", sorted(BUILT_IN))
@pytest.mark.parametrize("source", ["random", "mammogram"])
def test_every_built_in_filter_equals_its_reference(mammogram, name, source):
    image, spacing = mammogram
    rng = np.random.default_rng(11)
    image = (rng.integers(0, 4096, (61, 57)).astype(np.uint16) if source == "random"
             else _inside_the_breast(image, 72))
    spec = get_filter(name)
    fast = spec(image, spacing=spacing)
    reference = spec(image, spacing=spacing, backend="reference")
    assert fast.dtype == np.float32 and fast.shape == image.shape
    if name in ("tophat", "hdome"):  # integer morphology: bit-identical
        np.testing.assert_array_equal(fast, reference)
    else:  # float32 rounding of image-sized sums (the blob measure's square root amplifies it near 0)
        atol = 16 * 2.0**-24 * float(np.abs(image).max())
        if name == "hessian-blob":
            atol += 2e-3 * float(np.abs(reference).max())
        np.testing.assert_allclose(fast, reference, rtol=0, atol=atol)


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_every_built_in_filter_finds_planted_calcifications(synthetic, name):
    # Without the false-positive model, which was fitted on the default filters' responses.
    result = detect(synthetic.pixels, spacing=synthetic.spacing, params=Params(filter=name, fp_model=False))
    planted = np.array([(c.row, c.col) for cluster in synthetic.clusters for c in cluster.calcifications])
    specks = np.c_[result.specks.row, result.specks.col]
    distance_mm = np.hypot(*np.moveaxis(planted[:, None] - specks[None], -1, 0)) * synthetic.spacing[0]
    found, on_planted = (distance_mm.min(axis=1) < 0.5).sum(), (distance_mm.min(axis=0) < 0.5).sum()
    assert found >= len(planted) / 4, f"{name}: {found} of {len(planted)} planted calcifications found"
    assert on_planted >= len(specks) / 2, f"{name}: {on_planted} of {len(specks)} specks on planted calcifications"


@pytest.mark.parametrize("detector", ["response", "dog", "bandpass"])
def test_the_detector_is_chosen_by_name(mammogram, detector):
    image, spacing = mammogram
    params = Params(detector=detector, fp_model=False)
    result = detect(image, spacing=spacing, params=params)
    stages = list(result.seconds)
    assert (f"detector ({detector})" in stages) == (detector != "response")
    # the specks' significance is measured on the detector's response: another detector, other values
    other = detect(image, spacing=spacing, params=Params(detector="atrous", fp_model=False))
    assert not np.array_equal(result.specks.significance, other.specks.significance)


def test_hdome_is_sized_by_the_noise_of_the_breast_not_of_the_air(mammogram):
    image, spacing = mammogram
    rng = np.random.default_rng(3)
    image = image.astype(np.float32) + rng.normal(0, 8, image.shape).astype(np.float32)
    airy = image.copy()
    airy[:, : int(0.7 * image.shape[1])] = 0  # mostly flat air
    speck = (image.shape[0] // 2, image.shape[1] - 40)
    for picture in (image, airy):
        picture[speck[0] - 1:speck[0] + 2, speck[1] - 1:speck[1] + 2] += 400
    response = get_filter("hdome")(airy, spacing=spacing)
    assert response[speck] > 20  # h of 3 noise sigmas (about 24), not 1e-6
    with pytest.raises(ValueError, match="no pixel noise"):
        get_filter("hdome")(np.full((20, 20), 7.0), spacing=spacing)


def test_non_finite_images_are_refused_by_detect_and_hdome(mammogram):
    image, spacing = mammogram
    image = image.astype(np.float32)
    image[10, 10] = np.nan
    with pytest.raises(ValueError, match="image must be finite"):
        detect(image, spacing=spacing)
    with pytest.raises(ValueError, match="image must be finite"):
        get_filter("hdome")(image, spacing=spacing)


def _broken(image, *, spacing, backend="opencv"):
    raise RuntimeError("division by zero in my filter")


def _cropped(image, *, spacing, backend="opencv"):
    return np.asarray(image, np.float32)[1:, 1:]


@pytest.mark.parametrize(("function", "reason"), [
    (_broken, "RuntimeError: division by zero in my filter"),
    (_cropped, r"returned a float32 array of shape \(\d+, \d+\) for an image of shape"),
], ids=["raises", "wrong-shape"])
def test_a_users_failing_filter_is_named_with_its_file(mammogram, filter_registry, function, reason):
    from calcdetect.errors import FilterError

    image, spacing = mammogram
    register_filter("mine", function, reach_mm=0.5)
    with pytest.raises(FilterError, match=rf"filter 'mine' \(from .*test_registry.py\): {reason}"):
        detect(image, spacing=spacing, params=Params(filter="mine"))


def test_the_fingerprint_follows_the_filters_file_and_parameters(tmp_path, monkeypatch, filter_registry):
    import importlib

    source = "from calcdetect.filters import register_filter, white_tophat\nGAIN = {gain}\n\n\n" \
             "def scaled(image, *, spacing, radius_mm, backend='opencv'):\n" \
             "    return GAIN * white_tophat(image, radius_mm, spacing=spacing, backend=backend)\n\n\n" \
             "register_filter('scaled', scaled, defaults={{'radius_mm': 0.6}}, reach_mm=1.2, replace=True)\n"
    module = tmp_path / "fingerprinted_filter.py"
    module.write_text(source.format(gain=1.0))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("fingerprinted_filter")
    first = get_filter("scaled").fingerprint()
    assert get_filter("scaled").fingerprint() == first  # stable
    assert get_filter("scaled").fingerprint(max_diameter_mm=2.0) == first  # fixed parameters: no window
    module.write_text(source.format(gain=0.0))  # a module-level constant, not the function's own lines
    assert get_filter("scaled").fingerprint() != first
    assert get_filter("tophat").fingerprint() != get_filter("tophat").fingerprint(max_diameter_mm=2.0)


def _old_style(image, *, spacing, min_diameter_mm, max_diameter_mm, backend="opencv"):
    return get_filter("tophat")(image, spacing=spacing, max_diameter_mm=max_diameter_mm, backend=backend)


def test_the_old_registration_and_parameter_name_still_work_with_a_warning(mammogram, filter_registry):
    image, spacing = mammogram
    with pytest.warns(DeprecationWarning, match="without reach_mm is deprecated"):
        spec = register_filter("old", _old_style)
    assert spec.reach_mm() == math.inf and spec.defaults == {"min_diameter_mm": 0.1, "max_diameter_mm": 1.0}
    with pytest.warns(DeprecationWarning, match=r"Params\(detection=...\) is deprecated"):
        params = Params(filter="old", detection="bandpass")
    assert params.detector == "bandpass" and "detection" not in params.to_dict()
    old = detect(image, spacing=spacing, params=params)
    new = detect(image, spacing=spacing, params=Params())
    # the same top-hat, on the whole image rather than the breast's crop (other noise blocks): nearly the same specks
    distance = np.hypot(old.specks.row[:, None] - new.specks.row, old.specks.col[:, None] - new.specks.col)
    assert (distance.min(axis=0) < 1).mean() > 0.9 and (distance.min(axis=1) < 1).mean() > 0.9
    assert len(old.clusters) == len(new.clusters)
