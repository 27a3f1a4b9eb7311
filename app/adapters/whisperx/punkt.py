"""An offline stand-in for NLTK's `punkt_tab` data, which whisperx.align downloads at run time.

whisperx.align cuts each segment into sentences with Punkt; our wav2vec2 aligner discards those
cuts and uses the splitter every aligner shares (app/domain/sentences.py), so all Punkt has to do
is load. When NLTK has the real data it is used; otherwise we write an untrained Punkt model into
our data directory and put that on NLTK's search path, so alignment never reaches for the network.
"""

from __future__ import annotations

import threading
from pathlib import Path

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
            for name in ("collocations.tab", "sent_starters.txt", "ortho_context.tab", "abbrev_types.txt"):
                (model_dir / name).touch()
            if str(root) not in nltk.data.path:
                nltk.data.path.append(str(root))
        _ready.add(language)
