"""Response shapes and the function-URL size arithmetic."""

from __future__ import annotations

import base64

from origin_handler.errors import BadRequest, StorageUnavailable
from origin_handler.origin import responses


def test_base64_size_matches_the_encoder():
    for n in (0, 1, 2, 3, 4, 1000, 4_718_592):
        assert responses.base64_size(n) == len(base64.b64encode(b"\0" * n))


def test_fits_function_url_counts_base64_and_headers():
    limit = 6 * 1024 * 1024
    assert responses.fits_function_url(4_700_000, limit)
    assert not responses.fits_function_url(4_718_592, limit)


def test_errors_are_plain_short_and_cacheable_only_when_4xx():
    bad = responses.error(BadRequest("invalid w: expected a whole number from 1"), 60)
    assert bad["statusCode"] == 400 and bad["headers"]["Cache-Control"] == "public, max-age=60"
    assert bad["body"] == "400 invalid w: expected a whole number from 1\n"
    busy = responses.error(StorageUnavailable("storage is busy, try again"), 60)
    assert busy["statusCode"] == 503 and busy["headers"]["Cache-Control"] == "no-store"
