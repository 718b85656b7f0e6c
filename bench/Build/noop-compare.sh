#!/usr/bin/env bash
# No-op rebuild before and after a change, in paired runs: the SDK of another tree (BASE, e.g. main's worktree)
# against this one's, on the same projects in the same run. Each run times, in alternating order, BASE's and this
# tree's no-op `dotnet build -nr:false -tl:off -v:q` of the seed sample (offline, with the ISO, inputs from
# `Razor.Microkernel.Bench sample-inputs`), then of HelloOverlay and of an empty project. Prints each run, the means,
# and the median of the per-run ratios (this / BASE) for each project.
#
# Usage: bench/Build/noop-compare.sh BASE [runs (10)]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
base=$(cd "$1" && pwd)
runs=${2:-10}
work=$(mktemp -d /tmp/rmk-noop-compare-XXXXXX)
stamp=$(date +%s)
dotnet run -c Release --project "$here/bench/Razor.Microkernel.Bench" -- sample-inputs --work "$work/inputs" >/dev/null
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 XDG_CONFIG_HOME=$work/config
export MCOLLECTIVE_PSK=bench-psk-of-24-characters MCOLLECTIVE_STOMP_PASSWORD=bench-password-of-24-chars
cat > "$work/NuGet.config" <<XML
<configuration><packageSources><clear /><add key="bench" value="$work/feed" /></packageSources></configuration>
XML
cp "$here/global.json" "$work/global.json"
for side in base this; do
  repo=$base; [ $side = this ] && repo=$here
  version=1.0.0-bench.$stamp.$side
  dotnet pack "$repo/src/Razor.Microkernel.Sdk/Razor.Microkernel.Sdk.csproj" -c Release -o "$work/feed" -p:RmkSdkVersion=$version -nr:false -v:q >/dev/null
  mkdir -p "$work/$side/seed" "$work/$side/hello" "$work/$side/empty"
  (cd "$repo/samples/RazorMicrokernel" && git ls-files . | while read -r f; do mkdir -p "$work/$side/seed/$(dirname "$f")"; cp "$f" "$work/$side/seed/$f"; done)
  (cd "$repo/samples/HelloOverlay" && git ls-files . | while read -r f; do mkdir -p "$work/$side/hello/$(dirname "$f")"; cp "$f" "$work/$side/hello/$f"; done)
  sed -i -e "s|Razor.Microkernel.Sdk/1.0.0|Razor.Microkernel.Sdk/$version|" -e "s|Sdk=\"Razor.Microkernel.Sdk\"|Sdk=\"Razor.Microkernel.Sdk/$version\"|" "$work/$side"/seed/*proj "$work/$side"/hello/*proj
  echo "<Project Sdk=\"Razor.Microkernel.Sdk/$version\" />" > "$work/$side/empty/Empty.proj"
  echo "$side: $repo ($(git -C "$repo" rev-parse --short HEAD))"
done
export NUGET_PACKAGES=$work/packages
seed_args=(-p:TczMirror="$work/inputs/www" -p:RazorDownloadsFolder="$work/inputs/www/downloads" -p:MicrokernelCacheDirectory="$work/cache")
build() { # side project: a no-op dotnet build of it, quiet; fails loudly
  local extra=()
  [ "$2" = seed ] && extra=("${seed_args[@]}")
  (cd "$work/$1/$2" && dotnet build -nr:false -tl:off -v:q "${extra[@]}" >"$work/$1-$2.log" 2>&1) || { cat "$work/$1-$2.log"; exit 1; }
}
for side in base this; do for d in seed hello empty; do build $side $d; build $side $d; done; done
test -f "$work/this/seed/bin/Debug/rz_mk_dev-image.0.9.3.iso" || { echo "the seed sample built no ISO"; exit 1; }
now() { date +%s.%N; }
echo "machine: $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "run project base this"
: > "$work/times"
for i in $(seq 1 "$runs"); do
  for d in seed hello empty; do
    order=(base this); [ $((i % 2)) = 0 ] && order=(this base)
    declare -A t=()
    for side in "${order[@]}"; do s=$(now); build $side $d; t[$side]=$(awk -v a="$s" -v b="$(now)" 'BEGIN { print b - a }'); done
    printf '%d %s %.3f %.3f\n' "$i" "$d" "${t[base]}" "${t[this]}" | tee -a "$work/times"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for d in seed hello empty; do
  awk -v d=$d '$2 == d { n++; b+=$3; t+=$4; r[n]=$4/$3 }
    END { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { x = r[i]; r[i] = r[j]; r[j] = x }
      m = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
      printf "%s: mean base %.3f s, this %.3f s; ratio of means %.3f, median of paired ratios %.3f\n", d, b/n, t/n, t/b, m }' "$work/times"
done
echo "work folder: $work"
