"""A tiny word-level trigram language model: trained from a text shipped with the server.

It stands in for a real LLM: it has a vocabulary, token ids, log-probabilities, greedy and
seeded sampling, and files on disk that are built once and reused, like a model cache.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

UNK, BOS, EOS = "<unk>", "<s>", "</s>"
SPECIAL = (UNK, BOS, EOS)
MODEL_FILE = "model.json"
CONFIG_FILE = "config.json"
CORPUS = Path(__file__).with_name("corpus.txt")
_TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'./-]*[A-Za-z0-9]|[A-Za-z0-9]|[^\sA-Za-z0-9]")
_SENTENCE_END = {".", "?", "!"}
# Question words are poor topics: "What is a pod?" should be answered about "pod".
_STOPWORDS = set(
    [
        "what",
        "which",
        "where",
        "when",
        "why",
        "how",
        "does",
        "tell",
        "about",
        "explain",
        "describe",
        "please",
        "could",
        "would",
        "should",
        "there",
        "this",
        "that",
        "these",
        "those",
        "with",
        "from",
        "have",
        "your",
        "into",
        "them",
        "they",
        "their",
        "then",
        "than",
    ]
)


def split_words(text: str) -> list[str]:
    """Words and punctuation marks; a trailing full stop is split off a word."""
    words: list[str] = []
    for match in _TOKEN_RE.findall(text):
        if len(match) > 1 and match[-1] == "." and not match.endswith(".."):
            words.extend([match[:-1], "."])
        else:
            words.append(match)
    return words


def token_text(word: str, first: bool) -> str:
    """How a token is shown: words carry a leading space (as in GPT/Llama), punctuation not."""
    if word in SPECIAL:
        return ""
    if first or not word[0].isalnum():
        return word
    return " " + word


@dataclass
class Token:
    id: int
    text: str
    logprob: float
    special: bool


@dataclass
class SamplingParams:
    do_sample: bool = False
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float | None = None
    seed: int | None = None


class NGramCounter:
    """The counts of a trigram model, built one paragraph (a training step) at a time; its state
    is plain JSON, so a training run can checkpoint it and resume."""

    def __init__(self, state: dict | None = None) -> None:
        state = state or {"step": 0, "vocab": list(SPECIAL), "bigrams": {}, "trigrams": {}}
        self.step: int = state["step"]
        self.vocab: list[str] = state["vocab"]
        self.bigrams: dict[str, dict[str, int]] = state["bigrams"]
        self.trigrams: dict[str, dict[str, int]] = state["trigrams"]
        self.unigrams: dict[str, int] = state.get("unigrams", {})
        self._index = {w: i for i, w in enumerate(self.vocab)}

    def add(self, paragraph: str) -> None:
        ids = [self._index[BOS], self._index[BOS]]
        for word in split_words(paragraph):
            if word not in self._index:
                self._index[word] = len(self.vocab)
                self.vocab.append(word)
            ids.append(self._index[word])
        ids.append(self._index[EOS])
        for a, b, c in zip(ids, ids[1:], ids[2:], strict=False):
            bi = self.bigrams.setdefault(str(b), {})
            bi[str(c)] = bi.get(str(c), 0) + 1
            tri = self.trigrams.setdefault(f"{a},{b}", {})
            tri[str(c)] = tri.get(str(c), 0) + 1
            self.unigrams[str(c)] = self.unigrams.get(str(c), 0) + 1
        self.step += 1

    def state(self) -> dict:
        return {
            "step": self.step,
            "vocab": self.vocab,
            "bigrams": self.bigrams,
            "trigrams": self.trigrams,
            "unigrams": self.unigrams,
        }

    def model(self) -> NGramModel:
        counts = [self.unigrams.get(str(i), 0) for i in range(len(self.vocab))]
        return NGramModel(self.vocab, self.bigrams, self.trigrams, counts)


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename: a kill mid-write leaves the previous file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def save_model(
    model_dir: Path, model: NGramModel, model_id: str, corpus_sha256: str, **about: object
) -> str:
    """config.json (with `about`: how it was trained), then model.json (atomically, last) in
    model_dir; the model file's sha256."""
    model_dir.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(model.to_json(), separators=(",", ":")).encode()
    config = {
        "model_id": model_id,
        "model_type": "ngram",
        "order": 3,
        "vocab_size": len(model.vocab),
        "corpus_sha256": corpus_sha256,
        **about,
    }
    (model_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    write_atomically(model_dir / MODEL_FILE, raw)
    return hashlib.sha256(raw).hexdigest()


class NGramModel:
    """Counts of next words after one and two previous words (a backoff trigram model)."""

    def __init__(self, vocab: list[str], bigrams: dict, trigrams: dict, unigrams: list[int]):
        self.vocab = vocab
        self.index = {w: i for i, w in enumerate(vocab)}
        self.lower_index = {}
        for i, w in enumerate(vocab):
            self.lower_index.setdefault(w.lower(), i)
        # JSON keys are strings; keep the in-memory tables keyed by ints for speed.
        self.bigrams = {int(k): {int(n): c for n, c in v.items()} for k, v in bigrams.items()}
        self.trigrams = {
            tuple(int(x) for x in k.split(",")): {int(n): c for n, c in v.items()}
            for k, v in trigrams.items()
        }
        self.unigrams = unigrams

    # ---- training and files -------------------------------------------------------------
    @classmethod
    def train(cls, text: str) -> NGramModel:
        counter = NGramCounter()
        for paragraph in (p.strip() for p in text.split("\n\n")):
            if paragraph:
                counter.add(paragraph)
        return counter.model()

    def to_json(self) -> dict:
        return {
            "vocab": self.vocab,
            "unigrams": self.unigrams,
            "bigrams": {str(k): {str(n): c for n, c in v.items()} for k, v in self.bigrams.items()},
            "trigrams": {
                f"{k[0]},{k[1]}": {str(n): c for n, c in v.items()}
                for k, v in self.trigrams.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> NGramModel:
        return cls(data["vocab"], data["bigrams"], data["trigrams"], data["unigrams"])

    # ---- tokenizer ----------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        unk = self.index[UNK]
        return [self.index.get(w, self.lower_index.get(w.lower(), unk)) for w in split_words(text)]

    def token(self, token_id: int, logprob: float, first: bool) -> Token:
        word = self.vocab[token_id]
        return Token(token_id, token_text(word, first), logprob, word in SPECIAL)

    # ---- generation ---------------------------------------------------------------------
    def _distribution(self, a: int, b: int) -> dict[int, int]:
        return self.trigrams.get((a, b)) or self.bigrams.get(b) or self.bigrams[self.index[BOS]]

    def start_context(self, prompt_ids: list[int]) -> tuple[tuple[int, int], int | None]:
        """Context for the first new token, and an optional topic word to emit first.

        A prompt that ends mid-sentence is continued. A question or unknown words start a new
        sentence about the rarest known prompt word, so answers stay on topic.
        """
        bos, unk = self.index[BOS], self.index[UNK]
        ids = [i for i in prompt_ids if i != unk]
        last = prompt_ids[-2:] if prompt_ids else []
        continues = (
            len(last) == 2
            and unk not in last
            and self.vocab[last[-1]] not in _SENTENCE_END
            and (last[0], last[1]) in self.trigrams
        )
        if continues:
            return (last[0], last[1]), None
        words = [
            i
            for i in ids
            if self.vocab[i][0].isalnum()
            and len(self.vocab[i]) > 2
            and self.vocab[i].lower() not in _STOPWORDS
        ]
        if not words:
            return (bos, bos), None
        topic = min(words, key=lambda i: (self.unigrams[i], i))
        return (unk, topic), topic

    def generate(self, prompt_ids: list[int], params: SamplingParams) -> Iterator[Token]:
        """Yield tokens until the end-of-text token; the caller stops on length or stop words."""
        rng = random.Random(params.seed)
        eos = self.index[EOS]
        (a, b), topic = self.start_context(prompt_ids)
        seen: set[int] = set()
        first = True
        if topic is not None:
            word = self.vocab[topic]
            yield Token(topic, word[0].upper() + word[1:], 0.0, False)
            seen.add(topic)
            first = False
        while True:
            counts = self._distribution(a, b)
            if first and eos in counts and len(counts) > 1:
                counts = {k: v for k, v in counts.items() if k != eos}
            token_id, logprob = self._pick(counts, params, seen, rng)
            yield self.token(token_id, logprob, first)
            if token_id == eos:
                return
            seen.add(token_id)
            first = False
            a, b = b, token_id

    @staticmethod
    def _pick(
        counts: dict[int, int], params: SamplingParams, seen: set[int], rng: random.Random
    ) -> tuple[int, float]:
        ids = sorted(counts)
        weights = [float(counts[i]) for i in ids]
        if params.repetition_penalty and params.repetition_penalty != 1.0:
            weights = [
                w / params.repetition_penalty if i in seen else w
                for i, w in zip(ids, weights, strict=True)
            ]
        total = sum(weights)
        probs = [w / total for w in weights]
        if not params.do_sample:
            best = max(range(len(ids)), key=lambda k: (probs[k], -ids[k]))
            return ids[best], math.log(probs[best])
        temp = params.temperature if params.temperature > 0 else 1.0
        scaled = [p ** (1.0 / temp) for p in probs]
        order = sorted(range(len(ids)), key=lambda k: (-scaled[k], ids[k]))
        if params.top_k:
            order = order[: params.top_k]
        if params.top_p and params.top_p < 1.0:
            norm = sum(scaled[k] for k in order)
            kept, mass = [], 0.0
            for k in order:
                kept.append(k)
                mass += scaled[k] / norm
                if mass >= params.top_p:
                    break
            order = kept
        norm = sum(scaled[k] for k in order)
        choice = rng.choices(order, weights=[scaled[k] / norm for k in order])[0]
        return ids[choice], math.log(scaled[choice] / norm)


@dataclass
class LoadedModel:
    model: NGramModel
    path: Path
    sha: str
    source: str  # "created" (trained here), "fetched" (model store) or "loaded" (already there)


class ModelFetchError(Exception):
    """The model store did not provide usable model files."""


def fetch_model(store_url: str, model_id: str, model_dir: Path) -> None:
    """Download <store>/<model-id>/{config,model}.json into model_dir (like a hub download)."""
    base = f"{store_url.rstrip('/')}/{model_id}"
    files = {}
    for name in (CONFIG_FILE, MODEL_FILE):
        try:
            with urllib.request.urlopen(f"{base}/{name}", timeout=30) as resp:
                files[name] = resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise ModelFetchError(f"cannot fetch {base}/{name}: {exc}") from None
    try:
        NGramModel.from_json(json.loads(files[MODEL_FILE]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFetchError(f"{base}/{MODEL_FILE} is not a model file: {exc}") from None
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / CONFIG_FILE).write_bytes(files[CONFIG_FILE])
    write_atomically(model_dir / MODEL_FILE, files[MODEL_FILE])


def load_or_create(model_dir: Path, model_id: str, store_url: str | None = None) -> LoadedModel:
    """Reuse the model files in model_dir; else fetch them from the model store when one is
    configured, or train them from the shipped corpus; then save them in model_dir."""
    model_file = model_dir / MODEL_FILE
    source = "loaded"
    if not model_file.is_file() and store_url:
        fetch_model(store_url, model_id, model_dir)
        source = "fetched"
    if model_file.is_file():
        raw = model_file.read_bytes()
        model = NGramModel.from_json(json.loads(raw))
        return LoadedModel(model, model_dir, hashlib.sha256(raw).hexdigest(), source)
    text = CORPUS.read_text(encoding="utf-8")
    model = NGramModel.train(text)
    sha = save_model(model_dir, model, model_id, hashlib.sha256(text.encode()).hexdigest())
    return LoadedModel(model, model_dir, sha, "created")
