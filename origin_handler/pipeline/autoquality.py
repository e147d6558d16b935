"""q=auto: per image, the encoder quality with the fewest bytes that keeps a SSIMULACRA2 target.

A short secant search over the encoder quality per format (docs/output-and-quality.md,
"q=auto"). Its steps are scored by a fast estimate — blazediff's perceptual SSIM (CIELAB,
mean-absolute-deviation pooling) at half resolution, mapped to the SSIMULACRA2 scale by a
per-format, per-width quadratic fitted offline (``bench/calibrate_auto.py``) — anchored by
one or two exact SSIMULACRA2 scores (``ssimulacra2.py``) that remove the estimate's
per-photo bias. JPEG falls back to 4:4:4 past a 4:2:0 ceiling; AVIF, whose encodes cost
10–20 JPEG ones, gets a shorter search with a wider window.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise

from PIL import Image

from .formats import ENCODERS

# Level → SSIMULACRA2 target. Anchors: ~90 visually lossless, ~80 very high, ~70 high.
# "high" is 87, not 90: lossy WebP tops out at ~88 (median over the bench photos at q=100),
# so 90 would make most WebP answers miss it. policy.AUTO_LEVELS names the same levels for
# the URL parser.
LEVELS: dict[str, float] = {"high": 87.0, "good": 80.0, "eco": 70.0}
# Levels from this target up decode JPEGs at full scale (transform._fine): the 1/2 draft
# alone capped camera photos at 87.5 (w640) and 79.4 (w1200, edgar-castrejon, 1.55×
# headroom) against a full decode: below auto:good's 80. auto:eco (70) keeps the draft.
FINE_DECODE_TARGET = 80.0

# The fast metric: blazediff's perceptual SSIM in CIELAB with MAD pooling, on 2×-reduced frames.
METRIC = {"metric": "perceptual-ssim", "color": "lab", "pooling": "mad"}
METRIC_REDUCE = 2
# blazediff's multi-scale metric needs 176 px on each side; smaller frames (at most a few KB)
# are not searched: they get the calibrated start quality.
METRIC_MIN_SIDE = 176

# Per format and calibration width, SSIMULACRA2 ≈ a + b·x + c·x², x = −10·log10(1 − metric):
# fitted by bench/calibrate_auto.py on the 15 bench photos, scores 55–95 (``estimate``
# interpolates between the widths). Spearman 0.86–0.94, RMSE 2.9–4.4, mostly per-photo
# bias, which Scorer measures and removes.
ESTIMATORS: dict[str, tuple[tuple[int, tuple[float, float, float]], ...]] = {
    "jpeg": (
        (640, (-54.6877, 6.8727, -0.0790)),
        (1200, (-67.6042, 7.8996, -0.0952)),
    ),
    "webp": (
        (640, (-118.9497, 12.2087, -0.1824)),
        (1200, (-81.9990, 9.3892, -0.1268)),
    ),
    "avif": (
        (640, (-133.1904, 13.0364, -0.1921)),
        (1200, (-112.3029, 11.7910, -0.1724)),
    ),
}

# Where the search starts: the public q whose mean SSIMULACRA2 is the target (the calibration
# table in docs/output-and-quality.md, JPEG column), as (score, public q) knots.
START = ((60.0, 55), (70.0, 67), (75.0, 75), (80.0, 82), (85.0, 90), (88.0, 95), (91.0, 100))

# Typical SSIMULACRA2 points per encoder-quality step near the targets, for the first step
# before two measurements give a secant.
SLOPE: dict[str, float] = {"jpeg": 0.7, "jpeg444": 0.7, "webp": 0.6, "avif": 0.55}

# Stop early when an encoding meets the target by no more than this.
TOLERANCE = 1.0
MAX_ENCODES = 4

Encode = Callable[[int], bytes]  # encoder quality → encoded bytes


@dataclass(frozen=True)
class Choice:
    """The chosen encoding: its bytes, encoder quality, estimated SSIMULACRA2, encodes made
    (and, for a JPEG that needed it, the chroma subsampling it was given: ``4:4:4``)."""

    body: bytes
    quality: int
    score: float | None
    encodes: int
    subsampling: str | None = None


def start_quality(target: float) -> int:
    """The public q whose mean SSIMULACRA2 over the calibration photos is ``target``."""
    if target <= START[0][0]:
        return START[0][1]
    for (s0, q0), (s1, q1) in pairwise(START):
        if target <= s1:
            return round(q0 + (q1 - q0) * (target - s0) / (s1 - s0))
    return START[-1][1]


def searchable(size: tuple[int, int]) -> bool:
    """True when a frame is big enough for the metric at its reduced size."""
    return min(size) >= METRIC_MIN_SIDE * METRIC_REDUCE


def _decode(body: bytes) -> Image.Image:
    """An encoding decoded to RGB, as both metrics compare it."""
    return Image.open(io.BytesIO(body)).convert("RGB")


def _metric_pixels(im: Image.Image) -> bytes:
    # Colour only: alpha is near-lossless in WebP/AVIF, and JPEG has none.
    return im.convert("RGB").reduce(METRIC_REDUCE).convert("RGBA").tobytes()


class Scorer:
    """SSIMULACRA2 of encodings of one frame: a few measured exactly (anchors), the rest
    estimated by the fast metric and corrected by the nearest anchor's error.

    The fast estimate is off by a per-photo bias (±5 points over the bench photos, up to 12
    on fine colour texture) that drifts slowly with quality: an exact score where the search
    starts, and one more where it ends when that is far off, remove most of the error while
    the search's steps stay cheap. ``exact=False``: the plain estimate (no numpy).
    """

    def __init__(self, frame: Image.Image, exact: bool = True) -> None:
        # Imported on the first q=auto request: cold starts that never search skip it.
        import blazediff_ssim

        self._compare = blazediff_ssim.compare_rgba
        self._frame = frame
        self._ref = _metric_pixels(frame)
        self._size = (frame.size[0] // METRIC_REDUCE, frame.size[1] // METRIC_REDUCE)
        self._exact = exact
        self._last: tuple[bytes, Image.Image] | None = None
        # The exact metric's reference side (and numpy's import, on the first request) is
        # prepared beside the first encode: numpy and Pillow's encoders release the GIL, so
        # on two vCPUs it costs the search nothing until the first anchor waits for it.
        self._reference: Future | None = None
        if exact and searchable(frame.size):
            self._reference = _PREPARE.submit(_reference_of, frame.convert("RGB"))
        # format → [(encoder quality, estimate, exact score)] of the encodings measured
        self.anchors: dict[str, list[tuple[int, float, float]]] = {}

    @property
    def exact_enabled(self) -> bool:
        """Whether this scorer measures exactly at all."""
        return self._exact

    @property
    def exact_scores(self) -> int:
        """How many exact SSIMULACRA2 scores were computed."""
        return sum(len(a) for a in self.anchors.values())

    def _decoded(self, body: bytes) -> Image.Image:
        # An anchor scores the encoding its estimate just decoded: keep the last one.
        if self._last is None or self._last[0] is not body:
            self._last = (body, _decode(body))
        return self._last[1]

    def metric(self, body: bytes) -> float:
        """The fast metric of an encoding of the frame, as −10·log10(1 − similarity)."""
        value = self._compare(self._ref, _metric_pixels(self._decoded(body)), *self._size, **METRIC)
        return -10 * math.log10(max(1e-6, 1 - value.score))

    def estimate(self, fmt: str, body: bytes) -> float:
        """The fast estimate of ``body``'s SSIMULACRA2, uncorrected."""
        return estimate(fmt, self._size[0] * METRIC_REDUCE, self.metric(body))

    def anchor(self, fmt: str, quality: int, guess: float, body: bytes) -> float:
        """Measure ``body`` (``fmt`` at encoder ``quality``) exactly and keep it as an anchor."""
        if self._reference is None:
            self._reference = _PREPARE.submit(_reference_of, self._frame.convert("RGB"))
        reference = self._reference.result()
        measured = reference.score(self._decoded(body))
        self.anchors.setdefault(fmt, []).append((quality, guess, measured))
        return measured

    def corrected(self, fmt: str, quality: int, guess: float) -> float:
        """An estimate plus the anchors' error at this encoder quality: the nearest one's,
        or, with two anchors, the line through both (at most ANCHOR_SPAN past them)."""
        anchors = self.anchors.get(fmt)
        if not anchors:
            return guess
        errors = sorted((q, exact - g) for q, g, exact in anchors)
        if len(errors) == 1 or errors[0][0] == errors[-1][0]:
            _, error = min(errors, key=lambda e: abs(e[0] - quality))
        else:
            (q0, e0), (q1, e1) = errors[0], errors[-1]
            at = min(max(quality, q0 - ANCHOR_SPAN), q1 + ANCHOR_SPAN)
            error = e0 + (e1 - e0) * (at - q0) / (q1 - q0)
        return min(100.0, guess + error)

    def needs_anchor(self, fmt: str, quality: int) -> bool:
        """Whether an encoding at ``quality`` is too far from every anchor to trust."""
        if not self._exact:
            return False
        anchors = self.anchors.get(fmt, [])
        if len(anchors) >= MAX_ANCHORS:
            return False
        return not anchors or min(abs(a[0] - quality) for a in anchors) > ANCHOR_SPAN

    def score(self, fmt: str, body: bytes, quality: int) -> float:
        """SSIMULACRA2 of ``body`` (``fmt`` at encoder ``quality``): measured when no anchor
        is near, else the corrected estimate."""
        guess = self.estimate(fmt, body)
        if self.needs_anchor(fmt, quality):
            return self.anchor(fmt, quality, guess, body)
        return self.corrected(fmt, quality, guess)


