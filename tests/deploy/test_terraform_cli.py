"""The real terraform on the module: fmt, init from a local provider mirror (no network),
validate, and plans against moto_server on loopback, at the defaults and at both ends of every
validated variable; one value just past each end must fail with the validation's own message.
Signed URLs are planned in variants of the tree whose policy.json (and artefact) say another
signing mode, inside the same plan and precondition runs as the rest.

Everything runs in a copy of terraform/ (plus the files it reads) in a tmp dir, so .terraform/
and lock files never land in the repo. The terraform invocations are independent and slow, so
the module fixture starts them all at once in threads; each test waits for the ones it reads.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from .test_terraform import load

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MIN_AWS = (5, 100)
AWS_PROVIDER = Path("registry.terraform.io", "hashicorp", "aws")
# Where a provider mirror is looked for when TF_PROVIDER_MIRROR is unset: /opt/tf-plugins (this
# project's machines), then the directories Terraform itself searches as implied local mirrors
# on Linux and macOS. scripts/system-deps.sh checks the same list.
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
TIMEOUT = 600

ORIGIN_HANDLER = "origin_handler.origin.lambda_function.lambda_handler"
EVENTS_HANDLER = "origin_handler.lifecycle.lambda_function.lambda_handler"

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
KMS = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
WAF = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/images/0a1b2c3d-4e5f-6789-abcd"
NAME_26 = "n" + "a" * 24 + "1"
BUCKET_63 = "b" + "c" * 61 + "d"
NAMESPACE_255 = "Image.Origin_/#:-" + "m" * (255 - 17)
ALL_WARM_FORMATS = ["auto", "auto-avif", "auto-webp", "auto-orig", "avif", "webp", "jpeg", "png"]
# Signing secrets (image-origin sign --new-secret makes 43 base64url characters), two for the
# rotation case; none holds "${" or "%{", which hcl() refuses.
SECRET_1 = "Q2xvdWRGcm9udEZ1bmN0aW9uc0tleVZhbHVlU3RvcmU"
SECRET_2 = "T3JpZ2luUmVjaGVja3NFdmVyeVNpZ25hdHVyZUFnYWlu"
SIGNING_KEYS = {"k1": SECRET_1, "k2": SECRET_2}
# Printable ASCII from one end to the other, at the shortest and longest allowed secret.
SECRET_32 = "!" + "a" * 30 + "~"
SECRET_128 = "!" + "Z" * 126 + "~"

# Module instances that must plan. "min" and "max" hold every validated variable at its lower
# and upper end (for patterns, enumerations and nullables: a valid non-default value);
# "long_name" and "short_name" put the name's ends into the generated bucket and role prefixes.
PLANS: dict[str, dict] = {
    "defaults": {},
    "min": {
        "name": "ab",
        "create_originals_bucket": False,
        "originals_bucket_name": "abc",
        "originals_kms_key_arn": KMS,
        "derived_bucket_name": "abd",
        "derived_expiration_days": 1,
        "lambda_runtime": "python3.13",
        "lambda_architecture": "arm64",
        "lambda_memory_size": 512,
        "lambda_timeout": 3,
        "reserved_concurrency": 1,
        "log_retention_days": 1,
        "browser_max_age": 0,
        "cdn_max_age": 1,
        "not_found_max_age": 0,
        "jpeg_background": "000000",
        "max_source_bytes": 1024,
        "max_source_pixels": 1000000,
        "max_frames": 1,
        "max_animated_pixels": 1000000,
        "max_response_bytes": 65536,
        "storage_budget": {
            "connect_timeout_ms": 1,
            "read_timeout_ms": 1,
            "max_attempts": 1,
            "derived_read_timeout_ms": 1,
            "reserve_ms": 3,
        },
        "price_class": "PriceClass_100",
        "aliases": [],
        "acm_certificate_arn": CERT,
        "cors_allowed_origins": [],
        "access_logs_bucket": "l.s3.amazonaws.com",
        "web_acl_id": WAF,
        "events_memory_size": 256,
        "events_timeout": 10,
        "events_batch_size": 1,
        "events_batching_window_seconds": 0,
        "events_maximum_concurrency": 2,
        "events_max_receive_count": 1,
        "warm_widths": [1],
        "warm_formats": [],
        "metrics_namespace": "",
        "origin_shield_region": "eu-west-1",
        # One key with a one-character id. The tree's policy has signing off, so it is deployed
        # nowhere (a check block warns); SIGNING_PLANS plans keys that are used.
        "signing_keys": {"k": SECRET_32},
    },
    "max": {
        "name": NAME_26,
        "originals_bucket_name": BUCKET_63,
        "originals_kms_key_arn": KMS,
        "derived_bucket_name": BUCKET_63[::-1],
        "derived_expiration_days": 3650,
        # The pattern admits later runtimes too; the 5.100 provider knows none after 3.13.
        "lambda_runtime": "python3.13",
        "lambda_architecture": "x86_64",
        "lambda_memory_size": 10240,
        "lambda_timeout": 58,
        # No upper bound in the validation: a large value stands for it.
        "reserved_concurrency": 1000,
        "log_retention_days": 3653,
        "browser_max_age": 31536000,
        "cdn_max_age": 31536000,
        "not_found_max_age": 86400,
        "jpeg_background": "#FFFFFF",
        "max_source_bytes": 1073741824,
        "max_source_pixels": 250000000,
        "max_frames": 10000,
        "max_animated_pixels": 1000000000,
        "max_response_bytes": 6291456,
        "storage_budget": {
            "connect_timeout_ms": 60000,
            "read_timeout_ms": 60000,
            "max_attempts": 10,
            "derived_read_timeout_ms": 60000,
            "reserve_ms": 120001,
        },
        "price_class": "PriceClass_All",
        "aliases": ["*.example.com", "a" * 63 + ".example.com"],
        "acm_certificate_arn": CERT,
        "cors_allowed_origins": ["https://www.example.com", "http://localhost:8080"],
        "access_logs_bucket": "my-logs.s3.eu-west-1.amazonaws.com",
        "web_acl_id": WAF,
        "events_memory_size": 10240,
        "events_timeout": 900,
        "events_batch_size": 100,
        "events_batching_window_seconds": 300,
        "events_maximum_concurrency": 1000,
        "events_max_receive_count": 1000,
        "warm_widths": [1, 10000],
        "warm_formats": ALL_WARM_FORMATS,
        "metrics_namespace": NAMESPACE_255,
        "origin_shield_region": "ap-southeast-2",
        "signing_keys": {
            "A" * 32: SECRET_128,
            "z" * 32: SECRET_128,
            "0123456789_-" + "9" * 20: SECRET_128,
            "-" * 32: SECRET_32,
        },
    },
    "long_name": {"name": NAME_26},
    "short_name": {
        "name": "a1",
        "enable_events": False,
        "price_class": "PriceClass_200",
        "lambda_architecture": "arm64",
    },
}

# One value just past each end of each validation (variable, value); the variable's own
# error_message must be the one error its module call gets.
BAD_VALUES: dict[str, tuple[str, object]] = {
    "name_short": ("name", "a"),
    "name_long": ("name", NAME_26 + "x"),
    "name_trailing_hyphen": ("name", "ab-"),
    "originals_bucket_name_short": ("originals_bucket_name", "ab"),
    "originals_bucket_name_long": ("originals_bucket_name", BUCKET_63 + "e"),
    "originals_kms_key_arn": ("originals_kms_key_arn", KMS.replace("123456789012", "12345678901")),
    "derived_bucket_name_short": ("derived_bucket_name", "ab"),
    "derived_bucket_name_long": ("derived_bucket_name", BUCKET_63 + "e"),
    "derived_expiration_days_low": ("derived_expiration_days", 0),
    "derived_expiration_days_high": ("derived_expiration_days", 3651),
    "derived_expiration_days_fraction": ("derived_expiration_days", 1.5),
    "lambda_zip_path": ("lambda_zip_path", "../../build/lambda.zip.txt"),
    "lambda_runtime": ("lambda_runtime", "python3.12"),
    "lambda_architecture": ("lambda_architecture", "aarch64"),
    "lambda_memory_size_low": ("lambda_memory_size", 511),
    "lambda_memory_size_high": ("lambda_memory_size", 10241),
    "lambda_timeout_low": ("lambda_timeout", 2),
    "lambda_timeout_high": ("lambda_timeout", 59),
    "reserved_concurrency_low": ("reserved_concurrency", 0),
    "log_retention_days_low": ("log_retention_days", 0),
    "log_retention_days_between": ("log_retention_days", 2),
    "log_retention_days_high": ("log_retention_days", 3654),
    "browser_max_age_low": ("browser_max_age", -1),
    "browser_max_age_high": ("browser_max_age", 31536001),
    "cdn_max_age_low": ("cdn_max_age", 0),
    "cdn_max_age_high": ("cdn_max_age", 31536001),
    "not_found_max_age_low": ("not_found_max_age", -1),
    "not_found_max_age_high": ("not_found_max_age", 86401),
    "jpeg_background_short": ("jpeg_background", "#fffff"),
    "jpeg_background_long": ("jpeg_background", "#fffffff"),
    "max_source_bytes_low": ("max_source_bytes", 1023),
    "max_source_bytes_high": ("max_source_bytes", 1073741825),
    "max_source_pixels_low": ("max_source_pixels", 999999),
    "max_source_pixels_high": ("max_source_pixels", 250000001),
    "max_frames_low": ("max_frames", 0),
    "max_frames_high": ("max_frames", 10001),
    "max_animated_pixels_low": ("max_animated_pixels", 999999),
    "max_animated_pixels_high": ("max_animated_pixels", 1000000001),
    "max_response_bytes_low": ("max_response_bytes", 65535),
    "max_response_bytes_high": ("max_response_bytes", 6291457),
    "storage_budget_timeout_low": ("storage_budget", {"read_timeout_ms": 0}),
    "storage_budget_timeout_high": ("storage_budget", {"derived_read_timeout_ms": 60001}),
    "storage_budget_attempts_low": ("storage_budget", {"max_attempts": 0}),
    "storage_budget_attempts_high": ("storage_budget", {"max_attempts": 11}),
    "storage_budget_reserve_low": ("storage_budget", {"reserve_ms": 3000}),
    "price_class": ("price_class", "PriceClass_300"),
    "aliases_uppercase": ("aliases", ["CDN.example.com"]),
    "aliases_long_label": ("aliases", ["a" * 64 + ".example.com"]),
    "acm_certificate_arn_region": ("acm_certificate_arn", CERT.replace("us-east-1", "eu-west-1")),
    "cors_allowed_origins_path": ("cors_allowed_origins", ["https://www.example.com/"]),
    "access_logs_bucket": ("access_logs_bucket", "my-logs.example.com"),
    "web_acl_id_regional": (
        "web_acl_id",
        "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/images/0a1b2c3d",
    ),
    "events_memory_size_low": ("events_memory_size", 255),
    "events_memory_size_high": ("events_memory_size", 10241),
    "events_timeout_low": ("events_timeout", 9),
    "events_timeout_high": ("events_timeout", 901),
    "events_batch_size_low": ("events_batch_size", 0),
    "events_batch_size_high": ("events_batch_size", 101),
    "events_batching_window_seconds_low": ("events_batching_window_seconds", -1),
    "events_batching_window_seconds_high": ("events_batching_window_seconds", 301),
    "events_maximum_concurrency_low": ("events_maximum_concurrency", 1),
    "events_maximum_concurrency_high": ("events_maximum_concurrency", 1001),
    "events_max_receive_count_low": ("events_max_receive_count", 0),
    "events_max_receive_count_high": ("events_max_receive_count", 1001),
    "warm_widths_low": ("warm_widths", [0]),
    "warm_widths_high": ("warm_widths", [640, 10001]),
    "warm_formats": ("warm_formats", ["auto", "gif"]),
    "metrics_namespace_long": ("metrics_namespace", NAMESPACE_255 + "m"),
    "metrics_namespace_aws": ("metrics_namespace", "AWS/Lambda"),
    "origin_shield_region": ("origin_shield_region", "eu-west"),
    "signing_keys_too_many": (
        "signing_keys",
        {f"k{i}": SECRET_1 for i in range(5)},
    ),
    "signing_keys_id_long": ("signing_keys", {"k" * 33: SECRET_1}),
    "signing_keys_id_dot": ("signing_keys", {"k.1": SECRET_1}),
    "signing_keys_secret_short": ("signing_keys", {"k1": SECRET_32[:-1]}),
    "signing_keys_secret_long": ("signing_keys", {"k1": SECRET_128 + "~"}),
    "signing_keys_secret_newline": ("signing_keys", {"k1": SECRET_1 + "\n"}),
}

# Variants of the tree (policy.json's signing.mode, the mode the artefact's "// signing:" line
# claims): the module's copy in each reads its own policy and artefact through
# ${path.module}/../, as the real tree does. Those marked with probe get one more file, PROBE,
# that exposes the origin function's environment map (a plan has the function's environment
# as unknown: it holds bucket ids).
VARIANTS: dict[str, tuple[str, str, bool]] = {
    "signing_off": ("off", "off", True),
    "signing_optional": ("optional", "optional", True),
    # Policy changed, function not rebuilt.
    "stale_artefact": ("required", "off", False),
}
PROBE = """
output "probe_environment_names" {
  value     = keys(local.origin_environment)
  sensitive = true
}

