#!/usr/bin/env bash
# Packs the SDK and builds a sample with it: build/sample.sh [SampleName] [dotnet build arguments…]
# The pack has a version no earlier pack had and pins the samples to it (samples/global.json), so a sample never
# runs a stale copy of the SDK; the samples restore it from artifacts/packages into artifacts/sample-packages.
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
