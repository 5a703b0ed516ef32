"""Evidence quotes are checked against what the candidate said: a quote the model gives that
is not a passage of one of the candidate's lines is dropped, and counted.

The comparison forgives only what does not change the words: letter case, runs of
whitespace, typographic quotes and dashes, and punctuation at the quote's two ends (a model
often closes a quoted sentence with its own full stop). Anything else - a paraphrase, an
ellipsis joining two passages, a corrected word - is not verbatim and does not count as
evidence.
"""

from __future__ import annotations

import re
import unicodedata

from .prompt import MAX_QUOTE_WORDS

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)
_EDGE = re.compile(r"^[\s\"'.,;:!?\-()\[\]]+|[\s\"'.,;:!?\-()\[\]]+$")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).translate(_TRANSLATE)
    return " ".join(text.casefold().split())


def _core(quote: str) -> str:
    return _EDGE.sub("", normalise(quote))


class Evidence:
    """The candidate's lines, ready to look quotes up in."""

    def __init__(self, candidate_lines: list[str]):
        self._lines = [normalise(line) for line in candidate_lines if line.strip()]

    def found(self, quote: str) -> bool:
        core = _core(quote)
        if len(core) < 3 or len(core.split()) > MAX_QUOTE_WORDS:
            return False
        # Whole words only: "queue" is not found in "queues".
        pattern = re.compile(rf"(?<!\w){re.escape(core)}(?!\w)")
        return any(pattern.search(line) for line in self._lines)

    def keep(self, quotes) -> tuple[list[str], int]:
        """The quotes found (the same passage once, as the model first wrote it) and how
        many were dropped."""
        kept, dropped, seen = [], 0, set()
        for quote in quotes or []:
            if not isinstance(quote, str) or not self.found(quote):
                dropped += 1
            elif _core(quote) not in seen:
                seen.add(_core(quote))
                kept.append(quote.strip())
        return kept, dropped
