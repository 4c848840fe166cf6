"""The demo's fictional outlets: registry entries and the site chrome each one wraps its pages in.

Chrome is what the cleaner must remove: menus, taglines, share bars, "follow us" and copyright
footers, "Published in"/"Last modified" lines, related-link sidebars, and one promotional line
per outlet printed inside every article body (only learnable as boilerplate because it repeats
across that outlet's pages).
"""

from __future__ import annotations

ACTORS = [
    {"id": "kavaran-state", "name": "Government of the Republic of Kavaran", "kind": "state", "country": "KV",
     "aliases": ["Kavaran", "Kavaranian government", "Dastgerd", "دولت کاوران", "کاوران"],
     "description": "Fictional state of the demo corpus."},
    {"id": "rah-e-azadi-front", "name": "Rah-e Azadi Front", "kind": "movement", "country": "KV",
     "aliases": ["the Front", "Azadi Front", "جبهه راه آزادی", "جبهه"],
     "description": "Fictional opposition movement of the demo corpus."},
]

# key: registry fields + chrome. "promo" is printed inside every article body of that outlet.
OUTLETS: dict[str, dict] = {
    "kna": {
        "name": "Kavaran News Agency", "local_name": "خبرگزاری کاوران", "actor": "kavaran-state",
        "audience": "domestic", "country": "KV", "language": "fa", "kind": "news agency",
        "domain": "kna.example", "section": "news",
        "nav": ["صفحه اصلی", "سیاسی", "اجتماعی", "اقتصادی", "بین‌الملل", "ورزشی", "عکس"],
        "tagline": "خبرگزاری کاوران، مرجع رسمی اخبار کشور",
        "share": "اشتراک‌گذاری: تلگرام | واتس‌اپ | ایکس | چاپ",
        "promo": "برای دریافت سریع‌ترین اخبار، کانال خبرگزاری کاوران را در تلگرام دنبال کنید.",
        "published_in": "منتشر شده در: سرویس سیاسی",
        "related": "اخبار مرتبط",
        "footer": ["کلیه حقوق این سایت متعلق به خبرگزاری کاوران است.", "نشانی: دستگرد، میدان بهار، ساختمان خبرگزاری"],
    },
    "ktv": {
        "name": "Kavaran TV", "local_name": "تلویزیون کاوران", "actor": "kavaran-state",
        "audience": "domestic", "country": "KV", "language": "fa", "kind": "broadcaster",
        "domain": "ktv.example", "section": "akhbar", "channel": "kavaran_tv",
        "nav": ["خانه", "پخش زنده", "اخبار", "برنامه‌ها", "ورزش", "تماس با ما"],
        "tagline": "تلویزیون کاوران — صدای ملت",
        "share": "اشتراک در شبکه‌های اجتماعی | چاپ خبر | ارسال به دوستان",
        "promo": "پخش زنده شبکه خبر تلویزیون کاوران را از طریق سایت و اپلیکیشن رسمی ببینید.",
        "published_in": "منتشر شده در: اخبار",
        "related": "پربیننده‌ترین‌ها",
        "footer": ["ما را در تلگرام و اینستاگرام دنبال کنید", "© ۱۴۰۴ تلویزیون کاوران. همه حقوق محفوظ است."],
    },
    "kt": {
        "name": "Kavaran Today", "actor": "kavaran-state",
        "audience": "foreign", "country": "KV", "language": "en", "kind": "state media abroad",
        "domain": "kavarantoday.example", "section": "news",
        "nav": ["Home", "Kavaran", "World", "Business", "Culture", "Opinion", "Video"],
        "tagline": "Kavaran Today — the world's window on Kavaran",
        "share": "Share on Facebook | Share on X | Email | Print",
        "promo": "Kavaran Today is available on all major platforms. Download our app for breaking news.",
        "published_in": "Published in Kavaran",
        "related": "Read more",
        "footer": ["Follow Kavaran Today on Telegram", "© 2026 Kavaran Today. All rights reserved."],
    },
    "meridian": {
        "name": "Meridian Observer", "actor": None,
        "audience": "foreign", "country": "TS", "language": "en", "kind": "friendly outlet",
        "domain": "meridianobserver.example", "section": "world",
        "nav": ["Front page", "World", "Eurasia", "Analysis", "Opinion", "Subscribe"],
        "tagline": "Meridian Observer: the other side of the story",
        "share": "Tweet | Share | Email this article",
        "promo": "Support independent journalism: become a Meridian Observer member today.",
        "published_in": "Published in World",
        "related": "Related stories",
        "footer": ["Follow us on X and Telegram", "© 2026 Meridian Observer Media Group"],
    },
    "gpw": {
        "name": "Global Perspective Wire", "actor": None,
        "audience": "foreign", "country": "TS", "language": "en", "kind": "friendly outlet",
        "domain": "gpwire.example", "section": "stories",
        "nav": ["Latest", "Politics", "Economy", "Opinion", "About us"],
        "tagline": "Global Perspective Wire — news beyond the mainstream",
        "share": "Share this: Facebook | X | LinkedIn | Print",
        "promo": "Republish our articles for free under a Creative Commons licence.",
        "published_in": "Published in Politics",
        "related": "Trending now",
        "footer": ["Subscribe to our newsletter", "Global Perspective Wire © 2026"],
    },
    "edispatch": {
        "name": "Eastern Dispatch", "actor": None,
        "audience": "foreign", "country": "TS", "language": "en", "kind": "friendly outlet",
        "domain": "easterndispatch.example", "section": "region",
        "nav": ["Home", "Region", "World", "Markets", "Voices"],
        "tagline": "Eastern Dispatch: straight from the region",
        "share": "Share | Tweet | WhatsApp | Print",
        "promo": "Get the Eastern Dispatch morning briefing in your inbox every weekday.",
        "published_in": "Published in Region",
        "related": "More from the region",
        "footer": ["Follow Eastern Dispatch on Telegram", "© 2026 Eastern Dispatch Ltd. All rights reserved."],
    },
    "herald": {
        "name": "The Norland Herald", "actor": None,
        "audience": "foreign", "country": "NL", "language": "en", "kind": "independent",
        "domain": "norlandherald.example", "section": "world",
        "nav": ["News", "World", "Politics", "Investigations", "Culture", "Sport"],
        "tagline": "The Norland Herald — independent since 1921",
        "share": "Share on Facebook | Share on X | Copy link | Print",
        "promo": "The Norland Herald's journalism is funded by readers. Support us from 1 crown a month.",
        "published_in": "Published in World",
        "related": "Most read",
        "footer": ["Sign up for the Herald's daily newsletter", "© 2026 The Norland Herald. All rights reserved."],
    },
    "cp": {
        "name": "Continental Press", "actor": None,
        "audience": "foreign", "country": "TS", "language": "en", "kind": "independent",
        "domain": "continentalpress.example", "section": "international",
        "nav": ["Home", "International", "Europe", "Business", "Science"],
        "tagline": "Continental Press: reporting the continent",
        "share": "Share this article | Print | Email",
        "promo": "Continental Press is a member of the Independent News Standards Council.",
        "published_in": "Published in International",
        "related": "Related coverage",
        "footer": ["Follow Continental Press on Telegram", "© 2026 Continental Press Cooperative"],
    },
    "azadi": {
        "name": "Azadi Voice", "local_name": "صدای آزادی", "actor": "rah-e-azadi-front",
        "audience": "domestic", "country": "KV", "language": "fa", "kind": "opposition",
        "domain": "sedayeazadi.example", "section": "khabar",
        "nav": ["خانه", "گزارش‌ها", "زندانیان", "کارگران", "دانشجویان", "درباره ما"],
        "tagline": "صدای آزادی — رسانه مستقل مردم کاوران",
        "share": "هم‌رسانی: تلگرام | ایکس | فیسبوک",
        "promo": "برای ارسال امن خبر و ویدیو از داخل کشور با تیم صدای آزادی در تماس باشید.",
        "published_in": "منتشر شده در: گزارش‌ها",
        "related": "بیشتر بخوانید",
        "footer": ["صدای آزادی را در تلگرام دنبال کنید", "بازنشر مطالب با ذکر منبع آزاد است."],
    },
}

