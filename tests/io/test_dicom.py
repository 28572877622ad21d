import math
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels import apply_voi_lut, get_encoder
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000,
    JPEG2000Lossless,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from calcdetect.errors import ImageReadError, NotABreastError, NotAnImageError, UnsupportedFormatError
from calcdetect.io import (
    DEFAULT_SPACING_MM,
    Intensity,
    LoadOptions,
    Mammogram,
    SpacingSource,
    iter_frames,
    read_dicom_pixels,
    read_mammogram,
    write_mammogram,
)

MG_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.2.1"

LOSSLESS = [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian,
            RLELossless, JPEGLSLossless, JPEG2000Lossless]


def _needs_encoder(syntax):
    if pydicom.uid.UID(syntax).is_compressed and not get_encoder(syntax).is_available:
        pytest.skip(f"no encoder for {syntax} installed")


@pytest.mark.parametrize("syntax", LOSSLESS, ids=[pydicom.uid.UID(s).keyword for s in LOSSLESS])
def test_lossless_transfer_syntaxes_load_exactly(dicom, tmp_path, pixels, syntax):
    _needs_encoder(syntax)
    path = dicom.save(dicom.make(pixels), tmp_path / "a.dcm", syntax)
    mammogram = read_mammogram(path)
    assert mammogram.image.dtype == np.float32
    np.testing.assert_array_equal(mammogram.image, pixels)
    assert mammogram.metadata["transfer_syntax"] == syntax
    assert not any("lossy" in w for w in mammogram.warnings)


@pytest.mark.parametrize(
    ("syntax", "kwargs", "max_error"),
    [(JPEGLSNearLossless, {"jls_error": 2}, 2), (JPEG2000, {"j2k_psnr": [70]}, 8)],
    ids=["jpeg-ls-near-lossless", "jpeg2000-lossy"],
)
def test_lossy_transfer_syntaxes_load_close_and_are_flagged(dicom, tmp_path, pixels, syntax, kwargs, max_error):
    _needs_encoder(syntax)
    path = dicom.save(dicom.make(pixels, LossyImageCompression="01"), tmp_path / "a.dcm", syntax, **kwargs)
    mammogram = read_mammogram(path)
    assert np.abs(mammogram.image - pixels).max() <= max_error
    assert any(w.startswith("lossy compressed") for w in mammogram.warnings)


def _lossless_jpeg(dicom, pixels, syntax):
    """`pixels` as a DICOM of a lossless JPEG (SOF3) transfer syntax, encoded by imagecodecs
    (libjpeg-turbo), as DDSM's LJPEG and many archives hold them."""
    import imagecodecs

    ds = dicom.make(pixels)
    ds.file_meta.TransferSyntaxUID = syntax
    ds.PixelData = pydicom.encaps.encapsulate([imagecodecs.jpeg8_encode(pixels, lossless=True, bitspersample=12,
                                                                         predictor=1)])
    ds["PixelData"].VR = "OB"
    return ds


@pytest.mark.parametrize("syntax", [JPEGLosslessSV1, JPEGLossless], ids=["sv1", "process-14"])
def test_lossless_jpeg_decodes_exactly(dicom, tmp_path, pixels, syntax):
    # Read by pylibjpeg-libjpeg (in the test extra; GPL, so not a dependency) or python-gdcm (calcdetect[gdcm]).
    path = tmp_path / "lossless.dcm"
    pydicom.dcmwrite(path, _lossless_jpeg(dicom, pixels, syntax), enforce_file_format=True)
    np.testing.assert_array_equal(read_mammogram(path).image, pixels)


def test_transfer_syntax_without_decoder_names_it_and_the_extra(dicom, tmp_path, pixels, monkeypatch):
    pydicom.dcmwrite(tmp_path / "jpeg-lossless.dcm", _lossless_jpeg(dicom, pixels, JPEGLosslessSV1),
                     enforce_file_format=True)

    class Unavailable:
        is_available, missing_dependencies = False, ["gdcm", "pylibjpeg-libjpeg"]

    monkeypatch.setattr("calcdetect.io.dicom.decoding.get_decoder", lambda syntax: Unavailable())
    with pytest.raises(UnsupportedFormatError,
                       match=r"jpeg-lossless\.dcm: no installed decoder for transfer syntax "
                             r"1\.2\.840\.10008\.1\.2\.4\.70 .*calcdetect\[gdcm\]"):
        read_mammogram(tmp_path / "jpeg-lossless.dcm")


