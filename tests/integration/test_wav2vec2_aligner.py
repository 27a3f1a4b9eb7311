"""The wav2vec2 (whisperx.align) adapter, end to end, on a model loaded from a local directory.

No real wav2vec2 weights can be had offline here, so the test builds a tiny randomly initialised
wav2vec2 CTC model with a character vocabulary and saves it the way the hub lays models out. The
times it yields are not meaningful, but every step runs for real: loading from
ALIGNMENT__MODELS_DIR, whisperx's CTC forced alignment (with the offline Punkt model it loads),
our own sentence splitter and the conversion back to segments and words.
"""

from __future__ import annotations

import io
import json

import pytest

from app.adapters.audio import PyAVDecoder
from app.config.settings import Settings
from app.container import build_container
from app.domain.models import TranscriptionOptions
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def tiny_wav2vec2_dir(tmp_path_factory):
    import torch
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    root = tmp_path_factory.mktemp("align_models")
    model_dir = root / "en"
    model_dir.mkdir()
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
    for letter in "abcdefghijklmnopqrstuvwxyz'":
        vocab[letter] = len(vocab)
    (root / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = Wav2Vec2CTCTokenizer(
        str(root / "vocab.json"), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|"
    )
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=False
    )
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(model_dir)
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32, 32, 32),
        conv_stride=(5, 4, 16),
        conv_kernel=(10, 8, 16),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        pad_token_id=0,
    )
    Wav2Vec2ForCTC(config).eval().save_pretrained(model_dir)
    return root


def test_wav2vec2_aligner_loads_a_local_model_and_times_every_word(tiny_wav2vec2_dir, tmp_path):
    settings = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path),
            "ALLOW_DOWNLOADS": "false",
            "WHISPER__MODEL": "tiny.en",
            "ALIGNMENT__MODELS_DIR": str(tiny_wav2vec2_dir),
        }
    )
    container = build_container(settings)
    assert "en" in container.alignment.models().available()
    audio = PyAVDecoder().decode(io.BytesIO((FIXTURES / "en_fox.wav").read_bytes()))
    result = container.pipeline().run_audio(audio, TranscriptionOptions(model="tiny.en", word_timestamps=True))
    transcript = result.transcript
    assert transcript.aligner == "wav2vec2"
    assert container.alignment.models().loaded() == ["en"]
    words = transcript.words
    spoken = [w.lower().strip(".,") for s in transcript.segments for w in s.text.split()]
    assert [w.word.lower().strip(".,") for w in words] == spoken
    for segment in transcript.segments:
        assert all(segment.start <= w.start <= w.end <= segment.end for w in segment.words)
        assert all(a.start <= b.start for a, b in zip(segment.words, segment.words[1:]))
        assert segment.tokens, "sentence pieces keep Whisper token ids"
    # NLTK finds punkt_tab (ours, written offline, unless the user installed the real data),
    # so whisperx never reached for its download.
    import nltk

    assert nltk.data.find("tokenizers/punkt_tab/english/")


def test_a_language_without_a_model_falls_back_to_cross_attention(tiny_wav2vec2_dir, tmp_path):
    settings = Settings.from_env(
        {"DATA_DIR": str(tmp_path), "ALLOW_DOWNLOADS": "false", "ALIGNMENT__MODELS_DIR": str(tiny_wav2vec2_dir)}
    )
    container = build_container(settings)
    audio = PyAVDecoder().decode(io.BytesIO((FIXTURES / "de_coffee.wav").read_bytes()))
    result = container.pipeline().run_audio(audio, TranscriptionOptions(model="base", word_timestamps=True))
    assert result.transcript.language == "de" and result.transcript.aligner == "cross_attention"
    assert result.transcript.words


DASHWOOD = "And Mr. John Dashwood had the fox. Then it jumped."


def dashwood_transcript(audio, model: str):
    from app.domain.models import Segment, Task, Transcript

    segment = Segment(id=0, start=0.0, end=round(audio.duration, 3), text=DASHWOOD)
    return Transcript(task=Task.TRANSCRIBE, language="en", duration=audio.duration, segments=(segment,), model=model)


@pytest.mark.parametrize("backend", ["whisperx", "cross_attention"])
def test_every_aligner_keeps_mr_dashwood_in_one_sentence(backend, tiny_wav2vec2_dir, tmp_path):
    """The same abbreviation-aware splitter cuts the sentences, whichever aligner timed the words."""
    settings = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path),
            "ALLOW_DOWNLOADS": "false",
            "WHISPER__MODEL": "tiny.en",
            "ALIGNMENT__MODELS_DIR": str(tiny_wav2vec2_dir),
            "BACKENDS__ALIGNMENT": backend,
        }
    )
    container = build_container(settings)
    aligner = container.alignment.aligners()[0]
    audio = PyAVDecoder().decode(io.BytesIO((FIXTURES / "en_fox.wav").read_bytes()))
    aligned = aligner.align(audio, dashwood_transcript(audio, "tiny.en"), TranscriptionOptions(model="tiny.en"))
    assert aligned.aligner == {"whisperx": "wav2vec2", "cross_attention": "cross_attention"}[backend]
    assert [s.text for s in aligned.segments] == ["And Mr. John Dashwood had the fox.", "Then it jumped."]
    assert [w.word for w in aligned.words] == DASHWOOD.split()
