"""The analysis stages' names in their one run order (stdlib only: the CLI's help reads them
without importing the stages). ``pipeline.py`` runs them and checks every declared stage is here.

``discover`` is declared but not run by default: it proposes candidate narratives for review,
which an analyst asks for (`narratrace narratives discover`, the demo)."""

ORDER = ("embed", "quotes", "match", "contradictions", "discover", "coordination")
DEFAULT = ("embed", "quotes", "match", "contradictions", "coordination")
