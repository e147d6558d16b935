"""Settings.from_env(): every environment variable read once, validated, frozen."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

HEX_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6})$")
# Signing key ids and secrets (docs/signed-urls.md): the same rules as the edge's store.
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
MIN_SECRET_CHARS = 32


class SettingsError(ValueError):
    """A setting is missing or malformed (raised at cold start, never per request)."""


@dataclass(frozen=True)
class Limits:
    """What an original may cost before it is decoded."""

    max_source_bytes: int = 50 * 1024 * 1024
    max_source_pixels: int = 100_000_000
    max_frames: int = 100
    max_animated_pixels: int = 100_000_000


@dataclass(frozen=True)
class StorageBudget:
    """How long storage calls on the request path may take (milliseconds, attempts).

    Every S3 attempt is bounded by connect + read timeout; attempts are retried (botocore's
    standard mode, throttling included) up to ``max_attempts``, but none is started once the
    invocation's storage deadline has passed: its remaining time less ``reserve_ms`` (kept
    for the attempt in flight, rendering and answering), or half its remaining time when
    that is more. The derived read is only an optimisation: one attempt, a shorter timeout.
    """

    connect_timeout_ms: int = 1000
    read_timeout_ms: int = 2000
    max_attempts: int = 3
    derived_read_timeout_ms: int = 1000
    reserve_ms: int = 5000

    def deadline_ms(self, remaining_ms: int) -> float:
        """The storage budget within an invocation that has ``remaining_ms`` left."""
        return max(remaining_ms - self.reserve_ms, remaining_ms / 2)


@dataclass(frozen=True)
class Settings:
    """Deployment settings; docs/deploy.md, "Settings", describes each variable."""

    originals_bucket: str = ""
    derived_bucket: str = ""
    s3_endpoint_url: str | None = None
    originals_dir: str = ""
    derived_dir: str = ""
    browser_max_age: int = 86_400
    cdn_max_age: int = 31_536_000
    not_found_max_age: int = 60
    jpeg_background: tuple[int, int, int] = (255, 255, 255)
    limits: Limits = field(default_factory=Limits)
    max_response_bytes: int = 6 * 1024 * 1024
    distribution_id: str = ""
    warm_widths: tuple[int, ...] = ()
    warm_formats: tuple[str, ...] = ()
    metrics_namespace: str = ""
    storage: StorageBudget = field(default_factory=StorageBudget)
    # Key id -> secret for signed URLs; a tuple of pairs so that the settings stay hashable.
    signing_keys: tuple[tuple[str, str], ...] = ()

    @property
    def signing_secrets(self) -> dict[str, str]:
        """The signing keys as a mapping (key id -> secret)."""
        return dict(self.signing_keys)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the environment once (at cold start)."""
        env = os.environ if env is None else env
        limits = Limits(
            max_source_bytes=_int(env, "MAX_SOURCE_BYTES", Limits.max_source_bytes),
            max_source_pixels=_int(env, "MAX_SOURCE_PIXELS", Limits.max_source_pixels),
            max_frames=_int(env, "MAX_FRAMES", Limits.max_frames),
            max_animated_pixels=_int(env, "MAX_ANIMATED_PIXELS", Limits.max_animated_pixels),
        )
        budget = StorageBudget(
            connect_timeout_ms=_int(env, "S3_CONNECT_TIMEOUT_MS", StorageBudget.connect_timeout_ms),
            read_timeout_ms=_int(env, "S3_READ_TIMEOUT_MS", StorageBudget.read_timeout_ms),
            max_attempts=_int(env, "S3_MAX_ATTEMPTS", StorageBudget.max_attempts),
            derived_read_timeout_ms=_int(
                env, "S3_DERIVED_READ_TIMEOUT_MS", StorageBudget.derived_read_timeout_ms
            ),
            reserve_ms=_int(env, "STORAGE_RESERVE_MS", StorageBudget.reserve_ms),
        )
        if budget.max_attempts < 1:
            raise SettingsError("S3_MAX_ATTEMPTS must be at least 1")
        for name, value in (
            ("S3_CONNECT_TIMEOUT_MS", budget.connect_timeout_ms),
            ("S3_READ_TIMEOUT_MS", budget.read_timeout_ms),
            ("S3_DERIVED_READ_TIMEOUT_MS", budget.derived_read_timeout_ms),
        ):
            if value < 1:
                raise SettingsError(f"{name} must be at least 1")
        return cls(
            originals_bucket=env.get("ORIGINALS_BUCKET", ""),
            derived_bucket=env.get("DERIVED_BUCKET", ""),
            s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
            originals_dir=env.get("ORIGINALS_DIR", ""),
            derived_dir=env.get("DERIVED_DIR", ""),
            browser_max_age=_int(env, "BROWSER_MAX_AGE", cls.browser_max_age),
            cdn_max_age=_int(env, "CDN_MAX_AGE", cls.cdn_max_age),
            not_found_max_age=_int(env, "NOT_FOUND_MAX_AGE", cls.not_found_max_age),
            jpeg_background=_colour(env.get("JPEG_BACKGROUND", "#ffffff")),
            limits=limits,
            max_response_bytes=_int(env, "MAX_RESPONSE_BYTES", cls.max_response_bytes),
            distribution_id=env.get("DISTRIBUTION_ID", ""),
            warm_widths=tuple(_int_list(env.get("WARM_WIDTHS", ""), "WARM_WIDTHS")),
            warm_formats=tuple(f for f in env.get("WARM_FORMATS", "").split(",") if f),
            metrics_namespace=env.get("METRICS_NAMESPACE", ""),
            storage=budget,
            signing_keys=_signing_keys(env.get("SIGNING_KEYS", "")),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value


def _int_list(raw: str, name: str) -> list[int]:
    try:
        return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise SettingsError(f"{name} must be a comma-separated list of widths") from None


def _signing_keys(raw: str) -> tuple[tuple[str, str], ...]:
    """SIGNING_KEYS: a JSON object of key id -> secret (Terraform's signing_keys)."""
    if not raw.strip():
        return ()
    try:
        keys = json.loads(raw)
    except ValueError:
        raise SettingsError("SIGNING_KEYS must be a JSON object of key id -> secret") from None
    if not isinstance(keys, dict):
        raise SettingsError("SIGNING_KEYS must be a JSON object of key id -> secret")
    for key_id, secret in keys.items():
        if not KEY_ID.match(key_id):
            raise SettingsError(
                f"SIGNING_KEYS: key id {key_id!r} must be 1-32 characters of A-Z a-z 0-9 _ -"
            )
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_CHARS:
            raise SettingsError(
                f"SIGNING_KEYS: the secret of {key_id!r} must be a string of at least"
                f" {MIN_SECRET_CHARS} characters (image-origin sign --new-secret makes one)"
            )
    return tuple(sorted(keys.items()))


def _colour(raw: str) -> tuple[int, int, int]:
    match = HEX_COLOUR.match(raw.strip())
    if not match:
        raise SettingsError(f"JPEG_BACKGROUND must be a hex colour like #ffffff, got {raw!r}")
    value = int(match.group(1), 16)
    return (value >> 16 & 255, value >> 8 & 255, value & 255)
