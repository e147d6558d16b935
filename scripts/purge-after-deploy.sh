#!/usr/bin/env bash
# Purge the derived variants and CDN cache of originals a deploy changed or removed.
#
#   scripts/purge-after-deploy.sh [KEYS_FILE] [-- extra image-origin invalidate flags]
#
# KEYS_FILE holds one original key per line (blank lines and # comments are skipped);
# without it (or with "-") keys are read from stdin. For example, after syncing
# public/images/ to the originals bucket:
#
#   git -c core.quotePath=false diff --no-renames --name-only "$PREVIOUS_DEPLOY_SHA" HEAD \
#     -- public/images | sed 's#^public/images/##' | scripts/purge-after-deploy.sh
#
# core.quotePath=false: names as they are (föto.jpg), not quoted and octal-escaped
# ("f\303\266to.jpg"); --no-renames: a renamed image lists its old key too, whose variants
# must go as well.
#
# Environment (same as the rest of image-origin): DISTRIBUTION_ID, DERIVED_BUCKET,
# ORIGINALS_BUCKET, AWS credentials/region. Optional:
#   IMAGE_ORIGIN   the command to run (default: image-origin)
#   PURGE_REPORT   where the JSON report goes (default: purge-report.json)
#   WAIT=1         wait until CloudFront has completed every invalidation
#
# Safe to rerun: keys already purged cost nothing. Exit status: 0 when everything was
# purged and invalidated, 1 when something was not (the report says what), 2 on bad input.
set -euo pipefail

keys_file="-"
if [[ $# -gt 0 && "$1" != "--" ]]; then
  keys_file="$1"
  shift
fi
[[ "${1:-}" == "--" ]] && shift

IMAGE_ORIGIN="${IMAGE_ORIGIN:-image-origin}"
PURGE_REPORT="${PURGE_REPORT:-purge-report.json}"
wait_flag=()
[[ "${WAIT:-0}" == "1" ]] && wait_flag=(--wait)

status=0
# shellcheck disable=SC2086  # IMAGE_ORIGIN may be a command with arguments
$IMAGE_ORIGIN invalidate --keys-from "$keys_file" --json "${wait_flag[@]}" "$@" \
  >"$PURGE_REPORT" || status=$?

if [[ $status -eq 2 || ! -s "$PURGE_REPORT" ]]; then
  echo "purge-after-deploy: invalidate refused its input (exit $status)" >&2
  exit "$status"
fi

python3 - "$PURGE_REPORT" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
keys = report["keys"]
print(f"purge-after-deploy: {len(keys)} originals,"
      f" {sum(k['found'] for k in keys)} variants found,"
      f" {sum(k['deleted'] for k in keys)} deleted,"
      f" {len(report['invalidations'])} invalidations on {report['target']}")
for k in keys:
    if k["error"] or k["not_deleted"]:
        print(f"  NOT purged: {k['key']}: {k['error'] or ''} {len(k['not_deleted'])} remain")
if report["paths_not_invalidated"]:
    print(f"  NOT invalidated ({report['invalidation_error']}):")
    for path in report["paths_not_invalidated"]:
        print(f"    {path}")
    print("  rerun with: -- --paths wildcard")
elif report["invalidation_error"]:
    print(f"  every path was accepted; waiting failed: {report['invalidation_error']}")
print("ok" if report["ok"] else f"FAILED; full report in {sys.argv[1]}")
PY
exit "$status"
