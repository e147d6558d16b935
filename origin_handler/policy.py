"""The allow-lists and defaults, loaded once from the one policy file shared with the edge."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

POLICY_PATH = Path(__file__).with_name("policy.json")
# The format token meaning "the original's own family" (JPEG stays JPEG, PNG stays PNG…).
ORIGINAL_FAMILY = "orig"
# The q=auto levels (`q=auto:<level>`, `q=auto` is the default one) when policy.json names
# none under "quality": {"auto": [...], "auto_default": ...}. Their SSIMULACRA2 targets are
# the pipeline's (pipeline/autoquality.py); the edge and the URL builder only need the names.
AUTO_LEVELS = ("high", "good", "eco")
AUTO_DEFAULT = "good"
# policy.json "signing": {"mode": ...}: whether URLs carry an HMAC (docs/signed-urls.md).
SIGNING_MODES = ("off", "optional", "required")


@dataclass(frozen=True)
class Policy:
    """Widths, heights, qualities, formats and fits that a URL may ask for.

    ``heights`` may be empty: the policy then has width-only variants, and a URL with ``h``
    is a 400 (docs/url-contract.md). ``qualities`` is the allow-list every numeric ``q``
    snaps to; ``quality_min``/``quality_max`` only bound what a URL may write.
    """

    widths: tuple[int, ...]
    heights: tuple[int, ...]
    qualities: tuple[int, ...]
    quality_min: int
    quality_max: int
    quality_default: int
    formats: tuple[str, ...]
    format_aliases: dict[str, str]
    negotiated: tuple[str, ...]
    fits: tuple[str, ...]
    default_fit: str
    max_key_bytes: int
    auto_levels: tuple[str, ...] = AUTO_LEVELS
    auto_default: str = AUTO_DEFAULT
    signing_mode: str = "off"

    @property
    def max_width(self) -> int:
        """Largest width any variant can have."""
        return self.widths[-1]

    @property
    def max_height(self) -> int:
        """Largest height any variant can have (the largest width when heights are off)."""
        return self.heights[-1] if self.heights else self.max_width

    def snap_quality(self, value: int) -> int:
        """The allowed quality nearest to value; halfway between two, the higher one."""
        return min(self.qualities, key=lambda q: (abs(q - value), -q))

    def snap_width(self, value: int) -> int:
        """Smallest allowed width ≥ value; the largest one when value is above them all."""
        return _snap_up(value, self.widths)

    def snap_height(self, value: int) -> int:
        """Smallest allowed height ≥ value; the largest one when value is above them all."""
        return _snap_up(value, self.heights)

    @classmethod
    def from_dict(cls, raw: dict) -> Policy:
        """Build and sanity-check a policy from its JSON form."""
        q = raw["quality"]
        if "qualities" not in raw:
            raise ValueError(
                'policy: list the allowed qualities as "qualities": [50, 75, 90]'
                " (quality.step is no longer read)"
            )
        policy = cls(
            widths=tuple(sorted(int(w) for w in raw["widths"])),
            heights=tuple(sorted(int(h) for h in raw["heights"])),
            qualities=tuple(sorted({int(v) for v in raw["qualities"]})),
            quality_min=int(q["min"]),
            quality_max=int(q["max"]),
            quality_default=int(q["default"]),
            formats=tuple(raw["formats"]),
            format_aliases=dict(raw.get("format_aliases", {})),
            negotiated=tuple(raw["negotiated"]),
            fits=tuple(raw["fits"]),
            default_fit=raw["default_fit"],
            max_key_bytes=int(raw.get("max_key_bytes", 1024)),
            auto_levels=tuple(q.get("auto", AUTO_LEVELS)),
            auto_default=q.get("auto_default", AUTO_DEFAULT),
            signing_mode=(raw.get("signing") or {}).get("mode", "off"),
        )
        if not policy.widths or min(policy.widths + policy.heights) < 1:
            raise ValueError(
                "policy: widths must be a non-empty list, heights a list, all positive"
            )
        if not policy.qualities or not all(
            policy.quality_min <= v <= policy.quality_max for v in policy.qualities
        ):
            raise ValueError("policy: qualities must be a non-empty list within quality min–max")
        if policy.default_fit not in policy.fits:
            raise ValueError("policy: default_fit must be one of fits")
        if not set(policy.negotiated) <= set(policy.formats):
            raise ValueError("policy: negotiated formats must be listed in formats")
        if policy.auto_default not in policy.auto_levels:
            raise ValueError("policy: quality.auto_default must be one of quality.auto")
        if policy.signing_mode not in SIGNING_MODES:
            raise ValueError(f"policy: signing.mode must be one of {', '.join(SIGNING_MODES)}")
        if policy.quality_default not in policy.qualities:
            raise ValueError("policy: quality.default must be one of qualities")
        return policy


def _snap_up(value: int, allowed: tuple[int, ...]) -> int:
    for candidate in allowed:
        if candidate >= value:
            return candidate
    return allowed[-1]


@cache
def load_policy(path: Path = POLICY_PATH) -> Policy:
    """Read the policy file once per process."""
    return Policy.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
