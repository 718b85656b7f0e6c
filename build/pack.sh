#!/usr/bin/env bash
# Packs the SDK into artifacts/packages/ and pins the samples to it.
#
#   build/pack.sh [--pin DIR]… [dotnet pack arguments…]
#
# A local pack gets a version no earlier pack had, 1.0.0-dev.<UTC time>.g<commit> (a release: -p:RmkSdkVersion=1.0.0),
# so NuGet never serves a project an older SDK under the same version. samples/global.json (generated, not committed)
# pins the samples to the new version through its msbuild-sdks entry; --pin DIR does the same for DIR/global.json (a
# project outside this repository that uses artifacts/packages as a package source; see docs/howto.md).
set -euo pipefail
pins=()
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pin)
      [ $# -ge 2 ] && [ -d "$2" ] || { echo "build/pack.sh: --pin needs an existing folder" >&2; exit 2; }
      pins+=("$(cd "$2" && pwd)"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
cd "$(dirname "$0")/.."
dotnet pack src/Razor.Microkernel.Sdk/Razor.Microkernel.Sdk.csproj -c Release -o artifacts/packages -nr:false "${args[@]}"
nupkg=$(ls -t artifacts/packages/Razor.Microkernel.Sdk.*.nupkg | head -1)
version=${nupkg#artifacts/packages/Razor.Microkernel.Sdk.}
version=${version%.nupkg}
dotnet run build/pin-sdk.cs -- "$PWD" "$version" "${pins[@]}"
echo "Razor.Microkernel.Sdk $version -> $PWD/artifacts/packages/ (pinned in samples/global.json${pins:+ and ${pins[*]/%//global.json}})"
