"""The shared remote cache: a second tier behind the local one, on any fsspec store (S3, GCS, NFS).

Layout under the remote's root (`s3://bucket/prefix`, `file:///mnt/nfs/seqc`, `memory://name`):

    seqc-remote.json                      the layout version (written by the first seqc to use it)
    clips/ab/<key>/<sha256>.mp4           content, named by its own digest: never overwritten by other bytes
    clips/ab/<key>.json                   the commit record: sha256, size, the sidecar's inputs and facts

Object stores have no rename, so an entry is published in two steps: the content object under
its digest, then the commit record, created exclusively (`open(path, "xb")`: S3 `If-None-Match: *`;
on a local or NFS folder a temp file hard-linked into place, which fails if the name exists). The
first writer wins; a loser adopts the winner's record and deletes its own content object if its
bytes differ. A reader trusts nothing but a record and content whose size and sha256 match it;
anything else is warned about, deleted (so the next push can commit again) and rendered again.
seqc never evicts: leave that to the store (S3 lifecycle rules, the share's owner).

fsspec and its backends are imported only when a remote is opened, so `seqc plan` and a no-op
render never load them. Leases and locks stay in the local cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from seqc import __version__
from seqc.errors import InputError, RenderError
from seqc.store import atomic
from seqc.store.files import CHUNK, HEX64_RE, json_bytes, sha256_file
from seqc.store.kinds import KINDS, SIDECAR_EXT, check_key, check_kind

if TYPE_CHECKING:
    from seqc.store.cache import Cache

LAYOUT = 1
MARKER = "seqc-remote.json"
INSTALL_HINT = "pip install 'seqc[remote]'"
# The schemes seqc writes a shared cache to; fsspec knows more, but most are read-only or local.
OBJECT_STORES = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "abfs", "abfs": "abfs", "abfss": "abfs"}
SCHEMES = ("s3://", "gs://", "az://", "file://", "memory://")
_BACKEND_PACKAGE = {"s3": "s3fs", "gcs": "gcsfs", "abfs": "adlfs"}


class RemoteURLError(InputError):
    """A --remote URL that is not one seqc can use (unknown scheme, no bucket, a relative path): exit 2."""


class RemoteExtraMissing(InputError):
    """The packages a remote needs are not installed: exit 2."""


class RemoteUnavailable(RenderError):
    """The remote cannot be used now: unreachable, no credentials, no bucket, access denied: exit 1."""


def parse_url(url: str) -> tuple[str, str]:
    """(fsspec protocol, the URL without a trailing slash), or RemoteURLError; imports nothing."""
    text = url.strip()
    if "://" not in text:
        hint = f"file://{text}" if text.startswith("/") else "s3://bucket/prefix or file:///mnt/share/seqc"
        raise RemoteURLError(f"--remote expects a URL, got {url!r} (for example {hint})")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if parts.query or parts.fragment:
        raise RemoteURLError(f"--remote {url!r}: a remote URL takes no '?' or '#' part (set the endpoint "
                             "and credentials in the environment, e.g. AWS_ENDPOINT_URL)")
    if scheme in OBJECT_STORES:
        if not parts.netloc:
            raise RemoteURLError(f"--remote {url!r} names no bucket (expected {scheme}://bucket/prefix)")
        if "@" in parts.netloc or ":" in parts.netloc:
            raise RemoteURLError(f"--remote {url!r}: put credentials and endpoints in the environment, "
                                 "not in the URL (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...)")
        return OBJECT_STORES[scheme], text.rstrip("/")
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise RemoteURLError(f"--remote {url!r}: a file URL needs an absolute path, "
                                 f"with three slashes: file:///{parts.netloc}{parts.path}".rstrip("/"))
        if parts.path.rstrip("/") == "":
            raise RemoteURLError(f"--remote {url!r}: not the root folder; name a folder for the cache")
        return "file", f"file://{parts.path.rstrip('/')}"
    if scheme == "memory":
        return "memory", text.rstrip("/")
    raise RemoteURLError(f"--remote {url!r}: unknown scheme {scheme + '://' if scheme else '(none)'} "
                         f"(seqc shares a cache on {', '.join(SCHEMES)})")


def describe(exc: BaseException) -> str:
    """One line for a failure of the store, without naming botocore's classes (not imported here)."""
    name = type(exc).__name__
    text = " ".join(str(exc).split())  # one line, whatever the driver's message holds
    if "Credential" in name:
        return ("no credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE; "
                "see the README's remote section)")
    if isinstance(exc, PermissionError):
        return f"access denied ({text})"
    if "Connect" in name or "Timeout" in name or isinstance(exc, (ConnectionError, TimeoutError)):
        return f"cannot reach the store: {text}"
    return f"{name}: {text}" if text else name


