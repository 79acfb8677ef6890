"""Settings: ``.env`` read by python-dotenv, secrets resolved and checked, no os.environ change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sopbench.config import Secrets, child_environ, load_settings, parse_dotenv
from sopbench.errors import ConfigError, SecretMissing, SecretTooShort

ENV_FILE = r"""# a comment line
QUOTED='x' # note
DOUBLE="y" # note
BARE=plain value # note
HASH_IN_VALUE=abc#def
HASH_QUOTED="abc # not a comment"
EQUALS=postgresql+psycopg://u:p@h:5432/db?sslmode=require&x=1
ESCAPES="tab\there, quote \" and backslash \\ end\nnext"
SINGLE_KEEPS='no \n escape here'
export EXPORTED=from-export
   export SPACED = around-equals
MULTILINE="first line
second line"
DOLLAR=pa$$word${HOME}
EMPTY=
"""


def test_dotenv_follows_python_dotenv() -> None:
    values = parse_dotenv(ENV_FILE)
    assert values == {
        "QUOTED": "x",
        "DOUBLE": "y",
        "BARE": "plain value",
        "HASH_IN_VALUE": "abc#def",
        "HASH_QUOTED": "abc # not a comment",
        "EQUALS": "postgresql+psycopg://u:p@h:5432/db?sslmode=require&x=1",
        "ESCAPES": 'tab\there, quote " and backslash \\ end\nnext',
        "SINGLE_KEEPS": "no \\n escape here",
        "EXPORTED": "from-export",
        "SPACED": "around-equals",
        "MULTILINE": "first line\nsecond line",
        "DOLLAR": "pa$$word${HOME}",
        "EMPTY": "",
    }


@pytest.mark.parametrize(
    ("text", "line"),
    [("GOOD=1\nnot a setting\n", 2), ("A=1\n\nB='unclosed\n", 3), ("ONLY_A_NAME\n", 1)],
)
def test_a_bad_line_is_reported_with_its_number(text: str, line: int) -> None:
    with pytest.raises(ConfigError) as info:
        parse_dotenv(text, path="/ws/.env")
    assert info.value.path == "/ws/.env" and info.value.line == line
    assert str(info.value).startswith(f"/ws/.env:{line}:1: expected NAME=value")


def test_settings_and_secrets_come_from_the_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SOPBENCH_LLM_URL='http://127.0.0.1:9/v1' # the local model\n"
        'SHOP_TOKEN="tok-with-\\"quote\\"-and-#hash" # comment\n',
        encoding="utf-8",
    )
    settings = load_settings(tmp_path, environ={"SOPBENCH_SANDBOX_FILE": "off"})
    assert settings.llm_url == "http://127.0.0.1:9/v1"
    assert settings.secrets.get("SHOP_TOKEN") == 'tok-with-"quote"-and-#hash'


def test_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SHOP_TOKEN=from-the-env-file\n", encoding="utf-8")
    settings = load_settings(tmp_path, environ={"SHOP_TOKEN": "from-the-environment"})
    assert settings.secrets.get("SHOP_TOKEN") == "from-the-environment"


@pytest.mark.parametrize("value", ["2027", "abc", "seven77"])
def test_a_short_secret_is_refused_with_the_reason(tmp_path: Path, value: str) -> None:
    (tmp_path / ".env").write_text(f"SHOP_TOKEN={value}\n", encoding="utf-8")
    secrets = load_settings(tmp_path, environ={}).secrets
    with pytest.raises(SecretTooShort) as info:
        secrets.get("SHOP_TOKEN")
    error = info.value
    assert isinstance(error, ConfigError)
    assert (error.secret_name, error.length, error.minimum) == ("SHOP_TOKEN", len(value), 8)
    text = str(error)
    assert f"secret SHOP_TOKEN is {len(value)} character(s) long" in text
    assert "years, numbers, words" in text and "could not be trusted" in text
    assert "at least 8 characters" in error.hint
    assert value not in text  # the message never shows the value itself
    assert secrets.redact(f"the year {value}") == f"the year {value}"  # and it masks nothing


def test_eight_characters_are_enough_and_are_masked() -> None:
    secrets = Secrets([{"PIN": "20270314"}])
    assert secrets.get("PIN") == "20270314"
    assert secrets.redact_data({"d": "2027-03-14", "n": 20270314, "t": "pin 20270314"}) == {
        "d": "2027-03-14",
        "n": 20270314,
        "t": "pin ***",
    }


def test_watch_masks_before_use_and_skips_unset_and_short(caplog: pytest.LogCaptureFixture) -> None:
    secrets = Secrets([{"LONG": "long-enough-secret", "SHORT": "tiny"}])
    secrets.watch(["LONG", "SHORT", "UNSET"])
    assert secrets.redact("x long-enough-secret tiny") == "x *** tiny"
    assert "secret SHORT is shorter than 8 characters" in caplog.text
    assert "tiny" not in caplog.text
    with pytest.raises(SecretMissing):
        secrets.get("UNSET")
    assert not secrets.has("UNSET") and secrets.has("SHORT")


def test_child_environ_is_a_copy(tmp_path: Path) -> None:
    before = dict(os.environ)
    settings = load_settings(tmp_path, environ={"SOPBENCH_DB_URL": "sqlite:///elsewhere.db"})
    env = child_environ(settings)
    assert env["SOPBENCH_DB_URL"] == "sqlite:///elsewhere.db"
    assert env["SOPBENCH_HOME"] == str(tmp_path.resolve())
    assert env["PATH"] == os.environ["PATH"]
    assert dict(os.environ) == before
