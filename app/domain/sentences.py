"""Where sentences end, for every aligner: subtitles get one cue per sentence.

Word-level, abbreviation-aware and per language, like Punkt's rules without its training: a word
ending in `?`, `!` or a CJK full stop ends a sentence; one ending in `.` does unless it is a known
abbreviation of the language ("Mr.", "z.B."), a single-letter initial ("J."), an ordinal-looking
number before a lower-case word, or is followed by a word that starts in lower case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

_ALWAYS_ENDS = ("?", "!", "。", "？", "！", "‼", "⁇", "؟", "।")
_CLOSERS = "\"'”’»)]}」』"
_OPENERS = "\"'“‘«([{¿¡「『"

# Abbreviations (lower case, without the final dot) that do not end a sentence.
_COMMON = frozenset({"etc", "vs", "e.g", "i.e", "cf", "approx", "ca", "no", "nr", "dr", "prof", "st"})
ABBREVIATIONS: dict[str, frozenset[str]] = {
    "en": _COMMON
    | {
        "mr",
        "mrs",
        "ms",
        "messrs",
        "jr",
        "sr",
        "rev",
        "gen",
        "col",
        "lt",
        "capt",
        "sgt",
        "gov",
        "sen",
        "rep",
        "hon",
        "mt",
        "ft",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "est",
        "fig",
        "vol",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "a.m",
        "p.m",
        "u.s",
        "u.k",
        "ph.d",
        "b.a",
        "m.a",
        "p.s",
        "al",
    },
    "de": _COMMON
    | {
        "z.b",
        "bzw",
        "usw",
        "u.a",
        "d.h",
        "o.ä",
        "vgl",
        "hr",
        "fr",
        "frl",
        "s",
        "abs",
        "bd",
        "geb",
        "gegr",
        "inkl",
        "max",
        "min",
        "mio",
        "mrd",
        "str",
        "tel",
        "u.a.m",
        "evtl",
        "ggf",
        "sog",
    },
    "fr": _COMMON | {"m", "mm", "mme", "mmes", "mlle", "mlles", "p.ex", "env", "av", "bd", "art", "chap", "éd"},
    "es": _COMMON
    | {
        "sr",
        "sra",
        "srta",
        "sres",
        "dra",
        "ud",
        "uds",
        "vd",
        "vds",
        "av",
        "avda",
        "pág",
        "núm",
        "p.ej",
        "etc",
        "ee.uu",
        "admón",
    },
    "it": _COMMON | {"sig", "sigg", "sig.ra", "sig.na", "dott", "dott.ssa", "ing", "avv", "geom", "pag", "ecc"},
    "pt": _COMMON | {"sr", "sra", "srta", "dra", "av", "pág", "p.ex", "v.ex", "ex"},
    "nl": _COMMON | {"dhr", "mevr", "mw", "bijv", "enz", "m.a.w", "d.w.z", "o.a", "t.a.v", "blz"},
}


def abbreviations(language: str | None) -> frozenset[str]:
    return ABBREVIATIONS.get(language or "", _COMMON)


def ends_sentence(word: str, next_word: str | None, language: str | None) -> bool:
    """Whether a sentence ends after `word`, given the word that follows (None at the end)."""
    token = word.strip().rstrip(_CLOSERS)
    if not token:
        return False
    if token.endswith(_ALWAYS_ENDS):
        return True
    if not token.endswith("."):
        return False
    following = (next_word or "").strip().lstrip(_OPENERS)
    if following[:1].islower():
        return False  # "e.g. the", "3. mai": what follows a real sentence end is capitalised
    stem = token.rstrip(".").lstrip(_OPENERS).lower()
    if not stem:
        return True  # a lone "..." or "."
    if stem in abbreviations(language):
        return False
    if len(stem) == 1 and stem.isalpha():
        return False  # an initial: "J. R. R. Tolkien"
    return True


def split_sentences(items: Sequence[T], text_of: Callable[[T], str], language: str | None) -> list[list[T]]:
    """`items` (words, or anything holding one) cut after each sentence end; never an empty part."""
    parts: list[list[T]] = [[]]
    for index, item in enumerate(items):
        parts[-1].append(item)
        following = text_of(items[index + 1]) if index + 1 < len(items) else None
        if following is not None and ends_sentence(text_of(item), following, language):
            parts.append([])
    return [part for part in parts if part]