def open_remote(url: str) -> Remote:
    """Check a --remote URL and open the store: a bad URL is exit 2, a missing extra exit 2 naming
    it, an unreachable or forbidden store exit 1; nothing is rendered or written locally first."""
    # 1. The URL alone (no import).
    protocol, clean = parse_url(url)
    # 2. The packages.
    try:
        import fsspec
    except ImportError:
        raise RemoteExtraMissing(f"--remote needs fsspec, which is not installed: {INSTALL_HINT}") from None
    options: dict = {"skip_instance_cache": True}
    if protocol == "s3":
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            options["endpoint_url"] = endpoint
        options["config_kwargs"] = {"connect_timeout": 10, "read_timeout": 60,
                                    "retries": {"max_attempts": 3, "mode": "standard"}}
    try:
        fs, root = fsspec.core.url_to_fs(clean, **options)
    except ImportError:
        package = _BACKEND_PACKAGE.get(protocol, protocol)
        hint = INSTALL_HINT if protocol == "s3" else f"pip install {package}"
        scheme = clean.split("://", 1)[0]
        raise RemoteExtraMissing(f"--remote {clean}: {scheme}:// needs {package}, which is not installed: "
                                 f"{hint}") from None
    except ValueError as exc:
        raise RemoteURLError(f"--remote {clean}: {exc}") from None
    remote = Remote(clean, fs, root.rstrip("/"))
    # 3. The store: reachable, the bucket or folder there, and a layout this seqc reads.
    remote.check()
    return remote


