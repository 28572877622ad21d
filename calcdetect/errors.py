"""The library's error types."""

from os import PathLike


class CalcdetectError(Exception):
    """Base class of every error calcdetect raises on purpose."""


class ImageReadError(CalcdetectError):
    """An input file cannot be turned into a mammogram.

    The message names the file and gives a one-line reason, so a batch can
    record it as an ``error`` row and go on.

    Parameters
    ----------
    path : str or PathLike
        The offending file.
    reason : str
        One line saying what is wrong (and, where there is one, the remedy).
    """

    def __init__(self, path: str | PathLike, reason: str):
        self.path = str(path)
        self.reason = " ".join(str(reason).split())  # one line, always
        super().__init__(f"{self.path}: {self.reason}")


class NotAnImageError(ImageReadError):
    """A valid file that holds no image to analyse: a structured report, a
    segmentation, a presentation state, a DICOMDIR, ...

    Not a failure: a batch records it as a ``skipped`` row. The reason always
    starts with ``"skipped: "``.
    """

    def __init__(self, path: str | PathLike, reason: str):
        super().__init__(path, reason if reason.startswith("skipped: ") else f"skipped: {reason}")


class NotABreastError(ImageReadError):
    """An image whose header plainly says it is not a breast (e.g. a CR of a leg).

    Refused unless the user forces it (``LoadOptions(force=True)``, ``--force``).
    """


class UnsupportedFormatError(ImageReadError):
    """A file in a format or encoding no installed reader handles (the reason says
    which package or extra would read it)."""


class EvaluationError(CalcdetectError, ValueError):
    """A truth file or a prediction folder cannot be read or does not fit together."""


class DatasetError(CalcdetectError, ValueError):
    """A public data set's download or description files cannot be read or do not fit
    together (the message names the file and what would read it)."""


class FilterError(CalcdetectError):
    """A registered filter that is not calcdetect's own failed, or returned no valid response.

    A batch records it as the image's ``error`` with :attr:`reason`, which names the filter,
    the module it comes from and what went wrong.
    """

    def __init__(self, name: str, module: str, reason: str):
        self.name, self.module = name, module
        self.reason = " ".join(f"filter {name!r} (from {module}): {reason}".split())
        super().__init__(self.reason)
