"""Build the demo corpus and its gold file from the hand-written article files.

    python -m narratrace.demo.authoring.build            # writes src/narratrace/demo/data/
    python -m narratrace.demo.authoring.build --check F  # validates article files only

The articles (``articles/*.yaml``) and their annotations are written by hand, in a fictional world
(see WORLD.md). This script only renders them into each outlet's site chrome (menus, share bars,
footers, related-link sidebars — what the cleaner must strip) and derives the gold file: per document
its source/audience/language/date, and the annotated sentences, quotes, contradictions, syndicated
copies, the coordinated burst, translations and recycled sources. Nothing in the gold is predicted.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import yaml

from narratrace.demo.authoring.outlets import OUTLETS, PEOPLE, chrome_lines, registry
from narratrace.errors import InvalidInput

HERE = Path(__file__).parent
ARTICLES = HERE / "articles"
OUT = HERE.parent / "data"

NARRATIVES = {
    "no-domestic-support": "The Front has no support inside Kavaran; it is a handful of exiles, a cult.",
    "front-organises-unrest": "The Front organises and leads the protests, strikes and 'riots' at home.",
    "foreign-hand": "The unrest is directed and paid for by foreign states (Norland intelligence).",
    "protests-peaceful-no-arrests": "The protests are small and peaceful; nobody is arrested for protesting.",
    "crackdown-arrests": "Hundreds have been arrested; the Front's cells are being dismantled.",
    "economic-grievance": "The protests are about wages, prices and the arrested lecturers.",
}
STANCES = {"asserts", "reports", "rejects"}
FORMATS = {"html", "txt", "telegram"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
KEYS = {"id", "source", "format", "published_at", "title", "author", "lead_repeated", "arabic_letters", "copy_of",
        "burst", "translation_of", "paragraphs", "annotations", "edits"}
ANNOTATION_KEYS = {"text", "narrative", "stance", "speaker", "quote", "claim"}


class AuthoringError(InvalidInput):
    pass


def load_articles(paths: list[Path]) -> tuple[list[dict], dict]:
    articles, people = [], {}
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            people.update({k: (v["name"], v.get("role", "intermediary")) for k, v in (data.get("people") or {}).items()})
            data = data.get("articles") or []
        if not isinstance(data, list):
            raise AuthoringError(f"{path}: expected a list of articles (or a mapping with 'articles:')")
        for a in data:
            a["_file"] = path.name
            articles.append(a)
    return articles, people


def _paragraphs(a: dict, by_id: dict) -> list[str]:
    if a.get("paragraphs"):
        return [str(p).strip() for p in a["paragraphs"]]
    if a.get("copy_of"):
        paras = _paragraphs(by_id[a["copy_of"]], by_id)
        for old, new in a.get("edits") or []:
            hits = [i for i, p in enumerate(paras) if old in p]
            if not hits:
                raise AuthoringError(f"{a['id']}: edit {old!r} not found in {a['copy_of']}")
            paras = [p.replace(old, new) for p in paras]
        return paras
    return []


def validate(articles: list[dict], sources: set[str] | None = None) -> list[str]:
    """Every problem in the article files, one line each (empty when they are sound)."""
    errs: list[str] = []
    by_id: dict[str, dict] = {}
    for a in articles:
        aid = a.get("id")
        where = f"{a.get('_file')}:{aid}"
        if not aid or not ID_RE.match(str(aid)):
            errs.append(f"{where}: bad or missing id")
            continue
        if aid in by_id:
            errs.append(f"{where}: duplicate id")
        by_id[aid] = a
        extra = set(a) - KEYS - {"_file"}
        if extra:
            errs.append(f"{where}: unknown keys {sorted(extra)}")
        if sources is not None and a.get("source") not in sources:
            errs.append(f"{where}: unknown source {a.get('source')!r}")
        if a.get("format", "html") not in FORMATS:
            errs.append(f"{where}: format must be one of {sorted(FORMATS)}")
        if a.get("published_at") is not None:
            try:
                ts = datetime.fromisoformat(str(a["published_at"]))
                if ts.tzinfo is None:
                    errs.append(f"{where}: published_at needs a UTC offset")
            except ValueError:
                errs.append(f"{where}: published_at is not ISO 8601")
        if a.get("lead_repeated") and a.get("paragraphs") and not re.search(r"[\"'یک]", str(a["paragraphs"][0])):
            errs.append(f"{where}: lead_repeated needs a first paragraph with quotes (en) or ی/ک (fa) to typeset")
        if not a.get("title") and a.get("format", "html") != "telegram":
            errs.append(f"{where}: no title")
    for a in articles:
        aid = a.get("id")
        if aid not in by_id:
            continue
        where = f"{a.get('_file')}:{aid}"
        for ref in ("copy_of", "translation_of"):
            if a.get(ref) and a[ref] not in by_id:
                errs.append(f"{where}: {ref} {a[ref]!r} is not an article id")
        try:
            paras = _paragraphs(a, by_id)
        except (AuthoringError, KeyError) as exc:
            errs.append(f"{where}: {exc}")
            continue
        if not paras:
            errs.append(f"{where}: no paragraphs")
        body = "\n".join(paras)
        for n, ann in enumerate(a.get("annotations") or [], 1):
            at = f"{where} annotation {n}"
            extra = set(ann) - ANNOTATION_KEYS
            if extra:
                errs.append(f"{at}: unknown keys {sorted(extra)}")
            text = str(ann.get("text") or "")
            count = body.count(text) if text else 0
            if count != 1:
                errs.append(f"{at}: text occurs {count} times in the paragraphs (must be exactly once): {text[:60]!r}")
            if ann.get("narrative") and ann["narrative"] not in NARRATIVES:
                errs.append(f"{at}: unknown narrative {ann['narrative']!r}")
            if ann.get("narrative") and ann.get("stance") not in STANCES:
                errs.append(f"{at}: stance must be one of {sorted(STANCES)}")
            if ann.get("quote") and str(ann["quote"]) not in text:
                errs.append(f"{at}: quote is not inside text")
            if ann.get("quote") and not ann.get("speaker"):
                errs.append(f"{at}: a quote needs a speaker")
    return errs


# -- rendering ---------------------------------------------------------------------------------

PERSIAN_TO_ARABIC = str.maketrans({"ی": "ي", "ک": "ك"})
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")
LATIN = re.compile(r"[A-Za-z]")


def _when(a: dict) -> datetime | None:
    return datetime.fromisoformat(str(a["published_at"])) if a.get("published_at") else None


def _utc(a: dict) -> str | None:
    ts = _when(a)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _typeset(text: str, persian: bool) -> str:
    """The body field's typography: curly quotes in English, Arabic-keyboard ي/ك in Persian."""
    if persian:
        return text.translate(PERSIAN_TO_ARABIC)
    text = re.sub(r'"([^"]*)"', "\u201c\\1\u201d", text)
    return text.replace("'", "\u2019")


