#!/usr/bin/env bash
# No-op rebuild of a project using this SDK vs the no-op rebuild of an empty Microsoft.Build.NoTargets
# project, same run (issue 7: target <= 1.15x). Needs hyperfine (Debian package) and NuGet access for
# Microsoft.Build.NoTargets. Usage: bench/Build/noop.sh [runs]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-10}
work=$(mktemp -d /tmp/rmk-noop-XXXXXX)
version=1.0.0-bench.$(date +%s)
dotnet pack "$repo/src/Razor.Microkernel.Sdk/Razor.Microkernel.Sdk.csproj" -c Release -o "$work/feed" -p:RmkSdkVersion=$version -nr:false -v:q >/dev/null
export NUGET_PACKAGES=$work/packages DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
cat > "$work/NuGet.config" <<XML
<configuration><packageSources><add key="bench" value="$work/feed" /></packageSources></configuration>
XML
mkdir -p "$work/ours" "$work/notargets" "$work/empty"
cp -r "$repo/samples/HelloOverlay/." "$work/ours/"
sed -i "s|Sdk=\"Razor.Microkernel.Sdk\"|Sdk=\"Razor.Microkernel.Sdk/$version\"|" "$work/ours/HelloOverlay.csproj"
echo "<Project Sdk=\"Razor.Microkernel.Sdk/$version\" />" > "$work/empty/Empty.proj"
cat > "$work/notargets/NoTargets.proj" <<XML
<Project Sdk="Microsoft.Build.NoTargets/3.7.0"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>
XML
for d in ours notargets empty; do (cd "$work/$d" && dotnet build -nr:false -tl:off -v:q >/dev/null); done
echo "machine: $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --warmup 2 --runs "$runs" --export-markdown "$work/noop.md" \
  -n "no-op rebuild, HelloOverlay (this SDK)" "cd $work/ours && dotnet build -nr:false -tl:off -v:q" \
  -n "no-op rebuild, empty project (this SDK)" "cd $work/empty && dotnet build -nr:false -tl:off -v:q" \
  -n "no-op rebuild, empty Microsoft.Build.NoTargets project" "cd $work/notargets && dotnet build -nr:false -tl:off -v:q"
cat "$work/noop.md"
echo "work folder: $work"