output "probe_signing_keys" {
  value     = lookup(local.origin_environment, "SIGNING_KEYS", null)
  sensitive = true
}
"""

# Module instances in variant trees, planned with PLANS in the same plan: label -> (variant,
# inputs). Keys with signing off deploy nothing; with it on, everything signing needs.
# (No events path in these: it has nothing to do with signing, and a plan costs per resource.)
SIGNING_PLANS: dict[str, tuple[str, dict]] = {
    "signing_off": ("signing_off", {"signing_keys": SIGNING_KEYS, "enable_events": False}),
    "signing_on": ("signing_optional", {"signing_keys": SIGNING_KEYS, "enable_events": False}),
}

# Lifecycle preconditions: valid variables that only plan can reject. Each module call breaks
# one (module -> inputs, the resource whose precondition fails, its message); the precondition
# diagnostics carry no module address, so the messages must be distinct.
PRECONDITIONS: dict[str, tuple[dict, str, str]] = {
    "aliases_without_certificate": (
        {"aliases": ["cdn.example.com"]},
        'resource "aws_cloudfront_distribution" "this"',
        "aliases need acm_certificate_arn",
    ),
    "existing_bucket_without_name": (
        {"create_originals_bucket": False},
        'resource "aws_lambda_function" "origin"',
        "originals_bucket_name is required when create_originals_bucket is false.",
    ),
    "big_batch_without_window": (
        {"events_batch_size": 11, "events_batching_window_seconds": 0},
        'resource "aws_lambda_event_source_mapping" "events"',
        "events_batch_size above 10 needs events_batching_window_seconds of at least 1",
    ),
    "signing_without_keys": (
        {"enable_events": False},
        'resource "aws_cloudfront_key_value_store" "signing"',
        'origin_handler/policy.json has signing.mode "optional": signing_keys needs at least one',
    ),
    "artefact_not_rebuilt": (
        {"signing_keys": {"k1": SECRET_1}, "enable_events": False},
        'resource "aws_cloudfront_function" "viewer_request"',
        "cloudfront/viewer-request.min.js does not match origin_handler/policy.json: the"
        ' policy\'s signing.mode is "required" but the artefact was built for "off". Rebuild it'
        " with node cloudfront/build.mjs",
    ),
}
# The module calls of PRECONDITIONS that use a variant tree rather than terraform/ itself.
PRECONDITION_VARIANTS = {
    "signing_without_keys": "signing_optional",
    "artefact_not_rebuilt": "stale_artefact",
}


################################################################################
# Finding terraform and the provider mirror
################################################################################


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def _mirror_versions(root: Path, platform: str) -> list[str]:
    provider = root / AWS_PROVIDER
    if not provider.is_dir():
        return []
    return sorted(
        (
            d.name
            for d in provider.iterdir()
            if re.fullmatch(r"\d+\.\d+\.\d+", d.name)
            and any((d / platform).glob("terraform-provider-aws*"))
        ),
        key=_version,
    )


def find_mirror(platform: str) -> tuple[Path, str]:
    """The provider mirror root and the newest hashicorp/aws version in it, or pytest.fail."""
    explicit = os.environ.get("TF_PROVIDER_MIRROR")
    candidates = [explicit] if explicit else list(MIRROR_CANDIDATES)
    for candidate in candidates:
        root = Path(candidate).expanduser()
        usable = [v for v in _mirror_versions(root, platform) if _version(v)[:2] >= MIN_AWS]
        if usable:
            return root, usable[-1]
    where = f"TF_PROVIDER_MIRROR={explicit}" if explicit else ", ".join(MIRROR_CANDIDATES)
    pytest.fail(
        f"no Terraform provider mirror with hashicorp/aws >= {'.'.join(map(str, MIN_AWS))} for "
        f"{platform} in {where}: expected <mirror>/{AWS_PROVIDER}/<version>/{platform}/"
        "terraform-provider-aws_*. Set TF_PROVIDER_MIRROR to the mirror root "
        "(scripts/system-deps.sh checks this)."
    )


@pytest.fixture(scope="module")
def terraform() -> dict:
    binary = shutil.which("terraform")
    if not binary:
        pytest.fail(
            "terraform is not on PATH: these tests run the real terraform "
            "(install Terraform >= 1.5; scripts/system-deps.sh checks this)"
        )
    version = json.loads(
        subprocess.run(
            [binary, "version", "-json"], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    )
    mirror, aws_version = find_mirror(version["platform"])
    return {
        "binary": binary,
        "version": version["terraform_version"],
        "mirror": mirror,
        "aws": aws_version,
    }


################################################################################
# Writing root modules
################################################################################


def hcl(value: object) -> str:
    """A literal: JSON strings, numbers, booleans and lists are HCL too (no ${ in these)."""
    if value is None:
        return "null"
    text = json.dumps(value)
    assert "${" not in text and "%{" not in text, text
    return text


def module_block(label: str, source: str, zip_path: str, inputs: dict) -> str:
    lines = [f'module "{label}" {{', f"  source          = {hcl(source)}"]
    if "lambda_zip_path" not in inputs:
        lines.append(f"  lambda_zip_path = {hcl(zip_path)}")
    lines += [f"  {key} = {hcl(value)}" for key, value in inputs.items()]
    return "\n".join([*lines, "}", ""])


def provider_block(
    endpoint: str, region: str | None = "eu-west-1", alias: str | None = None
) -> str:
    services = ("s3", "iam", "sqs", "lambda", "cloudfront", "sts", "logs", "wafv2")
    endpoints = "\n".join(f"    {s} = {hcl(endpoint)}" for s in services)
    region_line = f"  region                      = {hcl(region)}\n" if region else ""
    alias_line = f"  alias                       = {hcl(alias)}\n" if alias else ""
    return (
        'provider "aws" {\n'
        f"{alias_line}"
        f"{region_line}"
        '  access_key                  = "testing"\n'
        '  secret_key                  = "testing"\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  s3_use_path_style           = true\n"
        "  max_retries                 = 1\n"
        f"  endpoints {{\n{endpoints}\n  }}\n"
        "}\n"
    )


def policy_of_repo() -> dict:
    return json.loads((ROOT / "origin_handler" / "policy.json").read_text())


def validations() -> dict[str, list[str]]:
    """variable -> the error_message of each of its validation blocks, from variables.tf."""
    found: dict[str, list[str]] = {}
    for block in load(TERRAFORM / "variables.tf")["variable"]:
        for name, body in block.items():
            for rule in body.get("validation", []):
                message = rule["error_message"]
                message = message[0] if isinstance(message, list) else message
                # hcl2 < 8 hands the literal over with its escapes.
                found.setdefault(name, []).append(message.replace('\\"', '"'))
    return found


def zip_hash(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


################################################################################
# Running terraform (all at once, in threads)
################################################################################


class Workspace:
    def __init__(self, base: Path, terraform: dict) -> None:
        self.base = base
        self.tf = terraform
        self.module = base / "terraform"
        self.example = self.module / "examples" / "basic"
        self._tree(base)
        for name, (mode, built_for, probe) in VARIANTS.items():
            self._variant(base / "variants" / name, mode, built_for, probe)
        # The example's default lambda_zip_path is ../../../build/lambda.zip: the same file.
        self.zip = base / "build" / "lambda.zip"
        self.zip.parent.mkdir()
        with zipfile.ZipFile(self.zip, "w") as archive:
            archive.writestr("origin_handler/__init__.py", "")
        cli_config = base / "terraform.tfrc"
        cli_config.write_text(
            "provider_installation {\n"
            f"  filesystem_mirror {{\n    path = {hcl(str(terraform['mirror']))}\n  }}\n"
            "}\n"
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        self.env.update(
            TF_CLI_CONFIG_FILE=str(cli_config),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",
            AWS_EC2_METADATA_DISABLED="true",
        )

    @staticmethod
    def _tree(base: Path) -> None:
        """terraform/ and the files it reads through ${path.module}/../, copied under base."""
        shutil.copytree(
            TERRAFORM,
            base / "terraform",
            ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"),
        )
        shutil.copytree(
            ROOT / "cloudfront",
            base / "cloudfront",
            ignore=shutil.ignore_patterns("node_modules", "test"),
        )
        (base / "origin_handler").mkdir()
        shutil.copy2(ROOT / "origin_handler" / "policy.json", base / "origin_handler")

    def _variant(self, base: Path, mode: str, built_for: str, probe: bool) -> None:
        """A copy of the tree whose policy says `mode` and whose artefact says `built_for`."""
        self._tree(base)
        policy_path = base / "origin_handler" / "policy.json"
        policy = json.loads(policy_path.read_text())
        policy["signing"] = {"mode": mode}
        policy_path.write_text(json.dumps(policy, indent=2) + "\n")
        # Only the preamble line matters to Terraform; the code is the committed build's.
        artefact = base / "cloudfront" / "viewer-request.min.js"
        code = artefact.read_text(encoding="utf-8")
        committed = "// signing: " + ((policy_of_repo().get("signing") or {}).get("mode", "off"))
        assert f"\n{committed}\n" in code, f"the committed artefact has no {committed!r} line"
        artefact.write_text(code.replace(committed, f"// signing: {built_for}", 1))
        if probe:
            (base / "terraform" / "probe.tf").write_text(PROBE)

    def run(self, cwd: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.tf["binary"], *args, "-no-color"],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    def ok(self, cwd: Path, *args: str) -> subprocess.CompletedProcess:
        result = self.run(cwd, *args)
        assert result.returncode == 0, (
            f"terraform {' '.join(args)} in {cwd.relative_to(self.base)} failed "
            f"({result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
        )
        return result

    def init(self, cwd: Path) -> None:
        self.ok(cwd, "init", "-backend=false", "-input=false")

    def root(self, name: str, text: str) -> Path:
        directory = self.base / "roots" / name
        directory.mkdir(parents=True)
        (directory / "main.tf").write_text(text)
        return directory


def _validate_module(ws: Workspace) -> dict:
    ws.init(ws.module)
    return json.loads(ws.ok(ws.module, "validate", "-json").stdout)


def _example(ws: Workspace, endpoint: str) -> dict:
    ws.init(ws.example)
    validated = json.loads(ws.ok(ws.example, "validate", "-json").stdout)
    # Same example, its providers pointed at moto (an override file merges into its blocks).
    (ws.example / "moto_override.tf").write_text(
        provider_block(endpoint, region=None)
        + provider_block(endpoint, region=None, alias="us_east_1")
    )
    ws.ok(ws.example, "plan", "-input=false", "-lock=false", "-out=tfplan")
    plan = json.loads(ws.ok(ws.example, "show", "-json", "tfplan").stdout)
    limited = ("-var", "rate_limit_per_5_minutes=1000")
    ws.ok(ws.example, "plan", "-input=false", "-lock=false", *limited, "-out=tfplan-waf")
    waf = json.loads(ws.ok(ws.example, "show", "-json", "tfplan-waf").stdout)
    too_low = ws.run(
        ws.example, "plan", "-input=false", "-lock=false", "-var", "rate_limit_per_5_minutes=9"
    )
    return {"validate": validated, "plan": plan, "waf": waf, "too_low": too_low}


def _plans(ws: Workspace, endpoint: str) -> dict:
    blocks = [provider_block(endpoint)]
    blocks += [
        module_block(label, "../../terraform", "../../build/lambda.zip", inputs)
        for label, inputs in PLANS.items()
    ]
    for label, (variant, inputs) in SIGNING_PLANS.items():
        source = f"../../variants/{variant}/terraform"
        blocks.append(module_block(label, source, "../../build/lambda.zip", inputs))
        # A child module's outputs reach the plan only through the root's.
        blocks += [
            root_output(f"{label}_kvs_arn", f"module.{label}.signing_key_value_store_arn"),
            root_output(f"{label}_environment_names", f"module.{label}.probe_environment_names"),
            root_output(f"{label}_signing_keys", f"module.{label}.probe_signing_keys"),
        ]
    directory = ws.root("plans", "\n".join(blocks))
    ws.init(directory)
    ws.ok(directory, "plan", "-input=false", "-lock=false", "-out=tfplan")
    return json.loads(ws.ok(directory, "show", "-json", "tfplan").stdout)


def root_output(name: str, expression: str) -> str:
    """A root output; sensitive, so that it may pass on the probe's sensitive values."""
    return f'output "{name}" {{\n  value     = {expression}\n  sensitive = true\n}}\n'


def _diagnostics(lines: str) -> list[dict]:
    found = []
    for line in lines.splitlines():
        if line.startswith("{"):
            message = json.loads(line)
            if message.get("type") == "diagnostic":
                found.append(message["diagnostic"])
    return found


def _bad_values(ws: Workspace) -> dict:
    blocks = [
        module_block(label, "../../terraform", "../../build/lambda.zip", {variable: value})
        for label, (variable, value) in BAD_VALUES.items()
    ]
    directory = ws.root("bad_values", "\n".join(blocks))
    ws.init(directory)
    result = ws.run(directory, "validate", "-json")
    return {"returncode": result.returncode, "report": json.loads(result.stdout)}


def _preconditions(ws: Workspace, endpoint: str) -> dict:
    blocks = [provider_block(endpoint)]
    blocks += [
        module_block(
            label,
            f"../../variants/{PRECONDITION_VARIANTS[label]}/terraform"
            if label in PRECONDITION_VARIANTS
            else "../../terraform",
            "../../build/lambda.zip",
            inputs,
        )
        for label, (inputs, _, _) in PRECONDITIONS.items()
    ]
    directory = ws.root("preconditions", "\n".join(blocks))
    ws.init(directory)
    result = ws.run(directory, "plan", "-input=false", "-lock=false", "-json")
    return {"returncode": result.returncode, "diagnostics": _diagnostics(result.stdout)}


class Jobs:
    def __init__(self, ws: Workspace, futures: dict[str, Future]) -> None:
        self.ws = ws
        self.futures = futures


@pytest.fixture(scope="module")
def jobs(terraform, moto_server, tmp_path_factory) -> Iterator[Jobs]:
    ws = Workspace(tmp_path_factory.mktemp("terraform"), terraform)
    work: dict[str, Callable[[], object]] = {
        "plans": lambda: _plans(ws, moto_server),
        "example": lambda: _example(ws, moto_server),
        "preconditions": lambda: _preconditions(ws, moto_server),
        "module": lambda: _validate_module(ws),
        "bad_values": lambda: _bad_values(ws),
    }
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        yield Jobs(ws, {name: pool.submit(job) for name, job in work.items()})


def result(jobs: Jobs, name: str):
    """What one terraform job returned; its exception (a failed command) fails the test."""
    return jobs.futures[name].result(timeout=TIMEOUT)


################################################################################
# Reading a plan
################################################################################


def planned(plan: dict, module: str) -> dict[str, dict]:
    """'aws_x.name' or 'aws_x.name[0]' -> planned values, for one module instance."""
    for child in plan["planned_values"]["root_module"].get("child_modules", []):
        if child["address"] == f"module.{module}":
            prefix = f"module.{module}."
            return {
                r["address"].removeprefix(prefix): r.get("values", {})
                for r in child["resources"]
                if r["mode"] == "managed"
            }
    raise AssertionError(f"module.{module} is not in the plan")


def unknown(plan: dict, address: str) -> dict:
    for change in plan["resource_changes"]:
        if change["address"] == address:
            return change["change"]["after_unknown"]
    raise AssertionError(f"{address} is not in the plan")


def after_sensitive(plan: dict, address: str) -> dict:
    for change in plan["resource_changes"]:
        if change["address"] == address:
            return change["change"]["after_sensitive"]
    raise AssertionError(f"{address} is not in the plan")


def inputs(plan: dict, label: str) -> dict:
    """The module call's effective inputs: the defaults terraform read, overlaid with PLANS."""
    return inputs_of(plan, label)


################################################################################
# Tests
################################################################################


def test_terraform_and_mirror_are_the_expected_ones(terraform):
    assert _version(terraform["version"]) >= (1, 5), terraform["version"]
    assert _version(terraform["aws"])[:2] >= MIN_AWS, terraform["aws"]


def test_mirror_is_found_through_tf_provider_mirror(terraform, monkeypatch, tmp_path):
    platform = json.loads(
        subprocess.run(
            [terraform["binary"], "version", "-json"], capture_output=True, text=True, check=True
        ).stdout
    )["platform"]
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(terraform["mirror"]))
    assert find_mirror(platform) == (terraform["mirror"], terraform["aws"])
    # An explicit but wrong TF_PROVIDER_MIRROR fails loudly instead of falling back.
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="TF_PROVIDER_MIRROR="):
        find_mirror(platform)


