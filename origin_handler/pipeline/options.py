"""What the pipeline is asked to make: size, fit, quality and output format, nothing else."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderOptions:
    """One rendering: a box (either side optional), how to fit it, the encoder and its quality.

    ``format`` is an encoder name (``avif``, ``webp``, ``jpeg``, ``png``) or ``orig``: the
    original's own family. Where the options came from (a URL, a warm job) is not its concern.
    """

    width: int | None
    height: int | None
    fit: str | None
    quality: int
    format: str
    # q=auto: a level of pipeline/autoquality.LEVELS (``quality`` is then unused), and an
    # encoder quality that met it at another width of the same original (the first try).
    auto: str | None = None
    hint: int | None = None
