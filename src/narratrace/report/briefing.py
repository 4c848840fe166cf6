"""The briefing: a five-minute read for a policymaker on one narrative, one actor and/or one period.

Every sentence is generated from the workspace by a fixed template (no language model, nothing
invented) and carries footnotes to its evidence: the exact quoted span of a stored document, the
outlet, the date and a link. A sentence that cannot be backed by a stored quote is not written;
scope notes ("nothing found") go into the italic meta lines, which make no claim about anyone.

Shape (what a policymaker reads in five minutes): a bottom line of at most five sentences whose
first quotes both sides of the strongest cross-audience contradiction; then the main text
(prevalence chart, contradiction cards, recycled sources, coordination), kept to two A4 pages;
then an annex (further charts) and the numbered evidence. A quote that is not in English carries
an English rendering marked with where it came from: the analyst's stored translation
(``Workspace.translate``), or else the narrative statement the model matched it to, labelled as a
gloss and never as a translation. Counts include undated documents (they cannot be placed on a
chart, and the caption says how many are not on it). No sentence is repeated.

Outputs: Markdown (footnotes ``[^n]``), a self-contained HTML file (no script, CSP, charts as
data: URIs) and PDF (that same HTML printed by headless Chromium, see ``render_pdf``).
"""

from __future__ import annotations

import base64
import shutil
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from narratrace import settings
from narratrace.errors import InvalidInput
from narratrace.filters import Filters
from narratrace.records import Records
from narratrace.report.briefing_doc import (
    LANGUAGE_NAMES,
    Briefing,
    Chart,
    Evidence,
    Pair,
    Section,
    Sentence,
    isolate,
    md_escape,
    nest_marks,
    safe_href,
    trim_quote,
)

FORMATS = ("md", "html", "pdf")
# The main text (before the annex) must fit two A4 pages: at most this many contradiction cards
# besides the one the bottom line quotes (measured on the demo: a card with a Persian side and its
# rendering takes ~1/5 of a page; the chart ~1/3), and one chart (by audience; by outlet in the annex).
MAIN_CARDS = 1
MAIN_SENTENCES = 2  # per section of findings (recycled sources, coordination); more go to the annex
BOTTOM_LINE_MAX = 5
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


class BriefingError(InvalidInput):
    pass


def document_link(document_id: int, url: str | None) -> str:
    return url or f"narratrace://document/{document_id}"


def _day(d: datetime | None) -> str:
    return f"{d.day} {d:%B %Y}" if d else "an unknown date"


def _span(a: datetime, b: datetime) -> str:
    if a.date() == b.date():
        return f"On {_day(a)}"
    if (a.year, a.month) == (b.year, b.month):
        return f"Between {a.day} and {b.day} {b:%B %Y}"
    if a.year == b.year:
        return f"Between {a.day} {a:%B} and {_day(b)}"
    return f"Between {_day(a)} and {_day(b)}"


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _best(matches: list):
    """The clearest statement among several: cited when any of them would back the sentence."""
    return max(matches, key=lambda m: (m.stance_score, m.similarity, -m.sentence_id))


def _best_per_document(matches: list) -> dict:
    by: dict[int, list] = defaultdict(list)
    for m in matches:
        by[m.document_id].append(m)
    return {d: _best(ms) for d, ms in by.items()}


def _language(code: str | None) -> str:
    return LANGUAGE_NAMES.get((code or "").split("-")[0], code or "an unknown language")


# -- building it from the workspace --------------------------------------------------------------

