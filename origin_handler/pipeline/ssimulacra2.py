"""SSIMULACRA2 (libjxl's perceptual metric) in float32 numpy, fast enough to run per request.

q=auto's targets are SSIMULACRA2 scores, and its fast estimate (blazediff SSIM at half size)
is off by a per-photo bias of up to ±5 points that no calibration removes: it cannot see
what SSIMULACRA2 weighs at full size. One exact score per request measures that bias
(autoquality.Scorer). The maths is libjxl's tools/ssimulacra2.cc as the ``ssimulacra2``
package (the bench's reference) ports it: XYB, six scales, SSIM and edge-difference maps
pooled by L1 and L4 norms, 108 weights. Differences, all for speed: float32, the sRGB
curve as a table, the Gaussian (σ 1.5) as a separable 11-tap FIR with the package's edge
handling, and no terms whose weights are negligible (NEEDED).
tests/pipeline/test_ssimulacra2.py holds it within 0.05 of the package on real photos.

numpy is imported with this module, and this module only on a q=auto request.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

NUM_SCALES = 6
C2 = 0.0009
SIGMA = 1.5
RADIUS = 5  # scipy's truncate=3.33 at σ 1.5, as the package blurs

# Opsin absorbance (libjxl opsin_params.h).
_M = np.array(
    [
        [0.30, 1.0 - 0.078 - 0.30, 0.078],
        [0.23, 1.0 - 0.078 - 0.23, 0.078],
        [0.24342268924547819, 0.20476744424496821, 1.0 - 0.24342268924547819 - 0.20476744424496821],
    ],
    dtype=np.float32,
)
_BIAS = np.float32(0.0037930732552754493)
_CBRT_BIAS = np.cbrt(_BIAS)

_x = np.arange(-RADIUS, RADIUS + 1, dtype=np.float64)
_KERNEL = np.exp(-0.5 * (_x / SIGMA) ** 2)
KERNEL = (_KERNEL / _KERNEL.sum()).astype(np.float32)

_v = np.arange(256, dtype=np.float64) / 255.0
SRGB_TO_LINEAR = np.where(_v <= 0.04045, _v / 12.92, ((_v + 0.055) / 1.055) ** 2.4).astype(
    np.float32
)

# libjxl's weights, in the order score() walks them: channel, scale, norm, then
# (SSIM, artefact, detail lost).
WEIGHTS = (
    0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0,
    0.0004371155730107379, 0.0, 1.1041726426657346, 0.00066284834129271,
    0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0, 1.8422455520539298,
    11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653, 0.0,
    1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072, 0.9677937080626833,
    0.0, 0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053,
    0.0004550992113792063, 0.0, 0.0, 0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0,
    7.466890328078848, 0.0, 17.445833984131262, 0.0006235601634041466, 0.0, 0.0,
    6.683678146179332, 0.00037724407979611296, 1.027889937768264, 225.20515300849274, 0.0,
    0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
    176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757,
    0.0004485436923833408, 0.0, 0.0, 0.0, 34.77906344483772, 44.835625328877896, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0005313191874358747, 0.0, 0.00016533814161379112, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0004179171803251336, 0.0017290828234722833, 0.0, 0.0020827005846636437, 0.0, 0.0,
    8.826982764996862, 23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682,
    0.9834382792465353, 0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0,
    0.0, 0.0, 0.0005130064588990679, 0.0, 0.00010854057858411537,
)  # fmt: skip

MIN_SIDE = 8  # scales stop below this
# Terms whose weights are all below this add < 0.01 to a score and are not computed: channel
# X and B at the two finest scales, everything at the coarsest. Which channels each scale
# needs (0 X, 1 Y, 2 B-Y): [Y], [X, Y], [X, Y], [X, Y, B], [X, Y, B], [].
NEGLIGIBLE = 0.01
NEEDED = tuple(
    tuple(c for c in range(3) if max(WEIGHTS[c * 36 + s * 6 : c * 36 + s * 6 + 6]) >= NEGLIGIBLE)
    for s in range(NUM_SCALES)
)
LAST_SCALE = max(s for s in range(NUM_SCALES) if NEEDED[s]) + 1


def _linear(im: Image.Image) -> np.ndarray:
    """Planar linear RGB, (3, height, width) float32."""
    return np.ascontiguousarray(np.moveaxis(SRGB_TO_LINEAR[np.asarray(im.convert("RGB"))], 2, 0))


def _xyb(linear: np.ndarray, channels: tuple[int, ...]) -> dict[int, np.ndarray]:
    """The wanted planes of SSIMULACRA2's positive XYB from planar linear RGB."""
    mixed = [
        np.cbrt(
            np.maximum(
                _M[i, 0] * linear[0] + _M[i, 1] * linear[1] + _M[i, 2] * linear[2] + _BIAS, 0.0
            )
        )
        - _CBRT_BIAS
        for i in range(3 if 2 in channels else 2)
    ]
    y = 0.5 * (mixed[0] + mixed[1])
    planes = {0: 7.0 * (mixed[0] - mixed[1]) + 0.42, 1: y + 0.01}
    if 2 in channels:
        planes[2] = mixed[2] - y + 0.55
    return {c: planes[c] for c in channels}


