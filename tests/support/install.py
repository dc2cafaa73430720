"""Installing the project as an operator would, outside the checkout: the sources a wheel is built from,
the wheel, and a fresh venv that has it (tests/e2e/test_wheel.py, test_install_guide.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What pyproject.toml builds from: nothing else of the checkout (tests, .venv, var) may leak in.
SHIPPED = ("pyproject.toml", "README.md", "gateway", "parsers", "store", "templates", "systemd")


def copy_sources(destination: Path) -> Path:
    """The shipped files of the checkout, copied (a build writes build/ and *.egg-info beside them)."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, destination / name)
    return destination


def build_wheel(sources: Path, into: Path) -> Path:
    """`pip wheel --no-deps` (setuptools comes from pip's build isolation, cached after the first run)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(into),
                    str(sources)], check=True, capture_output=True, text=True)
    [wheel] = into.glob("support_gateway-*.whl")
    return wheel


def venv_with(wheel: Path, venv: Path) -> Path:
    """A fresh venv with the wheel installed (--no-deps); its dependencies are this venv's.

    The test venv's site-packages is added by a .pth line, so nothing is downloaded. A .pth
    line only adds a folder to sys.path (the .pth files inside it are not run), so the
    editable install of the checkout stays out of sight: `gateway` comes from the wheel.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    str(wheel)], check=True, capture_output=True, text=True)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "zz-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return venv


def world_readable_temp_dir(prefix: str) -> Path:
    """A folder under /tmp that a service user can reach (pytest's tmp_path sits under a 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(folder, 0o755)
    return folder