def test_fmt_check_is_clean(terraform):
    result = subprocess.run(
        [terraform["binary"], "fmt", "-check", "-recursive", "-diff", "-no-color", "terraform/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"run terraform fmt -recursive terraform/:\n{result.stdout}"
    assert not (TERRAFORM / ".terraform").exists(), "a .terraform/ directory is in the repo"


def test_module_validates(jobs):
    report = result(jobs, "module")
    assert report["valid"] is True, report
    assert report["error_count"] == 0 and report["warning_count"] == 0, report["diagnostics"]
    ws = jobs.ws
    lock = (ws.module / ".terraform.lock.hcl").read_text()
    assert f'version     = "{ws.tf["aws"]}"' in lock, lock
    assert not (TERRAFORM / ".terraform.lock.hcl").exists(), "init wrote into the repo"


def test_example_validates_and_plans(jobs):
    example = result(jobs, "example")
    report = example["validate"]
    assert report["valid"] is True and report["warning_count"] == 0, report
    plan = example["plan"]
    ws = jobs.ws
    resources = planned(plan, "image_origin")
    origin = resources["aws_lambda_function.origin"]
    assert origin["handler"] == ORIGIN_HANDLER
    assert origin["filename"] == "../../../build/lambda.zip"
    assert origin["source_code_hash"] == zip_hash(ws.zip)
    assert origin["tags"] == {"Project": "image-origin"}
    assert resources["aws_s3_bucket.originals[0]"]["bucket_prefix"] == "image-origin-originals-"
    managed = [c for c in plan["resource_changes"] if c["mode"] == "managed"]
    assert {tuple(c["change"]["actions"]) for c in managed} == {("create",)}
    assert plan["variables"]["region"]["value"] == "us-east-1"
    assert set(plan["planned_values"]["outputs"]) == {"cdn_domain_name", "originals_bucket_name"}
    # Rate limit off by default: no web ACL, none attached. Signing off in the policy: no store.
    assert not [c for c in managed if "wafv2" in c["type"]]
    assert not [c for c in managed if "key_value_store" in c["type"] or "keyvalue" in c["type"]]
    assert resources["aws_cloudfront_distribution.this"]["web_acl_id"] is None


def test_example_rate_limit_plans_a_cloudfront_web_acl_that_answers_429(jobs):
    example = result(jobs, "example")
    acl = planned(example["waf"], "rate_limit[0]")["aws_wafv2_web_acl.this"]
    assert acl["scope"] == "CLOUDFRONT" and acl["name"] == "image-origin-rate-limit"
    assert acl["default_action"][0]["allow"] and not acl["default_action"][0]["block"]
    (rule,) = acl["rule"]
    rate = rule["statement"][0]["rate_based_statement"][0]
    assert (rate["limit"], rate["evaluation_window_sec"], rate["aggregate_key_type"]) == (
        1000,
        300,
        "IP",
    )
    response = rule["action"][0]["block"][0]["custom_response"][0]
    assert response["response_code"] == 429
    assert response["response_header"] == [{"name": "Retry-After", "value": "300"}]
    (body,) = acl["custom_response_body"]
    assert body["key"] == response["custom_response_body_key"]
    assert body["content"] == "429 too many requests\n" and body["content_type"] == "TEXT_PLAIN"
    # The distribution gets the ACL's ARN, known only after apply.
    changes = {c["address"]: c for c in example["waf"]["resource_changes"]}
    dist = changes["module.image_origin.aws_cloudfront_distribution.this"]["change"]
    assert dist["after_unknown"]["web_acl_id"] is True
    # AWS WAF's lower bound is the module's validation, not a failed apply.
    too_low = example["too_low"]
    assert too_low.returncode != 0
    assert "requests_per_window must be a whole number from 10" in too_low.stderr.replace("\n", " ")


def test_every_validated_variable_is_planned_at_both_ends():
    # lambda_zip_path (required) is the dummy zip in every module call.
    validated = set(validations()) - {"lambda_zip_path"}
    for label in ("min", "max"):
        missing = validated - set(PLANS[label])
        assert not missing, f"PLANS[{label!r}] leaves {sorted(missing)} at the default"


@pytest.mark.parametrize("label", list(PLANS))
def test_plan_carries_the_inputs_through(jobs, label: str):
    plan = result(jobs, "plans")
    ws = jobs.ws
    given = inputs(plan, label)
    resources = planned(plan, label)
    address = f"module.{label}"
    for change in plan["resource_changes"]:
        if change["address"].startswith(address + ".") and change["mode"] == "managed":
            assert change["change"]["actions"] == ["create"], change["address"]

    # Origin function.
    origin = resources["aws_lambda_function.origin"]
    assert origin["function_name"] == f"{given['name']}-origin"
    assert origin["handler"] == ORIGIN_HANDLER
    assert origin["runtime"] == given["lambda_runtime"]
    assert origin["architectures"] == [given["lambda_architecture"]]
    assert origin["memory_size"] == given["lambda_memory_size"]
    assert origin["timeout"] == given["lambda_timeout"]
    assert origin["filename"] == "../../build/lambda.zip"
    assert origin["source_code_hash"] == zip_hash(ws.zip)
    reserved = given["reserved_concurrency"]
    assert origin["reserved_concurrent_executions"] == (-1 if reserved is None else reserved)
    # The settings hold the bucket ids, known only after apply, so a plan has the whole map as
    # unknown (test_terraform.py checks its keys against settings.py).
    env_unknown = unknown(plan, f"{address}.aws_lambda_function.origin")["environment"]
    assert env_unknown == [{"variables": True}]
    log_group = resources["aws_cloudwatch_log_group.origin"]
    assert log_group["name"] == f"/aws/lambda/{given['name']}-origin"
    assert log_group["retention_in_days"] == given["log_retention_days"]

    url = resources["aws_lambda_function_url.origin"]
    assert url["authorization_type"] == "AWS_IAM"
    grants = {
        v["action"]: v for k, v in resources.items() if k.startswith("aws_lambda_permission.")
    }
    assert set(grants) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert {g["principal"] for g in grants.values()} == {"cloudfront.amazonaws.com"}
    assert grants["lambda:InvokeFunctionUrl"]["function_url_auth_type"] == "AWS_IAM"
    for name in ("cloudfront_invoke_url", "cloudfront_invoke_function"):
        # source_arn is the distribution's ARN, known only after apply.
        assert unknown(plan, f"{address}.aws_lambda_permission.{name}")["source_arn"] is True

    # Buckets: an exact name, or a prefix within the provider's 37 characters.
    originals = resources.get("aws_s3_bucket.originals[0]")
    if not given["create_originals_bucket"]:
        assert originals is None
    elif given.get("originals_bucket_name"):
        assert originals["bucket"] == given["originals_bucket_name"]
    else:
        assert originals["bucket_prefix"] == f"{given['name']}-originals-"
        assert len(originals["bucket_prefix"]) <= 37
    derived = resources["aws_s3_bucket.derived"]
    if given.get("derived_bucket_name"):
        assert derived["bucket"] == given["derived_bucket_name"]
    else:
        assert derived["bucket_prefix"] == f"{given['name']}-derived-"
    lifecycle = resources["aws_s3_bucket_lifecycle_configuration.derived"]
    assert lifecycle["rule"][0]["expiration"][0]["days"] == given["derived_expiration_days"]
    role = resources["aws_iam_role.origin"]
    assert role["name_prefix"] == f"{given['name']}-origin-" and len(role["name_prefix"]) <= 38
    statements = json.loads(resources["aws_iam_role.origin"]["assume_role_policy"])["Statement"]
    assert statements[0]["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"

    # CDN.
    dist = resources["aws_cloudfront_distribution.this"]
    assert dist["price_class"] == given["price_class"]
    assert sorted(dist["aliases"] or []) == sorted(given["aliases"])
    assert dist["web_acl_id"] == given["web_acl_id"]
    origins = {o["origin_id"]: o for o in dist["origin"]}
    function_origin = origins["transform-lambda"]["custom_origin_config"][0]
    assert function_origin["origin_read_timeout"] == given["lambda_timeout"] + 2
    shield = given["origin_shield_region"]
    for origin_block in origins.values():
        shields = origin_block["origin_shield"]
        assert shields == (
            [] if shield is None else [{"enabled": True, "origin_shield_region": shield}]
        )
    logging = dist["logging_config"]
    if given["access_logs_bucket"] is None:
        assert logging == []
    else:
        assert logging[0]["bucket"] == given["access_logs_bucket"]
    certificate = dist["viewer_certificate"][0]
    assert certificate["acm_certificate_arn"] == given["acm_certificate_arn"]
    assert certificate["minimum_protocol_version"] == (
        "TLSv1" if given["acm_certificate_arn"] is None else "TLSv1.2_2021"
    )
    cache = resources["aws_cloudfront_cache_policy.uri_only"]
    assert cache["default_ttl"] == cache["max_ttl"] == given["cdn_max_age"]
    headers = resources["aws_cloudfront_response_headers_policy.this"]
    cors = headers["cors_config"]
    if given["cors_allowed_origins"]:
        allowed = cors[0]["access_control_allow_origins"][0]["items"]
        assert sorted(allowed) == sorted(given["cors_allowed_origins"])
        methods = cors[0]["access_control_allow_methods"][0]["items"]
        assert sorted(methods) == ["GET", "HEAD", "OPTIONS"]
    else:
        assert cors == []
    behaviour = dist["default_cache_behavior"][0]
    assert sorted(behaviour["allowed_methods"]) == ["GET", "HEAD", "OPTIONS"]
    assert sorted(behaviour["cached_methods"]) == ["GET", "HEAD", "OPTIONS"]
    group = dist["origin_group"][0]["failover_criteria"][0]["status_codes"]
    assert sorted(group) == [403, 404, 500, 502, 503, 504]
    assert resources["aws_cloudfront_function.viewer_request"]["runtime"] == "cloudfront-js-2.0"
    # The exact artefact cloudfront/build.mjs made (and the node tests ran) is what is uploaded.
    artefact = (ROOT / "cloudfront" / "viewer-request.min.js").read_text(encoding="utf-8")
    assert resources["aws_cloudfront_function.viewer_request"]["code"] == artefact
    # The policy has signing off: no store, none associated, whatever signing_keys holds
    # (signing_off below reads the environment too).
    assert not [k for k in resources if "key_value_store" in k or "keyvalue" in k]
    assert (
        resources["aws_cloudfront_function.viewer_request"]["key_value_store_associations"] is None
    )
    assert_signature_is_forwarded(plan, label)

    # Events path.
    events = {k for k in resources if "events" in k}
    if not given["enable_events"]:
        assert not events, sorted(events)
        return
    function = resources["aws_lambda_function.events[0]"]
    assert function["handler"] == EVENTS_HANDLER
    assert function["function_name"] == f"{given['name']}-events"
    assert function["memory_size"] == given["events_memory_size"]
    assert function["timeout"] == given["events_timeout"]
    env_unknown = unknown(plan, f"{address}.aws_lambda_function.events[0]")["environment"]
    assert env_unknown == [{"variables": True}]
    queue = resources["aws_sqs_queue.events[0]"]
    assert queue["visibility_timeout_seconds"] == 6 * given["events_timeout"]
    assert queue["name"] == f"{given['name']}-events"
    mapping = resources["aws_lambda_event_source_mapping.events[0]"]
    assert mapping["batch_size"] == given["events_batch_size"]
    assert mapping["maximum_batching_window_in_seconds"] == given["events_batching_window_seconds"]
    assert mapping["scaling_config"] == [
        {"maximum_concurrency": given["events_maximum_concurrency"]}
    ]
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    redrive = unknown(plan, f"{address}.aws_sqs_queue.events[0]")
    assert redrive["redrive_policy"] is True  # holds the DLQ's ARN, known after apply
    role = resources["aws_iam_role.events[0]"]
    assert role["name_prefix"] == f"{given['name']}-events-" and len(role["name_prefix"]) <= 38


def assert_signature_is_forwarded(plan: dict, label: str) -> None:
    """The origin request policy (s alone) is on the default behaviour in every mode."""
    resources = planned(plan, label)
    forwarded = resources["aws_cloudfront_origin_request_policy.signature"]
    assert forwarded["name"] == f"{inputs_of(plan, label)['name']}-signature"
    assert forwarded["cookies_config"] == [{"cookie_behavior": "none", "cookies": []}]
    assert forwarded["headers_config"] == [{"header_behavior": "none", "headers": []}]
    assert forwarded["query_strings_config"] == [
        {"query_string_behavior": "whitelist", "query_strings": [{"items": ["s"]}]}
    ]
    # The cache key stays the URI: s is forwarded, not keyed on.
    cache = resources["aws_cloudfront_cache_policy.uri_only"]
    keyed = cache["parameters_in_cache_key_and_forwarded_to_origin"][0]["query_strings_config"]
    assert keyed[0]["query_string_behavior"] == "none"
    dist = unknown(plan, f"module.{label}.aws_cloudfront_distribution.this")
    assert dist["default_cache_behavior"][0]["origin_request_policy_id"] is True


def inputs_of(plan: dict, label: str) -> dict:
    """The module call's effective inputs, for PLANS and SIGNING_PLANS labels alike."""
    call = plan["configuration"]["root_module"]["module_calls"][label]
    variables = call["module"]["variables"]
    defaults = {name: v["default"] for name, v in variables.items() if "default" in v}
    given = PLANS[label] if label in PLANS else SIGNING_PLANS[label][1]
    return {**defaults, **given}


def output(plan: dict, name: str):
    return plan["planned_values"]["outputs"][name].get("value")


def test_signing_off_deploys_no_store_and_no_keys(jobs):
    plan = result(jobs, "plans")
    resources = planned(plan, "signing_off")
    assert not [k for k in resources if "key_value_store" in k or "keyvalue" in k], resources
    function = resources["aws_cloudfront_function.viewer_request"]
    assert function["key_value_store_associations"] is None
    assert "\n// signing: off\n" in function["code"]
    names = output(plan, "signing_off_environment_names")
    assert "ORIGINALS_BUCKET" in names and "SIGNING_KEYS" not in names
    assert output(plan, "signing_off_signing_keys") is None
    assert output(plan, "signing_off_kvs_arn") is None
    assert_signature_is_forwarded(plan, "signing_off")


def test_signing_on_deploys_the_store_its_keys_the_association_and_the_env(jobs):
    plan = result(jobs, "plans")
    label = "signing_on"
    resources = planned(plan, label)
    address = f"module.{label}"
    store = resources["aws_cloudfront_key_value_store.signing[0]"]
    assert store["name"] == "image-origin-signing"
    keys = {k: v for k, v in resources.items() if k.startswith("aws_cloudfrontkeyvaluestore_key.")}
    assert keys == {
        f'aws_cloudfrontkeyvaluestore_key.signing["{key_id}"]': {
            "key": f"signing-key-{key_id}",  # origin_handler/origin/signing.py KVS_PREFIX
            "value": secret,
        }
        for key_id, secret in SIGNING_KEYS.items()
    }
    for key_id in SIGNING_KEYS:
        change = unknown(plan, f'{address}.aws_cloudfrontkeyvaluestore_key.signing["{key_id}"]')
        assert change["key_value_store_arn"] is True  # the store's, known after apply
        sensitive = after_sensitive(
            plan, f'{address}.aws_cloudfrontkeyvaluestore_key.signing["{key_id}"]'
        )
        assert sensitive["value"] is True, "a secret would be shown in the plan"
    # The function is associated with the store (its ARN, known after apply) and is the
    # artefact built for the policy's mode.
    function = unknown(plan, f"{address}.aws_cloudfront_function.viewer_request")
    assert function["key_value_store_associations"] is True
    code = resources["aws_cloudfront_function.viewer_request"]["code"]
    assert "\n// signing: optional\n" in code
    # The origin function's environment: the settings plus SIGNING_KEYS as settings.py reads it.
    names = output(plan, "signing_on_environment_names")
    assert "SIGNING_KEYS" in names and "ORIGINALS_BUCKET" in names
    assert json.loads(output(plan, "signing_on_signing_keys")) == SIGNING_KEYS
    assert plan["planned_values"]["outputs"]["signing_on_signing_keys"]["sensitive"] is True
    changes = plan["output_changes"]["signing_on_kvs_arn"]
    assert changes["after_unknown"] is True
    assert_signature_is_forwarded(plan, label)


def test_every_validated_variable_has_a_failing_value():
    covered = {variable for variable, _ in BAD_VALUES.values()}
    missing = set(validations()) - covered
    assert not missing, f"no value past the boundary for {sorted(missing)}"


def test_values_past_each_boundary_fail_with_the_validation_message(jobs):
    outcome = result(jobs, "bad_values")
    report = outcome["report"]
    assert outcome["returncode"] != 0 and report["valid"] is False
    messages = validations()
    by_module: dict[str, list[dict]] = {}
    for diag in report["diagnostics"]:
        context = (diag.get("snippet") or {}).get("context") or ""
        match = re.fullmatch(r'module "([\w-]+)"', context)
        assert match, f"diagnostic outside a module call: {diag}"
        by_module.setdefault(match.group(1), []).append(diag)
    assert set(by_module) == set(BAD_VALUES), (
        f"accepted: {sorted(set(BAD_VALUES) - set(by_module))}; "
        f"unexpected: {sorted(set(by_module) - set(BAD_VALUES))}"
    )
    for label, (variable, _) in BAD_VALUES.items():
        diags = by_module[label]
        assert len(diags) == 1, f"{label}: {[d['detail'] for d in diags]}"
        diag = diags[0]
        assert diag["severity"] == "error"
        assert diag["summary"] == "Invalid value for variable", diag
        assert re.match(rf"\s*{variable}\s*=", diag["snippet"]["code"]), diag["snippet"]
        assert any(diag["detail"].startswith(m) for m in messages[variable]), (
            f"{label}: {diag['detail']!r} is not the validation message of {variable}"
        )
    assert report["error_count"] == len(BAD_VALUES)


def test_preconditions_fail_the_plan_with_their_message(jobs):
    outcome = result(jobs, "preconditions")
    assert outcome["returncode"] != 0
    errors = [d for d in outcome["diagnostics"] if d["severity"] == "error"]
    summary = [f"{d['summary']}: {d['detail']}" for d in errors]
    # Nothing but the preconditions: a null in a string template, say, would hide them.
    assert len(errors) == len(PRECONDITIONS), summary
    for label, (_, resource, message) in PRECONDITIONS.items():
        mine = [d for d in errors if d["detail"].startswith(message)]
        assert len(mine) == 1, f"{label}: {summary}"
        assert mine[0]["summary"] == "Resource precondition failed", mine[0]
        assert mine[0]["snippet"]["context"] == resource, mine[0]["snippet"]
