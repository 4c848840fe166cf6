"""Coordinated sharing on CooRTweet's published example data, next to CooRTweet's own figures.

The data (../shared/eval/coordination/*.rda, MIT, from the CooRTweet R package) has no gold labels.
What can be checked:

- the one figure CooRTweet's vignette states for its example ("Introduction to CooRTweet",
  CooRTweet 2.0.x, vignettes/vignette.md, on CRAN 2024-03-28): detect_groups(russian_coord_tweets,
  min_participation = 2, time_window = 600) then generate_coordinated_network(edge_weight = 0.99):
  "the threshold value corresponds to a minimum edge weight of 3";
- invariants by brute force: every pair really is two accounts sharing one object within the
  window, and a plain all-pairs-per-object implementation finds the same pairs.

Run: ``python -m narratrace.evaluation.coordination --eval-dir ../shared/eval`` (needs pyreadr).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from narratrace.detect.coordination import _share_frame, coordinated_subgraph, coortweet_network, coortweet_pairs, network_summary

# CooRTweet vignette (2.0.x): min(E(coord_graph)$weight[E(coord_graph)$weight_threshold == 1]) for
# russian_coord_tweets, time_window 600, min_participation 2, edge_weight 0.99.
PUBLISHED = {"russian_coord_tweets": {"params": {"time_window": 600, "min_participation": 2, "edge_weight": 0.99},
                                      "min_weight_over_threshold": 3,
                                      "source": "CooRTweet vignette 'Introduction to CooRTweet' (2.0.x, 2024-03-28), "
                                                "github.com/nicolarighetti/CooRTweet vignettes/vignette.md"}}
DEFAULTS = {"time_window": 10, "min_participation": 2, "edge_weight": 0.5}


def _read_rda(path: Path):
    import pyreadr  # lazy: a [dev] extra, +0.45 s and ~95 MB RSS (measured)

    return next(iter(pyreadr.read_r(str(path)).values()))


def load_russian(eval_dir: Path):
    return _read_rda(Path(eval_dir) / "coordination" / "russian_coord_tweets.rda")


def load_german(eval_dir: Path, obj: str = "url_id", platform: str | None = None):
    """german_elections prepared as CooRTweet's reproduce_examples vignette does: object = one of
    url_id / hashtag_id / domain_id / phash_id, content = post_id, rows unique, missing objects
    dropped; ``platform`` ("fb", "tw", …) keeps accounts whose id contains it."""
    df = _read_rda(Path(eval_dir) / "coordination" / "german_elections.rda")
    out = df[["account_id", "post_id", obj, "timestamp"]].rename(columns={obj: "object_id", "post_id": "content_id"})
    out = out[out["object_id"].notna()].drop_duplicates(["object_id", "account_id", "content_id", "timestamp"])
    out = out.assign(object_id=obj.split("_")[0] + "_" + out["object_id"].astype(str))
    if platform:
        out = out[out["account_id"].astype(str).str.contains(platform)]
    return out.reset_index(drop=True)


def brute_force_pairs(shares, time_window: float) -> set[tuple[str, frozenset]]:
    """(object, {content, content}) for every two shares of one object by different
    accounts within the window — all pairs per object, no filters: the reference for the sliding
    window (the participation filters are checked separately)."""
    x = _share_frame(shares)
    out = set()
    for oid, g in x.groupby("object_id", sort=False):
        if len(g) < 2:
            continue
        t = g["timestamp"].to_numpy()
        acc = g["account_id"].to_numpy()
        cid = g["content_id"].to_numpy()
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                if abs(t[i] - t[j]) <= time_window and acc[i] != acc[j] and cid[i] != cid[j]:
                    out.add((oid, frozenset((cid[i], cid[j]))))
    return out


def check_sample(shares, pairs, time_window: float, n: int = 500, seed: int = 0) -> int:
    """Look up a random sample of pairs in the share table; returns how many fail (0 expected):
    both shares exist, same object, different accounts, |Δt| ≤ window, Δt as reported."""
    x = _share_frame(shares).set_index("content_id")
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(pairs), size=min(n, len(pairs)), replace=False) if len(pairs) else []
    bad = 0
    for r in pairs.iloc[idx].itertuples(index=False):
        a = x.loc[[r.content_id]]
        b = x.loc[[r.content_id_y]]
        a = a[a["object_id"] == r.object_id]
        b = b[b["object_id"] == r.object_id]
        if a.empty or b.empty:
            bad += 1
            continue
        dt = abs(float(b["timestamp"].iloc[0]) - float(a["timestamp"].iloc[0]))
        if (a["account_id"].iloc[0] == b["account_id"].iloc[0] or dt > time_window
                or abs(dt - r.time_delta) > 1e-6 or a["account_id"].iloc[0] != r.account_id):
            bad += 1
    return bad


def run_case(shares, time_window: float, min_participation: int, edge_weight: float) -> dict:
    t0 = time.perf_counter()
    pairs = coortweet_pairs(shares, time_window, min_participation)
    G = coortweet_network(shares, time_window, min_participation, edge_weight, pairs=pairs)
    secs = time.perf_counter() - t0
    over = [d["weight"] for *_, d in G.edges(data=True) if d["weight_threshold"] == 1]
    return {"params": {"time_window": time_window, "min_participation": min_participation, "edge_weight": edge_weight},
            "shares": int(len(shares)), "pairs": int(len(pairs)), "network": dict(network_summary(G)),
            "over_threshold": dict(network_summary(coordinated_subgraph(G))),
            "min_weight_over_threshold": min(over) if over else None,
            "max_weight": max((d["weight"] for *_, d in G.edges(data=True)), default=0),
            "sample_failures": check_sample(shares, pairs, time_window), "seconds": round(secs, 3)}


def evaluate(eval_dir: Path) -> dict:
    ru = load_russian(eval_dir)
    out = {"russian_coord_tweets": {
        "defaults": run_case(ru, **DEFAULTS),
        "vignette_600s": run_case(ru, **PUBLISHED["russian_coord_tweets"]["params"]),
        "published": PUBLISHED["russian_coord_tweets"]}}
    ge = {}
    for obj in ("url_id", "hashtag_id", "domain_id", "phash_id"):
        ge[obj] = run_case(load_german(eval_dir, obj), **DEFAULTS)
    # reproduce_examples.Rmd's threshold graph: Facebook URL shares, 60 s, min_participation 2, 0.5
    ge["fb_url_60s"] = run_case(load_german(eval_dir, "url_id", platform="fb"), 60, 2, 0.5)
    out["german_elections"] = ge
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-dir", default="../shared/eval")
    args = ap.parse_args(argv)
    print(json.dumps(evaluate(Path(args.eval_dir)), indent=2, default=str))


if __name__ == "__main__":
    main()