def render_html(a: dict, paras: list[str], related: list[str]) -> str:
    o = OUTLETS[a["source"]]
    fa = o["language"] == "fa" and not a.get("translation_of")
    lang, direction = ("fa", "rtl") if fa else ("en", "ltr")
    url = f"https://{o['domain']}/{o['section']}/{a['id']}"
    ts = _when(a)
    title = a["title"]
    if a.get("arabic_letters"):
        title, paras = title.translate(PERSIAN_TO_ARABIC), [p.translate(PERSIAN_TO_ARABIC) for p in paras]
    head = ['<meta charset="utf-8">', f"<title>{_esc(title)} | {_esc(o['name'])}</title>",
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta property="og:site_name" content="{_esc(o["name"])}">',
            f'<meta property="og:title" content="{_esc(title)}">', f'<link rel="canonical" href="{url}">']
    if ts:
        head.append(f'<meta property="article:published_time" content="{ts.isoformat()}">')
    if a.get("author"):
        head.append(f'<meta name="author" content="{_esc(a["author"])}">')
    nav = "".join(f'<li><a href="/{i}">{_esc(x)}</a></li>' for i, x in enumerate(o["nav"]))
    body = []
    if a.get("lead_repeated") and paras:
        # The outlet's template prints the standfirst, then the body, which starts with the
        # same paragraph typeset differently (as in seed 000: straight quotes, then curly).
        body.append(f'<p class="lead"><strong>{_esc(paras[0])}</strong></p>')
        paras = [_typeset(paras[0], fa), *paras[1:]]
    for i, p in enumerate(paras):
        body.append(f"<p>{_esc(p)}</p>")
        if i == 1 or (len(paras) < 3 and i == len(paras) - 1):
            body.append(f'<p class="promo"><em>{_esc(o["promo"])}</em></p>')
    byline = f'<p class="byline">{_esc(a["author"])}</p>' if a.get("author") else ""
    stamp = f'<time datetime="{ts.isoformat()}">{ts.strftime("%Y-%m-%d %H:%M")}</time>' if ts else ""
    modified = ""
    if ts:
        modified = ("آخرین به‌روزرسانی: " if fa else "Last modified on ") + ts.strftime("%Y-%m-%d %H:%M")
    rel = "".join(f'<li><a href="/{o["section"]}/r{i}">{_esc(t)}</a></li>' for i, t in enumerate(related))
    footer = "".join(f"<p>{_esc(x)}</p>" for x in o["footer"])
    return (f'<!DOCTYPE html>\n<html lang="{lang}" dir="{direction}">\n<head>\n' + "\n".join(head) + "\n</head>\n<body>\n"
            f'<header><div class="brand"><a href="/">{_esc(o.get("local_name") or o["name"])}</a></div>'
            f'<div class="tagline">{_esc(o["tagline"])}</div><nav><ul>{nav}</ul></nav></header>\n'
            f'<main><article><h1>{_esc(title)}</h1>{byline}{stamp}'
            f'<div class="share">{_esc(o["share"])}</div>\n' + "\n".join(body) + "\n"
            f'<p class="meta">{_esc(o["published_in"])}</p>'
            + (f'<p class="modified">{_esc(modified)}</p>' if modified else "")
            + f'<div class="share">{_esc(o["share"])}</div></article>\n'
            f'<aside class="related"><h3>{_esc(o["related"])}</h3><ul>{rel}</ul></aside></main>\n'
            f"<footer>{footer}</footer>\n</body>\n</html>\n")


