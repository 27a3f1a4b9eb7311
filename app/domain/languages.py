"""Languages Whisper knows, as the ISO 639-1 (or Whisper's own) codes OpenAI's API takes."""

from __future__ import annotations

from app.domain.errors import InvalidRequest

WHISPER_LANGUAGES: frozenset[str] = frozenset(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he "
    "hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl "
    "nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz "
    "vi yi yo zh yue".split()
)

# Scripts written without spaces between words (whisperx's LANGUAGES_WITHOUT_SPACES, widened).
LANGUAGES_WITHOUT_SPACES: frozenset[str] = frozenset({"ja", "zh", "yue", "th", "lo", "km", "my", "bo"})


def word_joiner(language: str) -> str:
    return "" if language in LANGUAGES_WITHOUT_SPACES else " "


def validated_language(value: str | None, *, param: str = "language") -> str | None:
    """A caller's language as Whisper's code, None when absent; InvalidRequest naming `param` if unknown."""
    if value is None or not value.strip():
        return None
    code = value.strip().lower()
    if code not in WHISPER_LANGUAGES:
        raise InvalidRequest(f"Unsupported language '{value[:20]}': use an ISO 639-1 code such as 'en'.", param=param)
    return code


def required_language(value: str | None, *, param: str = "language") -> str:
    """As `validated_language`, for places where a language must be named (alignment models)."""
    code = validated_language(value, param=param)
    if code is None:
        raise InvalidRequest(f"The '{param}' field is required.", param=param)
    return code
