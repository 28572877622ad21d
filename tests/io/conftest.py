"""DICOM files built with pydicom's own writers and encoders from one synthetic image."""

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, generate_uid

MG_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
MG_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.2.1"


def synthetic_pixels(shape=(128, 96), bits=12, seed=7):
    """A smooth 'breast' ramp plus noise and a few bright specks: structured, like a mammogram."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    hi = 2**bits - 1
    image = 0.2 * hi + 0.5 * hi * np.exp(-(((rows - shape[0] / 2) / shape[0]) ** 2 + (cols / shape[1]) ** 2))
    image += rng.normal(0, 0.01 * hi, shape)
    image[rng.integers(0, shape[0], 5), rng.integers(0, shape[1], 5)] = 0.95 * hi
    return np.clip(np.round(image), 0, hi).astype(np.uint16)


def make_dataset(pixels, *, bits=12, photometric="MONOCHROME2", sop_class=MG_PRESENTATION, **tags):
    """A Digital Mammography dataset (explicit VR little endian) holding `pixels`; `tags` set or,
    when None, delete attributes."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["calcdetect-test", str(sorted(tags))])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "PID-12345"
    ds.PatientBirthDate = "19600101"
    ds.AccessionNumber = "ACC-999"
    ds.Modality = "MG"
    ds.BodyPartExamined = "BREAST"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImageLaterality = "L"
    ds.ViewPosition = "CC"
    ds.ImagerPixelSpacing = [0.07, 0.07]
    ds.RescaleSlope = 1
    ds.RescaleIntercept = 0
    pixels = np.asarray(pixels)
    ds.set_pixel_data(pixels, photometric, bits, generate_instance_uid=False)
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    for keyword, value in tags.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    return ds


def save(ds, path, syntax=ExplicitVRLittleEndian, **encoder_kwargs):
    """Write `ds` with transfer syntax `syntax`: pydicom's encoders for compressed syntaxes,
    its writer for the native ones (big endian with the pixel bytes swapped by hand)."""
    syntax = pydicom.uid.UID(syntax)
    if syntax.is_compressed:
        ds.compress(syntax, generate_instance_uid=False, **encoder_kwargs)
    elif syntax == ExplicitVRBigEndian:
        pixels = ds.pixel_array
        big = Dataset()
        for element in ds:
            big.add(element)
        big.file_meta = ds.file_meta
        big.file_meta.TransferSyntaxUID = syntax
        big.PixelData = pixels.astype(pixels.dtype.newbyteorder(">")).tobytes()
        ds = big
    else:
        ds.file_meta.TransferSyntaxUID = syntax
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return path


class DicomFactory:
    """What the `dicom` fixture gives tests: build datasets, write them, make pixels."""

    MG_PRESENTATION = MG_PRESENTATION
    MG_PROCESSING = MG_PROCESSING
    make = staticmethod(make_dataset)
    save = staticmethod(save)
    pixels = staticmethod(synthetic_pixels)


@pytest.fixture
def pixels():
    return synthetic_pixels()


@pytest.fixture(scope="session")
def dicom():
    """Build a dataset from pixels and tags (`make`), write it with a transfer syntax (`save`)."""
    return DicomFactory
