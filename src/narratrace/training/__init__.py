"""Training recipes for the models narratrace ships (torch, the ``[ml]`` extra, only here)."""
