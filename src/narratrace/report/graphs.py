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
    else:
        if str(output) == "-":
            raise GraphExportError(f"{fmt} is written to a file: give --output FILE")
        (nx.write_gexf if fmt == "gexf" else nx.write_graphml)(h, output)
    return h.number_of_nodes(), h.number_of_edges()
