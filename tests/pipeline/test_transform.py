"""The pure pipeline, asserted on decoded pixels and dimensions."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from origin_handler.errors import TooLarge, Undecodable, UnsupportedFormat
from origin_handler.pipeline import resample
from origin_handler.pipeline.colour import icc_transform
from origin_handler.pipeline.options import RenderOptions
from origin_handler.pipeline.transform import render
from origin_handler.settings import Limits
from tests.conftest import PNG_SIGNATURE, decode, encode, png_chunk
from tests.icc import display_p3

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def req(width=None, height=None, fit=None, fmt="png", quality=90):
    """The pipeline's options, as the origin would derive them from a variant."""
    return RenderOptions(width, height, fit, quality, fmt)


def quadrants(w: int = 80, h: int = 40) -> Image.Image:
    """Upright test card: red TL, green TR, blue BL, white BR."""
    im = Image.new("RGB", (w, h))
    for box, colour in (
        ((0, 0, w // 2, h // 2), RED),
        ((w // 2, 0, w, h // 2), GREEN),
        ((0, h // 2, w // 2, h), BLUE),
        ((w // 2, h // 2, w, h), WHITE),
    ):
        im.paste(colour, box)
    return im


def close(pixel, colour, tol=40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel[:3], colour, strict=True))


# The transpose that undoes each orientation, to make a stored image from an upright one.
UNDO = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_every_exif_orientation_comes_out_upright(orientation, fmt):
    upright = quadrants()
    undo = UNDO[orientation]
    stored = upright if undo is None else upright.transpose(undo)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    out = decode(render(data, req(width=40, fmt=fmt)).body)
    assert out.size == (40, 20)
    rgb = out.convert("RGB")  # keep a reference: PixelAccess does not own its image
    px = rgb.load()
    assert close(px[5, 5], RED) and close(px[35, 5], GREEN)
    assert close(px[5, 15], BLUE) and close(px[35, 15], WHITE)


def test_real_exif_orientation_6_sample(samples):
    data = (samples / "portrait-orientation-6.jpg").read_bytes()
    result = render(data, req(640, fmt="webp", quality=75))
    out = decode(result.body)
    assert (out.format, out.size) == ("WEBP", (640, 960))
    assert not out.getexif()


def test_never_upscales():
    data = encode(quadrants(80, 40), "PNG")
    assert decode(render(data, req(width=3840)).body).size == (80, 40)
    assert decode(render(data, req(width=640, height=640, fit="cover")).body).size == (40, 40)
    assert decode(render(data, req(width=640, height=640, fit="inside")).body).size == (80, 40)


def test_fit_modes_geometry():
    data = encode(quadrants(400, 200), "PNG")
    cover = decode(render(data, req(width=100, height=100, fit="cover")).body)
    assert cover.size == (100, 100)
    px = cover.load()  # centre crop keeps the middle: red/green on top, blue/white below
    assert close(px[10, 10], RED) and close(px[90, 10], GREEN) and close(px[90, 90], WHITE)
    inside = decode(render(data, req(width=100, height=100, fit="inside")).body)
    assert inside.size == (100, 50)
    contain = decode(render(data, req(width=100, height=100, fit="contain", fmt="jpeg")).body)
    assert contain.size == (100, 100)
    assert close(contain.load()[50, 5], WHITE, tol=10)  # opaque source pads with background
    assert close(contain.load()[10, 40], RED)


def test_contain_pads_alpha_sources_with_transparency():
    im = Image.new("RGBA", (200, 100), (255, 0, 0, 128))
    out = decode(render(encode(im, "PNG"), req(100, 100, "contain", fmt="webp")).body)
    assert out.size == (100, 100) and out.mode == "RGBA"
    assert out.getpixel((50, 5))[3] == 0
    assert 100 < out.getpixel((50, 50))[3] < 160


def test_cmyk_jpeg_becomes_rgb_with_the_same_colour():
    im = Image.new("CMYK", (64, 64), (0, 255, 255, 0))  # pure red in CMYK
    out = decode(render(encode(im, "JPEG", quality=95), req(width=32, fmt="webp")).body)
    assert out.mode == "RGB" and out.size == (32, 32)
    assert close(out.getpixel((16, 16)), RED, tol=60)


def test_display_p3_is_converted_to_srgb():
    # The same numbers mean a more saturated colour in P3, so in sRGB red rises, blue falls.
    im = Image.new("RGB", (32, 32), (200, 100, 50))
    data = encode(im, "PNG", icc_profile=display_p3())
    out = decode(render(data, req(width=16, fmt="png")).body)
    assert "icc_profile" not in out.info
    r, g, b = out.getpixel((8, 8))[:3]
    assert r >= 210 and b <= 40, (r, g, b)


def test_srgb_tagged_photo_is_served_without_reconversion(samples):
    data = (samples / "janice-gill-0PueFmKKF28-unsplash.jpg").read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        assert icc_transform(im.info["icc_profile"], "RGB") is None  # compact "c2" sRGB
    out = decode(render(data, req(256, fmt="png", quality=75)).body).convert("RGB")
    original = decode(data).resize((256, 256))
    pairs = zip(out.getpixel((128, 128)), original.getpixel((128, 128)), strict=True)
    assert max(abs(a - b) for a, b in pairs) <= 12


def test_palette_png_with_a_wide_gamut_profile_is_converted_even_at_its_own_size():
    im = Image.new("RGB", (32, 32), (200, 100, 50)).convert("P", palette=Image.Palette.ADAPTIVE)
    data = encode(im, "PNG", icc_profile=display_p3())
    result = render(data, req(fmt="png"))
    assert not result.passthrough
    r, _g, b = decode(result.body).convert("RGB").getpixel((8, 8))
    assert r >= 210 and b <= 40


def test_16_bit_png_is_scaled_not_clipped():
    im = Image.new("I;16", (32, 32), 32896)  # 50 % grey at 16 bits
    out = decode(render(encode(im, "PNG"), req(width=16, fmt="png")).body)
    assert out.mode == "L" and out.size == (16, 16)
    assert abs(out.getpixel((8, 8)) - 128) <= 2


def test_palette_with_trns_keeps_transparency():
    im = Image.new("P", (32, 32), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.paste(1, (16, 0, 32, 32))
    data = encode(im, "PNG", transparency=1)
    out = decode(render(data, req(width=32, fmt="webp")).body)
    assert out.mode == "RGBA"
    assert out.getpixel((4, 4))[3] == 255 and out.getpixel((28, 4))[3] == 0
    flat = decode(render(data, req(width=32, fmt="jpeg")).body)
    assert flat.mode == "RGB" and close(flat.getpixel((28, 4)), WHITE, tol=8)


def test_la_grey_alpha():
    im = Image.new("LA", (32, 32), (100, 0))
    im.paste((200, 255), (0, 0, 16, 32))
    data = encode(im, "PNG")
    png = decode(render(data, req(width=32, fmt="png")).body)
    assert png.mode == "LA" and png.getpixel((28, 4))[1] == 0
    webp = decode(render(data, req(width=32, fmt="webp")).body)
    assert webp.mode == "RGBA" and webp.getpixel((28, 4))[3] == 0


def test_alpha_flattened_on_configured_background_for_jpeg():
    im = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    data = encode(im, "PNG")
    out = decode(render(data, req(width=32, fmt="jpeg"), background=(0, 128, 255)).body)
    assert out.mode == "RGB" and close(out.getpixel((8, 8)), (0, 128, 255), tol=6)


def test_original_family_is_png_with_alpha_and_jpeg_without():
    alpha = encode(Image.new("RGBA", (32, 32), (0, 0, 0, 10)), "PNG")
    opaque_rgba = encode(Image.new("RGBA", (32, 32), (0, 0, 0, 255)), "PNG")
    assert render(alpha, req(width=16, fmt="orig")).format == "png"
    assert render(opaque_rgba, req(width=16, fmt="orig")).format == "jpeg"


def _animated_gif(frames=3) -> bytes:
    colours = [RED, GREEN, BLUE, WHITE]
    images = [Image.new("RGB", (64, 32), colours[i % 4]) for i in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=80, loop=0)


def test_animated_gif_stays_animated_in_webp():
    out = decode(render(_animated_gif(), req(width=32, fmt="webp")).body)
    assert out.size == (32, 16) and getattr(out, "n_frames", 1) == 3
    out.seek(1)
    assert close(out.convert("RGB").getpixel((8, 8)), GREEN)


def test_animated_gif_first_frame_for_stills_and_over_frame_budget():
    out = decode(render(_animated_gif(), req(width=32, fmt="avif")).body)
    assert getattr(out, "n_frames", 1) == 1 and close(out.convert("RGB").getpixel((8, 8)), RED)
    many = render(_animated_gif(5), req(width=32, fmt="webp"), limits=Limits(max_frames=4))
    assert getattr(decode(many.body), "n_frames", 1) == 1


def _exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 30.0)
    return exif.tobytes()


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif", "png"])
def test_gps_xmp_comments_and_icc_are_stripped(fmt):
    im = quadrants(64, 32)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret</x:xmpmeta>'
    data = encode(im, "JPEG", quality=90, exif=_exif_with_gps(), comment=b"secret", xmp=xmp)
    assert b"SpyCam" in data and b"secret" in data
    body = render(data, req(width=32, fmt=fmt)).body
    assert b"SpyCam" not in body and b"secret" not in body
    out = decode(body)
    assert not out.getexif() and "xmp" not in out.info and "comment" not in out.info


def test_same_format_same_size_serves_stripped_original_when_smaller():
    im = quadrants(64, 32)
    data = encode(im, "JPEG", quality=60, exif=_exif_with_gps(), comment=b"secret")
    result = render(data, req(fmt="jpeg", quality=100))
    assert result.passthrough
    assert len(result.body) < len(data)
    assert b"SpyCam" not in result.body and b"secret" not in result.body
    assert decode(result.body).size == (64, 32)


def test_same_format_png_passthrough_drops_text_chunks():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret " * 50)
    data = encode(quadrants(64, 32), "PNG", pnginfo=info, optimize=True)
    result = render(data, req(fmt="png"))
    assert result.passthrough and b"secret" not in result.body
    assert decode(result.body).tobytes() == decode(data).convert("RGB").tobytes()


# --- hostile inputs -----------------------------------------------------------------


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return PNG_SIGNATURE + png_chunk(b"IHDR", ihdr)


def test_truncated_jpeg_is_422(samples):
    data = (samples / "portrait-orientation-6.jpg").read_bytes()
    with pytest.raises(Undecodable) as info:
        render(data[: len(data) // 3], req(width=64))
    assert info.value.status == 422


def test_zero_bytes_is_422():
    with pytest.raises(Undecodable):
        render(b"", req(width=64))


def test_html_named_jpg_is_415():
    with pytest.raises(UnsupportedFormat) as info:
        render(b"<!doctype html><html><body>hi</body></html>", req(width=64))
    assert info.value.status == 415


def test_postscript_never_reaches_ghostscript():
    with pytest.raises(UnsupportedFormat):
        render(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", req(width=64))


def test_header_claiming_50000_square_is_413_before_decoding():
    data = _png_header(50000, 50000) + png_chunk(b"IDAT", zlib.compress(b"\0" * 100))
    data += png_chunk(b"IEND", b"")
    with pytest.raises(TooLarge) as info:
        render(data, req(width=64))
    assert info.value.status == 413


def test_pixel_limit_from_settings():
    data = encode(Image.new("RGB", (200, 200)), "PNG")
    with pytest.raises(TooLarge):
        render(data, req(width=64), limits=Limits(max_source_pixels=100 * 100))


def test_byte_limit():
    data = encode(Image.new("RGB", (200, 200)), "PNG")
    with pytest.raises(TooLarge):
        render(data, req(width=64), limits=Limits(max_source_bytes=100))


def test_huge_ztxt_is_413():
    bomb = b"Comment\0\0" + zlib.compress(b"A" * (64 * 1024 * 1024), 9)
    raw = zlib.compress(b"".join(b"\0" + b"\0" * 3 * 8 for _ in range(8)))
    data = _png_header(8, 8) + png_chunk(b"zTXt", bomb) + png_chunk(b"IDAT", raw)
    data += png_chunk(b"IEND", b"")
    with pytest.raises(TooLarge) as info:
        render(data, req(width=8))
    assert info.value.status == 413


def test_corrupt_png_crc_is_422():
    data = bytearray(encode(quadrants(), "PNG"))
    data[40] ^= 0xFF
    with pytest.raises(Undecodable):
        render(bytes(data), req(width=16))


def test_drafted_decode_matches_a_full_decode(samples):
    from PIL import ImageChops, ImageStat

    data = (samples / "jon-tyson-FKkK1hnTe-Q-unsplash.jpg").read_bytes()
    ours = decode(render(data, req(width=1280, fmt="png")).body).convert("RGB")
    full = decode(data).convert("RGB").resize(ours.size, Image.Resampling.LANCZOS)
    mean_diff = ImageStat.Stat(ImageChops.difference(ours, full)).mean
    assert ours.size == (1280, 960)
    assert max(mean_diff) < 0.8, mean_diff  # measured 0.4; a BOX resize gives 1.1


@pytest.mark.parametrize("source", ["WEBP", "AVIF", "GIF", "PNG"])
def test_every_allowed_source_format_decodes(source):
    im = quadrants(80, 40)
    data = encode(im if source != "GIF" else im.convert("P"), source, quality=95)
    out = decode(render(data, req(width=40, fmt="jpeg")).body)
    assert out.size == (40, 20)
    assert close(out.getpixel((5, 5)), RED, tol=60) and close(out.getpixel((35, 15)), WHITE)


def test_animated_webp_source_stays_animated():
    frames = [Image.new("RGBA", (64, 32), (*c, 255)) for c in (RED, GREEN, BLUE)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50)
    out = decode(render(data, req(width=32, fmt="webp")).body)
    assert getattr(out, "n_frames", 1) == 3 and out.size == (32, 16)


def test_thousands_of_frames_cost_only_the_first():
    data = _animated_gif(2000)
    result = render(data, req(width=32, fmt="webp"))
    out = decode(result.body)
    assert getattr(out, "n_frames", 1) == 1 and close(out.convert("RGB").getpixel((4, 4)), RED)


@pytest.mark.parametrize(
    ("size", "width"),
    [((4001, 3000), 640), ((4001, 3000), 256), ((3001, 4003), 640), ((4001, 3000), 1080)],
)
def test_odd_sized_jpegs_draft_without_overrunning_the_box(size, width):
    data = encode(Image.new("RGB", size, (10, 120, 200)), "JPEG", quality=80)
    out = decode(render(data, req(width=width, fmt="jpeg")).body)
    assert out.size == (width, round(size[1] * width / size[0]))
    assert close(out.getpixel((5, 5)), (10, 120, 200), tol=8)


def test_animation_budget_counts_source_pixels():
    big = [Image.new("RGB", (1000, 1000), c) for c in (RED, GREEN, BLUE)]
    data = encode(big[0], "GIF", save_all=True, append_images=big[1:], duration=80, loop=0)
    kept = render(data, req(width=16, fmt="webp"), limits=Limits(max_animated_pixels=3_000_000))
    assert getattr(decode(kept.body), "n_frames", 1) == 3
    cut = render(data, req(width=16, fmt="webp"), limits=Limits(max_animated_pixels=2_999_999))
    assert getattr(decode(cut.body), "n_frames", 1) == 1


@pytest.mark.parametrize(("loop", "expected"), [(None, 1), (0, 0), (3, 3)])
def test_gif_loop_count_is_kept(loop, expected):
    frames = [Image.new("RGB", (16, 16), c) for c in (RED, GREEN)]
    params = {} if loop is None else {"loop": loop}
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, **params)
    assert decode(render(data, req(width=16, fmt="webp")).body).info.get("loop") == expected


def test_grey_contain_padding_uses_the_background_colour():
    data = encode(Image.new("L", (200, 100), 128), "PNG")
    out = decode(render(data, req(100, 100, "contain", fmt="jpeg"), background=(0, 0, 0)).body)
    assert out.size == (100, 100)
    assert max(out.convert("RGB").getpixel((50, 5))) <= 8  # black, not white
    coloured = render(data, req(100, 100, "contain", fmt="png"), background=(255, 0, 0)).body
    assert close(decode(coloured).convert("RGB").getpixel((50, 5)), RED, tol=4)


def _mutations(data: bytes, rng, count: int):
    """Damaged copies of data: flipped bytes, truncations, insertions, deletions."""
    for _ in range(count):
        b = bytearray(data)
        op = rng.randrange(4)
        pos = rng.randrange(len(b))
        if op == 0:
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1:
            b = b[: max(1, pos)]
        elif op == 2:
            b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        else:
            del b[pos : pos + rng.randint(1, 64)]
        yield bytes(b)


@pytest.mark.parametrize("source", ["JPEG", "PNG", "GIF", "WEBP", "AVIF"])
def test_damaged_files_get_a_4xx_never_an_unexpected_error(source):
    import random

    from origin_handler.errors import OriginError

    base = quadrants(48, 32).convert("P" if source == "GIF" else "RGB")
    data = encode(base, source, quality=80)
    rng = random.Random(source)
    outcomes = {"rendered": 0, "refused": 0}
    for damaged in _mutations(data, rng, 150):
        try:
            render(damaged, req(width=32, fmt="webp"))
            outcomes["rendered"] += 1
        except OriginError as err:
            assert 400 <= err.status < 500, err
            outcomes["refused"] += 1
    assert outcomes["rendered"] and outcomes["refused"]  # the mutations really damaged files


def test_a_missing_encoder_is_a_precise_500(monkeypatch):
    from PIL import Image as PILImage

    from origin_handler.errors import EncodeError

    monkeypatch.delitem(PILImage.SAVE, "AVIF")  # as in a Pillow build without libavif
    with pytest.raises(EncodeError) as info:
        render(encode(quadrants(), "PNG"), req(width=16, fmt="avif"))
    assert info.value.status == 500 and info.value.message == "cannot encode avif: KeyError"


@pytest.mark.parametrize("accelerated", sorted({False, resample.ACCELERATED}))
def test_narrow_source_cover_thumbnail_renders(monkeypatch, accelerated):
    # 49 px wide: the planned crop box used to start at -3.6e-15 and every engine refused it.
    monkeypatch.setattr(resample, "ACCELERATED", accelerated)
    data = encode(Image.new("RGB", (49, 11101), (200, 10, 10)), "PNG")
    out = decode(render(data, req(width=16, height=16, fit="cover", fmt="png")).body)
    assert out.size == (16, 16)
    assert out.convert("RGB").getpixel((8, 8)) == (200, 10, 10)


def test_thin_jpeg_is_drafted_without_dividing_by_zero():
    # 287×1: the draft request was (143, 0) and Pillow divided by it (a 500).
    data = encode(Image.new("RGB", (287, 1), (10, 200, 10)), "JPEG")
    out = decode(render(data, req(width=32, fmt="png")).body)
    assert out.size == (32, 1)


SOURCE_MODES = {
    "JPEG": ("RGB", "L", "CMYK"),
    "PNG": ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"),
    "GIF": ("P", "L"),
    "WEBP": ("RGB", "RGBA"),
    "AVIF": ("RGB", "RGBA"),
}


@pytest.mark.parametrize("seed", range(4))
def test_random_geometry_renders_the_planned_size_in_every_mode(monkeypatch, seed):
    """Seeded sweep: tiny, thin and odd sources, every mode, fit, format and resize engine.

    Found the 1 px high JPEG draft and the narrow cover crop 500s; every case must render.
    """
    import random

    from origin_handler.pipeline.geometry import plan, upright
    from origin_handler.policy import load_policy

    rng = random.Random(seed)
    policy = load_policy()
    for _ in range(120):
        size = (
            rng.choice([1, 2, 3, 7, rng.randint(1, 260)]),
            rng.choice([1, 2, 5, rng.randint(1, 260)]),
        )
        source = rng.choice(sorted(SOURCE_MODES))
        mode = rng.choice(SOURCE_MODES[source])
        noise = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
        base = Image.merge("RGB", (noise, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise))
        picture = base.convert(mode) if mode != "I;16" else base.convert("L").convert("I;16")
        exif = Image.Exif()
        exif[0x0112] = rng.randint(1, 8) if source in ("JPEG", "PNG", "WEBP") else 1
        data = encode(picture, source, quality=90, exif=exif.tobytes())
        request = req(
            width=rng.choice([None, *policy.widths[:6]]),
            height=rng.choice([None, *policy.heights[:6]]),
            fit=rng.choice(["cover", "contain", "inside"]),
            fmt=rng.choice(["webp", "avif", "jpeg", "png", "orig"]),
        )
        monkeypatch.setattr(resample, "ACCELERATED", rng.random() < 0.5 and resample.ACCELERATED)
        rendered = render(data, request)
        out = decode(rendered.body)
        orientation = exif[0x0112] if source != "GIF" else 1
        geometry = plan(*upright(size, orientation), request, policy)
        assert out.size == (rendered.width, rendered.height) == (geometry.canvas or geometry.size)


def _av1c_chroma(avif: bytes) -> list[tuple[int, bool, int, int]]:
    """(seq_profile, monochrome, subsampling_x, subsampling_y) of every av1C box in a file."""
    found, at = [], avif.find(b"av1C")
    while at != -1:
        profile_level, flags = avif[at + 5], avif[at + 6]
        found.append((profile_level >> 5, bool(flags & 0x10), (flags >> 3) & 1, (flags >> 2) & 1))
        at = avif.find(b"av1C", at + 4)
    return found


def test_avif_keeps_full_resolution_chroma():
    # 1 px red/blue columns: 4:2:0 would average each pair into purple.
    stripes = Image.new("RGB", (64, 32))
    for x in range(64):
        stripes.paste(RED if x % 2 == 0 else BLUE, (x, 0, x + 1, 32))
    rendered = render(encode(stripes, "PNG"), req(width=64, fmt="avif", quality=90))
    assert _av1c_chroma(rendered.body) == [(1, False, 0, 0)]  # High profile, 4:4:4
    out = decode(rendered.body).convert("RGB")
    for x in range(2, 62):
        assert close(out.getpixel((x, 16)), RED if x % 2 == 0 else BLUE, tol=70), x


def test_avif_alpha_plane_is_monochrome_beside_a_444_colour_plane():
    im = quadrants().convert("RGBA")
    im.putalpha(Image.linear_gradient("L").resize(im.size))
    rendered = render(encode(im, "PNG"), req(width=80, fmt="avif", quality=90))
    assert sorted(_av1c_chroma(rendered.body)) == [(0, True, 1, 1), (1, False, 0, 0)]
    assert decode(rendered.body).mode == "RGBA"


def _rgb16_colour_key_png() -> bytes:
    """A 16-bit RGB PNG, left half the tRNS key colour (Pillow cannot write one)."""
    key = (2570, 5140, 7710)
    row = b"\0" + struct.pack(">3H", *key) * 16 + struct.pack(">3H", 65535, 0, 0) * 16
    ihdr = struct.pack(">IIBBBBB", 32, 32, 16, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"tRNS", struct.pack(">3H", *key))
        + png_chunk(b"IDAT", zlib.compress(row * 32))
        + png_chunk(b"IEND", b"")
    )


def _colour_key_png(mode: str) -> bytes:
    """A 32×32 PNG in `mode` whose left half is its tRNS colour key."""
    if mode == "RGB;16":
        return _rgb16_colour_key_png()
    key, other = {
        "L": (10, 200),
        "RGB": ((10, 20, 30), (255, 0, 0)),
        "1": (0, 1),
        "I;16": (1000, 60000),
    }[mode]
    im = Image.new(mode, (32, 32), other)
    # putdata, not paste: paste of an int into I;16 writes other values.
    im.putdata([key if x < 16 else other for _ in range(32) for x in range(32)])
    return encode(im, "PNG", transparency=key)


COLOUR_KEY_MODES = ["L", "RGB", "1", "I;16", "RGB;16"]


@pytest.mark.parametrize("mode", COLOUR_KEY_MODES)
@pytest.mark.parametrize("fmt", ["webp", "avif", "png"])
def test_colour_key_transparency_is_kept_as_alpha(mode, fmt):
    # An untouched PNG may be the original itself: its alpha is whatever decoders see.
    alpha = decode(render(_colour_key_png(mode), req(width=32, fmt=fmt)).body)
    alpha = alpha.convert("RGBA").getchannel("A")
    assert alpha.getpixel((4, 16)) == 0 and alpha.getpixel((28, 16)) == 255


@pytest.mark.parametrize("mode", COLOUR_KEY_MODES)
def test_colour_key_is_flattened_for_jpeg_and_negotiates_png(mode):
    data = _colour_key_png(mode)
    flat = decode(render(data, req(width=32, fmt="jpeg"), background=(0, 128, 255)).body)
    assert close(flat.convert("RGB").getpixel((4, 16)), (0, 128, 255), tol=8)
    assert render(data, req(width=16, fmt="orig")).format == "png"
