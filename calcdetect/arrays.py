"""Results held as a struct of arrays: one frozen dataclass, one equal-length array per field."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar


class StructOfArrays:
    """Mixin for frozen dataclasses whose fields are arrays of one length (one entry per object)."""

    if TYPE_CHECKING:  # every subclass is a dataclass: what dataclasses.fields and replace ask of self
        __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def __len__(self) -> int:
        return len(getattr(self, dataclasses.fields(self)[0].name))

    def take(self, index):
        """The objects selected by a boolean mask or an integer index array."""
        return dataclasses.replace(self, **{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self)})
