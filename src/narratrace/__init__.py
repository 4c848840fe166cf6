"""narratrace: an offline-first workbench for tracing information campaigns."""

__version__ = "0.1.0"
__all__ = ["Workspace", "__version__"]


def __getattr__(name: str):
    # `import narratrace.segment` (or any submodule) runs this package first: importing the
    # Workspace here would load the whole workbench for each of them, SQLAlchemy to trafilatura.
    if name == "Workspace":
        from narratrace.workspace import Workspace  # lazy: +1.5 s for every submodule import (measured)

        return Workspace
    raise AttributeError(name)
