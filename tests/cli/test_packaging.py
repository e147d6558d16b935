"""The Lambda zip: built for the host it imports and transforms in a clean interpreter;
built for Lambda arm64 it holds aarch64 Pillow with the AVIF codec; the x86_64 one (the
default) also holds the SIMD resizer. Downloads wheels."""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from origin_handler.cli import packaging

ROOT = Path(__file__).resolve().parents[2]
EVENT = ROOT / "tests" / "fixtures" / "function_url_event.json"
IMAGES = ROOT / "examples" / "images"
EM_X86_64, EM_AARCH64 = 62, 183
RUNTIME_PROVIDED_TOP = ("boto3/", "botocore/", "s3transfer/", "jmespath/", "urllib3/", "dateutil/")


@pytest.fixture(scope="module", autouse=True)
def pip_cache(tmp_path_factory: pytest.TempPathFactory):
    """One pip download cache for every build in this run."""
    cache = tmp_path_factory.mktemp("pip-cache")
    old = os.environ.get("PIP_CACHE_DIR")
    os.environ["PIP_CACHE_DIR"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("PIP_CACHE_DIR", None)
    else:
        os.environ["PIP_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def arm64_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return packaging.build_zip(tmp_path_factory.mktemp("arm64") / "lambda.zip", arch="arm64")


def _elf_machine(header: bytes) -> int:
    assert header[:4] == b"\x7fELF", "not an ELF file"
    assert header[4] == 2, "not a 64-bit ELF"
    assert header[5] == 1, "not little-endian"
    return struct.unpack_from("<H", header, 18)[0]


def _shared_objects(archive: zipfile.ZipFile, prefix: str) -> list[str]:
    return [n for n in archive.namelist() if n.startswith(prefix) and ".so" in n.rsplit("/", 1)[-1]]


def test_arm64_zip_holds_aarch64_pillow_with_avif(arm64_zip: Path):
    with zipfile.ZipFile(arm64_zip) as archive:
        names = archive.namelist()
        imaging = _shared_objects(archive, "PIL/_imaging.")
        avif = _shared_objects(archive, "PIL/_avif.")
        assert imaging, "no PIL/_imaging*.so in the zip"
        assert avif, "no PIL/_avif*.so (AVIF codec) in the zip"
        for name in imaging + avif:
            assert "cpython-313-aarch64-linux-gnu" in name, name
            assert _elf_machine(archive.read(name)[:20]) == EM_AARCH64, f"{name} is not aarch64"
        # Every compiled module and bundled library, not only Pillow's, is for aarch64.
        for name in [n for n in names if n.endswith(".so") or ".so." in n]:
            assert _elf_machine(archive.read(name)[:20]) == EM_AARCH64, f"{name} is not aarch64"
        metadata = next(n for n in names if n.startswith("pillow-") and n.endswith("/METADATA"))
        version = archive.read(metadata).decode().split("\nVersion: ", 1)[1].split("\n", 1)[0]
        assert int(version.split(".")[0]) >= 13, f"resolved Pillow {version}, want 13+"
        json.loads(archive.read("origin_handler/policy.json"))
        # Exactly what the two functions import: the top level, pipeline/, origin/ and
        # lifecycle/; never the CLI, the local server, its demo page or the packager.
        package = ROOT / "origin_handler"
        expected = {
            f"origin_handler/{p.relative_to(package).as_posix()}"
            for p in [
                *package.glob("*.py"),
                package / "policy.json",
                *package.glob("pipeline/*.py"),
                *package.glob("origin/*.py"),
                *package.glob("lifecycle/*.py"),
            ]
        }
        shipped = {n for n in names if n.startswith("origin_handler/") and "/__pycache__/" not in n}
        assert shipped == expected
        assert "origin_handler/origin/lambda_function.py" in shipped
        assert "origin_handler/lifecycle/lambda_function.py" in shipped
        assert not [
            n for n in shipped if n.startswith(("origin_handler/cli/", "origin_handler/local/"))
        ]
        # CLI-only dependencies stay out; zlib-ng (the PNG reader inflates with it) is in.
        assert not [
            n for n in names if n.startswith(("tqdm/", "tqdm-", "packaging/", "packaging-"))
        ]
        assert "zlib_ng/__init__.py" in names
        assert not [n for n in names if n.startswith("cykooz_resizer/")], "no Linux aarch64 wheel"
        assert not [n for n in names if n.startswith(RUNTIME_PROVIDED_TOP)], "boto3 & co bundled"
        compiled = [n for n in names if n.endswith(".pyc")]
        if packaging.bytecode_interpreter("3.13", host=False) is None:  # no python3.13 here
            assert not compiled
        else:
            assert "origin_handler/origin/__pycache__/handler.cpython-313.pyc" in compiled
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename


def test_zip_is_deterministic(arm64_zip: Path, tmp_path: Path):
    again = packaging.build_zip(tmp_path / "again.zip", arch="arm64")
    assert (
        hashlib.sha256(again.read_bytes()).digest()
        == hashlib.sha256(arm64_zip.read_bytes()).digest()
    )


def test_cli_builds_x86_64_and_prints_size(tmp_path: Path, capsys: pytest.CaptureFixture):
    parser = argparse.ArgumentParser()
    packaging.add_package_arguments(parser)
    output = tmp_path / "x86.zip"
    args = parser.parse_args(["--arch", "x86_64", "--python", "3.13", "-o", str(output)])
    assert packaging.run_package(args) == 0
    assert f"{output}:" in capsys.readouterr().out
    with zipfile.ZipFile(output) as archive:
        imaging = _shared_objects(archive, "PIL/_imaging.")
        assert imaging and "x86_64-linux-gnu" in imaging[0]
        assert _elf_machine(archive.read(imaging[0])[:20]) == EM_X86_64
        # The SIMD resizer has no Linux aarch64 wheel: in this zip, not in the arm64 one.
        assert _shared_objects(archive, "cykooz_resizer/rust_lib.")


def test_requirements_follow_the_target_platform_not_the_build_machine():
    lines = ["pillow>=13,<14", "cykooz.resizer>=4.0; platform_machine == 'x86_64'", "a[x]>=1"]
    assert packaging.for_target(lines, "arm64", "3.13", host=False) == ["pillow<14,>=13", "a[x]>=1"]
    x86 = packaging.for_target(lines, "x86_64", "3.13", host=False)
    assert x86 == ["pillow<14,>=13", "cykooz.resizer>=4.0", "a[x]>=1"]
    old = packaging.for_target(["b; python_version < '3.12'"], "x86_64", "3.13", host=False)
    assert old == []


def test_cli_defaults_and_bad_arch():
    parser = argparse.ArgumentParser()
    packaging.add_package_arguments(parser)
    args = parser.parse_args([])
    assert (args.arch, args.python, args.include_boto3, args.host) == (
        "x86_64",
        "3.13",
        False,
        False,
    )
    assert args.output == Path("build/lambda.zip")
    assert args.bytecode
    with pytest.raises(packaging.PackagingError):
        packaging.build_zip(Path("unused.zip"), arch="sparc")


CHILD = r"""
import base64, json, os, sys
root = sys.argv[1]
sys.path.insert(0, root)
from origin_handler.origin import lambda_function as handler
from origin_handler.lifecycle import lambda_function as events
import PIL
# Nothing may come from outside the zip but the standard library.
for module in (handler, events, PIL):
    assert os.path.realpath(module.__file__).startswith(os.path.realpath(root)), module.__file__
assert "site" not in sys.modules
# Neither handler pulls in command-line code.
cli_code = [m for m in sys.modules if m.startswith(("origin_handler.cli", "origin_handler.local"))]
assert not cli_code and "argparse" not in sys.modules and "tqdm" not in sys.modules, cli_code
with open(sys.argv[2]) as f:
    event = json.load(f)
response = handler.lambda_handler(event, None)
with open(sys.argv[3], "w") as f:  # stdout carries the handler's log lines
    json.dump(dict(response), f)
"""


@pytest.fixture(scope="module")
def host_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The runtime provides boto3; a clean interpreter does not, so bundle it here.
    out = tmp_path_factory.mktemp("host") / "host.zip"
    return packaging.build_zip(out, include_boto3=True, host=True)


def _unpack(built: Path, task: Path) -> Path:
    """Unpack as Lambda does into /var/task (read-only there: the children run with -B)."""
    with zipfile.ZipFile(built) as archive:
        archive.extractall(task)
    return task


def test_host_zip_ships_unchecked_bytecode_for_every_module(host_zip: Path):
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(host_zip) as archive:
        names = set(archive.namelist())
        sources = [n for n in names if n.endswith(".py")]
        assert len(sources) > 100
        for source in sources:
            folder, _, name = source.rpartition("/")
            pyc = f"{folder}/__pycache__/{name[:-3]}.{tag}.pyc".lstrip("/")
            assert pyc in names, source
            flags = struct.unpack_from("<I", archive.read(pyc), 4)[0]
            assert flags == 0b01, f"{pyc}: flags {flags:#b}, want hash-based and unchecked"


def test_read_only_task_root_imports_the_shipped_bytecode(host_zip: Path, tmp_path: Path):
    task = _unpack(host_zip, tmp_path / "task")
    imports = (
        "import origin_handler.origin.lambda_function, origin_handler.lifecycle.lambda_function"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-B",
            "-v",
            "-c",
            f"import sys; sys.path.insert(0, {str(task)!r}); {imports}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    loaded = [line for line in result.stderr.splitlines() if line.startswith("# code object from")]
    from_task = [line for line in loaded if str(task) in line]
    assert any("origin/__pycache__/handler." in line for line in from_task), loaded[-20:]
    assert any("PIL/__pycache__/Image." in line for line in from_task), loaded[-20:]
    compiled_at_import = [line for line in from_task if line.rstrip("'").endswith(".py")]
    assert not compiled_at_import, compiled_at_import[:5]
    # The tracebacks name Lambda's task root, not the build machine's scratch folder.
    code = (task / "origin_handler" / "origin" / "__pycache__").glob("handler.*.pyc")
    assert packaging.TASK_ROOT.encode() in next(code).read_bytes()


def test_sources_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture):
    parser = argparse.ArgumentParser()
    packaging.add_package_arguments(parser)
    output = tmp_path / "plain.zip"
    args = parser.parse_args(["--host", "--no-bytecode", "-o", str(output)])
    assert packaging.run_package(args) == 0
    assert "without bytecode" in capsys.readouterr().out
    with zipfile.ZipFile(output) as archive:
        assert not [n for n in archive.namelist() if n.endswith(".pyc")]


def test_no_interpreter_for_the_target_means_no_bytecode(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("PYENV_ROOT", "/nonexistent")
    assert packaging.bytecode_interpreter("3.13", host=False) is None
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert packaging.bytecode_interpreter(here, host=False) == sys.executable


def test_host_zip_imports_and_transforms_in_a_clean_interpreter(host_zip: Path, tmp_path: Path):
    unpacked = _unpack(host_zip, tmp_path / "task")
    derived = tmp_path / "derived"
    answer = tmp_path / "response.json"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ORIGINALS_DIR": str(IMAGES),
        "DERIVED_DIR": str(derived),
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", CHILD, str(unpacked), str(EVENT), str(answer)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    response = json.loads(answer.read_text())
    assert response["statusCode"] == 200, response.get("body", "")[:500]
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["content-type"] == "image/webp"
    body = base64.b64decode(response["body"]) if response.get("isBase64Encoded") else None
    assert body, "image body must be base64-encoded"
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "WEBP"
        # 1800x1200 stored with EXIF orientation 6: upright it is portrait, 640 wide.
        assert image.size == (640, 960)
    assert any(p.is_file() for p in derived.rglob("*")), "derived object was not stored"
