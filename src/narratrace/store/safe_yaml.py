"""The one YAML loader for the analyst's registries (sources, narratives, entities).

Every registry file may be hostile: it can come from a colleague, a shared drive or
``POST /api/sources``. Two things keep a small file from becoming a large problem:

- **No aliases.** A "billion laughs" file nests anchors and aliases (``b: [*a, *a, …]``) so that
  a few hundred bytes describe ~10^9 nodes; anything that walks the result (``str()``, JSON, a
  loop over statements) then runs out of memory. We *reject every alias* while composing, before
  anything is expanded, rather than allow a small budget: no registry needs them (the shipped
  demo registries have none, and each entry is short enough to write out), a budget is one more
  number to get wrong, and "aliases are refused" is a rule an analyst can read in one line.
  Anchors on their own are harmless and still parse; merge keys (``<<: *base``) need an alias
  and are refused with the rest.
- **A size cap** on the document (``MAX_YAML_CHARS``): the API already caps registry bodies at
  5 MB; the CLI reads files, so the cap is here. Hand-written registries are far smaller.

Callers pass their own ``InvalidInput`` subclass (``RegistryError``, ``NarrativeError``,
``EntityError``) so ``except RegistryError`` keeps working where it is caught.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from narratrace.errors import InvalidInput

MAX_YAML_CHARS = 16 * 1024 * 1024


class _AliasRefused(yaml.YAMLError):
    def __init__(self, anchor: str, line: int):
        super().__init__(anchor)
        self.anchor, self.line = anchor, line


class NoAliasSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses any alias (``*name``) at compose time (see the module docstring)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _AliasRefused(str(event.anchor), event.start_mark.line + 1)
        return super().compose_node(parent, index)


def load_yaml_node(raw: str, path: str | Path, error: type[InvalidInput] = InvalidInput):
    """Parse one YAML document; returns ``(root node or None, data)``. Raises ``error`` naming
    ``path`` for a document over the cap, an alias, or invalid YAML. Parses once."""
    if len(raw) > MAX_YAML_CHARS:
        raise error(f"{path}: over {MAX_YAML_CHARS // 1024 // 1024} M characters, too large for a registry; "
                    "split it into several files and import each")
    loader = NoAliasSafeLoader(raw)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except _AliasRefused as exc:
        raise error(f"{path}:{exc.line}: YAML alias '*{exc.anchor}' refused (registries may not use "
                    "anchors/aliases, which can expand a small file without bound); write the value out "
                    "in full") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {exc}".replace("\n", " ")) from exc
    finally:
        loader.dispose()
    return root, data


def load_yaml(raw: str, path: str | Path, error: type[InvalidInput] = InvalidInput):
    """``load_yaml_node`` without the node: the parsed data (``None`` for an empty document)."""
    return load_yaml_node(raw, path, error)[1]
