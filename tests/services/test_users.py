"""Access codes and sign-in sessions, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from sopbench.config import Settings, load_settings
from sopbench.errors import NotFound, SignInFailed, UsageError
from sopbench.services.users import AccessService, check_code, hash_code
from sopbench.store import utcnow
from sopbench.store.tables import people, reviewer_sessions

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    shutil.copytree(REPO / "sops", tmp_path / "home" / "sops")
    return load_settings(
        tmp_path / "home", environ={"SOPBENCH_DB_URL": db_url, "SOPBENCH_SANDBOX_FILE": "off"}
    )


@pytest.fixture
def access(settings: Settings) -> Iterator[AccessService]:
    service = AccessService(settings)
    yield service
    service.close()


def test_hash_is_salted_and_checks(access: AccessService) -> None:
    first, second = hash_code("correct horse"), hash_code("correct horse")
    assert first != second  # salted
    assert check_code("correct horse", first) and check_code("correct horse", second)
    assert not check_code("correct horsE", first)
    assert not check_code("x", "md5$nonsense")


def test_code_is_stored_only_as_a_hash(access: AccessService) -> None:
    code = access.set_code("olivia", "s3cret-code-olivia")
    assert code == "s3cret-code-olivia"
    with access.db.read() as conn:
        stored = conn.execute(select(people.c.access_code_hash)).scalars().all()
        dump = " ".join(str(r) for r in conn.execute(select(people)).all())
    assert len(stored) == 1 and stored[0].startswith("scrypt$")
    assert "s3cret-code-olivia" not in dump
    access.verify("olivia", "s3cret-code-olivia")


def test_generated_codes_are_long_and_distinct(access: AccessService) -> None:
    codes = {access.set_code("grant") for _ in range(3)}
    assert len(codes) == 3 and all(len(c) >= 12 for c in codes)
    [view] = [p for p in access.list_people() if p.id == "grant"]
    assert view.has_code and "manager" in view.roles


def test_refusals_are_clear(access: AccessService) -> None:
    with pytest.raises(SignInFailed, match="olivia has no access code yet") as info:
        access.verify("olivia", "whatever-code")
    assert "sopbench users set-code olivia" in str(info.value)
    access.set_code("olivia", "right-code-123")
    with pytest.raises(SignInFailed, match="wrong access code for olivia"):
        access.verify("olivia", "wrong-code-123")
    with pytest.raises(SignInFailed, match=r"'zed' is not in sops/people\.yaml"):
        access.verify("zed", "right-code-123")
    with pytest.raises(NotFound):
        access.set_code("zed", "right-code-123")
    with pytest.raises(UsageError, match="at least 8 characters"):
        access.set_code("olivia", "short")


def test_sessions_bind_a_browser_until_they_expire(access: AccessService) -> None:
    access.set_code("mia", "mia-code-2026")
    with pytest.raises(SignInFailed):
        access.sign_in("username-a=1", "mia", "not-her-code")
    assert access.session_person("username-a=1") is None
    assert access.sign_in("username-a=1", "mia", "mia-code-2026") == "mia"
    assert access.session_person("username-a=1") == "mia"
    assert access.session_person("username-b=2") is None
    with access.db.read() as conn:
        keys = conn.execute(select(reviewer_sessions.c.key_hash)).scalars().all()
    assert keys and all("username" not in k for k in keys)  # only hashes
    with access.db.write() as conn:
        conn.execute(update(reviewer_sessions).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert access.session_person("username-a=1") is None


def test_new_code_and_sign_out_end_sessions(access: AccessService) -> None:
    access.set_code("dana", "dana-code-2026")
    access.sign_in("k1", "dana", "dana-code-2026")
    access.sign_in("k2", "dana", "dana-code-2026")
    access.sign_out("k1")
    assert access.session_person("k1") is None
    assert access.session_person("k2") == "dana"
    access.set_code("dana", "dana-code-2027")
    assert access.session_person("k2") is None
    access.sign_in("k3", "dana", "dana-code-2027")
    access.clear_code("dana")
    assert access.session_person("k3") is None
    with access.db.read() as conn:
        assert conn.execute(text("select count(*) from reviewer_sessions")).scalar() == 0
