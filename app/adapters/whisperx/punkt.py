"""An offline stand-in for NLTK's `punkt_tab` data, which whisperx.align downloads at run time.

When NLTK has the real data (installed by the user), it is used. Otherwise we write an
untrained Punkt model (sentence ends at . ? ! plus a few known abbreviations) into our data
directory and put that on NLTK's search path, so alignment never reaches for the network.
"""

from __future__ import annotations

import threading
from pathlib import Path

_COMMON_ABBREVIATIONS = ("dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "approx")
_lock = threading.Lock()
_ready: set[str] = set()


def ensure_punkt(language: str, data_dir: Path) -> None:
    """Make `tokenizers/punkt_tab/<language>/` loadable by NLTK, offline."""
    import nltk

    with _lock:
        if language in _ready:
            return
        try:
            nltk.data.find(f"tokenizers/punkt_tab/{language}/")
        except LookupError:
            root = data_dir / "nltk_data"
            model_dir = root / "tokenizers" / "punkt_tab" / language
            model_dir.mkdir(parents=True, exist_ok=True)
            for name in ("collocations.tab", "sent_starters.txt", "ortho_context.tab"):
                (model_dir / name).touch()
            abbreviations = _COMMON_ABBREVIATIONS if language == "english" else ()
            (model_dir / "abbrev_types.txt").write_text("".join(f"{a}\n" for a in abbreviations))
            if str(root) not in nltk.data.path:
                nltk.data.path.append(str(root))
        _ready.add(language)
