"""What the words around a phrase say about it: negated, someone else's, hypothetical, past.

A text match of a condition or finding ("heart failure", "neuropathy", "dialysis", "DVT") only
counts when the words around that mention do not take it back. This is a small NegEx-style
reader (Chapman et al., J Biomed Inform 2001;34:301-10): cues are looked for in the mention's own
clause (a sentence, cut at ";", "but", "however", "except", "with" ...), before the mention within
``WINDOW_WORDS`` words ("without heart failure", "denies neuropathy", "negative for DVT",
"not on dialysis", "no history of PE") or right after it ("heart failure excluded", "DVT was
ruled out", "neuropathy: negative"). The nearest cue before the mention decides, unless a cue
after it does. Pseudo-cues that only look like negation ("no change in neuropathy", "not
otherwise specified", "cannot be excluded") are read as what they are.

Qualifiers:
- ``affirmed``: nothing takes it back;
- ``negated``: the patient does not have it;
- ``family``: someone else has it ("family history of myeloma");
- ``hypothetical``: asked about, not found ("rule out DVT", "screening for", "cannot be excluded");
- ``historical``: the patient had it, maybe still has ("history of heart failure", "prior DVT");
- ``resolved``: the patient had it and no longer has ("resolved neuropathy", "... no longer").

Each finding says which qualifiers count for it (a history of DVT is VTE history; a history of
dialysis is not dialysis now). The patterns are compiled once, and readings of the same text are
memoised, so the cost per Condition is one scan of its words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

Qualifier = Literal["affirmed", "negated", "family", "hypothetical", "historical", "resolved"]
AFFIRMED: frozenset[Qualifier] = frozenset({"affirmed"})
AFFIRMED_OR_PAST: frozenset[Qualifier] = frozenset({"affirmed", "historical"})
EVER: frozenset[Qualifier] = frozenset({"affirmed", "historical", "resolved"})

# A cue this many words (or fewer) before the mention still reaches it ("no evidence of
# congestive heart failure": 3 words between "no" and the mention).
WINDOW_WORDS = 6

# What ends the mention's clause. "with" starts a new qualifier scope ("... without heart failure,
# with stage 5 chronic kidney disease"); "without" does not end one (no word boundary inside it).
_BOUNDARY = re.compile(
    r"[.;!?\n]|\b(?:but|however|although|though|except|apart\s+from|aside\s+from|other\s+than|with|which|who|"
    r"secondary\s+to|due\s+to)\b",
    re.IGNORECASE,
)
_EXTENSION = r"(?:\s+(?:any|a|an|known|prior|previous|personal|past|family|current|clinical|definite|further)){0,2}" \
             r"(?:\s+(?:history|hx|evidence|signs?|symptoms?|diagnosis|findings?|episodes?)\s+of)?"
# Cues before a mention, by qualifier. Alternatives are tried left to right at each position, so a
# negation swallows a following "history of" ("no history of DVT" is negated, not historical).
_PRE_CUES: tuple[tuple[Qualifier, str], ...] = (
    ("negated", r"\b(?:no|not|never|without|w/o|denies|denied|deny|denying|negative\s+(?:for|of)|neg\s+for|"
                r"free\s+of|absence\s+of|absent|excluded|ruled\s+out|rules\s+out|not\s+on|nor)\b"
                r"(?:\s*:)?" + _EXTENSION),
    ("family", r"\b(?:family\s+(?:history|hx)(?:\s+of)?|fhx|fh\s*:|(?:mother|father|sister|brother|sibling|"
               r"aunt|uncle|grandmother|grandfather|son|daughter|parent|cousin)(?:'s)?\s+(?:has|had|with|"
               r"died\s+of|diagnosed\s+with))"),
    ("hypothetical", r"\b(?:rule\s+out|r/o|screen(?:ing)?\s+for|evaluat(?:e|ion)\s+for|work-?up\s+for|"
                     r"risk\s+(?:of|for)|at\s+risk|concern\s+for|to\s+exclude|if|should|monitor\s+for)\b"),
    ("historical", r"\b(?:history\s+of|hx\s+of|h/o|past\s+medical\s+history(?:\s+of)?|pmh\s*:?|prior|previous|"
                   r"previously|past|former|status\s+post|s/p)\b"),
    ("resolved", r"\b(?:resolved|recovered\s+from|resolution\s+of)\b"),
)
_PRE = re.compile("|".join(f"(?P<{q}>{p})" for q, p in _PRE_CUES), re.IGNORECASE)
# Words that look like a cue before a mention and are not one.
_PSEUDO_PRE = re.compile(
    r"\b(?:no|without)\s+(?:significant\s+|further\s+|interval\s+|definite\s+)?(?:change|increase|improvement|"
    r"worsening|progression|resolution|decrease)\b|\bnot\s+(?:only|necessarily|certain\s+if)\b|"
    r"\bgram[\s-]negative\b|\bnon[\s-]?(?:small|hodgkin|compliance|adherence)\b|\bnoncomplian\w*",
    re.IGNORECASE,
)
_FILLER = r"(?:(?:was|were|is|are|has|have|had|been|being|now|since|clinically|definitively|completely|" \
          r"subsequently|later|currently)\s+){0,3}"
_POST_PSEUDO = re.compile(r"^[\s,:()\-]*(?:not\s+otherwise\s+specified|nos\b|unspecified)", re.IGNORECASE)
_POST_CUES: tuple[tuple[Qualifier, str], ...] = (
    # "cannot be excluded"; "DVT prophylaxis", "VTE risk assessment", "neuropathy screening": about
    # preventing or looking for it, not having it.
    ("hypothetical", r"(?:cannot|can\s*not|can't|could\s+not|not)\s+(?:be\s+|been\s+|yet\s+)*"
                     r"(?:excluded|ruled\s+out)|(?:prophylaxis|prevention|risk\b|screening)"),
    ("negated", r"(?:excluded|ruled\s+out|not\s+(?:present|found|seen|detected|confirmed|identified|supported)|"
                r"absent|negative|denied|unlikely)\b"),
    ("historical", r"(?:in\s+the\s+past|(?:in\s+)?remote\s+past)\b"),
    ("resolved", r"(?:resolved|no\s+longer)\b"),
)
_POST = re.compile(r"^[\s,:()\-]*" + _FILLER + "(?:" + "|".join(f"(?P<{q}>{p})" for q, p in _POST_CUES) + ")",
                   re.IGNORECASE)
_WORD = re.compile(r"[0-9A-Za-z]+")


@dataclass(frozen=True, slots=True)
class Mention:
    """One phrase found in a text, with what the words around it say."""

    text: str  # the phrase as written
    qualifier: Qualifier


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    clause_start = 0
    for boundary in _BOUNDARY.finditer(text, 0, start):
        clause_start = boundary.end()
    following = _BOUNDARY.search(text, end)
    return clause_start, following.start() if following else len(text)


def qualify(text: str, start: int, end: int) -> Qualifier:
    """The qualifier of the mention ``text[start:end]``."""
    clause_start, clause_end = _clause(text, start, end)
    after = text[end:clause_end]
    if not _POST_PSEUDO.match(after):
        post = _POST.match(after)
        if post is not None:
            return post.lastgroup  # type: ignore[return-value]
    before = text[clause_start:start]
    pseudo = [(m.start(), m.end()) for m in _PSEUDO_PRE.finditer(before)]
    nearest: tuple[int, Qualifier] | None = None
    for cue in _PRE.finditer(before):
        if any(s <= cue.start() < e for s, e in pseudo):
            continue
        if len(_WORD.findall(before, cue.end())) > WINDOW_WORDS:
            continue
        nearest = (cue.end(), cue.lastgroup)  # type: ignore[assignment]
    return nearest[1] if nearest else "affirmed"


@lru_cache(maxsize=4096)
def _read(pattern: re.Pattern[str], text: str) -> tuple[Mention, ...]:
    return tuple(Mention(m.group(0), qualify(text, m.start(), m.end())) for m in pattern.finditer(text))


def mentions(pattern: re.Pattern[str], text: str) -> tuple[Mention, ...]:
    """Every match of ``pattern`` in ``text`` with its qualifier (memoised per pattern and text)."""
    if not isinstance(text, str) or not text:
        return ()
    return _read(pattern, text)


def affirmed_text(pattern: re.Pattern[str] | None, texts: Iterable[Any],
                  accept: frozenset[Qualifier] = AFFIRMED_OR_PAST) -> str | None:
    """The first text in which ``pattern`` has a mention whose qualifier is in ``accept``."""
    if pattern is None:
        return None
    for text in texts:
        if isinstance(text, str) and any(m.qualifier in accept for m in mentions(pattern, text)):
            return text
    return None