class _Builder:
    def __init__(self, ws, *, narrative, actor, since, until, top, chart_format):
        # one Filters for every read (since/until inclusive, a bare date the whole day in UTC);
        # the bounds it keeps are compared with the stored naive-UTC times of contradictions and groups
        self.filters = Filters.of(actor=actor, since=since, until=until)
        self.ws, self.narrative, self.actor = ws, narrative, actor
        self.since, self.until = self.filters.since_utc, self.filters.until_utc
        self.top, self.chart_format = top, chart_format
        self.evidence: list[Evidence] = []
        self._by_span: dict[tuple[int, int, int], Evidence] = {}
        self.sources = {s.key: s for s in ws.sources()}
        self.narratives = {n.key: n for n in ws.narratives(include_dismissed=True)}
        self._docs: dict[int, object] = {}
        self.actors = ws.names()["actors"]
        self._verbs: dict[int, str] = {}  # a glossed quote's stance, as the inline rendering words it

    # evidence, deduplicated by span so that one quote has one footnote number
    def cite(self, document_id: int, start: int, end: int, *, source=None, audience=None, language=None,
             published_at=None, url=None, text: str | None = None, sentence_id: int | None = None,
             narrative: str | None = None) -> int:
        if text is None:
            text = self.document(document_id).text[start:end]
        a, b = trim_quote(text)  # the span without its own quotation marks: the briefing adds them
        start, end, text = start + a, start + b, text[a:b]
        key = (document_id, start, end)
        ev = self._by_span.get(key)
        if ev is None:
            outlet = self.sources[source].name if source in self.sources else (source or "unknown outlet")
            ev = Evidence(len(self.evidence) + 1, document_id, start, end, text, source, outlet, audience,
                          language, published_at, document_link(document_id, url), sentence_id, narrative)
            self.evidence.append(ev)
            self._by_span[key] = ev
        elif narrative and not ev.narrative:
            ev.narrative, ev.sentence_id = narrative, ev.sentence_id or sentence_id
        return ev.n

    def cite_match(self, m) -> int:
        return self.cite(m.document_id, m.start, m.end, source=m.source, audience=m.audience, language=m.language,
                         published_at=m.published_at, url=m.url, text=m.text, sentence_id=m.sentence_id,
                         narrative=m.narrative)

    def document(self, doc_id: int):
        if doc_id not in self._docs:
            self._docs[doc_id] = self.ws.document(doc_id)
        return self._docs[doc_id]

    def cite_document(self, doc_id: int) -> int:
        """A whole document as evidence: its first sentence (coordination is about the whole text)."""
        d = self.document(doc_id)
        first = next((s for s in d.sentences or [] if s.text.strip()), None)
        start, end = (first.start, first.end) if first else (0, min(len(d.text), 200))
        return self.cite(doc_id, start, end, source=d.source, audience=d.audience, language=first.language
                         if first else d.language, published_at=d.published_at, url=d.url,
                         sentence_id=getattr(first, "id", None))

    def outlet(self, key: str | None) -> str:
        return self.sources[key].name if key in self.sources else (key or "an unknown outlet")

    def narrative_name(self, key: str | None) -> str:
        return self.narratives[key].name if key in self.narratives else (key or "")

    # the statements the briefing is about: analyst reviews win over the model, and a claim an
    # outlet only reports ("state media claimed …") is not its statement — as in prevalence().
    # Undated ones are kept: they count in every total, dated ones come first (they can be placed)
    def statements(self, stance: str) -> list:
        out = []
        for m in self.ws.matches(self.narrative, filters=self.filters):
            if m.review == "rejected" or m.holder_kind == "reported":
                continue
            if (m.reviewed_stance or m.stance) == stance:
                out.append(m)
        return sorted(out, key=lambda m: (m.published_at is None, m.published_at or datetime.min, m.document_id,
                                          m.start))

    def build(self) -> Briefing:
        if self.narrative and self.narrative not in self.narratives:
            raise BriefingError(f"no narrative '{self.narrative}' (known: {', '.join(sorted(self.narratives)) or 'none'})")
        if self.actor and self.actor not in self.actors:
            raise BriefingError(f"no actor '{self.actor}' (known: {', '.join(sorted(self.actors)) or 'none'})")
        if self.since and self.until and self.since > self.until:
            raise BriefingError("--since is after --until")
        asserts = self.statements("asserts")
        denies = self.statements("denies")
        doc_keys = {(m.narrative, m.document_id) for m in asserts}
        self.narrative_docs = {d for _, d in doc_keys}
        keys = [self.narrative] if self.narrative else sorted(
            {m.narrative for m in asserts}, key=lambda k: (-sum(1 for n, _ in doc_keys if n == k), k))[: self.top]
        bottom = Section("bottom-line", "Bottom line")
        prevalence = Section("prevalence", "Prevalence")
        by_outlet = Section("annex-outlets", "Annex: prevalence by outlet", annex=True)
        if asserts:
            reach = [self.reach_sentence(k, [m for m in asserts if m.narrative == k]) for k in keys]
            bottom.sentences.append(reach[0])
            if len(reach) > 1:  # the others in one sentence: several near-identical bullets say less
                bottom.sentences.append(self.others_sentence(keys[1:], asserts))
            prevalence.sentences += self.spread_sentences(keys[0], [m for m in asserts if m.narrative == keys[0]],
                                                          [m for m in denies if m.narrative == keys[0]])
            charts = self.charts(asserts, keys)
            prevalence.charts, by_outlet.charts = charts[:1], charts[1:]
        else:
            bottom.notes.append("No statement in this scope was matched as asserting "
                                + (f"“{self.narrative_name(self.narrative)}”." if self.narrative else "a narrative."))
        contradictions = self.contradictions()
        recycled = self.recycled()
        coordination = self.coordination()
        if contradictions.pairs:  # the strongest pair, quoted on both sides, leads the bottom line
            lead = contradictions.pairs.pop(0)
            bottom.sentences.insert(0, self.pair_sentence(lead))
            if not contradictions.pairs:
                contradictions.notes.append("The strongest pair is quoted in the bottom line; no other pair in "
                                            "this scope.")
        for sec in (recycled, coordination):  # their strongest finding, moved (not copied) up
            if sec.sentences and len(bottom.sentences) < BOTTOM_LINE_MAX:
                bottom.sentences.append(sec.sentences.pop(0))
                if not sec.sentences:
                    sec.notes.append("Its strongest finding is in the bottom line.")
        # the main text fits two A4 pages: what does not fit the budget goes to the annex, in order
        further = Section("annex-findings", "Annex: further findings", annex=True)
        further.pairs, contradictions.pairs = contradictions.pairs[MAIN_CARDS:], contradictions.pairs[:MAIN_CARDS]
        for sec in (recycled, coordination):
            further.sentences += sec.sentences[MAIN_SENTENCES:]
            sec.sentences = sec.sentences[:MAIN_SENTENCES]
        scope = []
        if self.narrative:
            scope.append(f"narrative “{self.narrative_name(self.narrative)}” ({self.narrative})")
        if self.actor:
            scope.append(f"outlets of {self.actors[self.actor]} ({self.actor})")
        if self.since or self.until:
            scope.append(f"published {_day(self.since) if self.since else '…'} – {_day(self.until) if self.until else '…'}")
        title = (f"Briefing: {self.narrative_name(self.narrative)}" if self.narrative else
                 f"Briefing: {self.actors[self.actor]}" if self.actor else "Briefing: narratives in this workspace")
        meta = [f"Scope: {'; '.join(scope) or 'the whole workspace'}. Generated by narratrace on "
                f"{datetime.now():%Y-%m-%d %H:%M}.",
                "Every sentence is generated from stored documents and footnoted with its evidence; "
                "it shows who said what, where and when, not what is true. Counts include undated documents.",
                "“Model probability” is a calibrated probability that the two statements take opposite sides "
                "(a lead for review, not a verdict). A quote not in English carries the analyst's translation "
                "or, where there is none, a gloss: the narrative statement the model read it as."]
        sections = [s for s in (bottom, prevalence, contradictions, recycled, coordination, further, by_outlet)
                    if s.sentences or s.charts or s.pairs or s.notes]
        b = Briefing(title, meta, sections, self.evidence)
        _dedupe(b)
        b = _renumber(b)
        self.render_quotes(b.evidence)
        return b

    # -- narratives ------------------------------------------------------------------------------------

    def _dated(self, rows: list) -> list:
        return [m for m in rows if m.published_at is not None]

    def reach_sentence(self, key: str, rows: list) -> Sentence:
        """How far the narrative went: outlets, documents (undated ones counted), period, first outlet."""
        name = self.narrative_name(key)
        outlets = list(dict.fromkeys(m.source for m in rows))
        docs = {m.document_id for m in rows}
        undated = {m.document_id for m in rows if m.published_at is None}
        best = {src: _best([m for m in rows if m.source == src]) for src in outlets}
        count = _count(len(docs), "document") + (f", {len(undated)} of them undated" if undated else "")
        dated = self._dated(rows)
        when = _span(dated[0].published_at, dated[-1].published_at) if dated else "on no known date"
        when = when[0].lower() + when[1:]
        first = (f"; the first was {self.outlet(dated[0].source)} ({dated[0].audience or 'unknown'} audience) "
                 f"on {_day(dated[0].published_at)}") if dated else ""
        refs = [self.cite_match(dated[0])] if dated else []
        refs += [self.cite_match(m) for m in best.values()]
        return Sentence(f"{_count(len(outlets), 'outlet')} carried “{name}” in {count}, {when}{first}.",
                        list(dict.fromkeys(refs)))

    def others_sentence(self, keys: list[str], asserts: list) -> Sentence:
        parts, refs = [], []
        for k in keys:
            rows = [m for m in asserts if m.narrative == k]
            docs = {m.document_id for m in rows}
            outlets = {m.source for m in rows}
            parts.append(f"“{self.narrative_name(k)}” ({_count(len(docs), 'document')}, "
                         f"{_count(len(outlets), 'outlet')})")
            refs.append(self.cite_match(_best(rows)))
        return Sentence(f"Also carried in this scope: {_join(parts)}.", refs)

    def spread_sentences(self, key: str, rows: list, denials: list) -> list[Sentence]:
        """Audiences and languages the narrative reached, and who denied it: what the chart cannot say."""
        name = self.narrative_name(key)
        dated = self._dated(rows)
        out = []
        first_per_audience: dict = {}
        for m in dated:
            first_per_audience.setdefault(m.audience or "unknown", m)
        if len(first_per_audience) > 1:
            parts = [f"{aud}-audience outlets {'first' if i == 0 else 'followed'} from {_day(m.published_at)} "
                     f"({self.outlet(m.source)})" for i, (aud, m) in enumerate(first_per_audience.items())]
            text = "; ".join(parts) + "."
            out.append(Sentence(text[0].upper() + text[1:], [self.cite_match(m) for m in first_per_audience.values()]))
        first_per_language: dict = {}
        for m in dated:
            first_per_language.setdefault(m.language or "?", m)
        if len(first_per_language) > 1:
            out.append(Sentence(f"It appeared in {_count(len(first_per_language), 'language')}: " + _join(
                [f"{_language(lang)} (first {_day(m.published_at)}, {self.outlet(m.source)})"
                 for lang, m in first_per_language.items()]) + ".",
                [self.cite_match(m) for m in first_per_language.values()]))
        if denials:
            per = {src: _best([m for m in denials if m.source == src]) for src in dict.fromkeys(m.source for m in denials)}
            first = self._dated(denials)
            when = f", the first in {self.outlet(first[0].source)} on {_day(first[0].published_at)}" if first else ""
            out.append(Sentence(f"{_count(len(denials), 'statement')} in {_count(len(per), 'outlet')} denied "
                                f"“{name}”{when}.", [self.cite_match(m) for m in per.values()]))
        return out

    # -- English renderings of quotes that are not in English -----------------------------------------

    def render(self, ev: Evidence) -> None:
        """The analyst's translation of the span (or of the sentence that holds it); else a gloss: the
        narrative statement the model read the sentence as, labelled so; else say that none is stored."""
        if ev.english or ev.rendering_kind:
            return
        if not hasattr(self, "_translations"):
            self._translations: dict[int, list] = defaultdict(list)
            for t in self.ws.translations(language="en"):
                self._translations[t.document_id].append(t)
        held = [t for t in self._translations.get(ev.document_id, []) if t.start <= ev.start and ev.end <= t.end]
        if held:
            t = min(held, key=lambda t: (t.end - t.start, -t.id))  # the closest fit: a quote's own over its sentence
            a, b = trim_quote(t.original)
            whole = (t.start + a, t.start + b) != (ev.start, ev.end)
            by = f" by {t.translator}" if t.translator else ""
            ev.rendering, ev.rendering_kind = nest_marks(t.text), "translation"
            ev.rendering_label = (f"Analyst's translation{' of the whole sentence' if whole else ''}{by}, "
                                  f"{t.at:%Y-%m-%d}")
            return
        glosses = list(self.ws.glosses([ev.sentence_id])) if ev.sentence_id else []
        g = next((g for g in glosses if g.narrative == ev.narrative), glosses[0] if glosses else None)
        if g is not None:
            verb = {"asserts": "asserting", "denies": "denying"}.get(g.stance, "neutral towards")
            self._verbs[id(ev)] = verb
            ev.rendering, ev.rendering_kind = nest_marks(g.statement), "gloss"
            ev.rendering_label = (f"Gloss, not a translation: the model read this as {verb} the narrative "
                                  f"statement")
            return
        ev.rendering_kind = "missing"
        hint = f'narratrace translate {ev.sentence_id} "…"' if ev.sentence_id else "narratrace translate --quote"
        ev.rendering_label = f"No English rendering stored yet (add one: {hint})"

    def render_quotes(self, evidence: list[Evidence]) -> None:
        for ev in evidence:
            self.render(ev)

    def _inline(self, ev: Evidence) -> str:
        """A quote inside a sentence, with its English rendering in brackets when it needs one."""
        self.render(ev)
        text = f"“{ev.shown}”"
        if ev.rendering_kind == "translation":
            text += f" (analyst's translation: “{ev.rendering}”)"
        elif ev.rendering_kind == "gloss":
            text += f" (gloss, not a translation: read as {self._verbs[id(ev)]} “{ev.rendering}”)"
        return text

    # -- prevalence charts --------------------------------------------------------------------------------

    def charts(self, asserts: list, keys: list[str]) -> list[Chart]:
        out = []
        asserts = [m for m in asserts if m.narrative in keys]
        for by, label in (("audience", "audience"), ("source", "outlet")):
            every = [r for r in self.ws.prevalence(period="day", by=by, narrative=self.narrative, filters=self.filters)
                     if r.narrative in keys]
            rows = Records([r for r in every if r.period is not None], of=type(every[0]) if every else None)
            if not rows:
                continue
            if by == "source":  # outlet names in the legend, as in the sentences
                for r in rows:
                    r.group = self.outlet(r.group) if r.group in self.sources else r.group
            image = render_chart(rows, by_label=label, fmt=self.chart_format,
                                 title=f"Documents asserting {'the narrative' if self.narrative else 'each narrative'}"
                                       f" per day, by {label}")
            out.append(Chart(f"By {label}", self.chart_caption(asserts, by), **image))
        return out

    def chart_caption(self, asserts: list, by: str) -> Sentence:
        """The chart's headline, counted from the same statements it cites (distinct documents); the
        undated ones are said, as the chart cannot place them."""
        what = "it" if self.narrative else "these narratives"
        undated = {m.document_id for m in asserts if m.published_at is None}
        off = (f" {_count(len(undated), 'undated document')} {'is' if len(undated) == 1 else 'are'} counted "
               f"above but cannot be placed on the chart.") if undated else ""
        groups: dict[str, list] = defaultdict(list)
        for m in self._dated(asserts) if by == "audience" else asserts:
            groups[m.published_at.date().isoformat() if by == "audience" else self.outlet(m.source or "unknown")].append(m)
        top = max(sorted(groups), key=lambda k: len({m.document_id for m in groups[k]}))  # earliest on a tie
        cited = _best_per_document(groups[top])
        if by == "audience":
            outlets = sorted({self.outlet(m.source) for m in cited.values()})
            return Sentence(f"The busiest day was {_day(datetime.fromisoformat(top))}, when {_join(outlets)} carried "
                            f"{what} in {_count(len(cited), 'document')}.{off}",
                            [self.cite_match(m) for m in cited.values()])
        return Sentence(f"{top} carried {what} most often, in {_count(len(cited), 'document')}.",
                        [self.cite_match(m) for m in cited.values()])

    # -- contradictions ------------------------------------------------------------------------------

    def contradictions(self) -> Section:
        sec = Section("contradictions", "Contradictions across audiences")
        found = []
        for c in self.ws.contradictions(actor=self.actor):
            if c.review == "rejected":
                continue
            if self.narrative and self.narrative not in (c.narrative_a, c.narrative_b):
                continue
            dates = [d for d in (c.a_published_at, c.b_published_at) if d]
            if (self.since and any(d < self.since for d in dates)) or (self.until and any(d > self.until for d in dates)):
                continue
            found.append(c)
        found.sort(key=lambda c: (not c.cross_audience, c.review != "confirmed", -c.score, c.id))
        # one statement in one card: the same sentence paired with three others would fill three
        # cards with one quote (each card must show something the others do not)
        used: set = set()
        chosen = []
        for c in found:
            sides = {c.a_sentence_id, c.b_sentence_id, _norm_text(c.a_text), _norm_text(c.b_text)}
            if sides & used:
                continue
            used |= sides
            chosen.append(c)
            if len(chosen) >= self.top:
                break
        for c in chosen:
            sides = []
            for p in ("a", "b"):  # each side carries its document id and span: the footnote's evidence
                n = self.cite(getattr(c, f"{p}_document_id"), getattr(c, f"{p}_start"), getattr(c, f"{p}_end"),
                              source=getattr(c, f"{p}_source"), audience=getattr(c, f"{p}_audience"),
                              language=getattr(c, f"{p}_language"), published_at=getattr(c, f"{p}_published_at"),
                              url=getattr(c, f"{p}_url"), text=getattr(c, f"{p}_text"),
                              sentence_id=getattr(c, f"{p}_sentence_id"), narrative=getattr(c, f"narrative_{p}"))
                sides.append(self.evidence[n - 1])
            a, b = sides
            intro = Sentence(f"{a.outlet} ({a.audience or 'unknown'} audience, {_day(a.published_at)}) and "
                             f"{b.outlet} ({b.audience or 'unknown'} audience, {_day(b.published_at)}): "
                             f"{self._status(c)}.", [a.n, b.n])
            sec.pairs.append(Pair(intro, a, b, c))
        if not found:
            sec.notes.append("No contradiction in this scope (`narratrace contradictions --refresh` looks for them).")
        elif len(found) > len(chosen):
            sec.notes.append(f"{len(found)} flagged pairs in this scope; the strongest with distinct statements are "
                             "shown (`narratrace contradictions` lists all).")
        return sec

    def _status(self, c) -> str:
        kind = "across audiences" if c.cross_audience else "to the same audience"
        status = {"confirmed": "confirmed by an analyst"}.get(c.review, "not yet reviewed")
        return f"flagged as contradicting each other {kind}, model probability {c.score:.2f}, {status}"

    def pair_sentence(self, pair: Pair) -> Sentence:
        """The bottom line's lead: both sides quoted, with dates, outlets and English renderings."""
        c, a, b = pair.finding, pair.left, pair.right
        who = f"outlets of {self.actors.get(c.actor, c.actor)}" if c.actor else "outlets of one actor"
        return Sentence(f"{who[0].upper() + who[1:]} carried two statements {self._status(c)}: "
                        f"{a.outlet} told a {a.audience or 'unknown'} audience on {_day(a.published_at)} "
                        f"{self._inline(a)}, and {b.outlet} told a {b.audience or 'unknown'} audience on "
                        f"{_day(b.published_at)} {self._inline(b)}.".replace(".”.", ".”").replace("?”.", "?”")
                        .replace("!”.", "!”"), [a.n, b.n])

    # -- recycled sources ----------------------------------------------------------------------------------

    def recycled(self) -> Section:
        sec = Section("recycled", "Recycled sources")
        filters = replace(self.filters, actor=None)  # recycled = quoted *outside* own outlets
        for sp in self.ws.recycled_sources(filters=filters):
            quotes = [q for q in self.ws.quotes(speaker=sp.entity or sp.key, filters=filters) if q.published_at]
            if self.narrative:
                quotes = [q for q in quotes if q.document_id in self.narrative_docs]
            if self.actor:
                owned = {k for k, s in self.sources.items() if s.actor == self.actor}
                if sp.actor != self.actor and not any(q.source in owned for q in quotes):
                    continue
            per: dict = {}
            for q in quotes:
                per.setdefault(q.source, q)
            if len(per) < 2:
                continue
            refs = [self.cite(q.document_id, q.start, q.end, source=q.source, audience=q.audience,
                              language=q.language, published_at=q.published_at, url=q.url, text=q.text)
                    for q in per.values()]
            own = (f"who speaks for {self.actors.get(sp.actor, sp.actor)}" if sp.actor
                   else "a speaker with no registered actor")
            first = next(iter(per.values()))
            sec.sentences.append(Sentence(
                f"{sp.name}, {own}, was quoted by {_count(len(per), 'outlet')} in this scope — "
                f"{_join([self.outlet(k) for k in per])} — first by {self.outlet(first.source)} on "
                f"{_day(first.published_at)}.", refs))
            if len(sec.sentences) >= self.top + 2:
                break
        if not sec.sentences:
            sec.notes.append("No named source is quoted by several outlets in this scope.")
        return sec

    # -- coordination --------------------------------------------------------------------------------

    def coordination(self) -> Section:
        sec = Section("coordination", "Coordinated publication")
        owned = {k for k, s in self.sources.items() if s.actor == self.actor}
        for g in self.ws.coordination():
            ids = {d.document_id for d in g.documents}
            if self.narrative and not ids & self.narrative_docs:
                continue
            if self.actor and not {d.source for d in g.documents} & owned:
                continue
            if (self.since and g.started_at < self.since) or (self.until and g.started_at > self.until):
                continue
            docs = sorted(g.documents, key=lambda d: (d.published_at, d.document_id))
            refs = [self.cite_document(d.document_id) for d in docs]
            minutes = max(1, round(g.span_seconds / 60))
            span = _count(minutes, "minute") if minutes < 120 else _count(round(minutes / 60), "hour")
            others = _join(sorted({self.outlet(d.source) for d in docs[1:]} - {self.outlet(docs[0].source)}))
            what = "a translation of the same text" if g.method == "translation" else "near-identical text"
            sec.sentences.append(Sentence(
                f"{self.outlet(g.first_source)} published first, at {docs[0].published_at:%H:%M} UTC on "
                f"{_day(docs[0].published_at)}; {others} published {what} within {span}.",
                refs))
            if len(sec.sentences) >= self.top:
                break
        if not sec.sentences:
            sec.notes.append("No coordinated publication in this scope (`narratrace coordination` looks for it).")
        return sec


