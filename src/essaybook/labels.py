"""The words the book prints that its author did not write ("Contents", "Published by", dates), by language.

Each table is keyed by the primary language subtag of ``[book] lang``; a book in a language without a table
gets the English words (the build warns once), and ``[labels]`` in ``book.toml`` overrides any of them.
Placeholders in braces (``{publisher}``) are filled in by :func:`Labels.format`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "contents": "Contents",
        "cover": "Cover",
        "cover-of": "Cover of {title}",
        "title-page": "Title page",
        "published-by": "Published by {publisher}",
        "typeset-with": "Typeset with {generator}.",
        "notes": "Notes",
        "dedication": "Dedication",
        "epigraph": "Epigraph",
        "landmarks": "Landmarks",
        "pages": "Pages",
        "front-matter": "Front matter",
        "start-of-content": "Start of content",
        "back-matter": "Back matter",
        "page-reference": "p.\u00a0{page}",
        "part": "Part {number}",
        "figure": "Figure",
        "figures": "Figures",
        "table": "Table",
        "tables": "Tables",
        "listing": "Listing",
        "listings": "Listings",
        "equation": "Equation",
        "equations": "Equations",
        "section": "Section",
        "sections": "Sections",
        "caption": "{name}\u00a0{number}:",
        "and": " and ",
        "list-of-figures": "List of Figures",
        "list-of-tables": "List of Tables",
        "references": "References",
    },
    "de": {
        "contents": "Inhalt",
        "cover": "Umschlag",
        "cover-of": "Umschlag von {title}",
        "title-page": "Titelseite",
        "published-by": "Erschienen bei {publisher}",
        "typeset-with": "Gesetzt mit {generator}.",
        "notes": "Anmerkungen",
        "dedication": "Widmung",
        "epigraph": "Motto",
        "landmarks": "Orientierungspunkte",
        "pages": "Seiten",
        "front-matter": "Titelei",
        "start-of-content": "Textbeginn",
        "back-matter": "Anhang",
        "page-reference": "S.\u00a0{page}",
        "part": "Teil {number}",
        "figure": "Abbildung",
        "figures": "Abbildungen",
        "table": "Tabelle",
        "tables": "Tabellen",
        "listing": "Listing",
        "listings": "Listings",
        "equation": "Gleichung",
        "equations": "Gleichungen",
        "section": "Abschnitt",
        "sections": "Abschnitte",
        "caption": "{name}\u00a0{number}:",
        "and": " und ",
        "list-of-figures": "Abbildungsverzeichnis",
        "list-of-tables": "Tabellenverzeichnis",
        "references": "Literatur",
    },
    "fr": {
        "contents": "Table des matières",
        "cover": "Couverture",
        "cover-of": "Couverture de {title}",
        "title-page": "Page de titre",
        "published-by": "Publié par {publisher}",
        "typeset-with": "Composé avec {generator}.",
        "notes": "Notes",
        "dedication": "Dédicace",
        "epigraph": "Épigraphe",
        "landmarks": "Repères",
        "pages": "Pages",
        "front-matter": "Pages liminaires",
        "start-of-content": "Début du texte",
        "back-matter": "Annexes",
        "page-reference": "p.\u00a0{page}",
        "part": "Partie {number}",
        "figure": "Figure",
        "figures": "Figures",
        "table": "Tableau",
        "tables": "Tableaux",
        "listing": "Listing",
        "listings": "Listings",
        "equation": "Équation",
        "equations": "Équations",
        "section": "Section",
        "sections": "Sections",
        "caption": "{name}\u00a0{number}\u00a0:",
        "and": " et ",
        "list-of-figures": "Table des figures",
        "list-of-tables": "Liste des tableaux",
        "references": "Références",
    },
    "es": {
        "contents": "Índice",
        "cover": "Cubierta",
        "cover-of": "Cubierta de {title}",
        "title-page": "Portada",
        "published-by": "Publicado por {publisher}",
        "typeset-with": "Compuesto con {generator}.",
        "notes": "Notas",
        "dedication": "Dedicatoria",
        "epigraph": "Epígrafe",
        "landmarks": "Puntos de referencia",
        "pages": "Páginas",
        "front-matter": "Preliminares",
        "start-of-content": "Inicio del texto",
        "back-matter": "Apéndices",
        "page-reference": "p.\u00a0{page}",
        "part": "Parte {number}",
        "figure": "Figura",
        "figures": "Figuras",
        "table": "Tabla",
        "tables": "Tablas",
        "listing": "Listado",
        "listings": "Listados",
        "equation": "Ecuación",
        "equations": "Ecuaciones",
        "section": "Sección",
        "sections": "Secciones",
        "caption": "{name}\u00a0{number}:",
        "and": " y ",
        "list-of-figures": "Índice de figuras",
        "list-of-tables": "Índice de tablas",
        "references": "Referencias",
    },
    "it": {
        "contents": "Indice",
        "cover": "Copertina",
        "cover-of": "Copertina di {title}",
        "title-page": "Frontespizio",
        "published-by": "Pubblicato da {publisher}",
        "typeset-with": "Composto con {generator}.",
        "notes": "Note",
        "dedication": "Dedica",
        "epigraph": "Epigrafe",
        "landmarks": "Punti di riferimento",
        "pages": "Pagine",
        "front-matter": "Pagine preliminari",
        "start-of-content": "Inizio del testo",
        "back-matter": "Apparati",
        "page-reference": "p.\u00a0{page}",
        "part": "Parte {number}",
        "figure": "Figura",
        "figures": "Figure",
        "table": "Tabella",
        "tables": "Tabelle",
        "listing": "Listato",
        "listings": "Listati",
        "equation": "Equazione",
        "equations": "Equazioni",
        "section": "Sezione",
        "sections": "Sezioni",
        "caption": "{name}\u00a0{number}:",
        "and": " e ",
        "list-of-figures": "Elenco delle figure",
        "list-of-tables": "Elenco delle tabelle",
        "references": "Bibliografia",
    },
    "pt": {
        "contents": "Sumário",
        "cover": "Capa",
        "cover-of": "Capa de {title}",
        "title-page": "Folha de rosto",
        "published-by": "Publicado por {publisher}",
        "typeset-with": "Composto com {generator}.",
        "notes": "Notas",
        "dedication": "Dedicatória",
        "epigraph": "Epígrafe",
        "landmarks": "Marcos",
        "pages": "Páginas",
        "front-matter": "Elementos pré-textuais",
        "start-of-content": "Início do texto",
        "back-matter": "Elementos pós-textuais",
        "page-reference": "p.\u00a0{page}",
        "part": "Parte {number}",
        "figure": "Figura",
        "figures": "Figuras",
        "table": "Tabela",
        "tables": "Tabelas",
        "listing": "Listagem",
        "listings": "Listagens",
        "equation": "Equação",
        "equations": "Equações",
        "section": "Seção",
        "sections": "Seções",
        "caption": "{name}\u00a0{number}:",
        "and": " e ",
        "list-of-figures": "Lista de figuras",
        "list-of-tables": "Lista de tabelas",
        "references": "Referências",
    },
    "nl": {
        "contents": "Inhoud",
        "cover": "Omslag",
        "cover-of": "Omslag van {title}",
        "title-page": "Titelpagina",
        "published-by": "Uitgegeven door {publisher}",
        "typeset-with": "Gezet met {generator}.",
        "notes": "Noten",
        "dedication": "Opdracht",
        "epigraph": "Motto",
        "landmarks": "Oriëntatiepunten",
        "pages": "Pagina\u2019s",
        "front-matter": "Voorwerk",
        "start-of-content": "Begin van de tekst",
        "back-matter": "Nawerk",
        "page-reference": "p.\u00a0{page}",
        "part": "Deel {number}",
        "figure": "Figuur",
        "figures": "Figuren",
        "table": "Tabel",
        "tables": "Tabellen",
        "listing": "Listing",
        "listings": "Listings",
        "equation": "Vergelijking",
        "equations": "Vergelijkingen",
        "section": "Paragraaf",
        "sections": "Paragrafen",
        "caption": "{name}\u00a0{number}:",
        "and": " en ",
        "list-of-figures": "Lijst van figuren",
        "list-of-tables": "Lijst van tabellen",
        "references": "Literatuur",
    },
    "ar": {
        "contents": "المحتويات",
        "cover": "الغلاف",
        "cover-of": "غلاف {title}",
        "title-page": "صفحة العنوان",
        "published-by": "الناشر: {publisher}",
        "typeset-with": "صُفَّ باستخدام {generator}.",
        "notes": "الحواشي",
        "dedication": "إهداء",
        "epigraph": "تصدير",
        "landmarks": "معالم",
        "pages": "الصفحات",
        "front-matter": "المقدمات",
        "start-of-content": "بداية النص",
        "back-matter": "الملاحق",
        "page-reference": "ص\u00a0{page}",
        "part": "الجزء {number}",
        "figure": "الشكل",
        "figures": "الأشكال",
        "table": "الجدول",
        "tables": "الجداول",
        "listing": "القائمة",
        "listings": "القوائم",
        "equation": "المعادلة",
        "equations": "المعادلات",
        "section": "القسم",
        "sections": "الأقسام",
        "caption": "{name}\u00a0{number}:",
        "and": " و",
        "list-of-figures": "قائمة الأشكال",
        "list-of-tables": "قائمة الجداول",
        "references": "المراجع",
    },
    "zh": {
        "contents": "目录",
        "cover": "封面",
        "cover-of": "《{title}》封面",
        "title-page": "书名页",
        "published-by": "{publisher} 出版",
        "typeset-with": "使用 {generator} 排版。",
        "notes": "注释",
        "dedication": "献词",
        "epigraph": "题词",
        "landmarks": "导航",
        "pages": "页码",
        "front-matter": "前置部分",
        "start-of-content": "正文",
        "back-matter": "后置部分",
        "page-reference": "第{page}页",
        "part": "第{number}部分",
        "figure": "图",
        "figures": "图",
        "table": "表",
        "tables": "表",
        "listing": "代码",
        "listings": "代码",
        "equation": "公式",
        "equations": "公式",
        "section": "节",
        "sections": "节",
        "caption": "{name}\u00a0{number}\uff1a",
        "and": "和",
        "list-of-figures": "插图目录",
        "list-of-tables": "表格目录",
        "references": "参考文献",
    },
    "ja": {
        "contents": "目次",
        "cover": "表紙",
        "cover-of": "『{title}』表紙",
        "title-page": "扉",
        "published-by": "発行\uff1a{publisher}",
        "typeset-with": "{generator} で組版。",
        "notes": "注",
        "dedication": "献辞",
        "epigraph": "エピグラフ",
        "landmarks": "ランドマーク",
        "pages": "ページ",
        "front-matter": "前付",
        "start-of-content": "本文",
        "back-matter": "後付",
        "page-reference": "{page}ページ",
        "part": "第{number}部",
        "figure": "図",
        "figures": "図",
        "table": "表",
        "tables": "表",
        "listing": "リスト",
        "listings": "リスト",
        "equation": "式",
        "equations": "式",
        "section": "節",
        "sections": "節",
        "caption": "{name}\u00a0{number}\uff1a",
        "and": "と",
        "list-of-figures": "図目次",
        "list-of-tables": "表目次",
        "references": "参考文献",
    },
}
"""Every generated word, by primary language subtag; each table has every key of the English one."""

KEYS: tuple[str, ...] = tuple(LABELS["en"])
"""The keys ``[labels]`` in ``book.toml`` may set."""

PLACEHOLDERS: dict[str, frozenset[str]] = {
    key: frozenset(re.findall(r"\{(\w+)\}", text)) for key, text in LABELS["en"].items()
}
"""The placeholders each label takes ({publisher}, ...): an override must keep them."""

_MONTH_NAMES = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "ar": "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر",
    "zh": "1月 2月 3月 4月 5月 6月 7月 8月 9月 10月 11月 12月",
    "ja": "1月 2月 3月 4月 5月 6月 7月 8月 9月 10月 11月 12月",
}
MONTHS: dict[str, tuple[str, ...]] = {lang: tuple(names.split()) for lang, names in _MONTH_NAMES.items()}
"""Month names by language, January first."""

DATE_FORMATS: dict[str, tuple[str, str]] = {
    "en": ("{day} {month} {year}", "{month} {year}"),
    "de": ("{day}. {month} {year}", "{month} {year}"),
    "fr": ("{day} {month} {year}", "{month} {year}"),
    "es": ("{day} de {month} de {year}", "{month} de {year}"),
    "it": ("{day} {month} {year}", "{month} {year}"),
    "pt": ("{day} de {month} de {year}", "{month} de {year}"),
    "nl": ("{day} {month} {year}", "{month} {year}"),
    "ar": ("{day} {month} {year}", "{month} {year}"),
    "zh": ("{year}年{month}{day}日", "{year}年{month}"),
    "ja": ("{year}年{month}{day}日", "{year}年{month}"),
}
"""(day month year, month year) patterns by language; a year alone is printed as it is."""


def language_of(lang: str) -> str:
    """The primary language subtag of a BCP 47 tag, lower-cased ('de-CH' -> 'de')."""
    return lang.split("-", 1)[0].lower()


def has_table(lang: str) -> bool:
    """Whether the book's language has its own words (else they are English)."""
    return language_of(lang) in LABELS


