#!/usr/bin/env bash
# Packs the SDK and builds a sample with it: build/sample.sh [SampleName] [dotnet build arguments…]
# The samples restore the SDK from artifacts/packages into artifacts/sample-packages, which the pack
# clears of the SDK every time, so a sample never runs a stale copy of the SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
sample=${1:-RazorMicrokernel}
[ $# -gt 0 ] && shift
if [ ! -d "samples/$sample" ]; then
  echo "No sample named '$sample' (samples/: $(ls samples | grep -v '\.' | tr '\n' ' '))" >&2
  exit 1
fi
build/pack.sh >/dev/null
dotnet build "samples/$sample" -nr:false "$@"
