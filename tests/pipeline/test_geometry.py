"""Geometry planning: crop, fit, pad, never enlarge, and the JPEG draft rule."""

from __future__ import annotations

import random

import pytest

from origin_handler.pipeline.geometry import Plan, draft_scale, plan, scaled_box, upright
from origin_handler.pipeline.options import RenderOptions
from origin_handler.policy import load_policy


def req(width=None, height=None, fit=None):
    return RenderOptions(width, height, fit, 75, "png")


def test_width_only_keeps_aspect_and_never_enlarges():
    assert plan(4032, 3024, req(640), load_policy()).size == (640, 480)
    assert plan(80, 40, req(3840), load_policy()).size == (80, 40)


def test_no_size_is_capped_at_the_policy_maximum():
    assert plan(8000, 2000, req(), load_policy()).size == (3840, 960)


def test_cover_crops_the_centre_to_the_requested_aspect():
    p = plan(400, 200, req(100, 100, "cover"), load_policy())
    assert p.size == (100, 100) and p.box == (100.0, 0.0, 300.0, 200.0)


def test_cover_and_contain_keep_the_box_aspect_instead_of_enlarging():
    assert plan(100, 100, req(200, 100, "cover"), load_policy()).size == (100, 50)
    p = plan(100, 100, req(400, 200, "contain"), load_policy())
    assert p.size == (100, 100) and p.canvas == (200, 100)


def test_inside_fits_within_the_box():
    assert plan(400, 200, req(100, 100, "inside"), load_policy()).size == (100, 50)


def test_identity_plan():
    assert plan(80, 40, req(), load_policy()).is_identity(80, 40)
    assert not Plan((0.0, 0.0, 80.0, 40.0), (40, 20), None).is_identity(80, 40)


def test_upright_swaps_for_rotations_only():
    assert upright((4, 3), 6) == (3, 4) and upright((4, 3), 3) == (4, 3)


def test_scaled_box_uses_each_axis_and_never_overruns():
    # draft() rounds each side up: 4001×3000 at 1/2 is 2001×1500.
    box = scaled_box((0.0, 0.0, 4001.0, 3000.0), (4001, 3000), (2001, 1500))
    assert box == (0.0, 0.0, 2001.0, 1500.0)
    box = scaled_box((10.0, 20.0, 3001.0, 4003.0), (3001, 4003), (1501, 2002))
    assert box[2] <= 1501 and box[3] <= 2002


@pytest.mark.parametrize(
    ("target", "reduction"),
    [(3840, 1), (2048, 1), (1280, 2), (1080, 2), (640, 2), (320, 4), (128, 8), (16, 8)],
)
def test_draft_keeps_headroom_over_the_target(target, reduction):
    assert draft_scale(target / 4032) == reduction


def test_every_plan_box_lies_inside_the_source():
    # Found by this sweep: a 49×11101 source asked for 16×16 cover planned left=-3.6e-15,
    # which both resize engines refuse (a 500 for every narrow-image thumbnail).
    policy = load_policy()
    rng = random.Random(5)
    sizes = [(w, h) for w in range(1, 120) for h in (w * 3 + 1, 11101)]
    sizes += [(rng.randint(1, 20000), rng.randint(1, 20000)) for _ in range(400)]
    sizes += [(h, w) for w, h in sizes]
    for src_w, src_h in sizes:
        for width, height in ((16, 16), (16, 48), (320, 240), (640, None), (None, 96)):
            for fit in ("cover", "contain", "inside"):
                req = RenderOptions(width, height, fit, 75, "webp")
                left, top, right, bottom = plan(src_w, src_h, req, policy).box
                assert 0 <= left < right <= src_w, (src_w, src_h, width, height, fit)
                assert 0 <= top < bottom <= src_h, (src_w, src_h, width, height, fit)
