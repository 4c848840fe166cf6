"""A generator of fictional news corpora for benchmarks and restart tests.

Everything is invented: states, people, outlets (on the reserved .example TLD). Each outlet
has its own site chrome (menus, share bars, footers) so the cleaner has real work; a share
of articles is syndicated to other outlets with light edits so dedup has real work; a fifth
is in Persian. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

OUTLETS = [
    ("kna", "fa", "domestic", "Kavaran News Agency"), ("ktv", "fa", "domestic", "Kavaran TV"),
    ("kt", "en", "foreign", "Kavaran Today"), ("meridian", "en", "foreign", "Meridian Observer"),
    ("gpw", "en", "foreign", "Global Perspective Wire"), ("herald", "en", "foreign", "The Norland Herald"),
    ("cp", "en", "foreign", "Continental Press"), ("azadi", "en", "diaspora", "Azadi Voice"),
]
EN_SUBJECTS = ["The Foreign Ministry", "A senior official", "The Rah-e Azadi Front", "Analyst Mira Castell",
               "Former ambassador Henrik Vallo", "The Supreme Council", "Protesters in Dastgerd",
               "A spokesman for the Front", "The interior minister", "Residents of Sorkhabad"]
EN_VERBS = ["said", "claimed", "denied", "warned", "told reporters", "insisted", "argued", "announced"]
EN_OBJECTS = ["that the movement has no support inside the country", "that the group is a fringe of exiles",
              "that the protests were organised from abroad", "that the harvest will be larger this year",
              "that new talks with Norland would begin in spring", "that universities will reopen next week",
              "that the currency fell against the dollar again", "that the railway line to the north is finished",
              "that the Front's networks are active in several provinces", "that the elections will be fair"]
EN_TAILS = ["on Monday", "in a televised address", "at a press conference in Dastgerd", "late on Friday",
            "in an interview with foreign media", "according to a statement", "without giving details", ""]
FA_SUBJECTS = ["سخنگوی وزارت خارجه", "رئیس شورای عالی", "وزیر کشور", "یک مقام ارشد", "جبهه راه آزادی",
               "یک کارشناس اقتصادی", "استاندار سرخ‌آباد", "نماینده مجلس", "فرمانده انتظامی", "ساکنان دستگرد"]
FA_VERBS = ["گفت", "تاکید کرد", "اظهار داشت", "افزود", "هشدار داد", "اعلام کرد", "مدعی شد", "تکذیب کرد"]
FA_OBJECTS = ["این گروه هیچ پایگاهی در داخل کشور ندارد", "جبهه پشت اغتشاشات دانشگاه‌ها است",
              "شبکه‌های این گروه در چند استان فعال هستند", "برداشت محصول امسال بیشتر بوده است",
              "قیمت ارز دوباره افزایش یافته است", "خط آهن شمال به پایان رسیده است",
              "تورم در ماه‌های آینده کاهش می‌یابد", "مذاکرات با نورلند در بهار آغاز می‌شود",
              "دانشگاه‌ها هفته آینده بازگشایی می‌شوند", "انتخابات آزاد و سالم برگزار خواهد شد"]
FA_TAILS = ["روز دوشنبه", "در یک گفت‌وگوی تلویزیونی", "در نشست خبری", "بدون ارائه جزئیات", "به خبرنگاران", ""]


def _chrome(key: str, lang: str, name: str, rnd: random.Random) -> dict:
    if lang == "fa":
        return {"nav": ["صفحه اصلی", "سیاسی", "اقتصادی", "بین‌الملل", "ورزشی"],
                "share": "اشتراک‌گذاری | چاپ | ارسال به دوستان",
                "footer": [f"{name} را در تلگرام دنبال کنید", "کلیه حقوق این سایت محفوظ است.",
                           f"نشانی: دستگرد، خیابان {rnd.choice(['آزادی', 'انقلاب', 'بهار'])}"],
                "tagline": f"{name}، خبرگزاری معتبر کشور"}
    return {"nav": ["Home", "World", "Politics", "Business", "Opinion"],
            "share": "Share on Facebook | Tweet | Print | Email",
            "footer": [f"Follow {name} on Telegram", f"© 2026 {name}. All rights reserved.",
                       f"{name} — independent news since {rnd.randint(1950, 2015)}"],
            "tagline": f"{name}: news you can trust"}


def _en_sentence(rnd: random.Random) -> str:
    tail = rnd.choice(EN_TAILS)
    return f"{rnd.choice(EN_SUBJECTS)} {rnd.choice(EN_VERBS)} {rnd.choice(EN_OBJECTS)}{' ' + tail if tail else ''}."


def _fa_sentence(rnd: random.Random) -> str:
    tail = rnd.choice(FA_TAILS)
    return f"{rnd.choice(FA_SUBJECTS)} {tail + ' ' if tail else ''}{rnd.choice(FA_VERBS)} که {rnd.choice(FA_OBJECTS)}."


def _paragraphs(lang: str, rnd: random.Random) -> list[str]:
    out = []
    for _ in range(rnd.randint(4, 9)):
        n = rnd.randint(2, 4)
        if lang == "fa":
            out.append(" ".join(_fa_sentence(rnd) for _ in range(n)))
        else:
            sents = [_en_sentence(rnd) for _ in range(n)]
            if rnd.random() < 0.4:
                sents.append(f"“We will not be silenced,” {rnd.choice(EN_SUBJECTS).lower()} said.")
            out.append(" ".join(sents))
    return out


def render(outlet: tuple, chrome: dict, title: str, paras: list[str], when: datetime, slug: str) -> str:
    key, lang, _aud, name = outlet
    nav = "".join(f'<li><a href="/{i}">{escape(x)}</a></li>' for i, x in enumerate(chrome["nav"]))
    body = "".join(f"<p>{escape(p)}</p>" for p in paras)
    footer = "".join(f"<p>{escape(x)}</p>" for x in chrome["footer"])
    related = "".join(f'<li><a href="/r/{i}">{escape(t)}</a></li>' for i, t in enumerate(chrome["nav"][1:4]))
    direction = ' dir="rtl"' if lang == "fa" else ""
    return (f'<!DOCTYPE html><html lang="{lang}"{direction}><head><meta charset="utf-8">'
            f'<title>{escape(title)} | {escape(name)}</title>'
            f'<meta property="og:title" content="{escape(title)}">'
            f'<meta property="article:published_time" content="{when.isoformat()}+00:00">'
            f'<link rel="canonical" href="https://{key}.example/news/{slug}"></head><body>'
            f'<header><div class="brand">{escape(chrome["tagline"])}</div><ul class="menu">{nav}</ul></header>'
            f'<main><article><h1>{escape(title)}</h1>{body}<div class="share">{escape(chrome["share"])}</div></article>'
            f'<aside><h3>Most read</h3><ul>{related}</ul></aside></main><footer>{footer}</footer></body></html>')


def generate_corpus(out: Path, n_docs: int, seed: int = 7, syndication: float = 0.1) -> Path:
    """Write n_docs HTML pages under out/<outlet>/ and a sources.yaml; returns the registry path."""
    rnd = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    chromes = {o[0]: _chrome(o[0], o[1], o[3], rnd) for o in OUTLETS}
    start = datetime(2026, 1, 1)
    written: list[tuple[tuple, str, list[str], datetime]] = []
    for i in range(n_docs):
        when = start + timedelta(minutes=rnd.randint(0, 60 * 24 * 90))
        if written and rnd.random() < syndication:
            src_outlet, title, paras, when0 = rnd.choice(written[-200:])
            same_lang = [o for o in OUTLETS if o[1] == src_outlet[1] and o != src_outlet]
            outlet = rnd.choice(same_lang)
            paras = list(paras)
            if len(paras) > 2:
                paras.pop(rnd.randrange(len(paras)))  # a light edit
            when = when0 + timedelta(minutes=rnd.randint(1, 180))
        else:
            outlet = rnd.choice(OUTLETS) if rnd.random() < 0.8 else rnd.choice(OUTLETS[:2])
            paras = _paragraphs(outlet[1], rnd)
            title = paras[0].split(".")[0][:90]
        slug = f"{i:07d}"
        html = render(outlet, chromes[outlet[0]], title, paras, when, slug)
        path = out / outlet[0] / f"{slug}.html"
        path.parent.mkdir(exist_ok=True)
        path.write_text(html, encoding="utf-8")
        written.append((outlet, title, paras, when))
    registry = out / "sources.yaml"
    lines = ["actors:", "  - id: kavaran-state", "    name: Government of Kavaran", "sources:"]
    for key, lang, aud, name in OUTLETS:
        actor = "kavaran-state" if key in ("kna", "ktv", "kt") else "null"
        lines += [f"  - id: {key}", f"    name: {name}", f"    actor: {actor}", f"    audience: {aud}",
                  f"    language: {lang}", f"    domains: [{key}.example]"]
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return registry
