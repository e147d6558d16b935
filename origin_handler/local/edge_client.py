"""Client of the local edge's invalidation endpoint, for `image-origin invalidate --local URL`."""

from __future__ import annotations

import json
import urllib.request

from ..lifecycle.invalidation import InvalidationReport, Submitted

LOCAL_INVALIDATE_PATH = "/__edge/invalidate"


class LocalEdgeInvalidator:
    """Invalidates the in-memory edge cache of `image-origin serve` over HTTP."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @property
    def target(self) -> str:
        """Where invalidations go, for messages."""
        return f"local edge {self.base_url}"

    def run(self, paths: list[str], reference: str, wait: bool = False) -> InvalidationReport:
        """POST every path at once: the local edge has no in-progress limits."""
        report = InvalidationReport()
        if not paths:
            return report
        body = json.dumps({"paths": paths}).encode()
        req = urllib.request.Request(
            self.base_url + LOCAL_INVALIDATE_PATH,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                answer = json.loads(resp.read() or b"{}")
        except (OSError, ValueError) as exc:
            report.error = f"local edge failed: {exc}"
            report.not_submitted = list(paths)
            return report
        count = answer.get("invalidated", 0)
        report.submitted.append(Submitted("local", list(paths), f"Completed ({count} dropped)"))
        return report
