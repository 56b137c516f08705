from pathlib import Path

import pytest

from marketplace.config import ConfigError, Settings


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"ZNACHKI_ENV": "production"})
    message = str(info.value)
    for name in ("SECRET_KEY", "DATABASE_URL", "SMTP_HOST", "REDIS_URL"):
        assert name in message


def test_unset_environment_means_production() -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({})


def test_development_defaults_need_no_server() -> None:
    settings = Settings.from_env({"ZNACHKI_ENV": "development"})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.broker_url == "filesystem://"
    assert settings.smtp_host is None


def test_production_with_everything_set() -> None:
    settings = Settings.from_env(
        {
            "SECRET_KEY": "s" * 40,
            "DATABASE_URL": "postgres://u:p@db/znachki",
            "REDIS_URL": "redis://redis:6379/0",
            "SMTP_HOST": "mail",
            "SMTP_PORT": "2525",
            "SMTP_STARTTLS": "yes",
            "PLATFORM_FEE_PERCENT": "7.5",
        }
    )
    assert settings.database_url == "postgresql+psycopg://u:p@db/znachki"
    assert settings.broker_url == "redis://redis:6379/0"
    assert settings.smtp_port == 2525 and settings.smtp_starttls
    assert settings.platform_fee_percent == 7.5
    assert not settings.is_development


def test_bad_fee_is_named() -> None:
    with pytest.raises(ConfigError, match="PLATFORM_FEE_PERCENT"):
        Settings.from_env({"ZNACHKI_ENV": "development", "PLATFORM_FEE_PERCENT": "eight"})


def test_importing_the_package_builds_nothing() -> None:
    import subprocess
    import sys

    code = (
        "import sys, marketplace, marketplace.matching; "
        "print('flask' in sys.modules, 'sqlalchemy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout.split()
    assert out == ["False", "False"]


def test_make_run_gives_every_process_the_web_apps_address(tmp_path: Path) -> None:
    """Under `make run` honcho gives the worker and beat PORT = web port + 100,
    + 200; mail is built there, so BASE_URL must still be the web app's."""
    import itertools
    import re
    import shlex
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    plan = subprocess.run(
        ["make", "-n", "run", "PORT=8080"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    honcho = next(line for line in plan.splitlines() if "honcho start" in line)
    assignments = itertools.takewhile(lambda w: re.match(r"[A-Z_]+=", w), shlex.split(honcho))
    env = dict(word.split("=", 1) for word in assignments)
    printer = (
        f"{sys.executable} -c 'import os; "
        'print(os.environ["NAME"], os.environ["PORT"], os.environ["BASE_URL"])\''
    )
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "".join(f"{name}: NAME={name} {printer}; sleep 1\n" for name in ("web", "worker", "beat"))
    )
    ran = subprocess.run(
        [str(root / ".venv/bin/honcho"), "start", "-f", str(procfile), "-p", "8080"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    seen = {}
    for line in ran.stdout.splitlines():
        parts = line.split("|", 1)[-1].split()
        if len(parts) == 3 and parts[0] in ("web", "worker", "beat"):
            seen[parts[0]] = (parts[1], parts[2])
    assert set(seen) == {"web", "worker", "beat"}, ran.stdout + ran.stderr
    assert seen["worker"][0] == "8180"  # honcho's own numbering, which caused the bug
    for name, (port, base_url) in seen.items():
        settings = Settings.from_env(
            {"ZNACHKI_ENV": "development", "PORT": port, "BASE_URL": base_url}
        )
        assert settings.base_url == "http://127.0.0.1:8080", name


def test_the_checkout_time_is_configured_within_stripes_limits() -> None:
    base = {"ZNACHKI_ENV": "development"}
    assert Settings.from_env(base).checkout_minutes == 35
    assert Settings.from_env({**base, "CHECKOUT_MINUTES": "90"}).checkout_minutes == 90
    for wrong in ("20", "1441", "soon"):
        with pytest.raises(ConfigError, match="CHECKOUT_MINUTES"):
            Settings.from_env({**base, "CHECKOUT_MINUTES": wrong})
