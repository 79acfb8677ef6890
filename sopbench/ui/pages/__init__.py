"""One module per dashboard page; each exposes its widget class as ``PAGE``."""
