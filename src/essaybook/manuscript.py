"""Stage 1b: ``manuscript/`` (+ settings) -> the chapter files in reading order, each read with its front matter."""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import yaml

from essaybook import log
from essaybook.config import Config, entry_line, key_line, metadata_problem
from essaybook.diagnostics import project_file
from essaybook.errors import ConfigError, ManuscriptError
from essaybook.labels import KEYS as LABEL_KEYS
from essaybook.labels import has_table
from essaybook.langtag import is_language_tag
from essaybook.limits import METADATA_ENTRIES, YAML_ALIAS_VALUES
from essaybook.media import IMAGE_SUFFIX, NAMES, sniff_file, suffix_fits
from essaybook.model import ROLES, Asset, Book, Chapter, Meta
from essaybook.paths import decode_utf8, inside, natural_key, read_bytes
from essaybook.text import smarten

_FRONT_KEYS = ("title", "author", "lang", "role", "subtitle", "date", "abstract")


def markdown_files(root: Path) -> list[Path]:
    """Every ``.md`` file under ``root/manuscript`` (inside the project), in natural order."""
    manuscript = root / "manuscript"
    # Not only regular files: a named pipe called ch.md is read (and refused, named) rather than skipped.
    found = [p for p in manuscript.rglob("*.md") if p.exists() and not p.is_dir() and inside(p, root)]
    found.sort(key=lambda p: natural_key(p.relative_to(manuscript).as_posix()))
    return found


def find_chapters(root: Path, config: Config) -> list[Path]:
    """The chapter files of the book project at ``root`` in reading order: ``[book] chapters`` or every ``.md``
    in natural order (see :func:`essaybook.pipeline.project_root` for what a book project is)."""
    manuscript = root / "manuscript"
    toml = config.source or manuscript / "book.toml"
    if config.book.chapters is None:
        found = markdown_files(root)
        if not found:
            raise ManuscriptError("no chapters: manuscript/ holds no .md files", file=manuscript)
        return found
    paths = []
    for entry in config.book.chapters:
        path = manuscript / entry
        if Path(entry).is_absolute() or not inside(path, root):
            error = ManuscriptError(
                f"chapter {entry!r} lies outside the book project",
                file=toml,
                line=entry_line(toml, entry),
                key="book.chapters",
            )
            log.recoverable(error, kind="config")
            continue
        if not path.is_file():
            error = ManuscriptError(
                f"chapter {entry!r} does not exist (chapter paths are relative to manuscript/; looked for {path})",
                file=toml,
                line=entry_line(toml, entry),
                key="book.chapters",
            )
            log.recoverable(error, kind="missing-chapter")
            continue
        paths.append(path)
    return paths


