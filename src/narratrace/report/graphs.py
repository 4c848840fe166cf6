"""Graph exports: GEXF and GraphML (open in Gephi, Cytoscape, networkx) and CSV edge lists."""

from __future__ import annotations

import csv
import sys

import numpy as np

from narratrace.errors import InvalidInput
from narratrace.report.export import neutralise_formula

GRAPH_FORMATS = ("gexf", "graphml", "csv")


class GraphExportError(InvalidInput):  # a ValueError, so callers of detect/ functions catch it too
    pass


def _plain(g):
    """A copy whose attribute values GEXF/GraphML can hold: None → "", lists → "a; b", numpy → Python."""
    h = g.copy()
    _clean(h.graph)
    for _n, d in h.nodes(data=True):
        _clean(d)
    for *_e, d in h.edges(data=True):
        _clean(d)
    return h


def _clean(d: dict) -> None:
    for k, v in list(d.items()):
        if v is None:
            d[k] = ""
        elif isinstance(v, np.generic):
            d[k] = v.item()
        elif isinstance(v, bool):
            d[k] = int(v)  # GEXF readers disagree on booleans; 0/1 reads back the same everywhere
        elif isinstance(v, (list, tuple, set)):
            d[k] = "; ".join(map(str, v))
        elif not isinstance(v, (str, int, float)):
            d[k] = str(v)


def write_graph(g, fmt: str, output) -> tuple[int, int]:
    """Write ``g`` as GEXF, GraphML or a CSV edge list (source, target, then edge attributes).
    Returns (nodes, edges). ``output`` is a path, or "-" (stdout) for CSV."""
    import networkx as nx  # lazy: networkx costs +0.18 s at CLI start (measured)

    if fmt not in GRAPH_FORMATS:
        raise GraphExportError(f"unknown graph format '{fmt}' (choose one of: {', '.join(GRAPH_FORMATS)})")
    h = _plain(g)
    if fmt == "csv":
        cols: list[str] = []
        for *_e, d in h.edges(data=True):
            cols.extend(k for k in d if k not in cols)
        stream = sys.stdout if str(output) == "-" else open(output, "w", encoding="utf-8", newline="")
        try:
            w = csv.writer(stream)
            w.writerow(["source", "target", "source_label", "target_label", *cols])
            for u, v, d in h.edges(data=True):  # names come from documents: never a live formula
                w.writerow([neutralise_formula(x) for x in (u, v, h.nodes[u].get("label", u), h.nodes[v].get("label", v),
                                                            *(d.get(c, "") for c in cols))])
        finally:
            if stream is not sys.stdout:
                stream.close()
    elif fmt == "gexf":
        if str(output) == "-":
            raise GraphExportError(f"{fmt} is written to a file: give --output FILE")
        # start/end as ISO strings: networkx labels them timeformat="date" and reads them back;
        # "dateTime", the stricter name, would be unreadable to networkx's own reader
        _spells(h)
        nx.write_gexf(h, output)
    else:
        if str(output) == "-":
            raise GraphExportError(f"{fmt} is written to a file: give --output FILE")
        nx.write_graphml(h, output)
    return h.number_of_nodes(), h.number_of_edges()


def _spells(h) -> bool:
    """GEXF start/end (Gephi's timeline) from the ``first``/``last`` times the graphs carry; a node
    without its own ``first`` starts with its earliest edge. True when any time was set."""
    timed = False
    for _u, _v, d in h.edges(data=True):
        if d.get("first"):
            d["start"] = d["first"]
            d["end"] = d.get("last") or d["first"]
            timed = True
    for n, d in h.nodes(data=True):
        starts = [e["start"] for *_x, e in h.edges(n, data=True) if e.get("start")]
        if h.is_directed():
            starts += [e["start"] for *_x, e in h.in_edges(n, data=True) if e.get("start")]
        when = d.get("first") or d.get("published") or min(starts, default="")
        if when:
            d["start"] = when
            timed = True
    if timed:
        h.graph["mode"] = "dynamic"
    return timed