def test_unknown_transfer_syntax_is_named(dicom, tmp_path, pixels):
    ds = dicom.make(pixels)
    ds.PixelData = pydicom.encaps.encapsulate([bytes(64)])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5.6"
    pydicom.dcmwrite(tmp_path / "private.dcm", ds, implicit_vr=False, little_endian=True, enforce_file_format=True)
    with pytest.raises(UnsupportedFormatError, match=r"transfer syntax 1\.2\.3\.4\.5\.6 \(unknown\) is not supported"):
        read_mammogram(tmp_path / "private.dcm")


def test_round_trip_of_the_writer(tmp_path, pixels):
    path = write_mammogram(tmp_path / "a.dcm", pixels, spacing=(0.07, 0.065), bits_stored=12,
                           laterality="R", view="MLO")
    mammogram = read_mammogram(path)
    assert isinstance(mammogram, Mammogram)
    np.testing.assert_array_equal(mammogram.image, pixels)
    assert (mammogram.spacing, mammogram.spacing_source) == ((0.07, 0.065), SpacingSource.IMAGER_PIXEL_SPACING)
    assert (mammogram.laterality, mammogram.view, mammogram.bits_stored) == ("R", "MLO", 12)
    assert mammogram.intensity is Intensity.PRESENTATION


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, RLELossless, JPEG2000Lossless],
                         ids=["explicit-le", "rle", "jpeg2000-lossless"])
def test_monochrome1_equals_inverted_monochrome2(dicom, tmp_path, pixels, syntax):
    _needs_encoder(syntax)
    mono2 = read_mammogram(dicom.save(dicom.make(pixels), tmp_path / "m2.dcm", syntax))
    inverted = (4095 - pixels).astype(np.uint16)
    mono1 = read_mammogram(dicom.save(dicom.make(inverted, photometric="MONOCHROME1"), tmp_path / "m1.dcm", syntax))
    np.testing.assert_array_equal(mono1.image, mono2.image)


@pytest.mark.parametrize(
    ("photometric", "shape", "stored_inverted", "note"),
    [("MONOCHROME2", None, False, None), ("MONOCHROME2", "IDENTITY", False, None),
     ("MONOCHROME2", "INVERSE", True, "Presentation LUT Shape INVERSE with MONOCHROME2"),
     ("MONOCHROME1", None, True, None), ("MONOCHROME1", "INVERSE", True, None),
     ("MONOCHROME1", "IDENTITY", True, "disagree on polarity; MONOCHROME1 followed"),
     ("MONOCHROME2", "LIN OD", False, "'LIN OD' is neither IDENTITY nor INVERSE")],
    ids=["mono2", "mono2-identity", "mono2-inverse", "mono1", "mono1-inverse", "mono1-identity-conflict",
         "mono2-unknown-shape"],
)
@pytest.mark.parametrize("voi", [False, True], ids=["stored", "voi"])
def test_every_stated_polarity_is_honoured(dicom, tmp_path, pixels, photometric, shape, stored_inverted, note, voi):
    # The same breast, stored dark or bright for dense tissue as the header says, reads the same.
    window = dict(WindowCenter=2048, WindowWidth=4096)
    reference = read_mammogram(dicom.save(dicom.make(pixels, **window), tmp_path / "ref.dcm"),
                               LoadOptions(voi=voi))
    stored = (4095 - pixels).astype(np.uint16) if stored_inverted else pixels
    ds = dicom.make(stored, photometric=photometric, PresentationLUTShape=shape, **window)
    mammogram = read_mammogram(dicom.save(ds, tmp_path / "a.dcm"), LoadOptions(voi=voi))
    np.testing.assert_allclose(mammogram.image, reference.image, atol=1e-3)
    polarity_notes = [w for w in mammogram.warnings if "Presentation LUT Shape" in w]
    if note is None:
        assert polarity_notes == []
    else:
        assert len(polarity_notes) == 1 and note in polarity_notes[0]


