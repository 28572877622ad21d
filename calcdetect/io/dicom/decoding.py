"""Decoding pixel data: which installed decoder reads the transfer syntax, the codestream
checked against the header, frames one at a time."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder, iter_pixels, pixel_array
from pydicom.uid import UID

from calcdetect.errors import ImageReadError, UnsupportedFormatError
from calcdetect.io.dicom._elements import _clip, _is_compressed, _syntax_name

if TYPE_CHECKING:
    from calcdetect.io.dicom.header import _Header


#: Native (uncompressed) transfer syntaxes: pixel data length is checked before decoding.
_NATIVE_SYNTAXES = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                              "1.2.840.10008.1.2.1.99"})

#: Transfer syntaxes that are lossy whatever LossyImageCompression says (JPEG baseline and extended).
_ALWAYS_LOSSY = frozenset({"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"})

#: 12-bit lossy JPEG (JPEG Extended): Pillow reads only 8-bit; which other decoders succeed depends on the file.
_JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"


def _check_decodable(ds: Dataset, header: _Header, path: Path) -> None:
    """Refuse, naming the transfer syntax and what would read it, when no installed decoder can."""
    syntax = header.syntax
    if syntax is None:
        raise ImageReadError(path, "no TransferSyntaxUID in the file meta information")
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise UnsupportedFormatError(path, f"transfer syntax {syntax} ({_syntax_name(syntax)}) is not supported: "
                                           f"no decoder exists for it in pydicom") from None
    if not decoder.is_available:
        raise UnsupportedFormatError(path, f"no installed decoder for transfer syntax {syntax} "
                                           f"({_syntax_name(syntax)}); {_decoder_hint(syntax, decoder)}")
    _check_codestream(ds, header, path)


def _check_codestream(ds: Dataset, header: _Header, path: Path) -> None:
    """Refuse compressed data whose own header (JPEG, JPEG-LS or JPEG 2000) gives another image
    size than the DICOM header: decoders allocate what the codestream says, before failing."""
    if header.syntax in _NATIVE_SYNTAXES:
        return
    try:
        first = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=header.frames), b"")
    except Exception:
        return  # the decoder reports it
    size = _codestream_size(first[:65536])
    if size is not None and size != (header.rows, header.cols):
        raise ImageReadError(path, f"corrupt compressed pixel data: its frame header says {size[0]} x {size[1]}, "
                                   f"the DICOM header {header.rows} x {header.cols}")


def _codestream_size(data: bytes) -> tuple[int, int] | None:
    """(rows, cols) from the start of a JPEG / JPEG-LS (SOFn) or JPEG 2000 (SIZ) codestream; None if not found."""
    siz = data.find(b"\xff\x4f\xff\x51")
    if siz >= 0 and len(data) >= siz + 24:
        x, y, x0, y0 = (int.from_bytes(data[siz + 8 + 4 * i : siz + 12 + 4 * i], "big") for i in range(4))
        return y - y0, x - x0
    if not data.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) or marker == 0xF7:
            return int.from_bytes(data[i + 5 : i + 7], "big"), int.from_bytes(data[i + 7 : i + 9], "big")
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2:
            return None
        i += 2 + length
    return None


#: The decoder tried first for a transfer syntax when installed: CharLS (pyjpegls), the
#: JPEG-LS reference implementation, decodes a 4096 x 3328 16-bit mammogram in 0.37 s where
#: pylibjpeg-libjpeg (which pydicom tries first) takes 1.35 s (same pixels, lossless).
PREFERRED_PLUGINS = {"1.2.840.10008.1.2.4.80": "pyjpegls", "1.2.840.10008.1.2.4.81": "pyjpegls"}


def _preferred(header: _Header) -> dict:
    """``decoding_plugin=`` for the transfer syntax's preferred decoder, when it is installed."""
    plugin = PREFERRED_PLUGINS.get(str(header.syntax))
    if plugin is None or header.syntax is None or plugin not in get_decoder(header.syntax).available_plugins:
        return {}
    return {"decoding_plugin": plugin}


def _decode(ds: Dataset, header: _Header, path: Path, *, index: int | None) -> np.ndarray:
    preferred = _preferred(header)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # padding and similar notes; the checks below are ours
            if preferred:
                try:
                    return pixel_array(ds, index=index, **preferred)
                except Exception:
                    pass  # every installed decoder gets its chance below, and names its failure
            return pixel_array(ds, index=index)
    except Exception as exc:
        raise _decode_error(header, path, exc) from None


def _decode_frames(ds: Dataset, header: _Header, path: Path) -> Iterator[np.ndarray]:
    frames = iter_pixels(ds, **_preferred(header))
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                stored = next(frames)
        except StopIteration:
            return
        except Exception as exc:
            raise _decode_error(header, path, exc) from None
        yield stored


def _decode_error(header: _Header, path: Path, exc: Exception) -> ImageReadError:
    syntax = header.syntax
    detail = _clip(exc).replace("Unable to decode as exceptions were raised by all available plugins: ", "")
    hint = ""
    if syntax == _JPEG_EXTENDED:
        installed = get_decoder(syntax).available_plugins
        others = [name for plugin, name in (("gdcm", "install calcdetect[gdcm] (python-gdcm)"),
                                            ("pylibjpeg", "install pylibjpeg-libjpeg")) if plugin not in installed]
        hint = f"; {' or '.join([*others, 'decompress the file first'])} (DCMTK: dcmdjpeg in.dcm out.dcm)"
    elif _is_compressed(syntax):
        hint = "; the compressed pixel data may be corrupt or truncated"
    return ImageReadError(path, f"cannot decode pixel data with transfer syntax {syntax} ({_syntax_name(syntax)}): "
                                f"{detail}{hint}")


def _decoder_hint(syntax: UID, decoder) -> str:
    """Which extra or package would decode `syntax`, from what the decoder says is missing."""
    missing = " ".join(decoder.missing_dependencies)
    options = []
    if "gdcm" in missing:
        options.append("install calcdetect[gdcm] (python-gdcm)")
    if "pylibjpeg-libjpeg" in missing:
        options.append("pylibjpeg-libjpeg")
    if "pylibjpeg-openjpeg" in missing:
        options.append("pylibjpeg-openjpeg")
    if "pyjpegls" in missing or "jpeg_ls" in missing:
        options.append("pyjpegls")
    if "pylibjpeg-rle" in missing:
        options.append("pylibjpeg-rle")
    if not options:
        return f"pydicom lists: {missing or 'nothing'}"
    return " or ".join(options)
