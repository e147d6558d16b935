"""Where originals come from and derived variants go: one small protocol, S3 and local stores."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ..errors import NotFound, StorageError, StorageUnavailable, TooLarge
from ..settings import Settings

DELETE_BATCH = 1000  # S3 DeleteObjects takes at most 1000 keys per call


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

    def __init__(self, originals_bucket: str, derived_bucket: str, client: Any) -> None:
        self.originals_bucket = originals_bucket
        self.derived_bucket = derived_bucket
        self.client = client

    @classmethod
    def create(
        cls, originals_bucket: str, derived_bucket: str, endpoint_url: str | None = None
    ) -> S3Store:
        """A store with a boto3 client tuned for a request path: short timeouts, few retries."""
        import boto3
        from botocore.config import Config

        # Worst case 3 × (2 s + 5 s) = 21 s: a stuck S3 call ends as our 503 well inside
        # the 30 s function timeout instead of as a Lambda timeout CloudFront shows as 5xx.
        # read_timeout bounds each socket read, not a whole 50 MB download.
        config = Config(
            connect_timeout=2,
            read_timeout=5,
            retries={"mode": "standard", "max_attempts": 3},
        )
        client = boto3.client("s3", endpoint_url=endpoint_url, config=config)
        return cls(originals_bucket, derived_bucket, client)

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
            body = resp["Body"].read(max_bytes + 1)
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
            resp = self.client.get_object(Bucket=self.derived_bucket, Key=key)
            body = resp["Body"].read()
        except Exception as exc:
            error = _s3_error(exc, "variant")
            if isinstance(error, NotFound):
                return None
            raise error from None
        return _from_s3(resp, body)

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
    """Originals and variants in two directories; no key ever resolves outside its root."""

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
        tag = hashlib.md5(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
        modified = datetime.fromtimestamp(int(stat.st_mtime), UTC)
        return StoredObject(body, etag=f'"{tag}"', last_modified=modified)

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
        settings.originals_bucket, settings.derived_bucket, settings.s3_endpoint_url
    )
