"""Terraform conventions the terraform binary does not check (parsed with python-hcl2), and a
checkov scan. References, module-call arguments, provider schemas and planned values are checked
by the real terraform in test_terraform_cli.py."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
SETTINGS = ROOT / "origin_handler" / "settings.py"
# Settings only the local endpoint and tests use; a deployment must not set them.
LOCAL_ONLY_SETTINGS = {"S3_ENDPOINT_URL", "ORIGINALS_DIR", "DERIVED_DIR"}

EXPR = re.compile(r"\$\{")
REF_VAR = re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)")
REF_LOCAL = re.compile(r"(?<![\w.])local\.([A-Za-z_][\w-]*)")


def _terraform_docs():
    """scripts/terraform-docs.py, imported from its path (its name is not an identifier)."""
    spec = importlib.util.spec_from_file_location(
        "terraform_docs", ROOT / "scripts" / "terraform-docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# hcl2's output in one shape whatever its version (the generator's own reader).
load = _terraform_docs().load


class Module:
    """One Terraform module: a directory of .tf files, parsed and merged."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = sorted(directory.glob("*.tf"))
        self.variables: dict[str, dict] = {}
        self.outputs: dict[str, dict] = {}
        self.locals: dict[str, object] = {}
        self.modules: dict[str, dict] = {}
        self.resources: dict[tuple[str, str], dict] = {}
        self.data: dict[tuple[str, str], dict] = {}
        for path in self.files:
            doc = load(path)
            for block in doc.get("variable", []):
                self.variables.update(block)
            for block in doc.get("output", []):
                self.outputs.update(block)
            for block in doc.get("locals", []):
                self.locals.update({k: v for k, v in block.items() if not k.startswith("__")})
            for block in doc.get("module", []):
                self.modules.update(block)
            for kind, target in (("resource", self.resources), ("data", self.data)):
                for block in doc.get(kind, []):
                    for rtype, named in block.items():
                        for name, body in named.items():
                            target[(rtype, name)] = body

    def expressions(self) -> list[str]:
        """Every string that holds an expression, anywhere in the module."""
        found: list[str] = []
        for path in self.files:
            _collect(load(path), found)
        return found

    def resource_names(self, rtype: str) -> list[str]:
        return [name for (kind, name) in self.resources if kind == rtype]


def _collect(value: object, found: list[str]) -> None:
    if isinstance(value, str):
        if EXPR.search(value):
            found.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(key, found)
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)


