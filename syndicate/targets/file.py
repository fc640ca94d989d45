"""A folder of JSON files, one per delivery: for static sites, scripts and tests.

``folder`` is a path; a relative one is resolved against the site root, the
config file's folder's parent, the same rule ``config.py`` applies to
``posts_dir``, ``source_dir`` and ``feeds.output_dir``. The target reads that
root from the config file's path (``Target.root``), so the folder
does not move when ``site.source_dir`` is set to something else.

Each delivery becomes ``<folder>/<name>.json``, where the name is taken from the
delivery key: the key itself when it is already a safe, lower-case file name,
else a slug of it plus a digest of the whole key, so two keys never share a
file and a key can never reach outside the folder. Because the name depends on
the key alone, sending the same delivery again overwrites the same file with
the same bytes: the target is idempotent. Files are written atomically (temp
file, fsync, rename) and only when their bytes changed.

``post_data`` is the post as plain JSON data; the webhook target sends the same.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, ClassVar

from ..atomic import write_if_changed
from ..dates import isoformat
from ..errors import TransientError
from ..feeds import Entry
from ..redact import redact
from ..tables import Table
from .base import Message, Receipt, Target

EVENT = "post.published"
# Lower case only, so two keys differing in case do not share a file on a
# case-insensitive file system; no leading dot, so never hidden or "..".
_SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,119}")
_SLUG_LENGTH = 80
_DIGEST_LENGTH = 16


def post_data(entry: Entry) -> dict[str, Any]:
    """The post's facts as JSON-able data, the same for every JSON target."""
    post = entry.post
    return {
        "id": post.id,
        "title": post.title,
        "url": post.url,
        "summary": entry.summary,
        "image": post.image,
        "categories": list(post.categories),
        "tags": list(post.tags),
        "date": isoformat(post.date),
        "updated": isoformat(post.updated),
        "author": {
            "name": post.author.name,
            "email": post.author.email or None,
            "url": post.author.url or None,
        },
    }


def file_name(key: str) -> str:
    """A file name for ``key``: stable, inside the folder, distinct per key."""
    if _SAFE_NAME.fullmatch(key) and not key.endswith(".tmp"):
        return f"{key}.json"
    slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")[:_SLUG_LENGTH].strip("-")
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_LENGTH]
    return f"{slug or 'delivery'}.{digest}.json"


def encode(body: dict[str, Any]) -> bytes:
    """Pretty, sorted, UTF-8 JSON with a trailing newline: stable bytes."""
    text = json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


class FileTarget(Target):
    type = "file"
    idempotent = True
    fields: ClassVar[dict[str, str]] = {
        "folder": "folder the JSON files go to; relative paths start at the site root",
    }

    def configure(self, table: Table) -> None:
        folder = Path(table.text("folder", nonempty=True))
        self.folder = folder if folder.is_absolute() else self.root / folder

    def render(self, entry: Entry, key: str) -> Message:
        body = {"type": EVENT, "key": key, "target": self.name, "post": post_data(entry)}
        return Message(target=self.name, key=key, body=body)

    def send(self, message: Message) -> Receipt:
        name = file_name(message.key)
        path = self.folder / name
        try:
            write_if_changed(path, encode(message.body))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            where = exc.filename if exc.filename is not None else path
            raise TransientError(
                redact(" ".join(f"cannot write {where}: {reason}".split()))
            ) from None
        return Receipt(remote_id=name, remote_url=path.absolute().as_uri())