def _reference_of(frame: Image.Image):  # -> ssimulacra2.Reference, imported lazily
    from . import ssimulacra2

    return ssimulacra2.Reference(frame)


# One worker: a request prepares one reference at a time (the local server's threads share it).
_PREPARE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ssimulacra2-reference")

# Exact scores per request and format, and how far (in encoder-quality steps) an anchor's
# correction is trusted: the estimate's error drifts with quality, and near the top the
# estimate itself flattens (the fit's vertex) where SSIMULACRA2 still falls.
MAX_ANCHORS = 2
ANCHOR_SPAN = 6
# A search's encodes at most: MAX_ENCODES, and two more after a second anchor.
MAX_SEARCH_ENCODES = MAX_ENCODES + 2


def _fit(coefs: tuple[float, float, float], x: float) -> float:
    a, b, c = coefs
    if c < 0:
        # Near the parabola's top the fit flattens (and past it falls) where SSIMULACRA2
        # still rises: go on in a straight line from a little before the top, so the
        # estimate keeps telling qualities apart there (the anchors fix its level).
        knee = -b / (2 * c) - KNEE_BEFORE_TOP
        if x > knee:
            return a + b * knee + c * knee * knee + (b + 2 * c * knee) * (x - knee)
    return a + b * x + c * x * x


