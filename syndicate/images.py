"""A post's image as bytes, for the platforms that want an upload.

Mastodon attaches uploaded media; Bluesky's link card needs its thumbnail
uploaded as a blob. The image comes from the site's source folder when the
URL is the site's own, else it is downloaded. Anything that goes wrong (too
big and no way to shrink it, not an image, unreachable) means no image, never
a failed post: the link still carries the announcement.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import PurePosixPath

import requests

from .config import SiteConfig
from .feeds import IMAGE_TYPES, local_image
from .targets.http import USER_AGENT

DOWNLOAD_LIMIT = 20 * 1024 * 1024


@dataclass(frozen=True)
class Image:
    data: bytes
    content_type: str
    filename: str


def load_image(site: SiteConfig, url: str, *, timeout: float = 10.0) -> Image | None:
    name = PurePosixPath(url.split("?", 1)[0]).name or "image"
    guessed = IMAGE_TYPES.get(PurePosixPath(name).suffix.lower())
    local = local_image(site, url)
    if local is not None:
        try:
            if local.stat().st_size > DOWNLOAD_LIMIT:
                return None
            data = local.read_bytes()
        except OSError:
            return None
        return Image(data, guessed or "application/octet-stream", name) if guessed else None
    try:
        with requests.get(
            url, timeout=timeout, stream=True, headers={"User-Agent": USER_AGENT}
        ) as response:
            if response.status_code != 200:
                return None
            kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            kind = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}.get(kind, kind)
            kind = kind or guessed or ""
            if not kind.startswith("image/"):
                return None
            data = response.raw.read(DOWNLOAD_LIMIT + 1, decode_content=True)
    except Exception:
        return None
    if len(data) > DOWNLOAD_LIMIT:
        return None
    return Image(data, kind, name)


def shrink(image: Image, max_bytes: int) -> Image | None:
    """The image itself if small enough, else a JPEG re-encoding that fits
    (Pillow, ``pip install 'syndicate[images]'``), else None."""
    if len(image.data) <= max_bytes:
        return image
    try:
        from PIL import Image as Pillow
    except ImportError:
        return None
    try:
        picture = Pillow.open(io.BytesIO(image.data)).convert("RGB")
    except (OSError, ValueError, Pillow.DecompressionBombError):
        return None
    for side, quality in ((2000, 85), (1600, 80), (1200, 75), (1000, 70), (800, 65), (600, 60)):
        copy = picture.copy()
        copy.thumbnail((side, side))
        out = io.BytesIO()
        copy.save(out, format="JPEG", quality=quality, optimize=True)
        if out.tell() <= max_bytes:
            stem = PurePosixPath(image.filename).stem or "image"
            return Image(out.getvalue(), "image/jpeg", f"{stem}.jpg")
    return None