def _norm_text(text: str) -> str:
    return " ".join((text or "").split()).casefold()


def _dedupe(b: Briefing) -> None:
    """No sentence twice: a later copy (same words, whatever its footnotes) is left out."""
    seen: set[str] = set()
    for sec in b.sections:
        keep = []
        for s in sec.sentences:
            if _norm_text(s.text) not in seen:
                seen.add(_norm_text(s.text))
                keep.append(s)
        sec.sentences = keep


def _renumber(b: Briefing) -> Briefing:
    """Footnotes numbered in reading order (they were numbered as the sections were collected)."""
    order: dict[int, int] = {}
    for sec in b.sections:
        refs = [n for s in sec.sentences for n in s.refs] + [n for c in sec.charts for n in c.caption.refs]
        refs += [n for p in sec.pairs for n in p.intro.refs + [p.left.n, p.right.n]]
        for n in refs:
            order.setdefault(n, len(order) + 1)
    b.evidence = [ev for ev in b.evidence if ev.n in order]  # cited by a sentence that was left out
    seen: set[int] = set()
    for s in b.sentences():  # the summary shares Sentence objects with the sections: remap each once
        if id(s) not in seen:
            seen.add(id(s))
            s.refs = [order[n] for n in s.refs]
    for ev in b.evidence:
        ev.n = order[ev.n]
    b.evidence.sort(key=lambda e: e.n)
    return b