def test_rescale_slope_and_intercept_are_applied(dicom, tmp_path, pixels):
    ds = dicom.make(pixels, RescaleSlope="0.5", RescaleIntercept="-100")
    mammogram = read_mammogram(dicom.save(ds, tmp_path / "a.dcm"))
    np.testing.assert_array_equal(mammogram.image, pixels.astype(np.float32) * 0.5 - 100)


def test_signed_pixels(dicom, tmp_path):
    pixels = dicom.pixels().astype(np.int16) - 2048
    ds = dicom.make(pixels)
    mammogram = read_mammogram(dicom.save(ds, tmp_path / "a.dcm"))
    np.testing.assert_array_equal(mammogram.image, pixels)


def _sidecar(path, text):
    path.with_name(path.name + ".json").write_text(text)


@pytest.mark.parametrize(
    ("tags", "options", "sidecar", "spacing", "source"),
    [
        ({"PixelSpacing": [0.065, 0.065]}, {}, None, (0.065, 0.065), SpacingSource.PIXEL_SPACING),
        ({"PixelSpacing": [0, 0]}, {}, None, (0.07, 0.07), SpacingSource.IMAGER_PIXEL_SPACING),
        ({"EstimatedRadiographicMagnificationFactor": "1.25"}, {}, None, (0.056, 0.056),
         SpacingSource.IMAGER_PIXEL_SPACING),
        ({"ImagerPixelSpacing": None, "NominalScannedPixelSpacing": [0.042, 0.042]}, {}, None, (0.042, 0.042),
         SpacingSource.NOMINAL_SCANNED_PIXEL_SPACING),
        ({}, {"spacing_mm": 0.2}, '{"spacing_mm": 0.3}', (0.07, 0.07), SpacingSource.IMAGER_PIXEL_SPACING),
        ({"ImagerPixelSpacing": None}, {"spacing_mm": 0.2}, '{"spacing_mm": [0.3, 0.25]}', (0.3, 0.25),
         SpacingSource.SIDECAR),
        ({"ImagerPixelSpacing": None}, {"spacing_mm": (0.2, 0.1)}, None, (0.2, 0.1), SpacingSource.USER),
        ({"ImagerPixelSpacing": None}, {}, None, (DEFAULT_SPACING_MM,) * 2, SpacingSource.DEFAULT),
    ],
    ids=["pixel-spacing", "invalid-pixel-spacing", "imager-over-magnification", "nominal-scanned",
         "header-beats-sidecar-and-user", "sidecar-beats-user", "user", "default"],
)
def test_spacing_precedence(dicom, tmp_path, pixels, tags, options, sidecar, spacing, source):
    path = dicom.save(dicom.make(pixels, **tags), tmp_path / "a.dcm")
    if sidecar:
        _sidecar(path, sidecar)
    mammogram = read_mammogram(path, **options)
    assert mammogram.spacing == pytest.approx(spacing)
    assert mammogram.spacing_source is source
    assert any("assumed 0.05 mm" in w for w in mammogram.warnings) == (source is SpacingSource.DEFAULT)


@pytest.mark.parametrize(
    ("tags", "laterality", "view"),
    [
        ({}, "L", "CC"),
        ({"ImageLaterality": None, "Laterality": "R"}, "R", "CC"),
        ({"ViewPosition": None, "ViewCodeSequence": [("399368009", "SCT")]}, "L", "MLO"),
        ({"ViewPosition": None, "ViewCodeSequence": [("R-10242", "SRT")]}, "L", "CC"),
        ({"ViewPosition": None, "ViewCodeSequence": [("R-10224", "SNM3")]}, "L", "ML"),
        ({"ImageLaterality": None, "ViewPosition": None}, None, None),
    ],
    ids=["image-laterality-view-position", "series-laterality", "view-code-sct", "view-code-srt-cc",
         "view-code-snm3-ml", "none"],
)
def test_laterality_and_view(dicom, tmp_path, pixels, tags, laterality, view):
    codes = tags.pop("ViewCodeSequence", None)
    ds = dicom.make(pixels, **tags)
    if codes:
        items = []
        for value, scheme in codes:
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, "view"
            items.append(item)
        ds.ViewCodeSequence = items
    mammogram = read_mammogram(dicom.save(ds, tmp_path / "a.dcm"))
    assert (mammogram.laterality, mammogram.view) == (laterality, view)