class Remote:
    """An opened remote cache: `fetch` entries into a local Cache, `push` local entries to it."""

    def __init__(self, url: str, fs, root: str):
        from fsspec.implementations.local import LocalFileSystem

        self.url = url
        self.fs = fs
        self.root = root
        self.local = isinstance(fs, LocalFileSystem)  # NFS or a local folder: temp + rename / link
        self.exclusive = True  # the store refused nothing so far for `open(path, "xb")`

    def __repr__(self) -> str:
        return f"Remote({self.url!r})"

    # -- paths -----------------------------------------------------------------------------

    def record_path(self, kind: str, key: str) -> str:
        check_kind(kind)
        check_key(key)
        return f"{self.root}/{kind}/{key[:2]}/{key}{SIDECAR_EXT}"

    def content_path(self, kind: str, key: str, digest: str) -> str:
        return f"{self.root}/{kind}/{key[:2]}/{key}/{digest}{KINDS[kind]}"

    # -- opening ---------------------------------------------------------------------------

    def check(self) -> None:
        """Read the layout marker (or write it on first use); RemoteUnavailable if the store
        cannot be reached or written, RemoteURLError if it holds another layout."""
        marker = f"{self.root}/{MARKER}"
        if self.local:
            parent = Path(self.root).parent
            if not Path(self.root).is_dir() and not parent.is_dir():
                raise RemoteUnavailable(f"remote {self.url}: {parent} does not exist (is the share mounted?)")
            atomic.remove_dead_temps_of(Path(marker))
        try:
            raw = self.fs.cat_file(marker)
        except FileNotFoundError:
            raw = None
        except Exception as exc:  # noqa: BLE001 - any failure of the store is one line, exit 1
            raise RemoteUnavailable(f"remote {self.url}: {describe(exc)}") from None
        if raw is None:
            body = json_bytes({"layout": LAYOUT, "created_by": f"seqc {__version__}"})
            try:
                self.create_exclusive(marker, body)
            except FileNotFoundError:
                raise RemoteUnavailable(f"remote {self.url}: the bucket does not exist "
                                        "(create it first, or check the name)") from None
            except Exception as exc:  # noqa: BLE001
                raise RemoteUnavailable(f"remote {self.url}: cannot write to it: {describe(exc)}") from None
            return
        try:
            layout = json.loads(raw).get("layout")
        except (ValueError, AttributeError):
            layout = None
        if layout != LAYOUT:
            raise RemoteURLError(f"remote {self.url} holds {MARKER} with layout {layout!r}; this seqc reads "
                                 f"layout {LAYOUT} (upgrade seqc, or use another prefix)")

    # -- the two write primitives ----------------------------------------------------------

    def upload(self, local: Path, path: str) -> None:
        """Put a file's bytes at `path` in one step (S3: one PUT or a multipart upload, both atomic;
        a local folder: temp file, then rename)."""
        if self.local:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = atomic.temp_path_for(Path(path), shared=True)
            try:
                shutil.copyfile(local, tmp)
                os.replace(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            return
        self.fs.put_file(str(local), path)

    def create_exclusive(self, path: str, data: bytes) -> bool:
        """Create `path` holding `data` unless it exists; True if this call created it.

        A local folder: a whole temp file hard-linked into place (link fails if the name exists,
        on NFS too), so a reader never sees a half-written record. Elsewhere `open(path, "xb")`
        (S3: If-None-Match: *, one PUT). A store without exclusive create: check, then write (the
        last writer wins; both records name verified content)."""
        if self.local:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = atomic.temp_path_for(Path(path), shared=True)
            try:
                with open(tmp, "wb") as fh:
                    fh.write(data)
                os.link(tmp, path)
                return True
            except FileExistsError:
                return False
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        if self.exclusive:
            try:
                with self.fs.open(path, "xb") as fh:
                    fh.write(data)
                return True
            except FileExistsError:
                return False
            except (NotImplementedError, ValueError, TypeError):
                self.exclusive = False  # this backend has no exclusive create
        if self.fs.exists(path):
            return False
        self.fs.pipe_file(path, data)
        return True

    def _remove_dead_temps(self, kind: str, key: str) -> None:
        """A local folder: delete the temps an earlier push of this entry left when it was killed
        (this host's dead writers only: a live one's, or another machine's, are left alone)."""
        record = Path(self.record_path(kind, key))
        atomic.remove_dead_temps_of(record)
        atomic.remove_dead_temps(record.with_suffix(""), recursive=False)  # the content objects' folder

    def _remove(self, path: str) -> None:
        """Delete one object, best-effort (a repair or an orphan; never needed for correctness)."""
        with contextlib.suppress(Exception):
            self.fs.rm_file(path)

    # -- records ---------------------------------------------------------------------------

    def read_record(self, kind: str, key: str) -> tuple[dict | None, str]:
        """(the record, "") if committed, (None, "") if absent, (None, what is wrong) if unusable;
        RemoteUnavailable if the store fails."""
        try:
            raw = self.fs.cat_file(self.record_path(kind, key))
        except FileNotFoundError:
            return None, ""
        except Exception as exc:  # noqa: BLE001
            raise RemoteUnavailable(f"remote {self.url}: {describe(exc)}") from None
        try:
            record = json.loads(raw)
        except ValueError:
            return None, "its commit record is not JSON"
        if not isinstance(record, dict) or record.get("kind") != kind or record.get("key") != key:
            return None, "its commit record names another entry"
        size, digest = record.get("size"), record.get("sha256")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return None, f"its commit record has a bad size {size!r}"
        if not isinstance(digest, str) or not HEX64_RE.fullmatch(digest):
            return None, "its commit record has a bad sha256"
        if not isinstance(record.get("inputs", {}), dict) or not isinstance(record.get("facts", {}), dict):
            return None, "its commit record has bad inputs or facts"
        return record, ""

    def holds(self, kind: str, key: str) -> bool:
        """Whether a commit record exists for the entry (not verified: `fetch` verifies)."""
        try:
            return bool(self.fs.exists(self.record_path(kind, key)))
        except Exception as exc:  # noqa: BLE001
            raise RemoteUnavailable(f"remote {self.url}: {describe(exc)}") from None

    # -- fetch and push --------------------------------------------------------------------

    def fetch(self, cache: Cache, kind: str, key: str) -> Path | None:
        """Download a committed entry, verify its size and sha256, publish it into `cache` (with its
        inputs and facts) and return the local path; None if the remote lacks it or it is bad
        (warned about and deleted there). RemoteUnavailable if the store fails."""
        record, problem = self.read_record(kind, key)
        if record is None:
            if problem:
                self._repair(cache, kind, key, problem, None)
            return None
        content = self.content_path(kind, key, record["sha256"])
        tmp = cache.temp_path(kind, key)
        try:
            try:
                digest, size = self._download(content, tmp, record["size"])
            except FileNotFoundError:
                self._repair(cache, kind, key, "its content object is missing", None)
                return None
            except Exception as exc:  # noqa: BLE001
                raise RemoteUnavailable(f"remote {self.url}: {describe(exc)}") from None
            if size != record["size"] or digest != record["sha256"]:
                what = (f"content is {size} bytes, its record says {record['size']}" if size != record["size"]
                        else f"content sha256 is {digest[:16]}..., its record says {record['sha256'][:16]}...")
                self._repair(cache, kind, key, what, content)
                return None
            return cache.put(kind, key, tmp, record.get("inputs", {}), record.get("facts") or None)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _download(self, path: str, tmp: Path, expected: int) -> tuple[str, int]:
        """Stream an object into `tmp`, hashing on the way; stop reading past the expected size."""
        digest, size = hashlib.sha256(), 0
        with self.fs.open(path, "rb") as src, open(tmp, "wb") as dst:
            while size <= expected:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    def _repair(self, cache: Cache, kind: str, key: str, problem: str, content: str | None) -> None:
        """A bad remote entry: warn, and delete it there so the next push can commit a good one."""
        cache.warn(f"remote entry {kind}/{key} in {self.url} is bad ({problem}); not used, deleted it there, "
                   "it will be rendered again")
        self._remove(self.record_path(kind, key))
        if content is not None:
            self._remove(content)

    def push(self, cache: Cache, kind: str, key: str) -> bool:
        """Upload a local entry the remote does not hold; True if this call committed it.

        False if the remote holds it already, the local cache lacks it, or another writer
        committed first (its record is kept; our content object is deleted if its bytes differ).
        RemoteUnavailable if the store fails (nothing this call wrote is trusted by a reader)."""
        if self.local:
            self._remove_dead_temps(kind, key)
        if self.holds(kind, key):
            return False
        path = cache.get(kind, key)
        if path is None:
            return False
        digest, size = sha256_file(path)
        record = {"kind": kind, "key": key, "sha256": digest, "size": size,
                  "inputs": cache.read_inputs(kind, key) or {}, "facts": cache.read_facts(kind, key),
                  "seqc": __version__, "created": time.time()}
        content = self.content_path(kind, key, digest)
        try:
            self.upload(path, content)
            if self.create_exclusive(self.record_path(kind, key), json_bytes(record)):
                return True
        except Exception as exc:  # noqa: BLE001
            raise RemoteUnavailable(f"remote {self.url}: {describe(exc)}") from None
        # Another writer committed first: adopt its record; our bytes are an orphan unless the same.
        winner, _ = self.read_record(kind, key)
        if self.exclusive and winner is not None and winner["sha256"] != digest:
            self._remove(content)
        return False
