"""Random URLs through the Python normalizer and the CloudFront Function (njs and node).

The shared vectors pin the cases someone thought of; this pins the ones nobody did: a
seeded stream of random paths and queries whose expected answer is whatever Python says,
checked against the artefact Terraform uploads (cloudfront/viewer-request.min.js) under njs
(close to the CloudFront runtime) and node. Every canonical URI Python produces is also
checked to carry no ``%`` (the OAC-signed URI must not, see variants.escape_key).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest

from origin_handler.errors import BadRequest
from origin_handler.origin.request import parse
from tests.conftest import ROOT

# The exact bytes Terraform uploads; cloudfront/test/build.test.mjs keeps it equal to the build.
ARTEFACT = ROOT / "cloudfront" / "viewer-request.min.js"

ACCEPTS = [
    None,
    "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5",
    "*/*",
    "image/avif;q=0,image/webp;q=0.5",
]
PIECES = [*"ab./%=&,+~-_ ", "%2F", "%2E", "%2e%2e", "%00", "%C3%A9", "%E2%82", "%41", "//"]
PIECES += ["~20", "~7E", "~C3~A9", "~zz", "%7E", "ü", "🐈", "(", "*"]
PIECES += ["w=", "q=", "h=", "fit=", "format=", "f=", "640", "75", "1", "0", "9999999"]
PIECES += ["cover", "contain", "auto", "webp", "JPG", "photos/", "cat.jpg", "W="]
# image info (issue 14) and q=auto levels (issue 15)
PIECES += ["info", "info=", "f=info", "q=auto", "auto:", "auto-", "high", "good", "eco", "AUTO"]
PIECES += ["&q=auto:eco", "/q=auto-good,f=webp", ",f=auto-avif"]
# njs runs the artefact as the ES module it is, cloudfront/njs-modules standing in for the
# runtime's `cloudfront` module; node runs it through cloudfront/function-realm.mjs.
NJS_MODULES = ROOT / "cloudfront" / "njs-modules"
NODE_RUNNER = ROOT / "cloudfront" / "function-realm.mjs"
RUNNER = """
runVectors(handler, VECTORS).then(function (summary) {
  var shown = Math.min(summary.failures.length, 20);
  for (var i = 0; i < shown; i++) console.log('FAIL ' + summary.failures[i]);
  console.log('checked ' + summary.checks + ', failed ' + summary.failed);
});
"""


def random_vectors(count: int, seed: int = 2026) -> list[dict]:
    """Random requests with the Python normalizer's answer as the expectation."""
    rng = random.Random(seed)
    vectors = []
    for i in range(count):
        path = "/" + "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8)))
        query = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8)))
        accept = rng.choice(ACCEPTS)
        try:
            expect = {"uri": parse(path, query, accept).canonical_uri}
            assert "%" not in expect["uri"], (path, expect)
        except BadRequest as err:
            expect = {"status": 400, "message": err.message}
        vectors.append(
            {
                "name": f"random {i}",
                "path": path,
                "query": query,
                "accept": accept,
                "expect": expect,
            }
        )
    return vectors


@pytest.fixture(scope="module")
def scripts(tmp_path_factory) -> dict[str, list[str]]:
    """The command line that runs the random vectors, per engine."""
    vectors = random_vectors(2000)
    assert sum("uri" in v["expect"] for v in vectors) > 200  # not only errors
    folder = tmp_path_factory.mktemp("edge")
    parts = [
        ARTEFACT.read_text(),
        (ROOT / "cloudfront" / "vector-harness.js").read_text(),
        f"var VECTORS = {json.dumps(vectors)};",
        RUNNER,
    ]
    module = folder / "random-parity.js"
    module.write_text("\n".join(parts), encoding="utf-8")
    data = folder / "random-vectors.json"
    data.write_text(json.dumps({"vectors": vectors}), encoding="utf-8")
    return {
        "njs": ["-t", "module", "-p", str(NJS_MODULES), str(module)],
        "node": [str(NODE_RUNNER), str(data), str(ARTEFACT)],
    }


@pytest.mark.parametrize("engine", ["njs", "node"])
def test_function_agrees_with_python_on_random_urls(scripts, engine):
    binary = shutil.which(engine)
    assert binary, f"{engine} is required (scripts/system-deps.sh installs it)"
    run = subprocess.run([binary, *scripts[engine]], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "failed 0" in run.stdout, run.stdout
