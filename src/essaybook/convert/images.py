"""Images and other files a chapter shows: resolved next to the chapter, kept inside the project, sniffed and
registered as EPUB assets; an image alone in its paragraph becomes a figure."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import html

from essaybook import log
from essaybook.convert.context import Context
from essaybook.convert.nodes import SCHEME_RE, drop_keep_tail
from essaybook.errors import ManuscriptError
from essaybook.media import IMAGE_SUFFIX, NAMES, sniff_file, suffix_fits
from essaybook.model import IMAGE_TYPES, Asset
from essaybook.paths import inside, read_regular
from essaybook.remote import CACHE, RemoteError, fetch_image
from essaybook.svg import BadSvg, clean_svg


def images(root: html.HtmlElement, ctx: Context) -> None:
    """Resolve each image next to its chapter, keep it inside the project, register it as an asset; the book's
    image counts go up and the chapter's record keeps by how much (also when an image is an error)."""
    book = ctx.book
    before, without_alt = book.images, book.images_without_alt
    try:
        for img in list(root.iter("img")):
            _image(img, ctx)
    finally:
        ctx.record.images = book.images - before
        ctx.record.images_without_alt = book.images_without_alt - without_alt


def _image(img: html.HtmlElement, ctx: Context) -> None:
    book = ctx.book
    src = (img.get("src") or "").strip()
    near = "data:" if src.startswith("data:") else src
    where = ctx.where(near) if src else ctx.display
    book.images += 1
    if "<" in img.get("alt", ""):
        # Markdown such as `code` in alt text comes through as escaped markup; alt text is plain.
        img.set("alt", html.fromstring(f"<span>{img.get('alt')}</span>").text_content())
    if not img.get("alt"):
        ctx.warn(f"image {src!r} has no alt text; readers who cannot see it get nothing", kind="image-alt", near=near)
        book.images_without_alt += 1
        img.set("alt", "")
    path = _path(src, near, ctx)
    href = asset(ctx, path, src, near, where) if path is not None else None
    if href is None:
        drop_keep_tail(img)
    else:
        img.set("src", href)


def _path(src: str, near: str, ctx: Context) -> Path | None:
    """The file image ``src`` shows (downloaded first where the book allows it); None when it has none (reported)."""
    if src.startswith("data:"):
        ctx.warn("embedded data: image removed; save it as a file next to the chapter", kind="data-image", near=near)
        return None
    remote = src.lower().startswith(("http://", "https://"))
    if remote and ctx.book.allow_remote:
        ctx.record.cacheable = False  # a download that failed may succeed next time
        try:
            return fetch_image(src, ctx.book.root)[0]
        except RemoteError as exc:
            ctx.warn(f"image {src!r} is left out: {exc}", kind="remote-image", near=near)
            return None
    if not src or SCHEME_RE.match(src) or src.startswith("//"):
        ctx.warn(
            f"image {src!r} is not a file in the book project; it is left out",
            kind="remote-image" if remote else "image-path",
            near=near,
            hint="set allow-remote = true in [book] to fetch it" if remote else "only local files are read",
        )
        return None
    # A backslash is a slash in a URL (WHATWG), and in paths written on Windows.
    path = unquote(urlsplit(src.replace("\\", "/")).path)
    if path.startswith("/"):
        ctx.warn(f"image {src!r} is an absolute path; use a path relative to the chapter", kind="image-path", near=near)
        return None
    return ctx.chapter.source.parent / path


def asset(ctx: Context, path: Path, src: str, near: str, where: str, image: bool = True) -> str | None:
    """Register the file at ``path`` (written ``src`` in the chapter) as an EPUB asset; its href, or None when
    it cannot be one (reported: an error for a missing or unreadable ``image``, else a warning).

    The media type comes from the file's bytes, not its name: a PNG saved as ``.jpg`` is packed as
    ``….jpg.png`` with a warning (EPUBCheck wants the name to match the type, PKG-022).
    """
    book = ctx.book
    what = "image" if image else "url()"
    is_inside, is_file, resolved_name, media_type, _ = ctx.record.files.setdefault(
        str(path), file_state(path, book.root)
    )
    if not is_inside:
        ctx.warn(f"{what} {src!r} lies outside the book project; it is left out", kind="image-path", near=near)
        return None
    if not is_file or not media_type.startswith("image/"):
        _unusable(ctx, path, src, near, what, image, is_file)
        return None
    if media_type == "image/svg+xml" and not _svg_fits(ctx, Path(resolved_name), src, near, what, image):
        return None
    resolved = Path(resolved_name)
    href = "images/" + _packed_name(ctx, resolved, media_type, src, near, what)
    found = Asset(source=resolved, href=href, media_type=media_type, used_at=where)
    ctx.record.assets.append(found)
    book.assets.setdefault(resolved, found)
    return href


