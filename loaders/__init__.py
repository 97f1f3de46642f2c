"""Upload files -> polars frames of strings with provenance.

Every cell is read as text: Excel's guessed types lose data (``5512345678`` as a float, late text
in a numeric-looking column turned into null). :func:`loaders.read_upload` returns one
:class:`RawSheet` per sheet, each frame holding the cells as ``c0..cN`` strings plus ``fila``, the
row as Excel shows it.
"""

from loaders.files import read_upload
from loaders.types import RawSheet

__all__ = ["RawSheet", "read_upload"]
