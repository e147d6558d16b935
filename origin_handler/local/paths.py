"""Where `serve` (and `warm`/`invalidate` on the same directories) keep local variants."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

LOCAL_DERIVED = ".local-derived"


def derived_dir_for(originals: str | Path, root: str | Path = LOCAL_DERIVED) -> Path:
    """``ROOT/<name>-<hash of the resolved originals root>``: one variant store per DIR.

    Two directories with the same file names (or the same directory reached by another
    relative path) never share or confuse variants; the name part is only for humans.
    """
    resolved = Path(originals).resolve()
    digest = hashlib.sha256(os.fsencode(resolved)).hexdigest()[:16]
    return Path(root) / f"{resolved.name or 'root'}-{digest}"
