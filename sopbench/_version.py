"""The package version, in a module that imports nothing.

The top-level package re-exports it; modules low in the layering (the
library cache keys its entries by it) import it from here, because importing
``sopbench`` itself would pull in the package's lazy, high-level exports.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