def build_briefing(ws, *, narrative: str | None = None, actor: str | None = None,
                   since: str | date | datetime | None = None, until: str | date | datetime | None = None,
                   top: int = 3, chart_format: str = "png") -> Briefing:
    """Collect the briefing's sentences, charts and evidence for this scope (all filters optional;
    ``since``/``until`` are inclusive, a bare date the whole day in UTC, as in ``Filters``)."""
    if chart_format not in ("png", "svg"):
        raise BriefingError("chart format is png or svg")
    return _Builder(ws, narrative=narrative, actor=actor, since=since, until=until, top=top,
                    chart_format=chart_format).build()


def render_chart(rows: Records, *, by_label: str, fmt: str = "png", title: str = "") -> dict:
    """A stacked bar chart of documents per day, rendered locally by vl-convert (no network)."""
    import altair as alt  # lazy: altair costs +0.3 s at CLI start (measured)
    import vl_convert as vlc  # lazy: vl-convert maps a ~14 MB native renderer (measured), only for charts

    data = [r.as_dict() for r in rows]
    base = alt.Chart(alt.Data(values=data)).mark_bar().encode(
        x=alt.X("period:T", title="day", axis=alt.Axis(format="%d %b")),
        y=alt.Y("sum(documents):Q", title="documents"), color=alt.Color("group:N", title=by_label))
    narratives = {r.narrative for r in rows}
    chart = (base.properties(width=460, height=90).facet(row=alt.Row("narrative:N", title=None))
             if len(narratives) > 1 else base.properties(width=520, height=180))
    spec = chart.properties(title=title).to_dict()
    if fmt == "svg":
        return {"svg": vlc.vegalite_to_svg(spec)}
    return {"png": vlc.vegalite_to_png(spec, scale=2)}


