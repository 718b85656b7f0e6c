#!/usr/bin/env bash
# No-op rebuild cost (issue 14: the seed sample within 1.15x of an empty project of this SDK; issue 7: HelloOverlay).
#
# samples/RazorMicrokernel is built offline, as RazorMicrokernelSampleTests does it: a local mirror folder of
# generated extensions (mksquashfs), MCollective, RubyGems and four gems (gem build) and a stand-in Core ISO
# (xorriso), made by `Razor.Microkernel.Bench sample-inputs` (the cold-build benchmark's inputs), with the ISO.
# After one build of each, N paired runs: in each pair the seed sample's and the empty project's no-op
# `dotnet build -nr:false -tl:off -v:q`, in alternating order; HelloOverlay's no-op build is timed in the same pair.
# Prints each run's wall and CPU (user + sys) seconds, then means, medians, the ratio of means and the median of the
# per-pair ratios; CPU seconds move far less than wall seconds when other work shares the machine.
#
# Usage: bench/Build/noop.sh [runs (10)] [repo (this one)]
#   repo: the SDK's source to measure (another worktree, e.g. main's, to compare before and after a change).
#   COLD=N also times N cold builds of the seed sample and of the empty project (see below).
#   NOTARGETS=1 also runs the issue-7 comparison with an empty Microsoft.Build.NoTargets project (hyperfine, NuGet).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-10}
repo=$(cd "${2:-$here}" && pwd)
work=$(mktemp -d /tmp/rmk-noop-XXXXXX)
version=1.0.0-bench.$(date +%s)
dotnet pack "$repo/src/Razor.Microkernel.Sdk/Razor.Microkernel.Sdk.csproj" -c Release -o "$work/feed" -p:RmkSdkVersion=$version -nr:false -v:q >/dev/null
dotnet run -c Release --project "$here/bench/Razor.Microkernel.Bench" -- sample-inputs --work "$work/inputs" >/dev/null
export NUGET_PACKAGES=$work/packages DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 XDG_CONFIG_HOME=$work/config
export MCOLLECTIVE_PSK=bench-psk-of-24-characters MCOLLECTIVE_STOMP_PASSWORD=bench-password-of-24-chars
cat > "$work/NuGet.config" <<XML
<configuration><packageSources><clear /><add key="bench" value="$work/feed" /></packageSources></configuration>
XML
cp "$repo/global.json" "$work/global.json"
mkdir -p "$work/seed" "$work/hello" "$work/empty"
cp -r "$repo/samples/RazorMicrokernel/." "$work/seed/"
cp -r "$repo/samples/HelloOverlay/." "$work/hello/"
# The samples name the SDK with a version (Sdk="Razor.Microkernel.Sdk/1.0.0", older trees) or without (global.json pins it).
sed -i -e "s|Razor.Microkernel.Sdk/1.0.0|Razor.Microkernel.Sdk/$version|" -e "s|Sdk=\"Razor.Microkernel.Sdk\"|Sdk=\"Razor.Microkernel.Sdk/$version\"|" "$work"/seed/*proj "$work"/hello/*proj
echo "<Project Sdk=\"Razor.Microkernel.Sdk/$version\" />" > "$work/empty/Empty.proj"
seed_args=(-p:TczMirror="$work/inputs/www" -p:RazorDownloadsFolder="$work/inputs/www/downloads" -p:MicrokernelCacheDirectory="$work/cache")
build() { # name: a no-op dotnet build of that project, quiet; fails loudly
  local extra=()
  [ "$1" = seed ] && extra=("${seed_args[@]}")
  (cd "$work/$1" && dotnet build -nr:false -tl:off -v:q "${extra[@]}" >"$work/$1.log" 2>&1) || { cat "$work/$1.log"; exit 1; }
}
for d in seed hello empty; do build $d; build $d; done
test -f "$work/seed/bin/Debug/rz_mk_dev-image.0.9.3.iso" || { echo "the seed sample built no ISO"; exit 1; }
stamp() { stat -c '%y' "$work/seed/bin/Debug/mc-linux-fs-snap.tar.gz" "$work/seed/bin/Debug/rz_mk_dev-image.0.9.3.iso"; }
before=$(stamp)
echo "machine: $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg), repo: $repo ($(git -C "$repo" rev-parse --short HEAD))"
echo "run: wall s (seed empty hello), CPU s = user + sys (seed empty hello)"
: > "$work/times"
TIMEFORMAT='%R %U %S'
for i in $(seq 1 "$runs"); do
  order=(seed empty); [ $((i % 2)) = 0 ] && order=(empty seed)
  declare -A wall=() cpu=()
  for d in "${order[@]}" hello; do
    read -r r u s < <({ time build $d; } 2>&1)
    wall[$d]=$r; cpu[$d]=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
  done
  printf '%d %s %s %s %s %s %s\n' "$i" "${wall[seed]}" "${wall[empty]}" "${wall[hello]}" "${cpu[seed]}" "${cpu[empty]}" "${cpu[hello]}" | tee -a "$work/times"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$(stamp)" = "$before" ] || { echo "the seed sample's overlay or ISO was rewritten: not a no-op"; exit 1; }
awk 'function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  { s += $2; e += $3; h += $4; cs += $5; ce += $6; ch += $7; ws[NR] = $2; we[NR] = $3; r[NR] = $2 / $3; cr[NR] = $5 / $6 }
  END { n = NR
    printf "wall, mean: seed %.3f s, empty %.3f s, HelloOverlay %.3f s; seed/empty: ratio of means %.3f, median of paired ratios %.3f\n", s/n, e/n, h/n, s/e, median(r, n)
    printf "wall, median: seed %.3f s, empty %.3f s\n", median(ws, n), median(we, n)
    printf "CPU, mean: seed %.3f s, empty %.3f s, HelloOverlay %.3f s; seed/empty: ratio of means %.3f, median of paired ratios %.3f\n", cs/n, ce/n, ch/n, cs/ce, median(cr, n) }' "$work/times"

# COLD=N: also N cold builds of the seed sample (no obj/, bin/, download cache or lock file; the same local mirror
# folder), alternating with cold builds of the empty project, to compare a cold build before and after a change.
if [ "${COLD:-0}" -gt 0 ]; then
  : > "$work/cold"
  for i in $(seq 1 "$COLD"); do
    rm -rf "$work/seed/obj" "$work/seed/bin" "$work/cache" "$work/seed/microkernel.lock.json" "$work/empty/obj" "$work/empty/bin"
    read -r rs us ss < <({ time build seed; } 2>&1)
    read -r re ue se < <({ time build empty; } 2>&1)
    printf 'cold %d %s %s %s %s\n' "$i" "$rs" "$re" "$(awk -v u="$us" -v s="$ss" 'BEGIN { print u + s }')" "$(awk -v u="$ue" -v s="$se" 'BEGIN { print u + s }')" | tee -a "$work/cold"
  done
  awk '{ s += $3; e += $4; cs += $5; ce += $6 } END { n = NR
    printf "cold, mean: seed %.3f s (CPU %.3f s), empty %.3f s (CPU %.3f s); seed - empty %.3f s\n", s/n, cs/n, e/n, ce/n, (s-e)/n }' "$work/cold"
fi

if [ "${NOTARGETS:-}" = 1 ]; then
  mkdir -p "$work/notargets"
  cat > "$work/notargets/NoTargets.proj" <<XML
<Project Sdk="Microsoft.Build.NoTargets/3.7.0"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>
XML
  sed -i 's|<clear />||' "$work/NuGet.config"
  (cd "$work/notargets" && dotnet build -nr:false -tl:off -v:q >/dev/null)
  hyperfine --warmup 2 --runs "$runs" --export-markdown "$work/noop.md" \
    -n "no-op rebuild, HelloOverlay (this SDK)" "cd $work/hello && dotnet build -nr:false -tl:off -v:q" \
    -n "no-op rebuild, empty project (this SDK)" "cd $work/empty && dotnet build -nr:false -tl:off -v:q" \
    -n "no-op rebuild, empty Microsoft.Build.NoTargets project" "cd $work/notargets && dotnet build -nr:false -tl:off -v:q"
  cat "$work/noop.md"
fi
echo "work folder: $work"