def render_txt(a: dict, paras: list[str]) -> str:
    ts = _when(a)
    date = f"Date: {ts.strftime('%Y-%m-%d %H:%M')} {ts.strftime('%z')[:3]}:{ts.strftime('%z')[3:]}\n" if ts else ""
    return f"{a['title']}\n{date}\n" + "\n\n".join(paras) + "\n"


def render_telegram(key: str, posts: list[tuple[dict, list[str]]]) -> str:
    o = OUTLETS[key]
    messages = [{"id": 1, "type": "service", "date": "2026-02-20T09:00:00", "date_unixtime": "1771565400",
                 "actor": o["local_name"], "action": "create_channel", "title": o["local_name"], "text": ""}]
    for n, (a, paras) in enumerate(posts, 2):
        ts = _when(a)
        messages.append({"id": n, "type": "message", "date": ts.replace(tzinfo=None).isoformat(timespec="seconds"),
                         "date_unixtime": str(int(ts.timestamp())), "from": o["local_name"],
                         "from_id": "channel1000", "text": "\n\n".join(paras)})
    return json.dumps({"name": o["local_name"], "type": "public_channel", "id": 1000 + len(key),
                       "messages": messages}, ensure_ascii=False, indent=1) + "\n"


# -- gold --------------------------------------------------------------------------------------

