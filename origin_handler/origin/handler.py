"""The request path: parse → derived? → fetch → transform → store → respond."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import logs
from ..errors import MethodNotAllowed, OriginError, StorageError, as_origin_error
from ..pipeline.info import render_info
from ..pipeline.options import RenderOptions
from ..pipeline.transform import render
from ..policy import Policy
from ..settings import Settings
from ..variants import InfoVariant, Variant
from . import responses, signing
from .event import HttpRequest
from .request import parse
from .storage import SOURCE_ETAG, ImageStore, StoredObject, storage_deadline, unquote_etag

SOURCE_LAST_MODIFIED = "source-last-modified"
# q=auto: the encoder quality chosen and its estimated SSIMULACRA2, so that other widths of
# the same original can start their search there (RenderOptions.hint).
AUTO_QUALITY, AUTO_SCORE = "auto-quality", "auto-score"


@dataclass(frozen=True)
class Rendition:
    """One variant rendered from an original: the object, whether it was stored, log fields."""

    obj: StoredObject
    stored: bool
    store_error: str | None = None
    log: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def render_options(variant: Variant) -> RenderOptions:
    """What the pipeline needs of a variant: its box, fit, quality and format."""
    if variant.auto:  # q=auto: the level decides; the fixed quality is not used
        return RenderOptions(
            variant.width, variant.height, variant.fit, 0, variant.format, auto=variant.auto
        )
    return RenderOptions(
        variant.width, variant.height, variant.fit, int(variant.quality), variant.format
    )


@dataclass
class Origin:
    """The request path with its settings, store and policy injected."""

    settings: Settings
    store: ImageStore
    policy: Policy

    def handle(self, event: dict[str, Any], remaining_ms: int | None = None) -> responses.Response:
        """Answer one function-URL (payload 2.0) event; never raises.

        ``remaining_ms`` is the invocation's time left (Lambda's context): storage calls get
        a deadline inside it (``StorageBudget.deadline_ms``) and end as a 503 past it.
        """
        started = time.perf_counter()
        request = HttpRequest.from_event(event)
        fields: dict[str, Any] = {"path": request.raw_path}
        deadline = None
        if remaining_ms is not None:
            deadline = time.monotonic() + self.settings.storage.deadline_ms(remaining_ms) / 1000
        try:
            response = self._respond(request, fields, deadline)
        except Exception as exc:  # every failure becomes a status, never a traceback
            err = as_origin_error(exc)
            fields.update(source="error", error=err.message, error_code=err.code)
            if not isinstance(exc, OriginError):
                logs.logger.exception("unexpected error")
            response = responses.error(err, self.settings.not_found_max_age, request.head)
        fields["status"] = response["statusCode"]
        fields["ms"] = round((time.perf_counter() - started) * 1000, 1)
        level = logging.INFO if fields["status"] < 500 else logging.ERROR
        logs.line(level, **logs.with_metrics(fields, self.settings.metrics_namespace))
        return response

    def _respond(
        self, request: HttpRequest, fields: dict[str, Any], deadline: float | None
    ) -> responses.Response:
        """The answer to one request; raises what ``handle`` maps to an error response."""
        if request.method == "OPTIONS":  # a preflight: the same 204 for every path
            fields["source"] = "preflight"
            return responses.preflight()
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed("only GET, HEAD and OPTIONS are served")
        variant = parse(request.raw_path, request.raw_query, request.accept, self.policy)
        fields.update(key=variant.key, ops=variant.ops)
        # Again here what the edge checked: a function deployed without the check (or with
        # an older policy) must not let unsigned renders through.
        signature = signing.verify_request(
            variant, request.raw_query, self.policy, self.settings.signing_secrets
        )
        if signature:
            fields["signed"] = True
        with storage_deadline(deadline):
            return self.serve(variant, request.head, fields, signature)

    def serve(
        self,
        variant: Variant | InfoVariant,
        head: bool,
        fields: dict[str, Any],
        signature: str | None = None,
    ) -> responses.Response:
        """The variant's answer: from the derived store, or rendered and stored now.

        ``signature``: the verified ``s`` of the request, carried into a redirect's Location
        (the edge checks the redirected request too).
        """
        mark = time.perf_counter()
        try:
            cached = self.store.get_derived(variant.derived_key)
        except OriginError as exc:  # a broken derived store must not stop rendering
            cached, fields["derived_error"] = None, exc.message
        if cached is not None:
            timings = {"derived": (time.perf_counter() - mark) * 1000}
            fields.update(source="derived", bytes_out=len(cached.body))
            return self._answer(variant, cached, timings, head, fields, signature)
        original = self.store.get_original(variant.key, self.settings.limits.max_source_bytes)
        fetched = (time.perf_counter() - mark) * 1000
        rendition = self.render_and_store(variant, original)
        fields.update(rendition.log)
        if rendition.store_error:
            fields["store_error"] = rendition.store_error
        if not rendition.stored and not self._fits(rendition.obj):
            # The redirect would point at nothing: the variant exists only in this answer.
            raise StorageError("variant too large to return and could not be stored")
        timings = {"fetch": fetched, **rendition.timings}
        return self._answer(variant, rendition.obj, timings, head, fields, signature)

    def render_and_store(
        self,
        variant: Variant | InfoVariant,
        original: StoredObject,
        metadata: Mapping[str, str] | None = None,
    ) -> Rendition:
        """Render one variant from the original's bytes and store it.

        The variant records the original's Last-Modified and ETag (``SOURCE_ETAG``: what a
        purge compares to keep variants of the current original), plus ``metadata``.

        The one path that writes derived objects (``serve`` on a miss, and ``warm``, which
        fetches an original once and renders each missing variant from it). Raises the
        pipeline's errors (4xx for a bad original); a failed write is not raised but
        returned (``stored`` False, ``store_error``), since the variant can still be answered.
        """
        if isinstance(variant, InfoVariant):  # the info document: same limits, same errors
            rendered = render_info(original.body, limits=self.settings.limits)
        else:
            rendered = render(
                original.body,
                render_options(variant),
                limits=self.settings.limits,
                background=self.settings.jpeg_background,
                policy=self.policy,
            )
        timings = dict(rendered.timings)
        last_modified = original.last_modified
        chosen = {}
        if rendered.quality is not None:
            chosen[AUTO_QUALITY] = str(rendered.quality)
            if rendered.score is not None:
                chosen[AUTO_SCORE] = f"{rendered.score:.1f}"
        derived = StoredObject(
            rendered.body,
            rendered.content_type,
            f'"{hashlib.md5(rendered.body).hexdigest()}"',
            last_modified,
            {
                SOURCE_LAST_MODIFIED: last_modified.isoformat() if last_modified else "",
                SOURCE_ETAG: unquote_etag(original.etag),
                **chosen,
                **(metadata or {}),
            },
        )
        log = {
            "source": "rendered",
            "bytes_in": len(original.body),
            "bytes_out": len(rendered.body),
            "format": rendered.format,
            "size": f"{rendered.width}x{rendered.height}",
            "passthrough": rendered.passthrough,
        }
        if rendered.quality is not None:  # q=auto: what the search chose, and what it cost
            score = None if rendered.score is None else round(rendered.score, 1)
            log.update(quality=rendered.quality, score=score, encodes=rendered.encodes)
        mark = time.perf_counter()
        error = None
        try:
            self.store.put_derived(variant.derived_key, derived, self.cache_control)
        except OriginError as exc:
            error = exc.message
        timings["store"] = (time.perf_counter() - mark) * 1000
        return Rendition(derived, error is None, error, log, timings)

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
        variant: Variant | InfoVariant,
        obj: StoredObject,
        timings: dict[str, float],
        head: bool,
        fields: dict[str, Any],
        signature: str | None = None,
    ) -> responses.Response:
        """The image, or a redirect to it when it is too big for a function-URL answer."""
        if not self._fits(obj):
            fields["redirect"] = True
            query = f"?{signing.PARAM}={signature}" if signature else ""
            return responses.redirect(variant.canonical_uri + query)
        if isinstance(variant, InfoVariant):
            return responses.info(
                obj.body,
                etag=obj.etag,
                last_modified=source_last_modified(obj),
                cache_control=self.cache_control,
                server_timing=timings,
                head=head,
            )
        return responses.image(
            obj.body,
            content_type=obj.content_type,
            etag=obj.etag,
            last_modified=source_last_modified(obj),
            cache_control=self.cache_control,
            vary_accept=variant.negotiated,
            server_timing=timings,
            head=head,
        )


def source_last_modified(obj: StoredObject) -> datetime | None:
    """The original's Last-Modified recorded on a variant, else the object's own."""
    raw = obj.metadata.get(SOURCE_LAST_MODIFIED)
    if raw:
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            pass
    return obj.last_modified
