"""Build the Lambda deployment zip: this package plus its runtime wheels for Lambda's platform.

The classic failure of a Pillow Lambda is a zip built with the host's wheels
(``cannot import name '_imaging' from 'PIL'``). So pip is asked for the Lambda platform
explicitly: Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34), so manylinux_2_28
wheels are accepted, with manylinux2014 as a fallback (Pillow 13's aarch64 wheels are
manylinux_2_28 only; asking for manylinux2014 alone silently resolves an older Pillow).

Only what the two functions import ships: the top-level modules, ``pipeline/``, ``origin/``
and ``lifecycle/`` — never ``cli/`` or ``local/`` (the import-linter contracts in
pyproject.toml keep the runtime layers from importing them), and none of the CLI-only
dependencies (tqdm, packaging). boto3 and its dependencies are left out unless asked: every
Lambda Python runtime has them.
The zip is deterministic (sorted entries, fixed timestamps and modes), so an unchanged build
has an unchanged hash and Terraform does not redeploy it.

Every module ships compiled (``__pycache__/*.cpython-3XX.pyc``, unchecked-hash): /var/task is
read-only, so without them each cold start compiles every module it imports again.
Bytecode is specific to a Python minor version, so it needs an interpreter of the target
version (this one, ``python3.XX`` on PATH, or one pyenv installed); without one the zip
ships sources only, with a warning.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The subpackages the Lambda functions import; cli/ and local/ stay out of the zip.
RUNTIME_SUBPACKAGES = ("pipeline", "origin", "lifecycle")
# [project].dependencies that only the command line uses (progress bars, markers).
CLI_ONLY = ("tqdm", "packaging")
PROJECT_NAME = "image-origin"
ARCHES = {"arm64": "aarch64", "x86_64": "x86_64"}
# x86_64 by default: only there does the SIMD resizer have Linux wheels
# (docs/cost.md, "x86_64 or arm64").
DEFAULT_ARCH = "x86_64"
# Every Lambda Python runtime ships these; bundling them only grows the zip.
RUNTIME_PROVIDED = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "python-dateutil",
    "six",
)
IMPORT_NAMES = {"python-dateutil": "dateutil"}
# Lambda limits: 50 MB for a zip uploaded directly, 250 MB unzipped.
MAX_ZIP_BYTES = 50 * 1000 * 1000
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
STRIP_DIRS = {"__pycache__", "tests", "test"}
STRIP_SUFFIXES = (".pyc", ".pyo")
# Where Lambda unpacks the zip: the path tracebacks show for compiled modules.
TASK_ROOT = "/var/task"


class PackagingError(RuntimeError):
    """The zip could not be built as asked."""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise PackagingError(f"cannot read requirement {requirement!r}")
    return _canonical(match.group(1))


def runtime_requirements() -> list[str]:
    """[project].dependencies from pyproject.toml beside the package, else installed metadata."""
    pyproject = PACKAGE_DIR.parent / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        with pyproject.open("rb") as handle:
            project = tomllib.load(handle).get("project", {})
        if project.get("name") == PROJECT_NAME:
            return list(project.get("dependencies", []))
    try:
        requires = metadata.requires(PROJECT_NAME) or []
    except metadata.PackageNotFoundError as exc:
        raise PackagingError("cannot find the project's dependencies (no pyproject.toml)") from exc
    return [r for r in requires if "extra ==" not in r]


def for_target(requirements: list[str], arch: str, python: str, host: bool) -> list[str]:
    """The requirements whose environment markers hold on the Lambda platform, markers removed.

    pip evaluates markers against the machine it runs on even with --platform, so a
    requirement marked for x86_64 only would be asked for an arm64 zip (and the other way round).
    """
    from packaging.requirements import Requirement

    target = None
    if not host:
        target = {
            "platform_machine": ARCHES[arch],
            "python_version": python,
            "python_full_version": f"{python}.0",
            "sys_platform": "linux",
            "platform_system": "Linux",
            "os_name": "posix",
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
        }
    kept = []
    for line in requirements:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate(target):
            continue
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        kept.append(f"{requirement.name}{extras}{requirement.specifier}")
    return kept


def _pip_command(
    target: Path, requirements: list[str], arch: str, python: str, host: bool
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(target),
        "--no-compile",
        "--no-input",
        "--disable-pip-version-check",
        "--only-binary=:all:",
    ]
    if not host:
        machine = ARCHES[arch]
        command += [
            "--platform",
            f"manylinux_2_28_{machine}",
            "--platform",
            f"manylinux2014_{machine}",
            "--python-version",
            python,
            "--implementation",
            "cp",
            "--abi",
            f"cp{python.replace('.', '')}",
        ]
    return [*command, *requirements]


def _strip(tree: Path, drop: set[str]) -> None:
    """Remove caches, test suites, console scripts and runtime-provided packages."""
    shutil.rmtree(tree / "bin", ignore_errors=True)
    top_level = {IMPORT_NAMES.get(name, name.replace("-", "_")) for name in drop}
    for entry in list(tree.iterdir()):
        if entry.name.endswith((".dist-info", ".egg-info")):
            unwanted = _canonical(entry.name.split("-")[0]) in drop
        else:
            unwanted = entry.name.removesuffix(".py") in top_level
        if unwanted and entry.is_dir():
            shutil.rmtree(entry)
        elif unwanted:
            entry.unlink()
    for path in sorted(tree.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in STRIP_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.name.endswith(STRIP_SUFFIXES):
            path.unlink()


def runtime_files() -> list[Path]:
    """The package files the Lambda functions need, relative to the package's parent."""
    keep = [p for p in sorted(PACKAGE_DIR.iterdir()) if p.suffix in (".py", ".json")]
    for sub in RUNTIME_SUBPACKAGES:
        keep += sorted((PACKAGE_DIR / sub).rglob("*.py"))
    return [p.relative_to(PACKAGE_DIR.parent) for p in keep if "__pycache__" not in p.parts]


