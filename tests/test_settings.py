"""Settings are read once from the environment and validated."""

from __future__ import annotations

import pytest

from origin_handler.settings import Settings, SettingsError


def test_defaults_and_overrides():
    s = Settings.from_env({})
    assert (s.browser_max_age, s.cdn_max_age, s.jpeg_background) == (86400, 31536000, (255,) * 3)
    s = Settings.from_env(
        {
            "BROWSER_MAX_AGE": "60",
            "JPEG_BACKGROUND": "#102030",
            "MAX_FRAMES": "5",
            "WARM_WIDTHS": "640,1080",
            "WARM_FORMATS": "avif,webp",
        }
    )
    assert s.browser_max_age == 60 and s.jpeg_background == (16, 32, 48)
    assert s.limits.max_frames == 5
    assert s.warm_widths == (640, 1080) and s.warm_formats == ("avif", "webp")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAX_SOURCE_BYTES": "lots"}, "MAX_SOURCE_BYTES must be a whole number"),
        ({"CDN_MAX_AGE": "-1"}, "CDN_MAX_AGE must not be negative"),
        ({"JPEG_BACKGROUND": "white"}, "JPEG_BACKGROUND must be a hex colour"),
        ({"WARM_WIDTHS": "640,big"}, "WARM_WIDTHS must be a comma-separated list"),
    ],
)
def test_bad_settings_fail_at_cold_start(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_storage_budget_is_read_and_checked():
    budget = Settings.from_env({"S3_READ_TIMEOUT_MS": "1500", "STORAGE_RESERVE_MS": "4000"}).storage
    assert (budget.read_timeout_ms, budget.reserve_ms, budget.max_attempts) == (1500, 4000, 3)
    assert budget.deadline_ms(30_000) == 26_000  # remaining time less the reserve
    assert budget.deadline_ms(6_000) == 3_000  # but at least half of what is left
    with pytest.raises(SettingsError, match="S3_MAX_ATTEMPTS"):
        Settings.from_env({"S3_MAX_ATTEMPTS": "0"})


def test_signing_keys_are_a_json_object_of_ids_and_long_secrets():
    keys = Settings.from_env(
        {"SIGNING_KEYS": '{"k2": "' + "b" * 32 + '", "k1": "' + "a" * 40 + '"}'}
    )
    assert keys.signing_secrets == {"k1": "a" * 40, "k2": "b" * 32}
    assert Settings.from_env({}).signing_secrets == {}
    for raw, message in [
        ("k1=abc", "SIGNING_KEYS must be a JSON object"),
        ('["k1"]', "SIGNING_KEYS must be a JSON object"),
        ('{"bad id": "' + "a" * 32 + '"}', "key id 'bad id' must be 1-32 characters"),
        ('{"k1": "short"}', "the secret of 'k1' must be a string of at least 32 characters"),
        ('{"k1": 12345}', "the secret of 'k1' must be a string"),
    ]:
        with pytest.raises(SettingsError, match=message):
            Settings.from_env({"SIGNING_KEYS": raw})
