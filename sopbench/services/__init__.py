"""The application service layer: what the CLI and the dashboard both call."""
