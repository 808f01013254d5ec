"""layout/parse.py: documents read by lxml into the tree WeasyPrint's own parser gives, or left to it.

Every document the other tests lay out is also checked against tinyhtml5 (conftest.parsed_as_weasyprint_parses).
"""

from __future__ import annotations

import pytest
import tinyhtml5

from essaybook.layout import parse

from conftest import tree_difference

_PAGE = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>T &amp; U</title></head>'
    '<body class="b">{}</body></html>\n'
)


@pytest.mark.parametrize(
    "body",
    [
        "<table><tr><td>a</td></tr></table>",
        "<table>\n<caption>c</caption>\n<colgroup><col></colgroup>\n<tr><td>a</td></tr>\n<!-- c -->\n"
        "<tr><td>b</td></tr>\n<tbody><tr><td>3</td></tr></tbody>\n<tr><td>4</td></tr>\n</table>",
        "<table>\n<thead><tr><th>a</th></tr></thead>\n<tbody>\n<tr><td>b</td></tr>\n</tbody>\n</table>",
        "<pre>\n\ncode\n</pre><pre>\n<code>x</code></pre><listing>\nx</listing>",
        "<p>x<sup>2</sup> <em>y</em> <img src=a alt=''> <img src=b alt=''> z<br>\n<br> w</p>",
        "<figure>\n<img src=a alt=''>\n<figcaption>c</figcaption>\n</figure>",
        "<details><summary>s</summary>\n<p>x</p></details>",
        "<p>a &amp; b &lt; c&nbsp;d &#x1F600; &#65; &quot;</p><p data-x='a&quot;b'>q<!-- note --></p>",
        "<aside epub:type='footnote' id='n1'>\n<p>n</p></aside><ruby>漢<rt>kan</rt></ruby>",
        "<main>\n<section>\n<h1>a</h1>\n<dl>\n<dt>t</dt>\n<dd>d</dd>\n</dl>\n</section>\n</main>\n\n<span>a</span>\n<span>b</span>",
    ],
)
def test_what_lxml_reads_as_html5_does(body: str) -> None:
    text = _PAGE.format(body)
    parsed = parse.tree(text)
    assert parsed is not None
    assert tree_difference(tinyhtml5.parse(text, namespace_html_elements=False), parsed) is None


@pytest.mark.parametrize(
    "body",
    [
        "<p><svg viewBox='0 0 1 1'><path d='M0 0'/></svg></p>",
        "<p><math><mi>x</mi></math></p>",
        "<p>a<wbr>b</p>",
        "<video><source src=a><track src=b></video>",
        "<p>&hellip; &copy;</p>",
        "<table>text<tr><td>a</td></tr></table>",
        "<base href='http://example.invalid/'>",
        "<noscript><p>x</p></noscript><template><p>t</p></template>",
        "<textarea>\nx</textarea>",
        "<p>nul\x00</p>",
    ],
)
def test_what_it_reads_otherwise_goes_to_weasyprint(body: str) -> None:
    assert parse.tree(_PAGE.format(body)) is None


def test_weasyprint_lays_out_the_tree_it_is_given() -> None:
    page = parse.weasyprint_html(_PAGE.format("<p id='x'>Hello</p>"), "file:///", None)
    document = page.render()
    assert len(document.pages) == 1
    assert "x" in document.pages[0].anchors


def test_a_document_nested_past_libxml2s_limit_goes_to_weasyprint() -> None:
    assert parse.tree(_PAGE.format("<div>" * 300 + "x" + "</div>" * 300)) is None
    assert parse.tree(_PAGE.format("<div>" * 100 + "x" + "</div>" * 100)) is not None
