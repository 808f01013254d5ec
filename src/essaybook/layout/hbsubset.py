"""Font subsetting with HarfBuzz (the library WeasyPrint itself subsets with), through our own cffi bindings.

fontTools subsets the same way in pure Python, about a second for a book's four fonts on every assembly
whose glyphs changed; HarfBuzz takes milliseconds. WeasyPrint's own bindings (``weasyprint.text.ffi``)
declare no way to make a face from bytes, so these declare the few functions needed. None of this is used
when the library cannot be loaded: :func:`subset` then returns None and the caller uses fontTools.
"""

from __future__ import annotations

import functools
from typing import Any

_CDEF = """
typedef ... hb_blob_t;
typedef ... hb_face_t;
typedef ... hb_set_t;
typedef ... hb_subset_input_t;
typedef uint32_t hb_codepoint_t;
typedef uint32_t hb_tag_t;
typedef int hb_bool_t;
typedef enum {
    HB_MEMORY_MODE_DUPLICATE,
    HB_MEMORY_MODE_READONLY,
    HB_MEMORY_MODE_WRITABLE,
    HB_MEMORY_MODE_READONLY_MAY_MAKE_WRITABLE
} hb_memory_mode_t;
typedef void (*hb_destroy_func_t) (void *user_data);
hb_blob_t * hb_blob_create (const char *data, unsigned int length, hb_memory_mode_t mode, void *user_data,
                            hb_destroy_func_t destroy);
void hb_blob_destroy (hb_blob_t *blob);
const char * hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
hb_face_t * hb_face_create (hb_blob_t *blob, unsigned int index);
void hb_face_destroy (hb_face_t *face);
hb_blob_t * hb_face_reference_blob (hb_face_t *face);
void hb_set_add (hb_set_t *set, hb_codepoint_t codepoint);
hb_tag_t hb_tag_from_string (const char *str, int len);
hb_bool_t hb_version_atleast (unsigned int major, unsigned int minor, unsigned int micro);
hb_subset_input_t * hb_subset_input_create_or_fail (void);
void hb_subset_input_destroy (hb_subset_input_t *input);
hb_set_t * hb_subset_input_glyph_set (hb_subset_input_t *input);
hb_set_t * hb_subset_input_set (hb_subset_input_t *input, int set_type);
void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned value);
hb_face_t * hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
"""
_NO_HINTING, _RETAIN_GIDS, _DESUBROUTINIZE, _PASSTHROUGH, _NOTDEF_OUTLINE = 0x1, 0x2, 0x4, 0x20, 0x40
_DROP_TABLE_TAG = 3  # hb_subset_sets_t
_NAMES = {
    "harfbuzz": ("libharfbuzz.so.0", "libharfbuzz.0.dylib", "libharfbuzz-0.dll", "harfbuzz"),
    "subset": ("libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib", "libharfbuzz-subset-0.dll", "harfbuzz-subset"),
}


@functools.cache
def _libraries() -> tuple[Any, Any, Any] | None:
    """(ffi, harfbuzz, harfbuzz-subset), or None when either library cannot be loaded or is older than 4.1."""
    try:
        import cffi  # type: ignore[import-untyped]
    except ImportError:
        return None
    ffi = cffi.FFI()
    ffi.cdef(_CDEF)
    loaded = []
    for names in _NAMES.values():
        for name in names:
            try:
                loaded.append(ffi.dlopen(name))
                break
            except OSError:
                continue
        else:
            return None
    harfbuzz, subset = loaded
    if not harfbuzz.hb_version_atleast(4, 1, 0):
        return None
    return ffi, harfbuzz, subset


def subset(font: bytes, glyphs: set[int], drop_tables: list[str]) -> bytes | None:
    """``font`` cut to ``glyphs`` with their ids kept, no hinting, CFF desubroutinized, ``.notdef`` drawn and
    ``drop_tables`` left out (fontshare's fontTools options); None when HarfBuzz is missing or fails."""
    libraries = _libraries()
    if libraries is None:
        return None
    ffi, harfbuzz, hb_subset = libraries
    blob = harfbuzz.hb_blob_create(font, len(font), 0, ffi.NULL, ffi.NULL)  # HB_MEMORY_MODE_DUPLICATE
    face = harfbuzz.hb_face_create(blob, 0)
    harfbuzz.hb_blob_destroy(blob)
    plan = hb_subset.hb_subset_input_create_or_fail()
    result = ffi.NULL
    try:
        if plan == ffi.NULL:
            return None
        kept = hb_subset.hb_subset_input_glyph_set(plan)
        for glyph in sorted(glyphs | {0}):
            harfbuzz.hb_set_add(kept, glyph)
        dropped = hb_subset.hb_subset_input_set(plan, _DROP_TABLE_TAG)
        for tag in drop_tables:
            harfbuzz.hb_set_add(dropped, harfbuzz.hb_tag_from_string(tag.encode("ascii"), -1))
        flags = _RETAIN_GIDS | _PASSTHROUGH | _DESUBROUTINIZE | _NOTDEF_OUTLINE | _NO_HINTING
        hb_subset.hb_subset_input_set_flags(plan, flags)
        result = hb_subset.hb_subset_or_fail(face, plan)
        if result == ffi.NULL:
            return None
        data_blob = harfbuzz.hb_face_reference_blob(result)
        length = ffi.new("unsigned int *")
        data = harfbuzz.hb_blob_get_data(data_blob, length)
        out = None if data == ffi.NULL or not length[0] else bytes(ffi.unpack(data, int(length[0])))
        harfbuzz.hb_blob_destroy(data_blob)
        return out
    finally:
        if result != ffi.NULL:
            harfbuzz.hb_face_destroy(result)
        if plan != ffi.NULL:
            hb_subset.hb_subset_input_destroy(plan)
        harfbuzz.hb_face_destroy(face)