def _copy_package(tree: Path) -> None:
    """Copy the runtime part of origin_handler (its modules and policy.json)."""
    for relative in runtime_files():
        target = tree / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE_DIR.parent / relative, target)


def _check_installed(tree: Path, requirements: list[str]) -> None:
    """Every requirement left in the zip must have been installed (its dist-info exists)."""
    installed = {_canonical(p.name.split("-")[0]) for p in tree.glob("*.dist-info") if p.is_dir()}
    missing = [r for r in requirements if _requirement_name(r) not in installed]
    if missing:
        raise PackagingError(f"pip did not install: {', '.join(missing)}")


def bytecode_interpreter(python: str, host: bool) -> str | None:
    """An interpreter that writes bytecode for the target Python, or None if there is none.

    ``python3.XX`` on PATH, else a pyenv-installed one; each candidate is run once, since
    a pyenv shim for a version that is installed but not selected exists and fails.
    """
    if host or python == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    candidates = [shutil.which(f"python{python}")]
    candidates += [str(p) for p in sorted(pyenv.glob(f"{python}.*/bin/python{python}"))]
    for candidate in filter(None, candidates):
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0 and probe.stdout.strip() == python:
            return candidate
    return None


def _compile(tree: Path, interpreter: str) -> None:
    """Compile every module in tree; unchecked-hash, so the runtime never stats the source."""
    command = [
        interpreter,
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(tree),
        "-p",
        TASK_ROOT,
        str(tree),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackagingError(f"compileall failed:\n{result.stdout}\n{result.stderr}")


def _write_zip(tree: Path, output: Path) -> tuple[int, int]:
    """Deterministic zip of tree; returns (file count, unzipped bytes)."""
    files = sorted(p for p in tree.rglob("*") if p.is_file())
    unzipped = 0
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(
        partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9
    ) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), date_time=ZIP_EPOCH)
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the modes above are honoured
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=9)
    partial.replace(output)
    return len(files), unzipped