def _first(value: object) -> object:
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _items(value: object) -> list:
    """A list attribute ([[a, b]] in hcl2's output) as a flat list."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        return value[0]
    return value or []


def _module_dirs() -> list[Path]:
    return sorted({p.parent for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts})


MODULE_DIRS = _module_dirs()
IDS = [str(d.relative_to(ROOT)) for d in MODULE_DIRS]


@pytest.fixture(scope="module")
def root_module() -> Module:
    return Module(TERRAFORM)


def test_layout_is_terraform_aws_modules_style():
    for name in (
        "versions.tf",
        "variables.tf",
        "outputs.tf",
        "storage.tf",
        "function.tf",
        "cdn.tf",
        "events.tf",
        "iam.tf",
    ):
        assert (TERRAFORM / name).is_file(), f"terraform/{name} missing"
    example = TERRAFORM / "examples" / "basic"
    assert (example / "main.tf").is_file()
    assert Module(example).modules, "examples/basic must use the module"


@pytest.mark.parametrize("directory", MODULE_DIRS, ids=IDS)
def test_every_variable_is_typed_described_and_used(directory: Path):
    module = Module(directory)
    used = {name for expr in module.expressions() for name in REF_VAR.findall(expr)}
    for name, body in module.variables.items():
        assert "type" in body, f"variable {name} has no type"
        assert str(_first(body.get("description", ""))).strip(), f"variable {name} undescribed"
        assert name in used, f"variable {name} is declared but never used"
    for name, body in module.outputs.items():
        assert str(_first(body.get("description", ""))).strip(), f"output {name} undescribed"


def test_limited_variables_have_validation(root_module: Module):
    # Numbers and enumerations have a domain; every one of them must say so.
    for name, body in root_module.variables.items():
        kind = str(_first(body["type"])).removeprefix("${").removesuffix("}")
        if kind in ("number", "list(number)") or name.endswith(("_arn", "_class")):
            assert "validation" in body, f"variable {name} ({kind}) has no validation block"


def test_versions_pin_terraform_and_aws_provider():
    # A lower bound on each; terraform init in test_terraform_cli.py proves 5.100 satisfies it.
    for directory in (TERRAFORM, TERRAFORM / "examples" / "basic"):
        block = _first(load(directory / "versions.tf")["terraform"])
        assert re.fullmatch(r">= ?1\.([5-9]|\d\d)(\.\d+)?", _first(block["required_version"]))
        aws = _first(_first(block["required_providers"])["aws"])
        assert aws["source"] == "hashicorp/aws"
        assert aws["version"] == ">= 5.100", f"{directory.name}: aws {aws['version']}"


def _handler_strings() -> list[str]:
    module = Module(TERRAFORM)
    return sorted(
        str(_first(body["handler"]))
        for (rtype, _), body in module.resources.items()
        if rtype == "aws_lambda_function"
    )


@pytest.mark.parametrize("handler", _handler_strings())
def test_lambda_handler_names_a_real_function(handler: str):
    module_name, _, function = handler.rpartition(".")
    path = ROOT.joinpath(*module_name.split(".")).with_suffix(".py")
    assert path.is_file(), f"{handler}: {path.relative_to(ROOT)} does not exist"
    tree = ast.parse(path.read_text(), filename=str(path))
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert function in defs, f"{handler}: no top-level def {function} in {path.name}"
    params = defs[function].args
    assert len(params.args) + len(params.posonlyargs) >= 2, f"{handler} must take (event, context)"
    imported = importlib.import_module(module_name)
    assert callable(getattr(imported, function)), f"{handler} is not callable"


def _merged_names(expression: object) -> set[str]:
    """The setting names a merge(local.common_environment, {...}) local adds: its object keys,
    'KEY': (hcl2 < 8) or KEY = (hcl2 >= 8)."""
    keys = re.findall(r"'([A-Z][A-Z0-9_]+)':|\b([A-Z][A-Z0-9_]+)\s*=", str(_first(expression)))
    return {a or b for a, b in keys}


def test_environment_matches_settings(root_module: Module):
    read = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', SETTINGS.read_text()))
    common_env = set(_first(root_module.locals["common_environment"]))
    origin_env = common_env | _merged_names(root_module.locals["origin_environment"])
    events_env = common_env | _merged_names(root_module.locals["events_environment"])
    assert origin_env <= read, f"Terraform sets unknown settings {origin_env - read}"
    assert events_env <= read, f"Terraform sets unknown settings {events_env - read}"
    missing = read - LOCAL_ONLY_SETTINGS - origin_env - events_env
    assert not missing, f"settings.py reads {missing} but Terraform never sets them"
    # Each function gets its own map; only the origin, which re-checks signatures, the keys.
    functions = {
        name: str(_first(_first(body["environment"])["variables"]))
        for (rtype, name), body in root_module.resources.items()
        if rtype == "aws_lambda_function"
    }
    assert functions == {
        "origin": "${local.origin_environment}",
        "events": "${local.events_environment}",
    }
    assert "SIGNING_KEYS" in origin_env - common_env
    assert "SIGNING_KEYS" not in events_env


def test_signing_keys_reach_the_origin_only_when_signing_is_on(root_module: Module):
    """SIGNING_KEYS (settings.py) is the JSON of var.signing_keys, added under local.signing;
    test_terraform_cli.py plans both modes and reads the resulting map."""
    expression = str(_first(root_module.locals["origin_environment"]))
    assert expression.startswith("${merge(local.common_environment, "), expression
    assert re.search(
        r"SIGNING_KEYS'?\s*[:=]\s*'?(\$\{)?jsonencode\(var\.signing_keys\)", expression
    )
    assert re.search(r"\bif local\.signing\s*\}\s*\)\}$", expression), expression


def test_signing_follows_the_policy_and_uses_the_origins_names(root_module: Module):
    """The mode is policy.json's; the store's key names, the forwarded parameter and the key
    rules are those of origin_handler/origin/signing.py and settings.py."""
    from origin_handler import settings
    from origin_handler.origin import signing

    policy = str(_first(root_module.locals["policy"]))
    assert policy == '${jsondecode(file("${path.module}/../origin_handler/policy.json"))}'
    assert _first(root_module.locals["signing_mode"]) == '${try(local.policy.signing.mode, "off")}'
    assert _first(root_module.locals["signing"]) == '${local.signing_mode != "off"}'
    assert _first(root_module.locals["signing_kvs_prefix"]) == signing.KVS_PREFIX

    store = root_module.resources[("aws_cloudfront_key_value_store", "signing")]
    assert _first(store["count"]) == "${local.signing ? 1 : 0}"
    key = root_module.resources[("aws_cloudfrontkeyvaluestore_key", "signing")]
    assert _first(key["for_each"]) == "${local.signing ? local.signing_key_ids : toset([])}"
    assert _first(key["key"]) == "${local.signing_kvs_prefix}${each.key}"
    assert _first(key["value"]) == "${var.signing_keys[each.key]}"
    function = root_module.resources[("aws_cloudfront_function", "viewer_request")]
    assert _first(function["key_value_store_associations"]) == (
        "${local.signing ? [aws_cloudfront_key_value_store.signing[0].arn] : null}"
    )

    variable = root_module.variables["signing_keys"]
    assert _first(variable["sensitive"]) is True
    assert _first(variable["default"]) == {}
    rules = " ".join(str(_first(v["condition"])) for v in variable["validation"])
    id_pattern = re.search(r'regex\("\^(\[[^"]+\]\{1,\d+\})\$", id\)', rules)
    assert id_pattern, rules
    assert settings.KEY_ID.pattern == f"^{id_pattern.group(1)}\\Z"
    minimum = re.search(r"\{(\d+),\d+\}\$\", secret\)", rules)
    assert minimum and int(minimum.group(1)) == settings.MIN_SECRET_CHARS, rules


def test_origin_request_policy_forwards_the_signature_alone(root_module: Module):
    """The origin re-checks s; the cache key (uri_only) stays without it."""
    from origin_handler.origin import signing

    policy = root_module.resources[("aws_cloudfront_origin_request_policy", "signature")]
    assert _first(_first(policy["cookies_config"])["cookie_behavior"]) == "none"
    assert _first(_first(policy["headers_config"])["header_behavior"]) == "none"
    query = _first(policy["query_strings_config"])
    assert _first(query["query_string_behavior"]) == "whitelist"
    assert _items(_first(query["query_strings"])["items"]) == [signing.PARAM]
    behavior = _first(
        root_module.resources[("aws_cloudfront_distribution", "this")]["default_cache_behavior"]
    )
    assert (
        _first(behavior["origin_request_policy_id"])
        == "${aws_cloudfront_origin_request_policy.signature.id}"
    )


def test_committed_artefact_was_built_for_the_policy_mode():
    """What the precondition on aws_cloudfront_function.viewer_request checks at plan time."""
    policy = json.loads((ROOT / "origin_handler" / "policy.json").read_text())
    mode = (policy.get("signing") or {}).get("mode", "off")
    head = []
    for line in (ROOT / "cloudfront" / "viewer-request.min.js").read_text().splitlines():
        if not line.startswith("//"):
            break
        head.append(line)
    assert f"// signing: {mode}" in head, f"{head}: rebuild with node cloudfront/build.mjs"


def test_viewer_request_function_is_the_built_artefact(root_module: Module):
    """Terraform uploads the committed, minified build (cloudfront/build.mjs), read with file().

    That the artefact is what the template and the policy build to is the node drift test's
    job (cloudfront/test/build.test.mjs), and so is its size budget: here only CloudFront's
    10 KB limit, which an apply would hit.
    """
    body = root_module.resources[("aws_cloudfront_function", "viewer_request")]
    assert _first(body["runtime"]) == "cloudfront-js-2.0"
    code = str(_first(body["code"]))
    local = REF_LOCAL.fullmatch(code.strip("${}"))
    if local:
        code = str(_first(root_module.locals[local.group(1)]))
    path = re.fullmatch(r'\$\{file\("\$\{path\.module\}/([^"]+)"\)\}', code)
    assert path, f"code is not file(<artefact>): {code}"
    artefact = (TERRAFORM / path.group(1)).resolve()
    assert artefact == ROOT / "cloudfront" / "viewer-request.min.js"
    assert artefact.is_file(), f"{artefact.relative_to(ROOT)} missing: node cloudfront/build.mjs"
    assert len(artefact.read_bytes()) <= 10 * 1024
    assert (
        "aws_cloudfront_function.viewer_request.arn" in _associations(root_module)["viewer-request"]
    )


def _associations(module: Module) -> dict[str, str]:
    dist = module.resources[("aws_cloudfront_distribution", "this")]
    behavior = _first(dist["default_cache_behavior"])
    return {
        _first(a["event_type"]): _first(a["function_arn"]) for a in behavior["function_association"]
    }


def test_viewer_response_function_is_attached(root_module: Module):
    body = root_module.resources[("aws_cloudfront_function", "viewer_response")]
    assert _first(body["runtime"]) == "cloudfront-js-2.0"
    code = _first(body["code"])
    path = re.fullmatch(r'\$\{file\("\$\{path\.module\}/([^"]+)"\)\}', code)
    assert path, code
    source = (TERRAFORM / path.group(1)).resolve()
    assert source == ROOT / "cloudfront" / "viewer-response.js"
    assert source.is_file(), f"{source.relative_to(ROOT)} missing"
    assert (
        "aws_cloudfront_function.viewer_response.arn"
        in _associations(root_module)["viewer-response"]
    )


def test_function_url_is_iam_only_and_cloudfront_may_invoke_both_ways(root_module: Module):
    url = root_module.resources[("aws_lambda_function_url", "origin")]
    assert _first(url["authorization_type"]) == "AWS_IAM"
    perms = [
        root_module.resources[("aws_lambda_permission", n)]
        for n in root_module.resource_names("aws_lambda_permission")
    ]
    actions = {}
    for perm in perms:
        assert _first(perm["principal"]) == "cloudfront.amazonaws.com"
        assert _first(perm["source_arn"]) == "${aws_cloudfront_distribution.this.arn}"
        actions[_first(perm["action"])] = perm
    assert set(actions) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert _first(actions["lambda:InvokeFunctionUrl"]["function_url_auth_type"]) == "AWS_IAM"
    oacs = {
        _first(
            root_module.resources[("aws_cloudfront_origin_access_control", n)][
                "origin_access_control_origin_type"
            ]
        )
        for n in root_module.resource_names("aws_cloudfront_origin_access_control")
    }
    assert oacs == {"s3", "lambda"}


def test_cache_key_is_the_uri_alone(root_module: Module):
    policy = root_module.resources[("aws_cloudfront_cache_policy", "uri_only")]
    params = _first(policy["parameters_in_cache_key_and_forwarded_to_origin"])
    assert _first(params["enable_accept_encoding_gzip"]) is False
    assert _first(params["enable_accept_encoding_brotli"]) is False
    assert _first(_first(params["cookies_config"])["cookie_behavior"]) == "none"
    assert _first(_first(params["headers_config"])["header_behavior"]) == "none"
    assert _first(_first(params["query_strings_config"])["query_string_behavior"]) == "none"


def test_origin_group_fails_over_from_derived_bucket_to_function(root_module: Module):
    dist = root_module.resources[("aws_cloudfront_distribution", "this")]
    group = _first(dist["origin_group"])
    codes = sorted(_first(_first(group["failover_criteria"])["status_codes"]))
    assert codes == [403, 404, 500, 502, 503, 504]
    members = [_first(m["origin_id"]) for m in group["member"]]
    assert members == ["${local.derived_origin_id}", "${local.function_origin_id}"]
    assert _first(dist["http_version"]) == "http2and3"
    behavior = _first(dist["default_cache_behavior"])
    assert _first(behavior["target_origin_id"]) == "${local.origin_group_id}"
    assert _first(behavior["viewer_protocol_policy"]) == "redirect-to-https"
    assert "TLSv1.2_2021" in _first(_first(dist["viewer_certificate"])["minimum_protocol_version"])


def test_events_mapping_reports_batch_item_failures(root_module: Module):
    mapping = root_module.resources[("aws_lambda_event_source_mapping", "events")]
    assert _first(mapping["function_response_types"]) == "ReportBatchItemFailures"
    queue = root_module.resources[("aws_sqs_queue", "events")]
    assert "aws_sqs_queue.events_dlq[0].arn" in _first(queue["redrive_policy"])


def test_every_bucket_is_private_encrypted_and_tls_only(root_module: Module):
    for name in root_module.resource_names("aws_s3_bucket"):
        for companion in (
            "aws_s3_bucket_public_access_block",
            "aws_s3_bucket_server_side_encryption_configuration",
            "aws_s3_bucket_policy",
            "aws_s3_bucket_ownership_controls",
        ):
            assert (companion, name) in root_module.resources, f"{name} has no {companion}"
        block = root_module.resources[("aws_s3_bucket_public_access_block", name)]
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert _first(block[flag]) is True, f"{name}: {flag} is not true"
        document = root_module.data[("aws_iam_policy_document", f"{name}_bucket")]
        conditions = [
            _first(s.get("condition", [{}]))
            for s in document["statement"]
            if _first(s.get("effect")) == "Deny"
        ]
        assert any(_first(c.get("variable")) == "aws:SecureTransport" for c in conditions), name


def test_iam_policies_name_no_wildcard_resources(root_module: Module):
    for (rtype, name), body in root_module.data.items():
        if rtype != "aws_iam_policy_document":
            continue
        for statement in body.get("statement", []):
            if _first(statement.get("effect", "Allow")) == "Deny":
                continue
            for resource in _items(statement.get("resources")):
                assert resource != "*", f"{name}: Allow on Resource '*'"
            for action in _items(statement.get("actions")):
                assert not action.endswith(":*"), f"{name}: Allow on action {action}"


def test_every_checkov_skip_gives_a_one_line_reason():
    for path in TERRAFORM.rglob("*.tf"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "checkov:skip" in line:
                match = re.search(r"#checkov:skip=(CKV2?_[A-Z]+_\d+):(.{20,})$", line)
                assert match, f"{path.name}:{number}: skip without a reason: {line.strip()}"


def _checkov() -> str:
    """checkov from $CHECKOV (set by `make test`), ./.venv-checkov, or PATH."""
    candidates = [os.environ.get("CHECKOV", ""), str(ROOT / ".venv-checkov" / "bin" / "checkov")]
    found = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    found = found or shutil.which("checkov")
    if not found:
        pytest.fail("checkov is not installed (make test builds it in .venv-checkov)")
    return found


def test_checkov_finds_no_failed_check():
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(
        [
            _checkov(),
            "-d",
            str(TERRAFORM),
            "--framework",
            "terraform",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), f"checkov crashed:\n{result.stderr[-3000:]}"
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    summary = reports[0]["summary"]
    assert summary["parsing_errors"] == 0, summary
    assert summary["resource_count"] >= 30, f"checkov scanned too little: {summary}"
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for report in reports
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert result.returncode == 0
