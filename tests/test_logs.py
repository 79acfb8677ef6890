"""Logging: levels and formats from the command line or the settings, secrets masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from sopbench.cli import main
from sopbench.config import load_settings
from sopbench.errors import ConfigError, StepFailed
from sopbench.logs import JsonFormatter, configure_logging

SECRET = "s3cr3t-value-for-logs"


@pytest.fixture
def sopbench_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("sopbench")
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def test_json_lines_carry_the_error_fields_and_mask_secrets(
    sopbench_logger: logging.Logger,
) -> None:
    stream = io.StringIO()
    configure_logging("info", "json", redact=lambda t: t.replace(SECRET, "***"), stream=stream)
    log = logging.getLogger("sopbench.engine.test")
    try:
        raise StepFailed(f"token {SECRET} refused", run_id="run_1", step_id="hook")
    except StepFailed:
        log.exception("step failed with %s", SECRET)
    log.info("plain", extra={"run_id": "run_2", "sop_id": "cs_weekly"})
    log.debug("too detailed to show")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "error" and first["logger"] == "sopbench.engine.test"
    assert first["message"] == "step failed with ***"
    assert (first["run_id"], first["step_id"], first["error"]) == ("run_1", "hook", "StepFailed")
    assert "token *** refused" in first["traceback"] and "Traceback" in first["traceback"]
    assert SECRET not in stream.getvalue()
    assert (second["run_id"], second["sop_id"], second["message"]) == (
        "run_2",
        "cs_weekly",
        "plain",
    )


def test_text_lines_name_the_fields_once(sopbench_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("warning", "text", stream=stream)
    logging.getLogger("sopbench.x").warning("careful", extra={"run_id": "run_9"})
    logging.getLogger("sopbench.x").warning("run %s is slow", "run_9", extra={"run_id": "run_9"})
    logging.getLogger("sopbench.x").info("not shown")
    one, two = stream.getvalue().splitlines()
    assert one.endswith("WARNING sopbench.x: careful [run_id=run_9]")
    assert two.endswith("WARNING sopbench.x: run run_9 is slow")


def test_the_log_settings_come_from_the_environment_or_dotenv(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={"SOPBENCH_LOG": "INFO"})
    assert (settings.log_level, settings.log_format) == ("info", "text")
    (tmp_path / ".env").write_text("SOPBENCH_LOG_FORMAT=json\n", encoding="utf-8")
    assert load_settings(tmp_path, environ={}).log_format == "json"
    with pytest.raises(ConfigError, match="SOPBENCH_LOG='loud' is not one of debug, info"):
        load_settings(tmp_path, environ={"SOPBENCH_LOG": "loud"})
    with pytest.raises(ConfigError, match="SOPBENCH_MAX_CRASHES='0' is not a number of at least 1"):
        load_settings(tmp_path, environ={"SOPBENCH_MAX_CRASHES": "0"})


def test_the_cli_takes_a_log_level(tmp_path: Path, sopbench_logger: logging.Logger) -> None:
    code = main(["--home", str(tmp_path), "--log-level", "debug", "--log-format", "json", "list"])
    assert code in (0, 1)  # an empty folder has no SOPs; what matters is the logging set-up
    assert sopbench_logger.level == logging.DEBUG
    handler = next(h for h in sopbench_logger.handlers if h.get_name() == "sopbench-cli")
    assert isinstance(handler.formatter, JsonFormatter)
