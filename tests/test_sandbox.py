"""Project folders that try to escape: templates running code, files that are not files, half-written dist/.

Each case fails with exit 1 and one message naming the file (never a hang, a traceback or exit 3), and
leaves the earlier outputs in dist/ as they were.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from test_bad_input import TOML, assert_dist_untouched, assert_user_error, build, make_project
from test_hostile import timed

CHAPTERS = {
    "manuscript/book.toml": TOML,
    "manuscript/01-a.md": "# A\n\nText.\n",
    "manuscript/02-b.md": "# B\n\nMore.\n",
}


def _template(tmp_path: Path, text: str) -> Path:
    root = make_project(tmp_path, {**CHAPTERS, "styles/templates/chapter.xhtml": text})
    return root


def test_a_template_cannot_reach_python_internals(tmp_path: Path) -> None:
    root = _template(tmp_path, "{{ cycler.__init__.__globals__.os.popen('id').read() }}\n")
    result = timed(lambda: build(root, "--no-pdf"))
    message = assert_user_error(result, root, "chapter.xhtml", "templates may not use")
    assert "uid=" not in result.output and "uid=" not in message
    assert_dist_untouched(root)


def test_a_template_runtime_error_names_the_template_and_line(tmp_path: Path) -> None:
    root = _template(tmp_path, "{# a comment #}\n<p>{{ 1 // 0 }}</p>\n")
    result = timed(lambda: build(root, "--no-pdf"))
    assert_user_error(result, root, "chapter.xhtml:2", "ZeroDivisionError")
    assert_dist_untouched(root)


def test_a_template_may_not_include_a_link_to_a_file_outside(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n")
    root = _template(tmp_path, '{% include "leak.html" %}\n')
    (root / "styles" / "templates" / "leak.html").symlink_to(secret)
    result = timed(lambda: build(root, "--no-pdf"))
    assert_user_error(result, root, "leak.html", "symbolic link")
    assert "TOP SECRET" not in result.output
    assert_dist_untouched(root)


@pytest.mark.parametrize(
    "where", ["styles/zz.css", "manuscript/02-b.md", "manuscript/images/dot.png", "styles/templates/chapter.xhtml"]
)
def test_a_named_pipe_in_place_of_a_file_is_refused_not_waited_for(tmp_path: Path, where: str) -> None:
    files = dict(CHAPTERS)
    if where.endswith(".png"):
        files["manuscript/01-a.md"] = "# A\n\n![A dot](images/dot.png)\n"
    root = make_project(tmp_path, files)
    (root / where).parent.mkdir(parents=True, exist_ok=True)
    (root / where).unlink(missing_ok=True)
    os.mkfifo(root / where)
    result = timed(lambda: build(root))
    assert_user_error(result, root, Path(where).name)
    assert_dist_untouched(root)


def test_a_failure_while_packaging_the_epub_leaves_the_earlier_pdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from essaybook import pipeline
    from essaybook.errors import RenderError

    def failing(*args: object, **kwargs: object) -> None:
        raise RenderError("the disk is full", file="dist")

    monkeypatch.setattr(pipeline, "render_epub", failing)
    root = make_project(tmp_path, CHAPTERS)
    result = timed(lambda: build(root))
    assert_user_error(result, root, "the disk is full")
    assert_dist_untouched(root)  # the new PDF was written, but not put in place beside the old EPUB


def test_a_yaml_alias_bomb_in_front_matter_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [{', '.join(f'*{previous}' for _ in range(9))}]")
    lines.append("title: *i")
    bomb = "---\n" + "\n".join(lines) + "\n---\n\n# Bomb\n\nText.\n"
    root = make_project(tmp_path, {**CHAPTERS, "manuscript/02-b.md": bomb})
    result = timed(lambda: build(root, "--no-pdf"))
    assert_user_error(result, root, "02-b.md", "aliases expand to more than")
    assert_dist_untouched(root)


def test_front_matter_may_still_use_a_few_aliases(tmp_path: Path) -> None:
    chapter = "---\nauthor: &who Ada Example\ntitle: *who\n---\n\nText.\n"
    root = make_project(tmp_path, {**CHAPTERS, "manuscript/02-b.md": chapter})
    result = timed(lambda: build(root, "--no-pdf"))
    assert result.exit_code == 0, result.output