# -- rendering -----------------------------------------------------------------------------------

def _refs_md(refs: list[int]) -> str:
    return "".join(f"[^{n}]" for n in refs)


def _evidence_line(ev: Evidence) -> str:
    """Outlet (its name: the registry key is a tooltip in HTML), audience, language, date."""
    return ev.outlet + _evidence_rest(ev)


def _evidence_rest(ev: Evidence) -> str:
    date = ev.published_at.strftime("%Y-%m-%d %H:%M") if ev.published_at else "undated"
    aud = f", {ev.audience} audience" if ev.audience else ""
    lang = f", {_language(ev.language)}" if ev.language else ""
    return f"{aud}{lang}, {date}"


def _rendering_md(ev: Evidence) -> str:
    if ev.rendering_kind in ("translation", "gloss"):
        return f"_{md_escape(ev.rendering_label)}:_ “{md_escape(ev.rendering)}”"
    return f"_{md_escape(ev.rendering_label)}_" if ev.rendering_kind == "missing" else ""


def render_markdown(b: Briefing) -> str:
    lines = [f"# {md_escape(b.title)}", ""] + [f"_{md_escape(m)}_" for m in b.meta] + [""]
    annex = False
    for sec in b.sections:
        if sec.annex and not annex:
            annex = True
            lines += ["---", ""]  # the main text ends here
        lines += [f"## {md_escape(sec.title)}", ""]
        lines += [f"_{md_escape(n)}_" for n in sec.notes]
        for s in sec.sentences:
            lines.append(f"- {md_escape(s.text)}{_refs_md(s.refs)}")
        for c in sec.charts:
            lines.append("")
            if c.png is not None:
                lines.append(f"![{md_escape(c.title)}](data:image/png;base64,{base64.b64encode(c.png).decode()})")
            elif c.svg is not None:
                lines.append(f"![{md_escape(c.title)}](data:image/svg+xml;base64,"
                             f"{base64.b64encode(c.svg.encode()).decode()})")
            lines += ["", f"{md_escape(c.caption.text)}{_refs_md(c.caption.refs)}"]
        for p in sec.pairs:
            lines += ["", f"{md_escape(p.intro.text)}{_refs_md(p.intro.refs)}", ""]
            for ev in (p.left, p.right):
                lines.append(f"> **{md_escape(_evidence_line(ev))}:** “{md_escape(ev.shown)}”[^{ev.n}]")
                if ev.rendering_kind:
                    lines += [">", f"> {_rendering_md(ev)}"]
                lines.append(">")
            lines.pop()
        lines.append("")
    if not annex:
        lines += ["---", ""]
    lines += ["## Evidence", ""]
    for ev in b.evidence:
        href = safe_href(ev.link)
        link = f"<{href}>" if href else md_escape(ev.link)
        extra = f" — {_rendering_md(ev)}" if ev.rendering_kind else ""
        lines.append(f"[^{ev.n}]: “{md_escape(ev.shown)}” — {md_escape(_evidence_line(ev))}, {link}{extra}")
    return "\n".join(lines) + "\n"


