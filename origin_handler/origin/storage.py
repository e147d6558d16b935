"""Where originals come from and derived variants go: one small protocol, S3 and local stores."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ..errors import (
    NotFound,
    OriginError,
    StorageDeadline,
    StorageError,
    StorageUnavailable,
    TooLarge,
)
from ..settings import Settings, StorageBudget
from ..variants import owner_of

DELETE_BATCH = 1000  # S3 DeleteObjects takes at most 1000 keys per call
# Variant metadata: the ETag (unquoted) of the original it was rendered from. For S3 that is
# the object's ETag; for a local file it is a hash of its size and mtime (LocalStore).
SOURCE_ETAG = "source-etag"
READ_CHUNK = 1 << 20  # bodies are read in chunks, the deadline checked between them

# time.monotonic() after which no storage call is started (None: no deadline). A context
# variable, so each thread of the local server keeps its own request's deadline.
_deadline: ContextVar[float | None] = ContextVar("storage_deadline", default=None)


@contextmanager
def storage_deadline(at: float | None) -> Iterator[None]:
    """Within this block, storage calls (and retries) past ``at`` raise StorageDeadline."""
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def check_deadline(**_: Any) -> None:
    """Raise StorageDeadline once the current deadline has passed (also a botocore hook)."""
    at = _deadline.get()
    if at is not None and time.monotonic() >= at:
        raise StorageDeadline("storage did not answer in time, try again")


def _no_retry_past_deadline(
    caught_exception: Exception | None = None, response: Any = None, **_: Any
) -> None:
    """botocore ``needs-retry`` hook: a failed attempt past the deadline is final (no backoff)."""
    failed = caught_exception is not None or (
        response is not None and response[0].status_code >= 500
    )
    if failed:
        check_deadline()


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes and the headers a response needs."""

    body: bytes
    content_type: str = "application/octet-stream"
    etag: str = ""
    last_modified: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)


class ImageStore(Protocol):
    """Originals are read-only; derived variants are read, written, listed and deleted."""

    def get_original(self, key: str, max_bytes: int) -> StoredObject:
        """The original's bytes; NotFound if absent, TooLarge if over max_bytes."""
        ...

    def peek_original(self, key: str, size: int) -> bytes:
        """The first bytes of an original (enough to sniff its format)."""
        ...

    def get_derived(self, key: str) -> StoredObject | None:
        """A stored variant, or None."""
        ...

    def original_etag(self, key: str) -> str | None:
        """The original's current ETag (unquoted, without reading it), or None if absent."""
        ...

    def derived_metadata(self, key: str) -> dict[str, str] | None:
        """A stored variant's metadata (without its body), or None if absent."""
        ...

    def put_derived(self, key: str, obj: StoredObject, cache_control: str) -> None:
        """Store a variant."""
        ...

    def list_derived(self, prefix: str) -> Iterator[str]:
        """Keys of stored variants under prefix."""
        ...

    def delete_derived(self, keys: Iterable[str]) -> list[str]:
        """Delete variants; returns the keys that could not be deleted."""
        ...

    def list_originals(self, prefix: str) -> Iterator[str]:
        """Keys of originals under prefix."""
        ...


def chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Consecutive lists of at most ``size`` items (S3 deletes, CloudFront invalidations)."""
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class S3Store:
    """Originals and derived variants in two S3 buckets."""

    def __init__(
        self,
        originals_bucket: str,
        derived_bucket: str,
        client: Any,
        derived_reads: Any | None = None,
    ) -> None:
        self.originals_bucket = originals_bucket
        self.derived_bucket = derived_bucket
        self.client = client
        # The derived read only saves a render: its own client, one short attempt.
        self.derived_reads = derived_reads if derived_reads is not None else client

    @classmethod
    def create(
        cls,
        originals_bucket: str,
        derived_bucket: str,
        endpoint_url: str | None = None,
        budget: StorageBudget | None = None,
    ) -> S3Store:
        """A store whose boto3 clients fit a request path: short timeouts, bounded retries.

        With the defaults (StorageBudget) an original's GET under a full stall gives up after
        3 attempts × 2 s plus backoff, the derived read after one 1 s attempt; and no attempt
        starts after the invocation's deadline (``storage_deadline``), so the 503 comes at
        most one attempt (connect + read timeout) after it. read_timeout bounds each socket
        read; a body is read in chunks with the deadline checked between them.
        """
        import boto3
        from botocore.config import Config

        budget = budget or StorageBudget()
        connect = budget.connect_timeout_ms / 1000

        def client(read_ms: int, attempts: int) -> Any:
            config = Config(
                connect_timeout=connect,
                read_timeout=read_ms / 1000,
                retries={"mode": "standard", "max_attempts": attempts},
            )
            made = boto3.client("s3", endpoint_url=endpoint_url, config=config)
            # Every attempt, retries included, first checks the invocation's deadline, and a
            # failed attempt past it is not retried (nor slept on).
            made.meta.events.register("before-send.s3", check_deadline)
            made.meta.events.register_first("needs-retry.s3", _no_retry_past_deadline)
            return made

        return cls(
            originals_bucket,
            derived_bucket,
            client(budget.read_timeout_ms, budget.max_attempts),
            client(budget.derived_read_timeout_ms, 1),
        )

    def get_original(self, key: str, max_bytes: int) -> StoredObject:
        """Fetch an original, refusing bodies over max_bytes before reading them."""
        try:
            resp = self.client.get_object(Bucket=self.originals_bucket, Key=key)
        except Exception as exc:
            raise _s3_error(exc, "original") from None
        length = int(resp.get("ContentLength") or 0)
        if length > max_bytes:
            resp["Body"].close()
            raise TooLarge(f"original is over {max_bytes} bytes")
        try:
            body = _read_body(resp["Body"], max_bytes + 1)
        except Exception as exc:
            raise _s3_error(exc, "original") from None
        if len(body) > max_bytes:
            raise TooLarge(f"original is over {max_bytes} bytes")
        return _from_s3(resp, body)

    def peek_original(self, key: str, size: int) -> bytes:
        """The first `size` bytes of an original, with a ranged GET."""
        try:
            resp = self.client.get_object(
                Bucket=self.originals_bucket, Key=key, Range=f"bytes=0-{size - 1}"
            )
            return resp["Body"].read(size)
        except Exception as exc:
            raise _s3_error(exc, "original") from None

    def get_derived(self, key: str) -> StoredObject | None:
        """A stored variant, or None when there is none yet."""
        try:
            resp = self.derived_reads.get_object(Bucket=self.derived_bucket, Key=key)
            body = _read_body(resp["Body"])
        except Exception as exc:
            error = _s3_error(exc, "variant")
            if isinstance(error, NotFound):
                return None
            raise error from None
        return _from_s3(resp, body)

    def original_etag(self, key: str) -> str | None:
        """HEAD the original: its ETag, or None when there is none (any more)."""
        try:
            resp = self.client.head_object(Bucket=self.originals_bucket, Key=key)
        except Exception as exc:
            error = _s3_error(exc, "original")
            if isinstance(error, NotFound):
                return None
            raise error from None
        return unquote_etag(resp.get("ETag", ""))

    def derived_metadata(self, key: str) -> dict[str, str] | None:
        """HEAD a variant: its user metadata, or None when it is not stored."""
        try:
            resp = self.client.head_object(Bucket=self.derived_bucket, Key=key)
        except Exception as exc:
            error = _s3_error(exc, "variant")
            if isinstance(error, NotFound):
                return None
            raise error from None
        return dict(resp.get("Metadata", {}))

    def put_derived(self, key: str, obj: StoredObject, cache_control: str) -> None:
        """Write a variant with the headers CloudFront will serve it with."""
        try:
            self.client.put_object(
                Bucket=self.derived_bucket,
                Key=key,
                Body=obj.body,
                ContentType=obj.content_type,
                CacheControl=cache_control,
                Metadata=obj.metadata,
            )
        except Exception as exc:
            raise _s3_error(exc, "variant") from None

    def list_derived(self, prefix: str) -> Iterator[str]:
        """Every derived key under prefix, across pages."""
        return self._list(self.derived_bucket, prefix)

    def list_originals(self, prefix: str) -> Iterator[str]:
        """Every original key under prefix, across pages."""
        return self._list(self.originals_bucket, prefix)

    def _list(self, bucket: str, prefix: str) -> Iterator[str]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"]
        except Exception as exc:
            raise _s3_error(exc, "listing") from None

    def delete_derived(self, keys: Iterable[str]) -> list[str]:
        """Batch-delete variants, 1000 per call; returns the keys S3 refused."""
        failed: list[str] = []
        for batch in chunks(keys, DELETE_BATCH):
            try:
                resp = self.client.delete_objects(
                    Bucket=self.derived_bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            except Exception as exc:
                raise _s3_error(exc, "delete") from None
            failed.extend(err["Key"] for err in resp.get("Errors", []))
        return failed


def unquote_etag(etag: str) -> str:
    """An ETag without its quotes (how variants record their original's)."""
    return etag.strip().strip('"')


def _read_body(stream: Any, limit: int | None = None) -> bytes:
    """A response body read in chunks (at most ``limit`` bytes), the deadline between them."""
    parts: list[bytes] = []
    total = 0
    while limit is None or total < limit:
        chunk = stream.read(READ_CHUNK if limit is None else min(READ_CHUNK, limit - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
        check_deadline()
    return b"".join(parts)


def _from_s3(resp: dict[str, Any], body: bytes) -> StoredObject:
    """A StoredObject from a GetObject answer whose body was already read."""
    return StoredObject(
        body,
        resp.get("ContentType", "application/octet-stream"),
        resp.get("ETag", ""),
        resp.get("LastModified"),
        resp.get("Metadata", {}),
    )


def _s3_error(exc: Exception, what: str) -> Exception:
    """Translate boto/botocore failures into the project's errors."""
    if isinstance(exc, OriginError):  # already ours: the deadline, a limit
        return exc
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "NoSuchBucket":
            return StorageError("storage bucket is missing")
        if code in ("NoSuchKey", "404", "NotFound") or status == 404:
            return NotFound(f"no such {what}")
        if code in ("SlowDown", "ServiceUnavailable", "RequestTimeout", "503") or status == 503:
            return StorageUnavailable("storage is busy, try again")
        if code in ("AccessDenied", "403") or status == 403:
            return StorageError("storage denied access")
        return StorageError(f"storage failed ({code or status})")
    if isinstance(exc, EndpointConnectionError | ReadTimeoutError | ConnectionError):
        return StorageUnavailable("storage is unreachable, try again")
    return StorageError("storage failed")


class LocalStore:
    """Originals and variants in two directories; no key ever resolves outside its root.

    Local originals change without events (a photo edited in place), so a variant whose
    recorded source ETag (a hash of the original's size and mtime) is not the original's
    current one is stale: ``get_derived`` answers None and the next request renders anew.
    """

    def __init__(self, originals_dir: str | Path, derived_dir: str | Path) -> None:
        self.originals = Path(originals_dir).resolve()
        self.derived = Path(derived_dir).resolve()
        self.derived.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _path(root: Path, key: str) -> Path:
        if not key or "\x00" in key:
            raise NotFound("no such object")
        path = (root / key).resolve()
        if path == root or not path.is_relative_to(root):
            raise NotFound("no such object")
        return path

    def get_original(self, key: str, max_bytes: int) -> StoredObject:
        """Read an original file, refusing files over max_bytes before reading them."""
        path = self._path(self.originals, key)
        try:
            stat = path.stat()
            if not path.is_file():
                raise NotFound("no such original")
            if stat.st_size > max_bytes:
                raise TooLarge(f"original is over {max_bytes} bytes")
            body = path.read_bytes()
        except FileNotFoundError:
            raise NotFound("no such original") from None
        except (NotADirectoryError, IsADirectoryError):
            raise NotFound("no such original") from None
        except OSError as exc:
            if _name_too_long(exc):
                raise NotFound("no such original") from None
            raise StorageError("storage failed") from None
        modified = datetime.fromtimestamp(int(stat.st_mtime), UTC)
        return StoredObject(body, etag=f'"{_file_etag(stat)}"', last_modified=modified)

    def original_etag(self, key: str) -> str | None:
        """The original file's ETag from its size and mtime (never read), or None."""
        try:
            path = self._path(self.originals, key)
            stat = path.stat()
        except (NotFound, OSError):
            return None
        return _file_etag(stat) if path.is_file() else None

    def derived_metadata(self, key: str) -> dict[str, str] | None:
        """A variant's recorded metadata (its sidecar), or None when it is not stored."""
        meta = self._sidecar(key)
        return None if meta is None else dict(meta.get("metadata", {}))

    def _sidecar(self, key: str) -> dict[str, Any] | None:
        path = self._path(self.derived, key)
        try:
            if not path.is_file():
                return None
            return json.loads(path.with_name(path.name + ".meta.json").read_text())
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            if _name_too_long(exc):
                return None
            raise StorageError("storage failed") from None
        except ValueError:
            raise StorageError("storage failed") from None

    def peek_original(self, key: str, size: int) -> bytes:
        """The first `size` bytes of an original file."""
        path = self._path(self.originals, key)
        try:
            with path.open("rb") as fh:
                return fh.read(size)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound("no such original") from None
        except OSError as exc:
            if _name_too_long(exc):
                raise NotFound("no such original") from None
            raise StorageError("storage failed") from None

    def get_derived(self, key: str) -> StoredObject | None:
        """A stored variant and its sidecar headers, or None."""
        path = self._path(self.derived, key)
        try:
            body = path.read_bytes()
            meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            if _name_too_long(exc):  # no such file can exist, so there is no variant either
                return None
            raise StorageError("storage failed") from None
        except ValueError:
            raise StorageError("storage failed") from None
        owner = owner_of(key)
        recorded = meta.get("metadata", {}).get(SOURCE_ETAG)
        if owner is not None and (not recorded or recorded != self.original_etag(owner)):
            return None  # rendered from another version of the original (or none recorded)
        modified = datetime.fromtimestamp(int(path.stat().st_mtime), UTC)
        return StoredObject(
            body,
            meta["content_type"],
            f'"{hashlib.md5(body).hexdigest()}"',
            modified,
            meta.get("metadata", {}),
        )

    def put_derived(self, key: str, obj: StoredObject, cache_control: str) -> None:
        """Write a variant atomically (temp file + rename), sidecar first."""
        path = self._path(self.derived, key)
        meta = {
            "content_type": obj.content_type,
            "cache_control": cache_control,
            "metadata": obj.metadata,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path.with_name(path.name + ".meta.json"), json.dumps(meta).encode())
            _atomic_write(path, obj.body)
        except OSError:
            raise StorageError("storage failed") from None

    def list_derived(self, prefix: str) -> Iterator[str]:
        """Derived keys under prefix (sidecars excluded)."""
        for key in self._walk(self.derived, prefix):
            if not key.endswith(".meta.json"):
                yield key

    def list_originals(self, prefix: str) -> Iterator[str]:
        """Original keys under prefix."""
        yield from self._walk(self.originals, prefix)

    @staticmethod
    def _walk(root: Path, prefix: str) -> Iterator[str]:
        for dirpath, _dirs, files in os.walk(root):
            for name in sorted(files):
                key = Path(dirpath, name).relative_to(root).as_posix()
                if key.startswith(prefix):
                    yield key

    def delete_derived(self, keys: Iterable[str]) -> list[str]:
        """Delete variants and their sidecars; missing ones count as deleted."""
        failed = []
        for key in keys:
            try:
                path = self._path(self.derived, key)
                path.unlink(missing_ok=True)
                path.with_name(path.name + ".meta.json").unlink(missing_ok=True)
            except (OSError, NotFound):
                failed.append(key)
        return failed


def _file_etag(stat: os.stat_result) -> str:
    """A local original's ETag: changes whenever its size or mtime (in ns) does."""
    return hashlib.md5(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()


def _name_too_long(exc: OSError) -> bool:
    """A path segment over the filesystem's limit (often 255 bytes): no such file can exist."""
    return exc.errno == errno.ENAMETOOLONG


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_store(settings: Settings) -> ImageStore:
    """The one place a store is built: local directories when ORIGINALS_DIR is set, else S3.

    The Lambda functions pass Settings.from_env(); the CLI commands pass the same settings
    with their flags applied (dataclasses.replace), so every store comes from here.
    """
    if settings.originals_dir:
        return LocalStore(settings.originals_dir, settings.derived_dir or "/tmp/image-origin")
    return S3Store.create(
        settings.originals_bucket,
        settings.derived_bucket,
        settings.s3_endpoint_url,
        settings.storage,
    )
