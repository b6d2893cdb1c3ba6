#!/usr/bin/env bash
# Renders each overlay of deploy/ with `kubectl kustomize` into deploy/rendered/<overlay>.yaml: the manifests the
# collector's `incident` command embeds and installs. Run after changing deploy/; a test fails while they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
for overlay in deploy/overlays/*/; do
  name=$(basename "$overlay")
  {
    echo "# Rendered from deploy/overlays/$name by scripts/render-manifests.sh (kubectl kustomize): do not edit."
    kubectl kustomize "$overlay"
  } > "deploy/rendered/$name.yaml"
  echo "deploy/rendered/$name.yaml"
done