def _template():
    env = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["day"] = _day
    env.filters["href"] = safe_href
    env.filters["evline"] = _evidence_line
    env.filters["evrest"] = _evidence_rest
    env.filters["isolate"] = isolate
    return env.get_template("briefing.html.j2")


def render_html(b: Briefing) -> str:
    """One self-contained file: inline CSS, charts as data: URIs, no script, a CSP that forbids any."""
    charts = {}
    for sec in b.sections:
        for i, c in enumerate(sec.charts):
            if c.png is not None:
                charts[(sec.key, i)] = "data:image/png;base64," + base64.b64encode(c.png).decode()
            elif c.svg is not None:
                charts[(sec.key, i)] = "data:image/svg+xml;base64," + base64.b64encode(c.svg.encode()).decode()
    first_ref: dict[int, str] = {}
    counter = [0]

    def ref(n: int) -> str:  # a unique anchor per citation; the footnote links back to the first one
        counter[0] += 1
        anchor = f"ref-{n}-{counter[0]}"
        first_ref.setdefault(n, anchor)
        return anchor

    html = _template().render(b=b, charts=charts, ref=ref, first_ref=first_ref)
    return html


def find_chromium() -> str | None:
    explicit = settings.get("NARRATRACE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render_pdf(b: Briefing, output: str | Path) -> Path:
    """Print the HTML briefing to PDF with headless Chromium.

    Why Chromium: Persian must be shaped (joined letter forms) and laid out right-to-left, with
    Latin text and numbers mixed in. Chromium's HarfBuzz + ICU bidi do that exactly as the HTML
    briefing looks; pure-Python PDF writers (reportlab, fpdf2) need extra shaping packages and still
    get bidi edge cases wrong. The page is loaded with set_content (no URL), every network request
    is aborted and the HTML carries no script and a CSP, so printing is offline. The cost is a
    system dependency, found on PATH or in $NARRATRACE_CHROMIUM."""
    try:
        from playwright.sync_api import Error as PlaywrightError  # lazy: [pdf] extra
        from playwright.sync_api import sync_playwright  # lazy: [pdf] extra
    except ImportError as exc:
        raise BriefingError("PDF output needs the 'playwright' Python package (pip install 'narratrace[pdf]') and "
                            "Chromium (apt-get install chromium); or use --format html") from exc
    exe = find_chromium()
    if exe is None:
        raise BriefingError("PDF output needs Chromium: install it (Debian/Ubuntu: apt-get install chromium; "
                            "or `playwright install chromium` and set NARRATRACE_CHROMIUM to its path), "
                            "or use --format html")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    html = render_html(b)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
            try:
                # laid out as printed: the A4 content box (178 × 261 mm at 96 px/in), print media
                page = browser.new_page(java_script_enabled=False, viewport={"width": PAGE_PX[0], "height": PAGE_PX[1]})
                page.route("**/*", lambda route: route.abort())  # nothing leaves the machine
                page.emulate_media(media="print")
                page.set_content(html, wait_until="load")
                for _ in range(MAX_MOVES):  # the main text must fit two pages: move its last item to the annex
                    box = page.locator("section.annex h2").first.bounding_box()
                    if box is None or box["y"] <= MAIN_PAGES * PAGE_PX[1] - PAGE_SLACK_PX or not to_annex(b):
                        break
                    page.set_content(render_html(b), wait_until="load")
                page.pdf(path=str(output), format="A4", print_background=True,
                         margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"})
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise BriefingError(f"Chromium ({exe}) could not print the PDF: {str(exc).splitlines()[0]}") from exc
    return output


# A4 less the print margins below (16 mm each side, 18 mm top and bottom), in CSS px (96 per inch)
PAGE_PX = (673, 986)
MAIN_PAGES = 2
# Blocks that may not break (cards, figures) leave white space at a page's foot: a line and a half
# of margin keeps the measured layout on the safe side of the printed one (checked on the demo's
# three scopes: the printed annex starts on page 3 whenever the measure says so).
PAGE_SLACK_PX = 40
MAX_MOVES = 12


def to_annex(b: Briefing) -> bool:
    """Move the main text's last movable item (a finding, a card, a prevalence sentence, the chart)
    to the annex; the bottom line stays. Footnote numbers do not change: they are the same in every
    format. False when nothing is left to move."""
    further = next((s for s in b.sections if s.key == "annex-findings"), None)
    if further is None:
        further = Section("annex-findings", "Annex: further findings", annex=True)
        at = next((i for i, s in enumerate(b.sections) if s.annex), len(b.sections))
        b.sections.insert(at, further)
    for sec in reversed([s for s in b.sections if not s.annex and s.key != "bottom-line"]):
        moved = False
        if sec.sentences:
            further.sentences.insert(0, sec.sentences.pop())
            moved = True
        elif sec.pairs:
            further.pairs.insert(0, sec.pairs.pop())
            moved = True
        elif sec.charts:
            further.charts.insert(0, sec.charts.pop())
            moved = True
        if moved:
            if not (sec.sentences or sec.pairs or sec.charts) and "Continued in the annex." not in sec.notes:
                sec.notes.append("Continued in the annex.")
            return True
    return False


def write_report(ws, fmt: str, output: str | Path, **scope) -> Briefing:
    """Build the briefing for ``scope`` (narrative, actor, since, until, top) and write it as md, html or pdf."""
    if fmt not in FORMATS:
        raise BriefingError(f"format must be one of {', '.join(FORMATS)}")
    b = build_briefing(ws, **scope)
    output = Path(output)
    if fmt == "pdf":
        render_pdf(b, output)
        return b
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_markdown(b) if fmt == "md" else render_html(b), encoding="utf-8")
    return b