# How far before the top of a concave fit the straight continuation starts (metric units).
KNEE_BEFORE_TOP = 3.0


def estimate(fmt: str, width: int, x: float) -> float:
    """SSIMULACRA2 from the fast metric x for a frame ``width`` wide: the per-width fits,
    interpolated in log width between the calibration widths, the nearest one outside them."""
    fits = ESTIMATORS["jpeg" if fmt == "jpeg444" else fmt]
    (w0, c0), (w1, c1) = fits[0], fits[-1]
    if width <= w0:
        return min(100.0, _fit(c0, x))
    if width >= w1:
        return min(100.0, _fit(c1, x))
    t = math.log(width / w0) / math.log(w1 / w0)
    return min(100.0, (1 - t) * _fit(c0, x) + t * _fit(c1, x))


def search(
    scorer: Scorer,
    fmt: str,
    target: float,
    encode: Encode,
    start: int,
    bounds: tuple[int, int] = (1, 100),
    max_encodes: int = MAX_ENCODES,
    tolerance: float = TOLERANCE,
) -> Choice:
    """The lowest encoder quality whose score meets ``target``, in a few encodes.

    A secant search over the encoder quality (scores rise with it): the first step uses the
    format's typical slope, later ones the two nearest measurements. Stops as soon as an
    encoding meets the target within ``tolerance``; if none meets it, the highest one
    tried. The first encoding is measured exactly (Scorer); when the choice ends up far from
    it in quality, that one is measured too and the search goes on with the new correction
    (up to two more encodes, one when ``max_encodes`` is below MAX_ENCODES).
    """
    lo_q, hi_q = bounds
    raw: dict[int, tuple[float, bytes]] = {}  # quality → (uncorrected estimate, body)

    def scored() -> dict[int, tuple[float, bytes]]:
        return {k: (scorer.corrected(fmt, k, g), b) for k, (g, b) in raw.items()}

    q, budget = min(hi_q, max(lo_q, start)), max_encodes
    extra = 2 if max_encodes >= MAX_ENCODES else 1
    while True:
        while len(raw) < budget and q not in raw:
            body = encode(q)
            guess = scorer.estimate(fmt, body)
            raw[q] = (guess, body)
            if scorer.needs_anchor(fmt, q) and not scorer.anchors.get(fmt):
                scorer.anchor(fmt, q, guess, body)
            if target <= scorer.corrected(fmt, q, guess) <= target + tolerance:
                break
            q = _next_quality(scored(), target, SLOPE.get(fmt, 0.7), lo_q, hi_q)
        best = _pick(scored(), target)
        if not scorer.needs_anchor(fmt, best):
            break
        scorer.anchor(fmt, best, *raw[best])
        tried = scored()
        if target <= tried[best][0] <= target + tolerance:
            break
        budget = len(raw) + extra
        q = _next_quality(tried, target, SLOPE.get(fmt, 0.7), lo_q, hi_q)
    tried = scored()
    best = _pick(tried, target)
    below = [k for k in tried if k < best and best - k <= JUMP_STEPS]
    if tried[best][0] > target + tolerance and below and scorer.exact_enabled:
        # The answer overshoots, and a quality just under it was judged short by the
        # anchored estimate: at a jump in the encoder's curve (JPEG q70 → 80.1, q71 → 84.2
        # on one photo) the estimate between anchors misreads the lower side. Measure it.
        nearest = max(below)
        if target <= scorer.anchor(fmt, nearest, *raw[nearest]):
            best = nearest
        tried = scored()
    score, body = tried[best]
    return Choice(body, best, score, len(raw))


