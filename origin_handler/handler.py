"""Lambda function-URL entry point: parse → derived? → fetch → transform → store → respond."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import logs, resample, responses
from .errors import MethodNotAllowed, OriginError, StorageError, as_origin_error
from .policy import Policy, load_policy
from .request import TransformRequest, parse
from .settings import Settings
from .storage import ImageStore, LocalStore, S3Store, StoredObject
from .transform import render

SOURCE_LAST_MODIFIED = "source-last-modified"


@dataclass
class Origin:
    """The request path with its settings, store and policy injected."""

    settings: Settings
    store: ImageStore
    policy: Policy

    def handle(self, event: dict[str, Any]) -> responses.Response:
        """Answer one function-URL (payload 2.0) event; never raises."""
        started = time.perf_counter()
        http = event.get("requestContext", {}).get("http", {})
        method = (http.get("method") or "GET").upper()
        head = method == "HEAD"
        fields: dict[str, Any] = {"path": event.get("rawPath", "")}
        try:
            if method not in ("GET", "HEAD"):
                raise MethodNotAllowed("only GET and HEAD are served")
            headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
            req = parse(
                event.get("rawPath") or "/",
                event.get("rawQueryString") or "",
                headers.get("accept"),
                self.policy,
            )
            fields.update(key=req.key, ops=req.ops)
            response = self.serve(req, head, fields)
        except Exception as exc:  # every failure becomes a status, never a traceback
            err = as_origin_error(exc)
            fields.update(source="error", error=err.message, error_code=err.code)
            if not isinstance(exc, OriginError):
                logs.logger.exception("unexpected error")
            response = responses.error(err, self.settings.not_found_max_age, head)
        fields["status"] = response["statusCode"]
        fields["ms"] = round((time.perf_counter() - started) * 1000, 1)
        level = logging.INFO if fields["status"] < 500 else logging.ERROR
        logs.line(level, **logs.with_metrics(fields, self.settings.metrics_namespace))
        return response

    def serve(
        self, req: TransformRequest, head: bool, fields: dict[str, Any]
    ) -> responses.Response:
        """The variant's answer: from the derived store, or rendered and stored now."""
        timings: dict[str, float] = {}
        mark = time.perf_counter()
        try:
            cached = self.store.get_derived(req.derived_key)
        except OriginError as exc:  # a broken derived store must not stop rendering
            cached, fields["derived_error"] = None, exc.message
        if cached is not None:
            timings["derived"] = (time.perf_counter() - mark) * 1000
            fields.update(source="derived", bytes_out=len(cached.body))
            return self._answer(req, cached, timings, head, fields)
        original = self.store.get_original(req.key, self.settings.limits.max_source_bytes)
        timings["fetch"] = (time.perf_counter() - mark) * 1000
        derived, stored = self.render_and_store(req, original, fields, timings)
        if not stored and not self._fits(derived):
            # The redirect would point at nothing: the variant exists only in this answer.
            raise StorageError("variant too large to return and could not be stored")
        return self._answer(req, derived, timings, head, fields)

    def render_and_store(
        self,
        req: TransformRequest,
        original: StoredObject,
        fields: dict[str, Any],
        timings: dict[str, float] | None = None,
    ) -> tuple[StoredObject, bool]:
        """Render one variant from the original's bytes and store it: (variant, stored).

        The one path that writes derived objects (``serve`` on a miss, and ``warm``, which
        fetches an original once and renders each missing variant from it). Raises the
        pipeline's errors (4xx for a bad original); a failed write is not raised but noted
        as ``fields["store_error"]``, since the variant can still be answered.
        """
        timings = {} if timings is None else timings
        rendered = render(
            original.body,
            req,
            limits=self.settings.limits,
            background=self.settings.jpeg_background,
            policy=self.policy,
        )
        timings.update(rendered.timings)
        last_modified = original.last_modified
        derived = StoredObject(
            rendered.body,
            rendered.content_type,
            f'"{hashlib.md5(rendered.body).hexdigest()}"',
            last_modified,
            {SOURCE_LAST_MODIFIED: last_modified.isoformat() if last_modified else ""},
        )
        fields.update(
            source="rendered",
            bytes_in=len(original.body),
            bytes_out=len(rendered.body),
            format=rendered.format,
            size=f"{rendered.width}x{rendered.height}",
            passthrough=rendered.passthrough,
        )
        mark = time.perf_counter()
        stored = True
        try:
            self.store.put_derived(req.derived_key, derived, self.cache_control)
        except OriginError as exc:
            stored = False
            fields["store_error"] = exc.message
        timings["store"] = (time.perf_counter() - mark) * 1000
        return derived, stored

    @property
    def cache_control(self) -> str:
        """Cache-Control for images, as stored on derived objects and sent by the origin."""
        return responses.cache_control_image(
            self.settings.browser_max_age, self.settings.cdn_max_age
        )

    def _fits(self, obj: StoredObject) -> bool:
        return responses.fits_function_url(len(obj.body), self.settings.max_response_bytes)

    def _answer(
        self,
        req: TransformRequest,
        obj: StoredObject,
        timings: dict[str, float],
        head: bool,
        fields: dict[str, Any],
    ) -> responses.Response:
        """The image, or a redirect to it when it is too big for a function-URL answer."""
        if not self._fits(obj):
            fields["redirect"] = True
            return responses.redirect(req.canonical_uri)
        return responses.image(
            obj.body,
            content_type=obj.content_type,
            etag=obj.etag,
            last_modified=_source_last_modified(obj),
            cache_control=self.cache_control,
            vary_accept=req.negotiated,
            server_timing=timings,
            head=head,
        )


def _source_last_modified(obj: StoredObject) -> datetime | None:
    raw = obj.metadata.get(SOURCE_LAST_MODIFIED)
    if raw:
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            pass
    return obj.last_modified


def build_store(settings: Settings) -> ImageStore:
    """The one place a store is built: local directories when ORIGINALS_DIR is set, else S3.

    The Lambda functions pass Settings.from_env(); the CLI commands pass the same settings
    with their flags applied (dataclasses.replace), so every store comes from here.
    """
    if settings.originals_dir:
        return LocalStore(settings.originals_dir, settings.derived_dir or "/tmp/image-origin")
    return S3Store.create(
        settings.originals_bucket, settings.derived_bucket, settings.s3_endpoint_url
    )


_origin: Origin | None = None


def get_origin() -> Origin:
    """The process-wide Origin, built once at cold start."""
    global _origin
    if _origin is None:
        logs.setup()
        settings = Settings.from_env()
        _origin = Origin(settings, build_store(settings), load_policy())
        codecs = codec_support()
        # A zip built with the wrong Pillow wheels shows here once, not as scattered 500s.
        logs.line(
            logging.INFO if all(codecs.values()) else logging.ERROR,
            event="cold_start",
            codecs=codecs,
            resizer=resample.engine(),
        )
    return _origin


def codec_support() -> dict[str, bool]:
    """Which of the codecs the pipeline relies on this Pillow build has."""
    from PIL import features

    return {
        name: bool(features.check(name)) for name in ("jpg", "zlib", "webp", "avif", "littlecms2")
    }


def lambda_handler(event: dict[str, Any], context: Any = None) -> responses.Response:
    """AWS Lambda entry point for the function URL."""
    return get_origin().handle(event)