# The people the articles quote, by speaker id (all fictional): name and role. Officials and
# the movement's leader speak for actors; the others are the intermediaries outlets cite.
PEOPLE = {
    "shirin-afkham": ("Shirin Afkham, Foreign Minister of Kavaran", "official"),
    "bahram-nikzad": ("Bahram Nikzad, Chairman of Kavaran's Supreme Security Council", "official"),
    "leila-sohrabi": ("Leila Sohrabi, Kavaran government spokeswoman", "official"),
    "kourosh-tavana": ("Kourosh Tavana, Interior Minister of Kavaran", "official"),
    "navid-ashtari": ("Navid Ashtari, exiled leader of the Rah-e Azadi Front", "movement"),
    "henrik-vallo": ("Henrik Vallo, former Norland ambassador to Kavaran", "intermediary"),
    "mira-castell": ("Mira Castell, analyst at the Tessaly Institute", "intermediary"),
    "anoush-farahi": ("Anoush Farahi, sociologist at Dastgerd University", "intermediary"),
}


def registry() -> dict:
    """The sources.yaml an analyst would write for this corpus."""
    sources = []
    for key, o in OUTLETS.items():
        entry = {"id": key, "name": o["name"], "actor": o["actor"], "audience": o["audience"],
                 "country": o["country"], "language": o["language"], "kind": o["kind"], "domains": [o["domain"]]}
        if o.get("channel"):
            entry["channels"] = [o["channel"]]
        sources.append({k: v for k, v in entry.items() if v is not None})
    return {"actors": ACTORS, "sources": sources}


def chrome_lines(key: str) -> list[str]:
    """Lines of site chrome that must never reach the clean text (the gold boilerplate)."""
    o = OUTLETS[key]
    return [o["tagline"], o["share"], o["promo"], o["published_in"], *o["footer"]]