def _unusable(ctx: Context, path: Path, src: str, near: str, what: str, image: bool, is_file: bool) -> None:
    """Report a file that is missing or no image an EPUB carries: an error for an ``image``, else a warning."""
    if not is_file:
        message, kind = f"{what} {src!r} not found (looked for {path})", "missing-image"
        hint = "paths are relative to the chapter file"
    else:
        kind = "image-type"
        message = f"{what} {src!r} has an unsupported type: its bytes are no PNG, JPEG, GIF, WebP or SVG image"
        hint = "save it as " + ", ".join(sorted({k[1:] for k in IMAGE_TYPES}))
    if image:
        log.recoverable(ManuscriptError(message, file=ctx.display, line=ctx.line_of(src), hint=hint), kind=kind)
    else:
        ctx.warn(f"{message}; the declaration is left out", kind=kind, near=near, hint=hint)


def _packed_name(ctx: Context, resolved: Path, media_type: str, src: str, near: str, what: str) -> str:
    """The file's name inside the EPUB's images/: its path in the project, ASCII, ending as its type says."""
    rel = resolved.relative_to(ctx.book.root.resolve()).as_posix()
    if rel.startswith("manuscript/"):
        rel = rel[len("manuscript/") :]
    elif rel.startswith(CACHE.as_posix()):
        rel = "remote" + rel[len(CACHE.as_posix()) :]
    safe = re.sub(r"[^A-Za-z0-9._/-]", "_", rel)
    if safe != rel:  # 写真.png and 画像.png would both be __.png
        folder, slash, base = safe.rpartition("/")
        stem, dot, suffix = base.rpartition(".")
        tag = hashlib.sha1(rel.encode("utf-8")).hexdigest()[:8]
        safe = folder + slash + (f"{stem}-{tag}.{suffix}" if dot and stem else f"{base}-{tag}")
    if not suffix_fits(rel, media_type):
        ctx.warn(
            f"{what} {src!r} is {NAMES[media_type]} file, but its name says otherwise; "
            f"the EPUB carries it as {media_type}",
            kind="image-type",
            near=near,
            hint=f"rename it to end in {IMAGE_SUFFIX[media_type]}",
        )
        safe += IMAGE_SUFFIX[media_type]
    return safe


def _svg_fits(ctx: Context, path: Path, src: str, near: str, what: str, image: bool) -> bool:
    """Whether the SVG at ``path`` can be packed (it is well-formed XML); names what :func:`clean_svg` will take
    out of it (scripts, outside references, local paths) in a warning."""
    try:
        cleaned = clean_svg(read_regular(path))
    except (BadSvg, OSError) as exc:
        message = f"{what} {src!r} cannot be used: {exc}"
        if image:
            log.recoverable(ManuscriptError(message, file=ctx.display, line=ctx.line_of(src)), kind="image-type")
        else:
            ctx.warn(message, kind="image-type", near=near)
        return False
    if cleaned.removed:
        ctx.warn(
            f"{what} {src!r}: {', '.join(cleaned.removed)} left out of the image (an e-book's images may not "
            "load anything from outside the book or run scripts)",
            kind="svg-content",
            near=near,
        )
    return True


def file_state(path: Path, root: Path) -> tuple[bool, bool, str, str, str]:
    """What an image path is: inside the project, a regular file (symlinks followed), its resolved path, the
    media type its bytes show ('' when none an EPUB carries) and, for an SVG (whose content the conversion
    reports on), its size and modification time."""
    if not inside(path, root):
        return False, False, "", "", ""
    if not path.is_file():
        return True, False, "", "", ""
    try:
        media_type = sniff_file(path) or ""
        stat = path.stat()
    except OSError:
        return True, False, "", "", ""
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}" if media_type == "image/svg+xml" else ""
    return True, True, str(path.resolve()), media_type, stamp


def figures(root: html.HtmlElement, ctx: Context) -> None:
    """An image alone in its paragraph becomes a figure; its title, if any, becomes the caption."""
    for p in list(root.iter("p")):
        children = [c for c in p if isinstance(c.tag, str)]
        if len(children) != 1 or children[0].tag != "img" or (p.text or "").strip() or (children[0].tail or "").strip():
            continue
        img = children[0]
        figure = html.Element("figure")
        for name in ("id", "class"):
            if p.get(name):
                figure.set(name, p.get(name, ""))
        img.tail = None
        figure.append(img)
        caption = img.attrib.pop("title", "").strip()
        if caption:
            figcaption = html.Element("figcaption")
            figcaption.text = caption
            figure.append(figcaption)
        figure.tail = p.tail
        parent = p.getparent()
        if parent is not None:
            parent.replace(p, figure)
