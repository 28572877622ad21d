"""The output folder of a run: one part-file per image, committed atomically, and the final tables.

Layout::

    OUT/
      settings.json     the settings that decide the tables, and their hash
      parts/            one JSON per finished image (its rows), written atomically
      images.csv  calcifications.csv  clusters.csv   (or .parquet)
      run.json          provenance

An image counts as done once its part-file exists, so a run stopped at any
moment (crash, ``kill -9``, Ctrl-C) loses at most the images in flight, and
the same command run again processes only what is missing. A part-file also
records the calcdetect version and code (:func:`code_fingerprint`) that made it
and its input file's size, modification time and SHA-256, taken before the file
was read: it is reused only while the code and the file's bytes are the same
(:meth:`RunFolder.stale`), so a replaced input or changed code never serves old
rows. The tables are
always rebuilt from the parts, in input order, so they are the same whether
the run was interrupted or not, and whichever executor ran it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from calcdetect import __version__
from calcdetect.atomic import atomic_write_text
from calcdetect.errors import CalcdetectError

PARTS = "parts"

#: What :mod:`calcdetect.exports` writes into a run folder (named here, with the rest of the
#: folder's layout): cleared with the run it was made of (``--overwrite``), so no picture,
#: report or DICOM object of other results survives.
OVERLAYS = "overlays"
DICOM_OBJECTS = "dicom"
REPORT_FILE = "report.html"
FROC_FILE = "froc.png"
COCO_FILE = "detections.coco.json"
EXPORT_FOLDERS = (OVERLAYS, DICOM_OBJECTS)
EXPORT_FILES = (REPORT_FILE, FROC_FILE, COCO_FILE)
SETTINGS = "settings.json"
TABLES = ("images", "calcifications", "clusters")


class RunConflictError(CalcdetectError):
    """The output folder holds a run made with other settings."""


def settings_hash(settings: dict) -> str:
    """SHA-256 of the settings in canonical JSON: equal hashes, comparable runs."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