def build_zip(
    output: Path,
    arch: str = DEFAULT_ARCH,
    python: str = "3.13",
    include_boto3: bool = False,
    host: bool = False,
    bytecode: bool = True,
) -> Path:
    """Build the deployment zip at output and return its path.

    arch/python pick the Lambda platform's wheels; host=True instead installs wheels for
    the running interpreter and machine (for tests that import the result here).
    bytecode=False ships sources only.
    """
    if arch not in ARCHES:
        raise PackagingError(f"arch must be one of {', '.join(ARCHES)}, got {arch!r}")
    if not re.fullmatch(r"3\.\d{1,2}", python):
        raise PackagingError(f"python must look like 3.13, got {python!r}")
    output = Path(output)
    drop = {_canonical(n) for n in CLI_ONLY}
    if not include_boto3:
        drop |= {_canonical(n) for n in RUNTIME_PROVIDED}
    requirements = [
        r
        for r in for_target(runtime_requirements(), arch, python, host)
        if _requirement_name(r) not in drop
    ]

    with tempfile.TemporaryDirectory(prefix="image-origin-package-") as scratch:
        tree = Path(scratch) / "tree"
        tree.mkdir()
        if requirements:
            command = _pip_command(tree, requirements, arch, python, host)
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise PackagingError(f"pip install failed:\n{result.stdout}\n{result.stderr}")
        _check_installed(tree, requirements)
        _strip(tree, drop)
        _copy_package(tree)
        interpreter = bytecode_interpreter(python, host) if bytecode else None
        if interpreter:
            _compile(tree, interpreter)
        elif bytecode:
            print(
                f"warning: no Python {python} here (no working python{python}), so the "
                "zip ships without bytecode and every cold start compiles the modules "
                '(docs/deploy.md, "Cold start")',
                file=sys.stderr,
            )
        count, unzipped = _write_zip(tree, output)

    if unzipped > MAX_UNZIPPED_BYTES:
        raise PackagingError(f"{output}: {unzipped:,} bytes unzipped, over Lambda's 250 MB limit")
    size = output.stat().st_size
    platform = "host" if host else f"linux {arch} cp{python.replace('.', '')}"
    print(
        f"{output}: {size / 1024 / 1024:.1f} MiB ({size:,} bytes, {count} files, "
        f"{unzipped / 1024 / 1024:.1f} MiB unzipped) for {platform}, "
        f"{'with' if interpreter else 'without'} bytecode"
    )
    if size > MAX_ZIP_BYTES:
        print(
            f"warning: over {MAX_ZIP_BYTES:,} bytes; Lambda needs it uploaded through S3",
            file=sys.stderr,
        )
    return output


def add_package_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `image-origin package`."""
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("build/lambda.zip"),
        help="zip to write (default: build/lambda.zip)",
    )
    parser.add_argument(
        "--arch",
        choices=sorted(ARCHES),
        default=DEFAULT_ARCH,
        help=f"Lambda architecture (default: {DEFAULT_ARCH}, where the SIMD resizer has wheels)",
    )
    parser.add_argument(
        "--python", default="3.13", help="Lambda Python runtime version (default: 3.13)"
    )
    parser.add_argument(
        "--include-boto3",
        action="store_true",
        help="bundle boto3/botocore too (the runtime already has them)",
    )
    parser.add_argument(
        "--host",
        action="store_true",
        help="use wheels for this interpreter and machine (tests), not Lambda's",
    )
    parser.add_argument(
        "--no-bytecode",
        dest="bytecode",
        action="store_false",
        help="ship sources only (by default modules are compiled for the target Python)",
    )


def run_package(args: argparse.Namespace) -> int:
    """Run `image-origin package`; exit status 0 on success."""
    try:
        build_zip(
            args.output,
            arch=args.arch,
            python=args.python,
            include_boto3=args.include_boto3,
            host=args.host,
            bytecode=args.bytecode,
        )
    except PackagingError as exc:
        print(f"image-origin package: {exc}", file=sys.stderr)
        return 1
    return 0