def _for_processing(dicom, attenuation, *, bits=14, sign="+1", photometric="MONOCHROME2", **tags):
    """Raw linear data of an attenuation map: I = I0 exp(-A), values growing with intensity when sign is +1."""
    intensity = 0.9 * (2**bits - 1) * np.exp(-attenuation)
    stored = intensity if sign != "-1" else (2**bits - 1) - intensity
    if sign is None:
        tags["PixelIntensityRelationshipSign"] = None
    else:
        tags["PixelIntensityRelationshipSign"] = int(sign)
    return dicom.make(np.round(stored).astype(np.uint16), bits=bits, photometric=photometric,
                        sop_class=MG_PROCESSING, PresentationIntentType="FOR PROCESSING",
                        PixelIntensityRelationship="LIN", **tags)


def _two_specks_on_two_backgrounds(shape=(128, 96)):
    """Attenuation: fatty (0.5) top half, dense (2.5) bottom half, one 0.2 speck on each."""
    attenuation = np.full(shape, 0.5)
    attenuation[shape[0] // 2 :] = 2.5
    attenuation[30:34, 40:44] += 0.2
    attenuation[94:98, 40:44] += 0.2
    return attenuation


@pytest.mark.parametrize(
    ("sign", "photometric", "shape"),
    [("+1", "MONOCHROME2", None), ("-1", "MONOCHROME2", None), (None, "MONOCHROME1", None),
     ("+1", "MONOCHROME2", "INVERSE")],
    ids=["sign-plus", "sign-minus", "no-sign-monochrome1", "sign-plus-display-inverse"],
)
def test_for_processing_is_log_transformed_so_contrast_does_not_depend_on_dose(dicom, tmp_path, sign, photometric,
                                                                               shape):
    # Raw data's polarity is its PixelIntensityRelationshipSign; a Presentation LUT Shape only
    # says how a display would show it, and changes nothing here.
    attenuation = _two_specks_on_two_backgrounds()
    ds = _for_processing(dicom, attenuation, sign=sign, photometric=photometric, PresentationLUTShape=shape)
    mammogram = read_mammogram(dicom.save(ds, tmp_path / "raw.dcm"))
    assert mammogram.intensity is Intensity.LOG
    assert any("log-transformed" in w for w in mammogram.warnings)
    assert not any("Presentation LUT Shape" in w for w in mammogram.warnings)
    # Attenuation up to a constant, to the quantisation error of the raw values.
    offset = float(np.median(mammogram.image - attenuation))
    assert np.abs(mammogram.image - attenuation - offset).max() < 0.02
    fatty = mammogram.image[31, 41] - mammogram.image[20, 41]
    dense = mammogram.image[95, 41] - mammogram.image[80, 41]
    assert fatty == pytest.approx(0.2, abs=0.01)
    assert dense == pytest.approx(0.2, abs=0.01)


def test_for_processing_already_logarithmic_is_only_oriented(dicom, tmp_path):
    attenuation = _two_specks_on_two_backgrounds()
    stored = np.round(1000 * (3.0 - attenuation)).astype(np.uint16)  # log(intensity), grows with intensity
    ds = dicom.make(stored, bits=14, sop_class=MG_PROCESSING, PresentationIntentType="FOR PROCESSING",
                    PixelIntensityRelationship="LOG", PixelIntensityRelationshipSign=1)
    mammogram = read_mammogram(dicom.save(ds, tmp_path / "log.dcm"))
    assert mammogram.intensity is Intensity.LOG
    np.testing.assert_array_equal(mammogram.image, (2**14 - 1) - stored.astype(np.float32))


def test_for_processing_kept_linear_on_request(dicom, tmp_path):
    attenuation = _two_specks_on_two_backgrounds()
    path = dicom.save(_for_processing(dicom, attenuation), tmp_path / "raw.dcm")
    mammogram = read_mammogram(path, log_for_processing=False)
    assert mammogram.intensity is Intensity.LINEAR
    # Calcium bright, linear in intensity: contrast on the dense half is e^2 times smaller.
    fatty = mammogram.image[31, 41] - mammogram.image[20, 41]
    dense = mammogram.image[95, 41] - mammogram.image[80, 41]
    assert fatty > 0 and dense > 0
    assert fatty / dense == pytest.approx(math.exp(2.0), rel=0.1)


@pytest.mark.parametrize("function", ["LINEAR", "SIGMOID"], ids=["linear-window", "sigmoid-window"])
def test_voi_window_only_when_asked(dicom, tmp_path, pixels, function):
    ds = dicom.make(pixels, WindowCenter="2000", WindowWidth="1500", VOILUTFunction=function)
    path = dicom.save(ds, tmp_path / "a.dcm")
    plain = read_mammogram(path)
    np.testing.assert_array_equal(plain.image, pixels)
    windowed = read_mammogram(path, voi=True)
    assert windowed.intensity is Intensity.VOI
    expected = apply_voi_lut(pixels.astype(float), pydicom.dcmread(path), index=0)
    np.testing.assert_allclose(windowed.image, expected, rtol=1e-5, atol=1e-3)


def test_voi_requested_without_a_window_keeps_values(dicom, tmp_path, pixels):
    mammogram = read_mammogram(dicom.save(dicom.make(pixels), tmp_path / "a.dcm"), voi=True)
    np.testing.assert_array_equal(mammogram.image, pixels)
    assert any("no VOI LUT or window" in w for w in mammogram.warnings)


def _non_image(kind):
    ds = Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    sop_class = {"sr": "1.2.840.10008.5.1.4.1.1.88.11", "pr": "1.2.840.10008.5.1.4.1.1.11.1",
                 "seg": "1.2.840.10008.5.1.4.1.1.66.4", "plain": "1.2.840.10008.5.1.4.1.1.1.2"}[kind]
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.Modality = {"sr": "SR", "pr": "PR", "seg": "SEG", "plain": "MG"}[kind]
    if kind == "seg":
        ds.set_pixel_data(np.zeros((2, 32, 32), np.uint8), "MONOCHROME2", 1, generate_instance_uid=False)
    return ds


@pytest.mark.parametrize(
    ("kind", "match"),
    [("sr", "skipped: not an image but a structured report"), ("pr", "skipped: not an image but a presentation"),
     ("seg", "skipped: not an image but a segmentation"), ("plain", "skipped: no pixel data")],
    ids=["structured-report", "presentation-state", "segmentation", "mammogram-without-pixels"],
)
def test_non_image_objects_are_skipped(dicom, tmp_path, kind, match):
    path = tmp_path / f"{kind}.dcm"
    pydicom.dcmwrite(path, _non_image(kind), enforce_file_format=True)
    with pytest.raises(NotAnImageError, match=match):
        read_mammogram(path)


@pytest.mark.parametrize(
    ("tags", "refused"),
    [
        ({"Modality": "CR", "BodyPartExamined": "LEG", "ViewPosition": "AP"}, "Modality CR, BodyPartExamined LEG"),
        ({"Modality": "MR"}, "Modality MR is not a projection X-ray image"),
        ({"Modality": "RG"}, None),  # BREAST body part
        ({"Modality": "OT", "BodyPartExamined": None, "ViewPosition": None, "SeriesDescription": "L MAMMO"}, None),
        ({"Modality": "CR", "BodyPartExamined": "CHEST", "ViewPosition": "MLO"}, None),  # mammographic view
        ({"Modality": None, "BodyPartExamined": None, "ViewPosition": None}, None),  # nothing said: warned
    ],
    ids=["cr-leg", "breast-mri", "rg-breast", "ot-mammo-description", "cr-mlo-view", "nothing-said"],
)
def test_images_plainly_not_a_breast_are_refused_unless_forced(dicom, tmp_path, pixels, tags, refused):
    path = dicom.save(dicom.make(pixels, sop_class="1.2.840.10008.5.1.4.1.1.7", **tags), tmp_path / "a.dcm")
    if refused is None:
        read_mammogram(path)
        return
    with pytest.raises(NotABreastError, match=rf"a\.dcm: not a breast image: .*{refused}.*use --force"):
        read_mammogram(path)
    forced = read_mammogram(path, force=True)
    assert any("loaded because forced" in w for w in forced.warnings)


def test_header_that_says_nothing_is_loaded_with_a_warning(dicom, tmp_path, pixels):
    path = dicom.save(dicom.make(pixels, sop_class="1.2.840.10008.5.1.4.1.1.7", Modality=None, BodyPartExamined=None,
                             ViewPosition=None), tmp_path / "a.dcm")
    assert any("nothing in the header says" in w for w in read_mammogram(path).warnings)


@pytest.fixture
def frames(dicom, tmp_path):
    stack = np.stack([dicom.pixels(seed=s) for s in (1, 2, 3)])
    return stack, dicom.save(dicom.make(stack), tmp_path / "dbt.dcm")


def test_multi_frame_is_an_error_by_default(frames):
    with pytest.raises(ImageReadError, match=r"dbt\.dcm: multi-frame image \(3 frames.*--frames mip"):
        read_mammogram(frames[1])


@pytest.mark.parametrize("which", ["mip", 0, 2], ids=["mip", "frame-0", "frame-2"])
def test_multi_frame_on_request(frames, which):
    stack, path = frames
    mammogram = read_mammogram(path, frames=which)
    expected = stack.max(axis=0) if which == "mip" else stack[which]
    np.testing.assert_array_equal(mammogram.image, expected)


def test_multi_frame_index_out_of_range(frames):
    with pytest.raises(ImageReadError, match=r"frame 3 requested but the file has 3 frames \(0 to 2\)"):
        read_mammogram(frames[1], frames=3)


def test_every_frame(frames):
    stack, path = frames
    loaded = list(iter_frames(path))
    assert [m.metadata["frame"] for m in loaded] == [0, 1, 2]
    np.testing.assert_array_equal(np.stack([m.image for m in loaded]), stack)


def _enhanced(dicom, stack, spacings, lateralities, *, shared=False):
    """A multi-frame object whose spacing and laterality sit only in its functional groups
    (the shared groups, or one per-frame item per frame), as in enhanced MG and tomosynthesis."""
    ds = dicom.make(stack, ImagerPixelSpacing=None, ImageLaterality=None)

    def group(spacing, laterality):
        item, measures, anatomy = Dataset(), Dataset(), Dataset()
        measures.PixelSpacing = list(spacing)
        anatomy.FrameLaterality = laterality
        item.PixelMeasuresSequence, item.FrameAnatomySequence = [measures], [anatomy]
        return item

    if shared:
        ds.SharedFunctionalGroupsSequence = [group(spacings[0], lateralities[0])]
    else:
        ds.PerFrameFunctionalGroupsSequence = [group(s, lat) for s, lat in zip(spacings, lateralities)]
    return ds


@pytest.mark.parametrize(
    ("spacings", "lateralities", "frames", "expected_spacing", "expected_laterality", "shared"),
    [([(0.1, 0.1)] * 3, ["R"] * 3, "mip", (0.1, 0.1), "R", True),
     ([(0.1, 0.1)] * 3, ["R"] * 3, "mip", (0.1, 0.1), "R", False),
     ([(0.1, 0.1)] * 3, ["L"] * 3, 1, (0.1, 0.1), "L", False),
     ([(0.1, 0.1), (0.085, 0.085), (0.1, 0.1)], ["L"] * 3, 1, (0.085, 0.085), "L", False),
     ([(0.1, 0.1), (0.085, 0.085), (0.1, 0.1)], ["L", "R", "L"], "mip", None, None, False)],
    ids=["shared-groups", "per-frame-agreeing", "per-frame-one-frame", "per-frame-that-frame",
         "per-frame-disagreeing"],
)
def test_geometry_in_functional_groups(dicom, tmp_path, spacings, lateralities, frames, expected_spacing,
                                       expected_laterality, shared):
    stack = np.stack([dicom.pixels(seed=s) for s in (1, 2, 3)])
    path = dicom.save(_enhanced(dicom, stack, spacings, lateralities, shared=shared), tmp_path / "dbt.dcm")
    mammogram = read_mammogram(path, frames=frames)
    if expected_spacing is None:  # the frames disagree: nothing is taken from them, and the user is told
        assert mammogram.spacing_source == SpacingSource.DEFAULT and mammogram.laterality is None
        assert any("PixelSpacing differs between frames" in w for w in mammogram.warnings)
        assert any("FrameLaterality differs between frames" in w for w in mammogram.warnings)
    else:
        assert mammogram.spacing == expected_spacing and mammogram.spacing_source == SpacingSource.PIXEL_SPACING
        assert mammogram.laterality == expected_laterality
        assert not any("no pixel spacing" in w for w in mammogram.warnings)
    if frames == "mip" and expected_spacing is not None:
        each = list(iter_frames(path))
        assert [m.spacing for m in each] == [tuple(s) for s in spacings]


def test_no_identifiers_in_what_the_loader_returns_unless_asked(dicom, tmp_path, pixels):
    path = dicom.save(dicom.make(pixels, SOPInstanceUID="1.2.3.4.5"), tmp_path / "a.dcm")
    mammogram = read_mammogram(path)
    text = repr((mammogram.metadata, mammogram.warnings, mammogram.laterality, mammogram.view))
    assert not any(secret in text for secret in ("Doe", "PID-12345", "19600101", "ACC-999"))
    assert mammogram.sop_instance_uid == "1.2.3.4.5"
    kept = read_mammogram(path, keep_identifiers=True).metadata["identifiers"]
    assert (kept["PatientName"], kept["PatientID"], kept["PatientBirthDate"]) == ("Doe^Jane", "PID-12345", "19600101")


def test_pydicom_warnings_are_kept_without_values(dicom, tmp_path, pixels):
    ds = dicom.make(pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file is invalid on purpose
        ds.add_new((0x0008, 0x1030), "LO", "Doe^Jane " * 20)  # too long: pydicom warns, quoting the value
        ds.add_new((0x0020, 0x000D), "UI", "Doe.Jane")  # not a UID
        path = dicom.save(ds, tmp_path / "a.dcm")
    mammogram = read_mammogram(path)
    assert any("exceeds the maximum length" in w for w in mammogram.warnings)
    assert not any("Doe" in w for w in mammogram.warnings)


def test_size_is_checked_before_anything_is_allocated(dicom, tmp_path, pixels):
    ds = dicom.make(pixels)
    ds.Rows, ds.Columns = 65535, 65535
    path = tmp_path / "huge.dcm"
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    with pytest.raises(ImageReadError, match=r"huge\.dcm: image size 65535 x 65535 .* exceeds the limit"):
        read_mammogram(path)


def test_truncated_native_pixel_data_is_named(dicom, tmp_path, pixels):
    ds = dicom.make(pixels)
    ds.PixelData = ds.PixelData[:1000]
    path = tmp_path / "short.dcm"
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    with pytest.raises(ImageReadError, match=r"short\.dcm: pixel data truncated: 1000 bytes, the header needs 24576"):
        read_mammogram(path)


@pytest.mark.parametrize("cut_file", [False, True], ids=["icon-only", "icon-and-cut-pixel-data"])
def test_an_icon_is_not_the_image(dicom, tmp_path, pixels, cut_file):
    # Pixel data only inside IconImageSequence (a thumbnail) is no image: skipped, naming the icon.
    # A file cut inside its own Pixel Data, icon or not, is still truncated.
    ds = dicom.make(pixels)
    icon = Dataset()
    icon.set_pixel_data((pixels[::8, ::8] >> 4).astype(np.uint8), "MONOCHROME2", 8)
    ds.IconImageSequence = [icon]
    path = tmp_path / "icon.dcm"
    if not cut_file:
        del ds.PixelData
        pydicom.dcmwrite(path, ds, enforce_file_format=True)
        with pytest.raises(NotAnImageError, match=r"icon\.dcm: skipped: no pixel data \(only an icon"):
            read_mammogram(path)
    else:
        pydicom.dcmwrite(path, ds, enforce_file_format=True)
        path.write_bytes(path.read_bytes()[:-5000])
        with pytest.raises(ImageReadError, match=r"icon\.dcm: pixel data truncated"):
            read_mammogram(path)


def test_cbis_ddsm_roi_mask_is_skipped(dicom, tmp_path):
    # A CBIS-DDSM "ROI mask images" object: 8-bit, 0 outside and 255 inside the lesion outline.
    mask = np.zeros((128, 96), np.uint16)
    mask[40:80, 30:60] = 255
    ds = dicom.make(mask, bits=8, SeriesDescription="ROI mask images")
    with pytest.raises(NotAnImageError, match=r"mask\.dcm: skipped: a two-valued image \(only 0 and 255\)"):
        read_mammogram(dicom.save(ds, tmp_path / "mask.dcm"))
    # ... and read as it is stored where a mask is wanted (a data set's ROI).
    assert np.array_equal(read_dicom_pixels(tmp_path / "mask.dcm"), mask)


def test_load_options_are_validated():
    with pytest.raises(ValueError, match=r"frames must be one of \('error', 'mip'\) or a frame index >= 0; got 'all'"):
        LoadOptions(frames="all")
    with pytest.raises(ValueError, match=r"spacing_mm must be one or two positive numbers \(mm\); got -1"):
        LoadOptions(spacing_mm=-1)


# --------------------------------------------------------------------------------------
# The real files in ../shared/data/dicom (see its README)


def test_real_film_mammogram_loads_with_defaulted_spacing(shared_dicom):
    mammogram = read_mammogram(shared_dicom / "MG1_J2KI.dcm")
    assert mammogram.image.shape == (4664, 3064)
    assert 0 <= mammogram.image.min() < mammogram.image.max() <= 4095
    assert (mammogram.laterality, mammogram.view) == ("L", "MLO")
    assert (mammogram.spacing, mammogram.spacing_source) == ((0.05, 0.05), SpacingSource.DEFAULT)
    assert any("assumed 0.05 mm" in w for w in mammogram.warnings)
    assert any(w.startswith("lossy compressed (ratio 10:1)") for w in mammogram.warnings)
    assert mammogram.metadata["modality"] == "RG"
    text = repr((mammogram.metadata, mammogram.warnings))
    assert not any(secret in text for secret in ("CompressedSamples", "3MG1", "USF", "075Y"))


@pytest.mark.parametrize(
    ("spacing_mm", "expected"), [(0.05, (0.05, 0.05)), ((0.05, 0.06), (0.05, 0.06))], ids=["scalar", "pair"]
)
def test_real_film_mammogram_takes_the_user_spacing(shared_dicom, spacing_mm, expected):
    mammogram = read_mammogram(shared_dicom / "MG1_J2KI.dcm", spacing_mm=spacing_mm)
    assert (mammogram.spacing, mammogram.spacing_source) == (expected, SpacingSource.USER)


def test_real_12_bit_lossy_jpeg_names_file_and_transfer_syntax(shared_dicom):
    with pytest.raises(ImageReadError, match=r"MG1_JPLY\.dcm: cannot decode pixel data with transfer syntax "
                                             r"1\.2\.840\.10008\.1\.2\.4\.51 .*dcmdjpeg"):
        read_mammogram(shared_dicom / "MG1_JPLY.dcm")


def test_real_leg_radiograph_is_refused_unless_forced(shared_dicom):
    path = shared_dicom / "RG3_J2KI_CR_MONOCHROME1.dcm"
    with pytest.raises(NotABreastError, match=r"RG3_J2KI_CR_MONOCHROME1\.dcm: not a breast image: .*Modality CR, "
                                              r"BodyPartExamined EXTREMITY"):
        read_mammogram(path)
    forced = read_mammogram(path, force=True)
    stored = pydicom.dcmread(path).pixel_array
    np.testing.assert_array_equal(forced.image, 1023 - stored.astype(np.float32))  # MONOCHROME1, 10 bits


def test_jpeg_ls_is_decoded_by_charls_first_with_the_same_pixels(monkeypatch):
    from pathlib import Path

    import pydicom
    from pydicom.pixels import pixel_array

    from calcdetect.io import LoadOptions
    from calcdetect.io.dicom import decoding
    from calcdetect.io.dicom.header import _Header

    sample = Path(__file__).parents[2] / "data" / "samples" / "synth_0000.dcm"
    ds = pydicom.dcmread(sample)
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.80"  # JPEG-LS lossless
    calls = []
    original = decoding.pixel_array
    monkeypatch.setattr(decoding, "pixel_array", lambda *a, **k: calls.append(k) or original(*a, **k))
    image = decoding._decode(ds, _Header.of(ds, sample, LoadOptions()), sample, index=None)
    assert calls[0] == {"index": None, "decoding_plugin": "pyjpegls"}
    for plugin in ("pylibjpeg", "pyjpegls"):
        if plugin in pydicom.pixels.get_decoder(ds.file_meta.TransferSyntaxUID).available_plugins:
            np.testing.assert_array_equal(image, pixel_array(ds, decoding_plugin=plugin))