class RunFolder:
    """An output folder holding (part of) a run with given settings.

    Parameters
    ----------
    path : str or PathLike
    settings : dict
        Every setting that changes the tables (JSON-serialisable).
    overwrite : bool
        Discard a stored run made with other settings (and its parts) instead of refusing.
    resume : bool or None
        True: there must be a stored run to continue; False: start afresh
        (same as `overwrite`); None: continue a compatible run when there is one.

    Raises
    ------
    RunConflictError
        When the folder holds a run with other settings and `overwrite` is
        false, or `resume` is true and there is nothing to resume.
    """

    def __init__(self, path, settings: dict, *, overwrite: bool = False, resume: bool | None = None):
        self.path = Path(path)
        self.settings = settings
        self.hash = settings_hash(settings)
        stored = self._stored_settings()
        if resume and stored is None:
            raise RunConflictError(f"{self.path}: there is no run to resume here")
        if stored is not None and (overwrite or resume is False):
            self._clear()
        elif stored is not None and stored.get("sha256") != self.hash:
            changed = [f"{key}: {_difference(a, b)}"
                       for key, a, b in _changed_keys(stored.get("settings", {}), _plain_json(settings))]
            raise RunConflictError(
                f"{self.path} holds a run made with other settings ({'; '.join(changed) or 'unknown'}); "
                "use another --out folder, or --overwrite to discard it"
            )
        (self.path / PARTS).mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path / SETTINGS, json.dumps({"sha256": self.hash, "settings": settings},
                                                           indent=2, sort_keys=True, default=str) + "\n")

    def _stored_settings(self) -> dict | None:
        try:
            return json.loads((self.path / SETTINGS).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise RunConflictError(f"{self.path / SETTINGS} is unreadable ({exc}); use --overwrite") from None

    def _clear(self) -> None:
        shutil.rmtree(self.path / PARTS, ignore_errors=True)
        for folder in EXPORT_FOLDERS:
            shutil.rmtree(self.path / folder, ignore_errors=True)
        for name in (SETTINGS, "run.json", *(f"{t}.{ext}" for t in TABLES for ext in ("csv", "parquet")),
                     *EXPORT_FILES):
            (self.path / name).unlink(missing_ok=True)

    def part_path(self, image_id: str) -> Path:
        return self.path / PARTS / (hashlib.sha256(image_id.encode()).hexdigest()[:32] + ".json")

    def done(self, image_id: str) -> bool:
        """Whether `image_id` has a committed result."""
        return self.part_path(image_id).is_file()

    def commit(self, image_id: str, rows: dict[str, list[dict]], *, source: dict | None = None) -> None:
        """Store one image's rows (``{"images": [...], "calcifications": [...], "clusters": [...]}``),
        with the :func:`source_fingerprint` of the file they were made from."""
        part = {"image_id": image_id, "calcdetect_version": __version__, "code": code_fingerprint(),
                "source": source, **rows}
        atomic_write_text(self.part_path(image_id), json.dumps(part, default=_plain))

    def stale(self, image_id: str, path) -> str | None:
        """Why the rows committed for `image_id` cannot be reused for the file at `path`, or None
        when they can: made by another calcdetect version or code, from a file whose size or
        bytes differ (a file touched but unchanged is reused), or with no record of either."""
        try:
            part = json.loads(self.part_path(image_id).read_text())
        except (OSError, ValueError):
            return "its stored result is unreadable"
        version, code = part.get("calcdetect_version"), part.get("code")
        if version != __version__ or code != code_fingerprint():
            made = f"{version or 'of an unrecorded version'} (code {str(code)[:12] or 'unrecorded'})"
            return f"made by calcdetect {made}, this is {__version__} (code {code_fingerprint()[:12]})"
        stored = part.get("source")
        if not stored:
            return "its last attempt recorded no input (its worker failed)"
        current = source_fingerprint(path)
        if current is None:
            return "its input cannot be read"
        if (current["size"], current["sha256"]) != (stored.get("size"), stored.get("sha256")):
            return "its input changed"
        return None

    def load(self, image_id: str) -> dict[str, list[dict]]:
        """The rows committed for `image_id`."""
        part = json.loads(self.part_path(image_id).read_text())
        if part.get("image_id") != image_id:
            raise RunConflictError(f"{self.part_path(image_id)} belongs to {part.get('image_id')!r}, not {image_id!r}")
        return {table: part[table] for table in TABLES}

    def rows(self, table: str, image_ids: Iterable[str]) -> Iterator[dict]:
        """The rows of one table for the given images, in that order, one part-file at a time."""
        for image_id in image_ids:
            yield from self.load(image_id)[table]


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 of calcdetect's own code and shipped models (every ``.py`` and ``.json`` file of the
    installed package): results made by other code are not reused, version number or not."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".json") and p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def source_fingerprint(path) -> dict | None:
    """Size (bytes), modification time (ns) and SHA-256 of the file at `path`; None when it
    cannot be read. Reads the whole file (about a second per GB)."""
    digest = hashlib.sha256()
    try:
        status = os.stat(path)
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return {"size": status.st_size, "mtime_ns": status.st_mtime_ns, "sha256": digest.hexdigest()}


def _changed_keys(old: dict, new: dict, prefix: str = "") -> list[tuple[str, object, object]]:
    """(dotted key, stored value, new value) of every setting that differs, sorted by key."""
    keys = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append((f"{prefix}{key}", a, b))
    return keys


def _plain_json(settings: dict) -> dict:
    """`settings` as they read back from settings.json (tuples as lists, other objects as text)."""
    return json.loads(json.dumps(settings, default=str))


def _difference(stored, now, limit: int = 60) -> str:
    """How a setting changed, in a few words: the two values, or a list's added and missing items."""
    if isinstance(stored, list) and isinstance(now, list):
        added, missing = [x for x in now if x not in stored], [x for x in stored if x not in now]
        words = ([f"now also {_short(added, limit)}"] if added else []) + \
                ([f"stored also {_short(missing, limit)}"] if missing else [])
        if words:
            return ", ".join(words)
        if len(stored) == len(now):
            return "same items in another order"
    return f"{_short(stored, limit)} stored, {_short(now, limit)} now"


def _short(value, limit: int) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _plain(value):
    """JSON for numpy scalars (the rows hold numpy floats)."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__}")
