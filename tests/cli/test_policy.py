"""`image-origin policy --count` and the variant space it counts, against a brute-force walk.

The count is computed part by part (``variants.variant_space``); here every ops segment of
a superset of values (each allowed one, its neighbours, junk) is put in the canonical
grammar and handed to the strict canonical parser: what it accepts must be exactly the
counted space.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from origin_handler.cli import main
from origin_handler.errors import BadRequest
from origin_handler.policy import POLICY_PATH, Policy, load_policy
from origin_handler.variants import InfoVariant, from_canonical, variant_space

SHIPPED = json.loads(POLICY_PATH.read_text(encoding="utf-8"))
SMALL = {
    **SHIPPED,
    "widths": [16, 32],
    "heights": [16, 48],
    "fits": ["cover", "contain"],
    "qualities": [40, 60],
    "quality": {"min": 1, "max": 100, "default": 60},
    "formats": ["webp", "png"],
    "negotiated": ["webp"],
}
WIDTH_ONLY = {**SMALL, "heights": [], "fits": ["cover"]}


def brute_force(policy: Policy) -> tuple[set[str], int]:
    """Every candidate image ops segment the strict canonical parser accepts; info documents."""
    sizes = [None, 8, 15, 16, 17, 32, 48, 64, 3840]
    fits = [None, "cover", "contain", "inside", "fill"]
    qualities = [None, 1, 39, 40, 50, 60, 75, 100, "auto", "auto-high", "auto-good", "auto-eco"]
    qualities += ["auto-max"]
    formats = [None, "avif", "webp", "jpeg", "png", "orig", "info"]
    formats += ["auto-avif", "auto-webp", "auto-orig", "auto-png", "auto"]
    accepted, info = set(), 0
    for w, h, fit, q, f in itertools.product(sizes, sizes, fits, qualities, formats):
        values = (("w", w), ("h", h), ("fit", fit), ("q", q), ("f", f))
        ops = ",".join(f"{name}={value}" for name, value in values if value is not None)
        if not ops:
            continue
        try:
            variant = from_canonical("k.jpg", ops, policy)
        except BadRequest:
            continue
        if isinstance(variant, InfoVariant):  # only ever `f=info` alone
            info += 1
        else:
            accepted.add(variant.ops)
    return accepted, info


@pytest.mark.parametrize("raw", [SMALL, WIDTH_ONLY], ids=["small", "width-only"])
def test_count_is_what_the_canonical_parser_accepts(raw: dict) -> None:
    policy = Policy.from_dict(raw)
    space = variant_space(policy)
    counted = {
        ",".join(
            p
            for p in (
                f"w={w}" if w else "",
                f"h={h}" if h else "",
                f"fit={fit}" if fit else "",
                f"q={'auto-' if isinstance(q, str) else ''}{q}",
                f"f={'auto-' if n else ''}{f}",
            )
            if p
        )
        for (w, h, fit), q, (f, n) in itertools.product(space.sizes, space.qualities, space.formats)
    }
    assert brute_force(policy) == (counted, 1)
    assert len(counted) == space.count


def test_small_policies_counted_by_hand() -> None:
    # sizes 1 + 2 + 2 + 2×2×2 = 13; qualities 2 + 3 auto levels; formats 2 + webp, orig
    assert variant_space(Policy.from_dict(SMALL)).count == 13 * 5 * 4
    assert variant_space(Policy.from_dict(WIDTH_ONLY)).count == 3 * 5 * 4


def test_shipped_count() -> None:
    # 801 sizes × (50, 75, 90 + 3 q=auto levels) × 7 format tokens; 128,961 with the old
    # 20-step quality scale.
    assert variant_space(load_policy()).count == 801 * 6 * 7 == 33_642


def test_cli_count_and_summary(tmp_path: Path, capsys) -> None:
    assert main(["policy", "--count"]) == 0
    assert capsys.readouterr().out == "33642\n"
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(WIDTH_ONLY))
    assert main(["policy", "--count", "--policy", str(path)]) == 0
    assert capsys.readouterr().out == "60\n"
    assert main(["policy", "--policy", str(path)]) == 0
    out = capsys.readouterr().out
    assert "heights off" in out
    assert "40 60 auto-high auto-good auto-eco" in out
    assert out.splitlines()[-1].split()[:2] == ["variants", "60"]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"qualities": [80]}, "quality.default must be one of qualities"),
        ({"qualities": []}, "qualities must be a non-empty list"),
        ({"qualities": [0, 75]}, "qualities must be a non-empty list within quality min–max"),
    ],
)
def test_cli_refuses_a_bad_policy_file(tmp_path: Path, capsys, patch: dict, message: str) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({**SHIPPED, **patch}))
    assert main(["policy", "--count", "--policy", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_a_step_policy_is_refused_with_what_to_write(tmp_path: Path, capsys) -> None:
    old = {k: v for k, v in SHIPPED.items() if k != "qualities"}
    old["quality"] = {"min": 1, "max": 100, "step": 5, "default": 75}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert main(["policy", "--policy", str(path)]) == 2
    assert '"qualities": [50, 75, 90]' in capsys.readouterr().err
    assert main(["policy", "--policy", str(tmp_path / "missing.json")]) == 2


@pytest.mark.parametrize(
    ("value", "snapped"),
    [(1, 50), (50, 50), (62, 50), (63, 75), (75, 75), (82, 75), (83, 90), (100, 90)],
)
def test_snap_quality_nearest(value: int, snapped: int) -> None:
    assert load_policy().snap_quality(value) == snapped


@pytest.mark.parametrize(("value", "snapped"), [(49, 40), (50, 60), (51, 60), (70, 80), (1, 40)])
def test_snap_quality_ties_go_up(value: int, snapped: int) -> None:
    policy = Policy.from_dict({**SHIPPED, "qualities": [40, 60, 80], "quality": SMALL["quality"]})
    assert policy.snap_quality(value) == snapped