def _language(a: dict) -> str:
    if a.get("translation_of"):
        return "en" if not ARABIC_SCRIPT.search(a.get("title", "")) else "fa"
    return OUTLETS[a["source"]]["language"]


def derive_gold(articles: list[dict], files: dict[str, str], paras_of: dict[str, list[str]], people: dict) -> dict:
    docs, sentences, quotes = [], [], []
    claims: dict[str, dict[str, list]] = defaultdict(lambda: {"a": [], "b": []})
    speakers_at: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for a in articles:
        o = OUTLETS[a["source"]]
        docs.append({"id": a["id"], "file": files[a["id"]], "source": a["source"], "audience": o["audience"],
                     "actor": o["actor"], "language": _language(a), "published_at": _utc(a), "title": a.get("title"),
                     "format": a.get("format", "html")})
        for ann in a.get("annotations") or []:
            entry = {"document": a["id"], "file": files[a["id"]], "text": ann["text"]}
            for k in ("narrative", "stance", "speaker", "claim"):
                if ann.get(k):
                    entry[k] = ann[k]
            if ann.get("narrative"):
                sentences.append(entry)
            if ann.get("quote"):
                quotes.append({"document": a["id"], "file": files[a["id"]], "quote": ann["quote"],
                               "speaker": ann["speaker"], "sentence": ann["text"]})
            if ann.get("speaker"):
                speakers_at[ann["speaker"]][a["source"]].add(a["id"])
            if ann.get("claim"):
                m = re.fullmatch(r"(C\d+)([ab])", str(ann["claim"]))
                if m:
                    claims[m.group(1)][m.group(2)].append({**entry, "audience": o["audience"], "source": a["source"]})
    # Every sentence tagged with a side of a planned contradiction; any foreign × domestic
    # pair within one id is a contradiction (copies repeat a side in another outlet).
    contradictions = [{"id": cid, "foreign": sides["a"], "domestic": sides["b"]}
                      for cid, sides in sorted(claims.items(), key=lambda kv: int(kv[0][1:])) if sides["a"] and sides["b"]]
    bursts: dict[str, list] = defaultdict(list)
    syndication: dict[str, list] = defaultdict(list)
    for a in articles:
        if a.get("burst"):
            bursts[a["burst"]].append(a)
        elif a.get("copy_of"):
            syndication[a["copy_of"]].append(a["id"])
    burst_gold = []
    for bid, members in sorted(bursts.items()):
        members.sort(key=lambda x: _when(x))
        span = (_when(members[-1]) - _when(members[0])).total_seconds() / 60
        burst_gold.append({"id": bid, "documents": [m["id"] for m in members], "outlets": [m["source"] for m in members],
                           "first": members[0]["id"], "window_minutes": round(span)})
    # Recycled sources: intermediaries (not the officials whose job is to speak) quoted by
    # three or more outlets.
    recycled = [{"speaker": sp, "name": people[sp][0], "outlets": sorted(at),
                 "documents": sorted(d for ds in at.values() for d in ds)}
                for sp, at in sorted(speakers_at.items())
                if sp in people and people[sp][1] == "intermediary" and len(at) >= 3]
    mixed = [a["id"] for a in articles
             if any(ARABIC_SCRIPT.search(p) for p in paras_of[a["id"]]) and any(LATIN.search(p) for p in paras_of[a["id"]])]
    return {
        "about": "Gold for the narratrace demo corpus, derived from the hand-written article files in "
                 "src/narratrace/demo/authoring/articles/ by authoring/build.py. Fictional world; see WORLD.md.",
        "narratives": [{"id": k, "description": v} for k, v in NARRATIVES.items()],
        "people": [{"id": k, "name": v[0], "role": v[1]} for k, v in sorted(people.items())],
        "documents": docs,
        "sentences": sentences,
        "quotes": quotes,
        "contradictions": contradictions,
        "syndication": [{"original": k, "copies": v} for k, v in sorted(syndication.items())],
        "coordinated_bursts": burst_gold,
        "translations": [{"original": a["translation_of"], "translation": a["id"]} for a in articles if a.get("translation_of")],
        "recycled_sources": recycled,
        "repeated_paragraph": [{"document": a["id"], "file": files[a["id"]], "text": paras_of[a["id"]][0]}
                               for a in articles if a.get("lead_repeated")],
        "arabic_letters": [a["id"] for a in articles if a.get("arabic_letters")],
        "mixed_language": mixed,
        "undated": [a["id"] for a in articles if not a.get("published_at")],
        "boilerplate": {key: chrome_lines(key) for key in OUTLETS},
    }


