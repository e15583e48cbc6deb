"""Meeting analysis from transcript segments: what was said, by whom, and how it felt.

Everything is extractive and rule-based (no language model), so it is fast, deterministic and
explainable:

- summary: up to five sentences with the highest mean content-word frequency (a word's weight is
  how often it occurs in the meeting, stop words excluded), kept in spoken order;
- key phrases: RAKE (runs of content words between stop words and punctuation, scored by the sum
  of word degree/frequency), top ten;
- action items: sentences that commit someone to something ("I'll", "we need to", "let's",
  "action item", "can you ... by", "follow up", ...);
- questions: sentences ending in "?" or opening with a question word;
- talk time: summed segment durations per speaker;
- sentiment timeline: VADER compound polarity of each segment at its start time.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "ok",
        "okay",
        "yeah",
        "yes",
        "um",
        "uh",
        "like",
        "really",
        "think",
        "know",
        "going",
        "get",
        "got",
        "well",
        "right",
        "go",
        "one",
        "thing",
        "things",
        "i'm",
        "i'll",
        "we'll",
        "we're",
        "you're",
        "it's",
        "that's",
        "let's",
        "don't",
        "can't",
        "won't",
        "there's",
        "i've",
        "we've",
    ]
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z][a-z'-]*")
_PHRASE_BREAK = re.compile(r"[.,;:!?()\"]|\s-\s")
_ACTION = re.compile(
    r"\b(i'll|i will|we'll|we will|we need to|we should|let's|let us|action item|to-?do|"
    r"follow up|follow-up|can you|could you|please|make sure|by (monday|tuesday|wednesday|"
    r"thursday|friday|tomorrow|next week|end of (the )?(day|week)))\b",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(
    r"^(who|what|when|where|why|how|which|is|are|do|does|did|can|could|should|would|will|"
    r"shall|have|has)\b",
    re.IGNORECASE,
)
MAX_SUMMARY_SENTENCES = 5


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE.split(text.strip()) if part.strip()]


def _content_words(text: str) -> list[str]:
    return [word for word in _WORD.findall(text.lower()) if word not in STOP_WORDS]


def summarize(all_sentences: Sequence[str], limit: int = MAX_SUMMARY_SENTENCES) -> list[str]:
    frequency = Counter(word for sentence in all_sentences for word in _content_words(sentence))
    if not frequency:
        return list(all_sentences[:limit])
    top = max(frequency.values())

    def score(sentence: str) -> float:
        words = _content_words(sentence)
        return sum(frequency[word] / top for word in words) / (len(words) ** 0.5) if words else 0.0

    ranked = sorted(range(len(all_sentences)), key=lambda i: -score(all_sentences[i]))[:limit]
    return [all_sentences[i] for i in sorted(ranked)]


def key_phrases(text: str, limit: int = 10) -> list[str]:
    """RAKE: candidate phrases are runs of content words; a word scores degree/frequency."""
    phrases: list[list[str]] = []
    for fragment in _PHRASE_BREAK.split(text.lower()):
        run: list[str] = []
        for word in _WORD.findall(fragment):
            if word in STOP_WORDS:
                if run:
                    phrases.append(run)
                run = []
            else:
                run.append(word)
        if run:
            phrases.append(run)
    phrases = [phrase for phrase in phrases if len(phrase) <= 4]
    frequency: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    for phrase in phrases:
        for word in phrase:
            frequency[word] += 1
            degree[word] += len(phrase)
    scored: dict[str, float] = {}
    for phrase in phrases:
        joined = " ".join(phrase)
        if len(joined) > 2:
            scored[joined] = sum(degree[word] / frequency[word] for word in phrase)
    counts = Counter(" ".join(phrase) for phrase in phrases)
    ranked = sorted(scored, key=lambda phrase: (-scored[phrase] * counts[phrase], phrase))
    return ranked[:limit]


def analyze(
    segments: Sequence[dict[str, Any]], valence_of: Callable[[str], float]
) -> dict[str, Any]:
    """The analysis of one meeting's segments (``speaker``, ``start``, ``end``, ``text``)."""
    ordered = sorted(segments, key=lambda segment: float(segment["start"]))
    said = [(segment, sentence) for segment in ordered for sentence in sentences(segment["text"])]
    all_sentences = [sentence for _, sentence in said]
    talk: dict[str, float] = defaultdict(float)
    for segment in ordered:
        talk[str(segment["speaker"])] += max(0.0, float(segment["end"]) - float(segment["start"]))
    return {
        "summary": summarize(all_sentences),
        "key_phrases": key_phrases(" . ".join(all_sentences)),
        "action_items": [
            {"speaker": segment["speaker"], "t": segment["start"], "text": sentence}
            for segment, sentence in said
            if _ACTION.search(sentence)
        ],
        "questions": [
            {"speaker": segment["speaker"], "t": segment["start"], "text": sentence}
            for segment, sentence in said
            if sentence.endswith("?") or _QUESTION_START.match(sentence)
        ],
        "talk_time": {speaker: round(seconds, 2) for speaker, seconds in talk.items()},
        "sentiment_timeline": [
            {"t": segment["start"], "valence": round(valence_of(segment["text"]), 4)}
            for segment in ordered
        ],
    }
