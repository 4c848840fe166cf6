"""Plain result objects shared by the Python API and the CLI: dataclasses in a list that
also turns into a pandas DataFrame."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime


class Records(list):
    """A list of result dataclasses that also turns into a pandas DataFrame."""

    def df(self):
        """A pandas DataFrame (pandas is imported here: it costs ~100 MB of RSS at start-up)."""
        import pandas as pd

        if not self:
            return pd.DataFrame()
        return pd.DataFrame([asdict(r) for r in self])

    def dicts(self) -> list[dict]:
        return [r.as_dict() for r in self]


@dataclass
class _Record:
    def as_dict(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, _Record):
                v = v.as_dict()
            elif isinstance(v, list):
                v = [x.as_dict() if isinstance(x, _Record) else x for x in v]
            out[f.name] = v
        return out