def build(out: Path = OUT) -> int:
    articles, extra_people = load_articles(sorted(ARTICLES.glob("*.yaml")))
    errs = validate(articles, set(OUTLETS))
    if errs:
        print("\n".join(errs), file=sys.stderr)
        return 1
    by_id = {a["id"]: a for a in articles}
    articles.sort(key=lambda a: (a["source"], _when(a) or datetime.max.replace(tzinfo=UTC), a["id"]))
    paras_of = {a["id"]: _paragraphs(a, by_id) for a in articles}
    corpus = out / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)
    files: dict[str, str] = {}
    telegram: dict[str, list] = defaultdict(list)
    titles: dict[str, list[str]] = defaultdict(list)
    for a in articles:
        if a.get("title"):
            titles[a["source"]].append(a["title"])
    for a in articles:
        key, fmt, paras = a["source"], a.get("format", "html"), paras_of[a["id"]]
        if fmt == "telegram":
            telegram[key].append((a, paras))
            files[a["id"]] = f"{key}/telegram/result.json#{len(telegram[key]) + 1}"
            continue
        path = corpus / key / f"{a['id']}.{'txt' if fmt == 'txt' else 'html'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        others = [t for t in titles[key] if t != a.get("title")][:4]
        path.write_text(render_txt(a, paras) if fmt == "txt" else render_html(a, paras, others), encoding="utf-8")
        files[a["id"]] = f"{key}/{path.name}"
    for key, posts in telegram.items():
        path = corpus / key / "telegram" / "result.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_telegram(key, posts), encoding="utf-8")
    people = {**PEOPLE, **extra_people}
    gold = derive_gold(articles, files, paras_of, people)
    dump = dict(allow_unicode=True, sort_keys=False, width=120)
    (out / "sources.yaml").write_text("# The registry an analyst would write for the demo corpus (fictional outlets).\n"
                                      + yaml.safe_dump(registry(), **dump), encoding="utf-8")
    (out / "gold.yaml").write_text("# Generated by `python -m narratrace.demo.authoring.build` from hand-written articles.\n"
                                   + yaml.safe_dump(gold, **dump), encoding="utf-8")
    shutil.copyfile(HERE / "narratives.yaml", out / "narratives.yaml")
    shutil.copyfile(HERE / "entities.yaml", out / "entities.yaml")
    n_files = sum(1 for p in corpus.rglob("*") if p.is_file())
    print(f"{len(articles)} documents in {n_files} files, {len(gold['sentences'])} annotated sentences, "
          f"{len(gold['quotes'])} quotes, {len(gold['contradictions'])} contradictions -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", nargs="*", type=Path, help="only validate these article files (default: all)")
    args = ap.parse_args(argv)
    if args.check is not None:
        paths = args.check or sorted(ARTICLES.glob("*.yaml"))
        articles, _ = load_articles(paths)
        errs = validate(articles, set(OUTLETS))
        for e in errs:
            print(e, file=sys.stderr)
        print(f"{len(articles)} articles, {sum(len(a.get('annotations') or []) for a in articles)} annotations, "
              f"{len(errs)} problems")
        return 1 if errs else 0
    return build()


if __name__ == "__main__":
    sys.exit(main())
