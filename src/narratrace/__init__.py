"""narratrace: an offline-first workbench for tracing information campaigns."""

__version__ = "0.1.0"
__all__ = ["Workspace", "__version__"]


def __getattr__(name: str):
    # Lazy, so `import narratrace.segment` does not pull in SQLAlchemy and trafilatura.
    if name == "Workspace":
        from narratrace.workspace import Workspace

        return Workspace
    raise AttributeError(name)
