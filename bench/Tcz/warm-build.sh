#!/usr/bin/env bash
# Warm-cache resolution inside the build: a project whose TczExtension items pull in 40 extensions (the
# benchmark's mirror, written to a local folder) is built once to fill the cache, then rebuilt N times
# (default 3) with -clp:PerformanceSummary; prints the time of the _RmkFetchTcz target and of the FetchTcz
# task in each rebuild (issue 4 target: <= 200 ms).   bench/Tcz/warm-build.sh [rebuilds]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rebuilds="${1:-3}"
work="$(mktemp -d /tmp/rmk-warm-build.XXXXXX)"
trap 'rm -rf "$work"' EXIT

dotnet build -c Release "$root/bench/Tcz" -nologo -v quiet >/dev/null
"$root/build/pack.sh" -p:RmkSdkVersion=1.0.0 >/dev/null
roots="$(dotnet "$root/bench/Tcz/bin/Release/net10.0/TczBench.dll" mirror "$work/mirror" 40 30)"

mkdir -p "$work/project"
cat >"$work/project/NuGet.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="$work/packages" /></config>
  <packageSources><clear /><add key="sdk" value="$root/artifacts/packages" /></packageSources>
</configuration>
XML
cat >"$work/project/Warm.proj" <<XML
<Project Sdk="Razor.Microkernel.Sdk/1.0.0">
  <PropertyGroup>
    <TczMirror>$work/mirror</TczMirror>
    <MicrokernelCacheDirectory>$work/cache</MicrokernelCacheDirectory>
  </PropertyGroup>
  <ItemGroup><TczExtension Include="$roots" /></ItemGroup>
</Project>
XML

cd "$work/project"
dotnet build -nr:false -v:q -nologo >/dev/null
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, load:$(uptime | sed 's/.*load average://')"
echo "# 40 extensions resolved from a warm cache in each rebuild"
for i in $(seq 1 "$rebuilds"); do
  out="$(dotnet build -nr:false -nologo -tl:off -v:m -clp:PerformanceSummary)"
  target="$(grep -E '^ +[0-9]+ ms +_RmkFetchTcz ' <<<"$out" | awk '{print $1}')"
  task="$(grep -E '^ +[0-9]+ ms +FetchTcz ' <<<"$out" | awk '{print $1}')"
  echo "rebuild $i: _RmkFetchTcz target ${target:-?} ms, FetchTcz task ${task:-?} ms"
done