def _downsample(img: np.ndarray) -> np.ndarray:
    """2× box average of planar (3, h, w); an odd last row or column averages what it has."""
    if img.shape[1] % 2:
        img = np.concatenate([img, img[:, -1:]], axis=1)
    if img.shape[2] % 2:
        img = np.concatenate([img, img[:, :, -1:]], axis=2)
    return 0.25 * (
        img[:, 0::2, 0::2] + img[:, 1::2, 0::2] + img[:, 0::2, 1::2] + img[:, 1::2, 1::2]
    )


def _blur(plane: np.ndarray) -> np.ndarray:
    """Gaussian σ 1.5 of one plane: zeros beyond the left and right edges, reflected (half-
    sample) at the top and bottom — what the reference port computes (its XYB planes are
    transposed, so its "vertical" zero padding falls on the columns)."""
    padded = np.pad(plane, ((0, 0), (RADIUS, RADIUS)))
    rows = sliding_window_view(padded, 2 * RADIUS + 1, axis=1) @ KERNEL
    padded = np.pad(rows, ((RADIUS, RADIUS), (0, 0)), mode="symmetric")
    return sliding_window_view(padded, 2 * RADIUS + 1, axis=0) @ KERNEL


def _norms(d: np.ndarray) -> tuple[float, float]:
    """The mean and the L4 norm of a non-negative map."""
    squared = d * d
    return float(d.mean(dtype=np.float64)), float(
        (squared * squared).mean(dtype=np.float64)
    ) ** 0.25


class Reference:
    """The reference side of SSIMULACRA2 per scale, computed once per frame."""

    def __init__(self, frame: Image.Image) -> None:
        self.size = frame.size
        self.scales: list[dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
        linear = _linear(frame)
        for index in range(LAST_SCALE):
            if index:
                linear = _downsample(linear)
            if min(linear.shape[1:]) < MIN_SIDE:
                break
            planes = {}
            for c, img in _xyb(linear, NEEDED[index]).items():
                mu = _blur(img)
                planes[c] = (img, mu, _blur(img * img) - mu * mu)
            self.scales.append(planes)

    def score(self, distorted: Image.Image) -> float:
        """SSIMULACRA2 of ``distorted`` (same size) against this reference."""
        if distorted.size != self.size:
            raise ValueError(f"distorted is {distorted.size}, the reference {self.size}")
        linear = _linear(distorted)
        total = 0.0
        for index, planes in enumerate(self.scales):
            if index:
                linear = _downsample(linear)
            for c, img2 in _xyb(linear, NEEDED[index]).items():
                img1, mu1, var1 = planes[c]
                mu2 = _blur(img2)
                var2 = _blur(img2 * img2) - mu2 * mu2
                cov = _blur(img1 * img2) - mu1 * mu2
                ssim = 1.0 - (1.0 - (mu1 - mu2) ** 2) * (2.0 * cov + C2) / (var1 + var2 + C2)
                ratio = (1.0 + np.abs(img2 - mu2)) / (1.0 + np.abs(img1 - mu1)) - 1.0
                norms = zip(
                    _norms(np.maximum(ssim, 0.0)),
                    _norms(np.maximum(ratio, 0.0)),
                    _norms(np.maximum(-ratio, 0.0)),
                    strict=True,
                )
                i = c * 36 + index * 6
                for n, terms in enumerate(norms):
                    total += sum(
                        w * t
                        for w, t in zip(WEIGHTS[i + 3 * n : i + 3 * n + 3], terms, strict=True)
                    )
        total *= 0.9562382616834844
        total = (
            2.326765642916932 * total
            - 0.020884521182843837 * total**2
            + 6.248496625763138e-05 * total**3
        )
        return 100.0 - 10.0 * total**0.6276336467831387 if total > 0 else 100.0