# How close (in encoder-quality steps) a tried quality under an overshooting answer must be
# to get the last exact check.
JUMP_STEPS = 2


def _pick(tried: dict[int, tuple[float, bytes]], target: float) -> int:
    """The lowest tried quality that meets the target, else the highest tried."""
    meeting = [k for k, (s, _) in tried.items() if s >= target]
    return min(meeting) if meeting else max(tried)


def _next_quality(
    tried: dict[int, tuple[float, bytes]], target: float, slope: float, lo_q: int, hi_q: int
) -> int:
    """The next quality to try: interpolated between the bracket, else extrapolated."""
    below = [k for k, (s, _) in tried.items() if s < target]
    above = [k for k, (s, _) in tried.items() if s >= target]
    if below and above:
        q0, q1 = max(below), min(above)
        if q1 - q0 <= 1:
            return q1  # already tried: the loop ends
        s0, s1 = tried[q0][0], tried[q1][0]
        guess = q0 + (target - s0) * (q1 - q0) / max(1e-6, s1 - s0)
        return min(q1 - 1, max(q0 + 1, math.ceil(guess)))
    near = sorted(tried, key=lambda k: abs(tried[k][0] - target))[:2]
    typical = slope
    if len(near) == 2 and tried[near[0]][0] != tried[near[1]][0]:
        (qa, sa), (qb, sb) = ((k, tried[k][0]) for k in near)
        # A flat stretch of the estimate (its fit's top) must not send the search across
        # the whole scale: the slope is kept to at least half the format's typical one.
        slope = max(typical / 2, (sb - sa) / (qb - qa))
    q = near[0]
    step = (target - tried[q][0]) / slope
    # Round away from the measured point, so a small miss still moves at least one step.
    step = math.ceil(step) if step > 0 else math.floor(step)
    step = max(-MAX_STEP, min(MAX_STEP, step))
    return min(hi_q, max(lo_q, q + step))


