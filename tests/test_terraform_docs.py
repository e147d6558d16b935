"""terraform/README.md's inputs/outputs tables match variables.tf and outputs.tf."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SCRIPT = ROOT / "scripts" / "terraform-docs.py"
MODULE = ROOT / "terraform"
BLOCK_NAME = re.compile(r'^(variable|output)\s+"([^"]+)"', re.MULTILINE)


@pytest.fixture(scope="module")
def docs() -> ModuleType:
    """scripts/terraform-docs.py imported from its path (its name is not an identifier)."""
    spec = importlib.util.spec_from_file_location("terraform_docs", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def names(path: Path, kind: str) -> list[str]:
    """Block names read with a regex, independently of the script's hcl2 parsing."""
    found = [name for k, name in BLOCK_NAME.findall(path.read_text(encoding="utf-8")) if k == kind]
    assert found, f"no {kind} blocks in {path}"
    return found


def test_readme_is_up_to_date(docs: ModuleType) -> None:
    assert docs.check(MODULE) is None


def test_every_variable_and_output_has_a_row(docs: ModuleType) -> None:
    readme = (MODULE / "README.md").read_text(encoding="utf-8")
    generated = readme.split(docs.BEGIN, 1)[1].split(docs.END, 1)[0]
    inputs, outputs = generated.split("## Outputs", 1)
    for name in names(MODULE / "variables.tf", "variable"):
        assert f"| `{name}` |" in inputs, f"variable {name} missing from terraform/README.md"
    for name in names(MODULE / "outputs.tf", "output"):
        assert f"| `{name}` |" in outputs, f"output {name} missing from terraform/README.md"


def test_a_new_variable_makes_the_check_fail(docs: ModuleType, tmp_path: Path) -> None:
    for name in ("variables.tf", "outputs.tf", "README.md"):
        shutil.copy(MODULE / name, tmp_path / name)
    assert docs.check(tmp_path) is None  # the copy starts up to date

    with (tmp_path / "variables.tf").open("a", encoding="utf-8") as handle:
        handle.write(
            '\nvariable "drift_probe" {\n'
            '  description = "Added by the test | with a pipe."\n'
            "  type        = list(number)\n"
            "  default     = [1, 2]\n"
            "}\n"
        )
    message = docs.check(tmp_path)
    assert message and "--write" in message and "\n" not in message

    readme = tmp_path / "README.md"
    readme.write_text(docs.splice(readme.read_text(encoding="utf-8"), docs.render(tmp_path)))
    assert docs.check(tmp_path) is None
    row = "| `drift_probe` | `list(number)` | `[1, 2]` | no | Added by the test \\| with a pipe. |"
    assert row in readme.read_text(encoding="utf-8")


def test_check_flag_exits_zero_on_the_repository() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_a_sensitive_variable_is_marked(docs: ModuleType, tmp_path: Path) -> None:
    for name in ("variables.tf", "outputs.tf", "README.md"):
        shutil.copy(MODULE / name, tmp_path / name)
    (tmp_path / "variables.tf").write_text(
        'variable "secret_probe" {\n'
        '  description = "A secret."\n'
        "  type        = map(string)\n"
        "  default     = {}\n"
        "  sensitive   = true\n"
        "}\n",
        encoding="utf-8",
    )
    row = (
        "| `secret_probe` | `map(string)` | `{}` | no |"
        " **Sensitive** (never shown in plans). A secret. |"
    )
    assert row in docs.render(tmp_path)
    readme = (MODULE / "README.md").read_text(encoding="utf-8")
    assert "| `signing_keys` | `map(string)` | `{}` | yes | **Sensitive**" in readme