def read_chapter(path: Path, root: Path, index: int) -> Chapter:
    """Read one chapter file and its YAML front matter."""
    rel = path.relative_to(root / "manuscript").as_posix()
    display = f"manuscript/{rel}"
    raw = read_bytes(path, ManuscriptError, display, "the chapter")
    try:
        text = decode_utf8(raw, ManuscriptError, display)
    except ManuscriptError as error:
        log.recoverable(error, kind="encoding")
        text = raw.decode("utf-8-sig", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta, body, body_line = _split_front_matter(text, display)
    body, title_block = _title_block(body)
    for key in ("title", "author", "date"):
        value = title_block.get(key)
        if value is not None and _refused(key, [value] if isinstance(value, str) else value, display, body_line):
            del title_block[key]
    if index > 0:
        # The first chapter's title block is the book's (see resolve_meta); a later one titles its chapter.
        for key, value in title_block.items():
            meta.setdefault(key, value)
    body, blocks = _metadata_blocks(body)
    for line, block in blocks:
        for key in [key for key in block if key not in _FRONT_KEYS]:
            log.warn(
                f"metadata block key '{key}' is not used; the block is left out of the text",
                kind="front-matter",
                file=display,
                line=body_line + line,
                hint=f"known: {', '.join(_FRONT_KEYS)}",
            )
            del block[key]
        meta.update(block)  # as Pandoc merges them: a later block's value wins
    chapter = Chapter(source=path, rel=rel, index=index, markdown=body, body_line=body_line, title_block=title_block)
    _apply_front_matter(chapter, meta, display, _key_lines(text, body_line))
    return chapter


def _title_block(body: str) -> tuple[str, dict[str, str | list[str]]]:
    """Pandoc's title block (``% Title``, ``% Author; Author``, ``% Date`` at the top of the file) taken out
    of ``body`` (its lines left blank, so line numbers hold), and what it says."""
    lines = body.split("\n")
    fields: list[str] = []
    end = 0
    while end < len(lines) and len(fields) < 3 and lines[end].startswith("%"):
        value = lines[end][1:].strip()
        end += 1
        while end < len(lines) and lines[end].startswith((" ", "\t")) and lines[end].strip():
            value += ("; " if len(fields) == 1 else " ") + lines[end].strip()  # authors: one a line
            end += 1
        fields.append(value)
    if not fields:
        return body, {}
    found: dict[str, str | list[str]] = {}
    if fields[0]:
        found["title"] = " ".join(fields[0].split())
    if len(fields) > 1 and fields[1]:
        found["author"] = [name.strip() for name in fields[1].split(";") if name.strip()]
    if len(fields) > 2 and fields[2]:
        found["date"] = fields[2]
    return "\n".join([""] * end + lines[end:]), found


_YAML_FENCE_RE = re.compile(r"^---[ \t]*$")
_YAML_END_RE = re.compile(r"^(---|\.\.\.)[ \t]*$")
_CODE_FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


def _metadata_blocks(body: str) -> tuple[str, list[tuple[int, dict[str, Any]]]]:
    """Pandoc's YAML metadata blocks inside the text (``---`` after a blank line, a line of YAML right after it,
    closed by ``---`` or ``...``) taken out of ``body`` (their lines left blank) and read, each with the
    0-based line of its opening ``---``.

    A block whose text is not a YAML mapping is no metadata block and stays (a rule, or a setext heading).
    """
    lines = body.split("\n")
    blocks: list[tuple[int, dict[str, Any]]] = []
    fence: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        code = _CODE_FENCE_RE.match(line)
        if code and (fence is None or code.group(1)[0] == fence[0]):
            fence = code.group(1) if fence is None else None
        elif (
            fence is None
            and _YAML_FENCE_RE.match(line)
            and (i == 0 or not lines[i - 1].strip())
            and i + 1 < len(lines)
            and lines[i + 1].strip()
        ):
            end = next((j for j in range(i + 1, len(lines)) if _YAML_END_RE.match(lines[j])), None)
            if end is not None:
                try:
                    data = yaml.load("\n".join(lines[i + 1 : end]), Loader=_BoundedLoader)
                except yaml.YAMLError:
                    data = None
                if isinstance(data, dict) and data:
                    blocks.append((i, data))
                    lines[i : end + 1] = [""] * (end + 1 - i)
                    i = end + 1
                    continue
        i += 1
    return "\n".join(lines), blocks


def _key_lines(text: str, body_line: int) -> dict[str, int]:
    """Line of each top-level key of the front matter (which ends before ``body_line``)."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.split("\n", body_line)[1 : body_line - 1], 2):
        found = re.match(r"^([\w-]+)\s*:", line)
        if found:
            lines.setdefault(found.group(1), number)
    return lines


def _split_front_matter(text: str, display: str) -> tuple[dict[str, Any], str, int]:
    if not text.startswith("---\n"):
        return {}, text, 1
    end = re.search(r"^(---|\.\.\.)[ \t]*$", text[4:], re.MULTILINE)
    if end is None:
        error = ManuscriptError(
            "front matter opened with '---' is never closed",
            file=display,
            line=1,
            hint="end it with a line holding only '---'",
        )
        log.recoverable(error, kind="front-matter")
        return {}, text, 1
    block = text[4 : 4 + end.start()]
    body = text[4 + end.end() :].lstrip("\n")
    body_line = text[: len(text) - len(body)].count("\n") + 1
    try:
        meta = yaml.load(block, Loader=_BoundedLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        error = ManuscriptError(f"invalid YAML front matter: {problem}", file=display, line=line)
        log.recoverable(error, kind="front-matter")
        return {}, body, body_line
    if not isinstance(meta, dict):
        error = ManuscriptError("front matter must be a mapping of keys to values", file=display, line=2)
        log.recoverable(error, kind="front-matter")
        return {}, body, body_line
    return meta, body, body_line


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing front matter whose aliases would expand past :attr:`LIMIT` nodes.

    Aliases share the node they name, so "billion laughs" loads quickly, but every step after loading (the
    title's text, the author list) walks it expanded: gigabytes from a few lines.
    """

    LIMIT = YAML_ALIAS_VALUES

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[int, int] = {}
        self._expanded = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            node = self.anchors.get(event.anchor)
            if node is not None:
                self._expanded += self._size(node)
                if self._expanded > self.LIMIT:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"its aliases expand to more than {self.LIMIT} values", event.start_mark
                    )
        return super().compose_node(parent, index)

    def _size(self, node: yaml.Node) -> int:
        """Values in ``node`` with every alias expanded (shared nodes measured once)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._size(key) + self._size(value) for key, value in node.value)
        else:
            size = 1
        self._sizes[id(node)] = size
        return size


def _reject(message: str, display: str, key: str, line: int | None = None, hint: str | None = None) -> None:
    """A front-matter value that cannot be used: raised, or recorded by ``check`` (the key is then skipped)."""
    log.recoverable(ManuscriptError(message, file=display, line=line, key=key, hint=hint), kind="front-matter")


def _apply_front_matter(chapter: Chapter, meta: dict[str, Any], display: str, lines: dict[str, int]) -> None:
    for key, value in meta.items():
        if key not in _FRONT_KEYS:
            log.warn(
                f"front matter key '{key}' is not used",
                kind="front-matter",
                file=display,
                hint=f"known: {', '.join(_FRONT_KEYS)}",
            )
            continue
        if key == "author":
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                _reject("expected a name or a list of names", display, "author")
                continue
            if len(names) > METADATA_ENTRIES:
                _reject(f"lists {len(names)} authors; the limit is {METADATA_ENTRIES}", display, key, lines.get(key))
                continue
            if _refused(key, names, display, lines.get(key)):
                continue
            chapter.author = list(names)
            continue
        if key == "date" and isinstance(value, dt.date):
            value = value.isoformat()[:10]
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            _reject(f"expected a string, found {value!r}", display, key)
            continue
        value = str(value)
        if key == "title" and _refused(key, [value], display, lines.get(key)):
            continue
        if key == "role":
            if value not in ROLES:
                _reject(f"unknown role {value!r}", display, key, hint="use one of " + ", ".join(ROLES))
                continue
            chapter.role = value
        elif key == "title":
            title = " ".join(smarten(value).split())
            if not title:  # e.g. "&nbsp;": an e-reader's title must have text
                log.warn(
                    "front matter title is blank; the chapter's first heading is its title",
                    kind="front-matter",
                    file=display,
                )
                continue
            chapter.title = title
            chapter.title_given = True
        elif key in ("subtitle", "date", "abstract") and not _refused(key, [value], display, lines.get(key)):
            # An abstract keeps its paragraphs (blank lines); each is set as one paragraph of plain text.
            paragraphs = re.split(r"\n\s*\n", value.strip()) if key == "abstract" else [value]
            text = "\n\n".join(" ".join(smarten(p).split()) for p in paragraphs if p.strip())
            setattr(chapter, key, text or None)
        elif key == "lang":
            if not is_language_tag(value):
                _reject(
                    f"expected a BCP 47 language tag such as 'en' or 'de-CH', found {value!r}",
                    display,
                    key,
                    lines.get(key),
                )
                continue
            chapter.lang = value


def _refused(key: str, values: list[str], display: str, line: int | None) -> bool:
    """Report (recoverably) the first of ``values`` that cannot be the metadata ``key``; True when one was."""
    for value in values:
        problem = metadata_problem(key, value)
        if problem is not None:
            message, hint = problem
            log.recoverable(ManuscriptError(message, file=display, line=line, key=key, hint=hint), kind="front-matter")
            return True
    return False


_RTL_LANGS = frozenset({"ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb"})


def direction_of(lang: str) -> str:
    """'rtl' for languages written right to left, else 'ltr'."""
    return "rtl" if lang.split("-")[0].lower() in _RTL_LANGS else "ltr"


def build_time(root: Path | None = None) -> dt.datetime:
    """The build's timestamp, in UTC: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else when the book
    last changed (the newest file in ``root``'s manuscript/ and styles/), else now.

    Rebuilding an unchanged book gives the same dates, so the same files, and the layout cache can serve it.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        # The specification's form is `date +%s`'s: digits only (Python's int() would also take ' 5', '+5',
        # '1_000'); a date before 1970 or after 9999 fits no EPUB's dcterms:modified.
        try:
            if not re.fullmatch(r"[0-9]+", epoch):
                raise ValueError(epoch)
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise ConfigError(
                f"SOURCE_DATE_EPOCH must be whole seconds since 1970 (a date up to the year 9999), found {epoch!r}",
                file="environment",
                hint="see reproducible-builds.org/specs/source-date-epoch, or unset it",
            ) from None
    newest = _newest_change(root) if root is not None else None
    if newest is not None:
        return dt.datetime.fromtimestamp(int(newest), tz=dt.UTC)
    return dt.datetime.now(tz=dt.UTC).replace(microsecond=0)


def _newest_change(root: Path) -> float | None:
    """The latest modification time of the files (and folders, for deletions) under manuscript/ and styles/."""
    newest: float | None = None
    for name in ("manuscript", "styles"):
        for folder, _dirs, files in os.walk(root / name):  # symlinked folders are not followed
            for path in [folder, *(os.path.join(folder, f) for f in files)]:
                try:
                    mtime = os.lstat(path).st_mtime
                except OSError:
                    continue
                newest = mtime if newest is None else max(newest, mtime)
    return newest


def slug_of(title: str) -> str:
    """File name stem for the outputs: ASCII, lower case, hyphens."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    ascii_title = ascii_title.replace("'", "").replace("\u2019", "")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:80].strip("-") or "book"


def resolve_meta(config: Config, book: Book) -> Meta:
    """Apply defaults: title from the first chapter, lang 'en' (with a warning), a derived identifier."""
    settings = config.book
    toml = str(config.source or "manuscript/book.toml")
    text_lang = settings.lang or "en"
    block = book.chapters[0].title_block if book.chapters else {}
    given_title = settings.title or (str(block["title"]) if "title" in block else None)
    title = smarten(given_title, text_lang) if given_title else book.chapters[0].title or "Untitled"
    lang = settings.lang
    if lang is None:
        lang = "en"
        log.warn(
            'no language set, assuming English; set lang = "en" (or your language\'s '
            "BCP 47 tag) in [book] so hyphenation and e-readers use the right one",
            kind="config",
            file=project_file(config.source, book.root) or "manuscript/book.toml",
        )
    if not has_table(lang):
        given = {key for key, _ in config.labels}
        missing = [key for key in LABEL_KEYS if key not in given]
        if missing:
            log.warn(
                f"essaybook has no words for language {lang!r}; the generated ones "
                f"({', '.join(missing[:3])}, ...) are printed in English",
                kind="labels",
                file=project_file(config.source, book.root) or "manuscript/book.toml",
                line=key_line(config.source, "book", "lang"),
                hint="translate them in a [labels] table of book.toml (see 'Configuration' in essaybook's manual)",
            )
    authors = settings.author or tuple(block.get("author", ()))
    date = settings.date
    if date is None and isinstance(block.get("date"), str):
        if re.match(r"^\d{4}(-\d{2}(-\d{2})?)?$", str(block["date"])):
            date = str(block["date"])
        else:
            log.warn(
                f"the title block's date {block['date']!r} is left out: an EPUB's date is YYYY, YYYY-MM or YYYY-MM-DD",
                kind="front-matter",
                file=f"manuscript/{book.chapters[0].rel}",
                line=book.chapters[0].body_line + 2,
            )
    identifier = settings.identifier or "urn:uuid:" + str(
        uuid.uuid5(uuid.NAMESPACE_URL, "essaybook:" + title + "\n" + "\n".join(authors))
    )
    cover = None
    if settings.cover_image:
        path = book.manuscript_dir / settings.cover_image
        if Path(settings.cover_image).is_absolute() or not inside(path, book.root):
            raise ConfigError("the cover image must lie inside the book project", file=toml, key="book.cover-image")
        if not path.is_file():
            raise ConfigError(
                f"cover image {settings.cover_image!r} not found (looked for {path})",
                file=toml,
                key="book.cover-image",
                hint="the path is relative to manuscript/",
            )
        try:
            media = sniff_file(path)
        except OSError as exc:
            raise ConfigError(
                f"cannot read the cover image: {exc.strerror}", file=toml, key="book.cover-image"
            ) from None
        if media not in ("image/png", "image/jpeg"):
            found = f"its bytes are {NAMES[media]} file" if media else "its bytes are no image"
            raise ConfigError(
                f"cover image {settings.cover_image!r} must be a PNG or JPEG; {found}",
                file=toml,
                key="book.cover-image",
            )
        if not suffix_fits(path.name, media):
            log.warn(
                f"cover image {settings.cover_image!r} is {NAMES[media]} file, but its name says otherwise; "
                f"the EPUB carries it as {media}",
                kind="image-type",
                file=project_file(config.source, book.root) or "manuscript/book.toml",
                hint=f"rename it to end in {IMAGE_SUFFIX[media]}",
            )
        cover = Asset(source=path.resolve(), href=f"cover/cover{IMAGE_SUFFIX[media]}", media_type=media)
    return Meta(
        title=title,
        subtitle=smarten(settings.subtitle, text_lang) if settings.subtitle else None,
        authors=authors,
        lang=lang,
        identifier=identifier,
        date=date,
        publisher=settings.publisher,
        rights=settings.rights,
        description=settings.description,
        subjects=settings.subject,
        cover_image=cover,
        modified=build_time(book.root).strftime("%Y-%m-%dT%H:%M:%SZ"),
        slug=slug_of(title),
        direction=direction_of(lang),
    )
