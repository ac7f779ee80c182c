"""A CLIP-format tokenizer whose vocabulary is the words of the emoji captions.

CLIP's tokenizer (transformers' `CLIPTokenizer`) splits text into words with a fixed pattern,
maps each word's bytes to printable characters, marks the last with `</w>` and applies
byte-pair merges by rank. Learning the merges here with the classic BPE procedure until every
caption word is one symbol makes each known word one token, and any other text falls back to
smaller pieces down to single bytes, which are always in the vocabulary. The files written
(`vocab.json`, `merges.txt`) load with `CLIPTokenizer.from_pretrained`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import regex

# CLIP's word pattern (as in transformers' CLIPTokenizer), applied to lower-cased text.
WORD_PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE)
START, END = "<|startoftext|>", "<|endoftext|>"


def byte_alphabet() -> dict[int, str]:
    """GPT-2/CLIP's reversible map from the 256 byte values to printable unicode characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


def word_symbols(word: str, alphabet: dict[int, str]) -> tuple[str, ...]:
    """A word as CLIP's BPE starts it: one symbol per byte, the last marked with `</w>`."""
    chars = [alphabet[b] for b in word.encode("utf-8")]
    return (*chars[:-1], chars[-1] + "</w>")


def learn_merges(texts: list[str]) -> list[tuple[str, str]]:
    """Merges, most frequent pair first (ties by the pair's text), until every word is one symbol."""
    alphabet = byte_alphabet()
    counts = Counter(w for text in texts for w in WORD_PATTERN.findall(text.lower()))
    words = {word_symbols(w, alphabet): n for w, n in counts.items()}
    merges: list[tuple[str, str]] = []
    while True:
        pairs: Counter[tuple[str, str]] = Counter()
        for symbols, n in words.items():
            for pair in zip(symbols, symbols[1:], strict=False):
                pairs[pair] += n
        if not pairs:
            return merges
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        words = {_merge(symbols, best): n for symbols, n in words.items()}


def _merge(symbols: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    merged: list[str] = []
    i = 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            merged.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return tuple(merged)


def write_tokenizer_files(texts: list[str], folder: Path) -> Path:
    """Write vocab.json and merges.txt for `texts` into `folder`; return `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    alphabet = list(byte_alphabet().values())
    merges = learn_merges(texts)
    tokens = alphabet + [c + "</w>" for c in alphabet] + ["".join(m) for m in merges] + [START, END]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    lines = ["#version: 0.2 - trained on the seqc builtin-emoji captions"] + [f"{a} {b}" for a, b in merges]
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def make_tokenizer(texts: list[str], folder: Path, max_length: int):
    """A CLIPTokenizer (transformers) for `texts`, saved in `folder` with its configuration."""
    from transformers import CLIPTokenizer

    write_tokenizer_files(texts, folder)
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token=END,
                              model_max_length=max_length)
    tokenizer.save_pretrained(str(folder))
    return tokenizer