# The most encoder-quality steps one extrapolation moves: JPEG's scale has steep stretches
# (SSIMULACRA2 71.5 at q60, 84.2 at q71 on one sample), where a secant from far overshoots.
MAX_STEP = 12


def choose(
    frame: Image.Image,
    fmt: str,
    level: str,
    encoders: dict[str, Encode],
    hint: int | None = None,
) -> Choice:
    """Encode ``frame`` in ``fmt`` (jpeg, webp or avif) at the cheapest quality for ``level``.

    ``encoders`` maps format → encode-at-encoder-quality; ``jpeg444`` (JPEG without chroma
    subsampling), if given, is JPEG's way past a 4:2:0 ceiling. ``hint``: an encoder quality
    that met the level at another width of the same original, the search's first try.
    """
    target = LEVELS[level]
    start = start_quality(target)
    if not searchable(frame.size):
        quality = hint or _encoder_start(fmt, start)
        return Choice(encoders[fmt](quality), quality, None, 1)
    scorer = Scorer(frame)
    if fmt == "jpeg":
        return _jpeg(scorer, target, encoders, hint or _encoder_start(fmt, start))
    if fmt != "avif":
        return search(scorer, fmt, target, encoders[fmt], hint or _encoder_start(fmt, start))
    # AVIF encodes cost 10–20 JPEG ones, so its search is short and stops within a wider
    # window; starting where a JPEG search ended (a "proxy") was measured slower overall.
    return search(
        scorer,
        "avif",
        target,
        encoders["avif"],
        hint or _encoder_start(fmt, start),
        max_encodes=AVIF_MAX_ENCODES,
        tolerance=AVIF_TOLERANCE,
    )


# The AVIF search stops within this of the target, after at most this many encodes (one
# more after a second anchor).
AVIF_TOLERANCE = 2.0
AVIF_MAX_ENCODES = 3
# A request's encodes at most: a JPEG search in 4:2:0 and again in 4:4:4.
MAX_TOTAL_ENCODES = 2 * MAX_SEARCH_ENCODES


def _jpeg(scorer: Scorer, target: float, encoders: dict[str, Encode], start: int) -> Choice:
    """The JPEG search in 4:2:0, and in 4:4:4 when 4:2:0 cannot reach the target.

    Saturated fine colour texture is lost to chroma subsampling whatever the quality: two
    camera photos top out at SSIMULACRA2 47 and 72 in 4:2:0 and reach 90 in 4:4:4.
    """
    first = search(scorer, "jpeg", target, encoders["jpeg"], start)
    if (first.score is not None and first.score >= target) or "jpeg444" not in encoders:
        return first
    # 4:4:4 at the same quality costs ~1.4× the bytes; start where 4:2:0 gave up.
    full = search(scorer, "jpeg444", target, encoders["jpeg444"], min(first.quality, 90))
    encodes = first.encodes + full.encodes
    if full.score is not None and full.score > (first.score or 0):
        return Choice(full.body, full.quality, full.score, encodes, "4:4:4")
    return Choice(first.body, first.quality, first.score, encodes)


def _encoder_start(fmt: str, public_q: int) -> int:
    scale = ENCODERS[fmt].quality
    return scale(public_q) if scale is not None else public_q
