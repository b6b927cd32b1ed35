"""Semantic memory: search over an agent workspace's Markdown and text files.

Files (``*.md``, ``*.markdown``, ``*.txt``; hidden directories skipped) are split
into paragraph chunks. Three modes:

- ``keyword``: BM25 over lower-cased word tokens;
- ``vector``: cosine similarity of hashed bag-of-words vectors (words and word
  bigrams hashed into 1,024 signed buckets) — a local embedding, no model files;
- ``hybrid``: the mean of both scores, each normalised to [0, 1].

The index is rebuilt only when a file's size or mtime changes.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEARCH_MODES = ("keyword", "vector", "hybrid")
_SUFFIXES = {".md", ".markdown", ".txt"}
_WORD = re.compile(r"[a-z0-9]+")
_DIM = 1024
_MAX_CHUNK = 1200
_MAX_FILE = 2_000_000


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def embed(text: str) -> dict[int, float]:
    """A sparse, L2-normalised hashed bag-of-words (+ bigrams) vector."""
    words = tokens(text)
    features = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    vec: dict[int, float] = {}
    for feature in features:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % _DIM
        sign = 1.0 if digest[4] & 1 else -1.0
        vec[index] = vec.get(index, 0.0) + sign
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {k: v / norm for k, v in vec.items()}


def _cosine(a: dict[int, float], b: dict[int, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(k, 0.0) for k, v in a.items())


@dataclass(frozen=True)
class Chunk:
    path: str
    text: str
    terms: Counter[str]
    vector: dict[int, float]


def _chunks(rel: str, text: str) -> list[Chunk]:
    out: list[Chunk] = []
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        while para:
            piece, para = para[:_MAX_CHUNK], para[_MAX_CHUNK:]
            out.append(Chunk(rel, piece, Counter(tokens(piece)), embed(piece)))
    return out


class MemoryIndex:
    """The searchable chunks of one workspace directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] = ()
        self._chunks: list[Chunk] = []

    def _files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.rglob("*"):
            rel = path.relative_to(self.root)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if path.suffix.lower() in _SUFFIXES and path.is_file() and not path.is_symlink():
                found.append(path)
        return sorted(found)

    def _refresh(self) -> list[Chunk]:
        files = self._files()
        signature = tuple(
            (str(p), int(st.st_mtime_ns), int(st.st_size)) for p in files for st in [p.stat()]
        )
        with self._lock:
            if signature != self._signature:
                chunks: list[Chunk] = []
                for path in files:
                    text = path.read_bytes()[:_MAX_FILE].decode("utf-8", errors="replace")
                    chunks.extend(_chunks(str(path.relative_to(self.root)), text))
                self._chunks, self._signature = chunks, signature
            return self._chunks

    def search(self, query: str, mode: str = "hybrid", limit: int = 5) -> list[dict[str, Any]]:
        """Best chunks for ``query``: ``[{"path", "text", "score"}]``, best first."""
        if mode not in SEARCH_MODES:
            raise ValueError(f"unknown semantic_memory search mode {mode!r}; use {SEARCH_MODES}")
        chunks = self._refresh()
        if not chunks or limit <= 0:
            return []
        scores = self._scores(chunks, query, mode)
        ranked = sorted(range(len(chunks)), key=lambda i: (-scores[i], i))
        return [
            {"path": chunks[i].path, "text": chunks[i].text, "score": round(scores[i], 6)}
            for i in ranked[:limit]
            if scores[i] > 0
        ]

    @staticmethod
    def _scores(chunks: list[Chunk], query: str, mode: str) -> list[float]:
        keyword = _bm25(chunks, tokens(query)) if mode != "vector" else None
        vector = None
        if mode != "keyword":
            qv = embed(query)
            vector = [max(0.0, _cosine(qv, c.vector)) for c in chunks]
        if keyword is None:
            return vector or []
        if vector is None:
            return keyword
        top_k, top_v = max(keyword) or 1.0, max(vector) or 1.0
        return [(k / top_k + v / top_v) / 2 for k, v in zip(keyword, vector, strict=True)]


def _bm25(chunks: list[Chunk], query: list[str], k1: float = 1.5, b: float = 0.75) -> list[float]:
    n = len(chunks)
    avg = sum(sum(c.terms.values()) for c in chunks) / n or 1.0
    df = Counter(term for c in chunks for term in set(c.terms) if term in query)
    out = []
    for chunk in chunks:
        length = sum(chunk.terms.values())
        score = 0.0
        for term in set(query):
            tf = chunk.terms.get(term, 0)
            if tf:
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg))
        out.append(score)
    return out
