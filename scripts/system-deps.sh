#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: njs (CloudFront-like JS
# engine), chromium (demo page), node (CloudFront Function tests). No-op when present.
# Then checks what no Debian package provides: terraform on PATH and a local mirror of the
# hashicorp/aws provider (tests/deploy/test_terraform_cli.py runs init without network).
set -euo pipefail
need=()
command -v njs >/dev/null 2>&1 || need+=(njs)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- terraform and its provider mirror -------------------------------------------------------
min_aws=5.100.0
if ! command -v terraform >/dev/null 2>&1; then
  echo "terraform is not on PATH: install Terraform >= 1.5 (tests/deploy runs it for real)" >&2
  exit 1
fi
# "on linux_amd64" on the second line of `terraform version`.
platform=$(TF_CLI_CONFIG_FILE=/dev/null terraform version | sed -n 's/^on \([a-z0-9_]*\)$/\1/p')
if [ -n "${TF_PROVIDER_MIRROR:-}" ]; then
  candidates=("$TF_PROVIDER_MIRROR")
else
  # Same list as tests/deploy/test_terraform_cli.py: this project's machines, then the
  # directories Terraform searches as implied local mirrors.
  candidates=(/opt/tf-plugins "$HOME/.terraform.d/plugins" "$HOME/.local/share/terraform/plugins"
    /usr/local/share/terraform/plugins /usr/share/terraform/plugins)
fi
for root in "${candidates[@]}"; do
  for binary in "$root"/registry.terraform.io/hashicorp/aws/*/"$platform"/terraform-provider-aws*; do
    [ -f "$binary" ] || continue
    version=$(basename "$(dirname "$(dirname "$binary")")")
    if [ "$(printf '%s\n%s\n' "$min_aws" "$version" | sort -V | head -n1)" = "$min_aws" ]; then
      exit 0
    fi
  done
done
echo "no Terraform provider mirror with hashicorp/aws >= $min_aws for $platform in:" \
  "${candidates[*]} (expected <mirror>/registry.terraform.io/hashicorp/aws/<version>/$platform/;" \
  "set TF_PROVIDER_MIRROR to the mirror root)" >&2
exit 1