@dataclass(frozen=True)
class Labels:
    """The generated words of one book: its language's table with the ``[labels]`` overrides over it."""

    lang: str
    words: Mapping[str, str]

    def __getitem__(self, key: str) -> str:
        return self.words[key]

    def __getattr__(self, name: str) -> str:
        # Templates write labels.published_by for the key "published-by".
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.words[name.replace("_", "-")]
        except KeyError:
            raise AttributeError(name) from None

    def format(self, key: str, **values: str) -> str:
        """The label ``key`` with its placeholders filled in."""
        text = self.words[key]
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text

    def date(self, iso: str | None, year_only: bool = False) -> str:
        """``iso`` (YYYY, YYYY-MM or YYYY-MM-DD) as the book's language writes it: "15 January 2026"."""
        if not iso:
            return ""
        parts = iso.split("-")
        if year_only or len(parts) == 1:
            return parts[0]
        lang = language_of(self.lang) if language_of(self.lang) in MONTHS else "en"
        month = MONTHS[lang][int(parts[1]) - 1]
        full, month_year = DATE_FORMATS[lang]
        if len(parts) == 2:
            return month_year.format(month=month, year=parts[0])
        return full.format(day=str(int(parts[2])), month=month, year=parts[0])


def labels_for(lang: str, overrides: Mapping[str, str] | None = None) -> Labels:
    """The words of a book in ``lang`` (English where there is no table), with ``overrides`` over them."""
    words = dict(LABELS.get(language_of(lang), LABELS["en"]))
    words.update(overrides or {})
    return Labels(lang=lang, words=words)


def css_string(text: str) -> str:
    """``text`` as a CSS string literal, safe inside an HTML ``<style>`` element too."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ").replace("<", "\\3c ")
    return f'"{escaped}"'
