"""Landmarks a reader can tell apart: those that share a role get a label of their own (Ace's
``landmark-unique``)."""

from __future__ import annotations

from lxml import etree, html

from essaybook.convert.context import Context
from essaybook.convert.nodes import HEADINGS
from essaybook.model import ROLES

LANDMARK_ROLES = {
    "banner": "Banner",
    "complementary": "Aside",
    "contentinfo": "Content information",
    "form": "Form",
    "main": "Main",
    "navigation": "Navigation",
    "region": "Region",
    "search": "Search",
    "doc-acknowledgments": "Acknowledgments",
    "doc-afterword": "Afterword",
    "doc-appendix": "Appendix",
    "doc-bibliography": "Bibliography",
    "doc-chapter": "Chapter",
    "doc-conclusion": "Conclusion",
    "doc-credits": "Credits",
    "doc-endnotes": "Notes",
    "doc-epilogue": "Epilogue",
    "doc-errata": "Errata",
    "doc-foreword": "Foreword",
    "doc-glossary": "Glossary",
    "doc-index": "Index",
    "doc-introduction": "Introduction",
    "doc-pagelist": "Page list",
    "doc-part": "Part",
    "doc-preface": "Preface",
    "doc-prologue": "Prologue",
    "doc-toc": "Contents",
}
"""ARIA and DPUB-ARIA landmark roles, with the word a label made for one starts with."""
_IMPLICIT_ROLES = {"aside": "complementary", "nav": "navigation", "main": "main"}
"""Elements that are landmarks without a role attribute (header and footer are not inside a chapter's section)."""


def _landmark_role(element: etree._Element) -> str | None:
    roles = (element.get("role") or "").split()
    if roles:
        return roles[0] if roles[0] in LANDMARK_ROLES else None
    if element.tag == "section" and (
        element.get("aria-label") or element.get("aria-labelledby") or element.get("title")
    ):
        return "region"
    return _IMPLICIT_ROLES.get(str(element.tag))


def landmarks(root: html.HtmlElement, ctx: Context) -> None:
    """Label landmarks that share a role in the chapter, so each role and label pair is unique (Ace's
    ``landmark-unique``): a reader's list of landmarks must tell them apart. The chapter's own section (made by
    the template, with its role) counts as the first of its role; a label is the landmark's first heading,
    else its role and number ("Aside 2")."""
    chapter_role = ROLES[ctx.chapter.role][1]
    seen: dict[tuple[str, str], int] = {(chapter_role, ""): 1}
    count: dict[str, int] = {chapter_role: 1}
    for element in root.iter():
        if not isinstance(element.tag, str) or element is root:
            continue
        role = _landmark_role(element)
        if role is None:
            continue
        count[role] = count.get(role, 0) + 1
        name = " ".join((element.get("aria-label") or element.get("title") or "").split())
        if element.get("aria-labelledby") and not element.get("aria-label"):
            name = "#" + element.get("aria-labelledby", "")
        if (role, name) in seen:
            heading = next(element.iter(*HEADINGS), None)
            wanted = " ".join(heading.text_content().split()) if heading is not None else ""
            wanted = wanted or f"{LANDMARK_ROLES[role]} {count[role]}"
            name, n = wanted, 1
            while (role, name) in seen:
                n += 1
                name = f"{wanted} ({n})"
            element.set("aria-label", name)
        seen[(role, name)] = 1
