from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.config import Settings


def test_secret_generated_once_with_0600(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'x.db'}")
    with caplog.at_level(logging.WARNING):
        first = settings.resolve_encryption_secret()
    assert "INCIDENTLAKE_ENCRYPTION_SECRET is not set" in caplog.text
    assert first not in caplog.text
    path = tmp_path / "incidentlake.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.resolve_encryption_secret() == first


def test_env_wins_over_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('db_url = "sqlite:///from-toml.db"\nport = 9000\n')
    monkeypatch.setenv("INCIDENTLAKE_CONFIG", str(toml))
    monkeypatch.setenv("INCIDENTLAKE_PORT", "9100")
    s = Settings()
    assert s.db_url == "sqlite:///from-toml.db"
    assert s.port == 9100


def test_bad_values_name_the_field() -> None:
    with pytest.raises(ValidationError, match="db_url"):
        Settings(db_url="postgresql://x/y")
    with pytest.raises(ValidationError, match="log_level"):
        Settings(log_level="LOUD")


def test_example_config_documents_every_setting() -> None:
    example = (Path(__file__).resolve().parents[2] / "config" / "incidentlake.example.toml").read_text()
    for name in Settings.model_fields:
        assert f"{name} =" in example or f"# {name} =" in example, name
