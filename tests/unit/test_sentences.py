"""Where sentences end: the one splitter every aligner uses."""

from __future__ import annotations

import pytest

from app.domain.sentences import ends_sentence, split_sentences


def sentences(text: str, language: str = "en") -> list[str]:
    return [" ".join(part) for part in split_sentences(text.split(), lambda word: word, language)]


def test_titles_and_initials_do_not_end_a_sentence():
    assert sentences("And Mr. John Dashwood came home. He was tired.") == [
        "And Mr. John Dashwood came home.",
        "He was tired.",
    ]
    assert sentences("Ask Dr. Watson and J. R. R. Tolkien. Then go.") == [
        "Ask Dr. Watson and J. R. R. Tolkien.",
        "Then go.",
    ]


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Das ist z.B. gut. Ja.", "de", ["Das ist z.B. gut.", "Ja."]),
        ("Bonjour M. Dupont. Merci.", "fr", ["Bonjour M. Dupont.", "Merci."]),
        ("Hola Sra. García. Adiós.", "es", ["Hola Sra. García.", "Adiós."]),
    ],
)
def test_each_language_knows_its_abbreviations(text, language, expected):
    assert sentences(text, language) == expected


def test_question_and_exclamation_marks_always_end_one():
    assert sentences("Really? Yes! Fine.") == ["Really?", "Yes!", "Fine."]


def test_a_lower_case_word_after_a_full_stop_continues_the_sentence():
    assert sentences("We use e.g. this and approx. three more.") == ["We use e.g. this and approx. three more."]
    assert not ends_sentence("etc.", "and", "en")


def test_quotes_and_brackets_after_the_full_stop_still_end_it():
    assert sentences('He said "stop." Then left.') == ['He said "stop."', "Then left."]


def test_the_last_word_closes_the_last_sentence_and_nothing_is_empty():
    assert sentences("One. Two") == ["One.", "Two"]
    assert split_sentences([], str, "en") == []
