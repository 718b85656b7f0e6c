#!/usr/bin/env bash
# Runs the benchmarks (bench/Razor.Microkernel.Bench) in Release and prints their results:
#   build/bench.sh                 all three benchmarks with their defaults
#   build/bench.sh pack [opts]     PackToFile vs `tar czf` on a ~100 MB tree (--size-mb, --reps, --layers, --seed)
#   build/bench.sh pack-memory [opts]   peak RSS of packing ~1 GiB of layers (--size-mb, --layers, --seed)
#   build/bench.sh iso [opts]      BuildIso's work vs xorriso + cpio | gzip -9 (--size-mb, --core-mb, --reps, --layers, --seed)
#   build/bench.sh pxe [opts]      the network boot initrd vs cat + find | cpio | gzip -9 (--size-mb, --core-mb, --reps, --layers, --seed)
#   build/bench.sh iso-uefi [opts] the same with an EfiLoader and isohybrid GPT vs that + mkfs.vfat, mcopy, xorriso -isohybrid-gpt-basdat
#   build/bench.sh cold-build [opts]    cold `dotnet build` of samples/RazorMicrokernel from a loopback mirror vs
#                                  bench/Build/manual-build.sh, and its peak memory (--reps, --scale, --memory-runs, --profile, --seed)
# Exits non-zero only when a benchmark could not run; a missed target is reported in the output.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$root/bench/Razor.Microkernel.Bench"
what="${1:-all}"
[[ $# -gt 0 ]] && shift

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -srm)  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# uptime:$(uptime)"
echo "# dotnet $(dotnet --version); $(tar --version | head -n1); $(gzip --version | head -n1); $(pigz --version 2>&1 || echo 'pigz: not installed')"
echo "# $(cpio --version 2>/dev/null | head -n1 || echo 'cpio: not installed'); $(xorriso -version 2>/dev/null | head -n1 || echo 'xorriso: not installed')"

build_log="$(mktemp)"
trap 'rm -f "$build_log"' EXIT
dotnet build "$project" -c Release -nologo -v quiet >"$build_log" 2>&1 || { cat "$build_log"; exit 1; }

run() { dotnet run -c Release --no-build --project "$project" -- "$@"; }

case "$what" in
  pack) run pack "$@" ;;
  pack-memory) run pack-memory "$@" ;;
  iso) run iso "$@" ;;
  pxe) run pxe "$@" ;;
  iso-uefi)
    echo "# $(mkfs.vfat --help 2>&1 | head -n1); $(mcopy --version | head -n1); $(grub-mkstandalone --version)"
    run iso-uefi "$@"
    ;;
  cold-build)
    echo "# $(wget --version | head -n1); $(unsquashfs -version 2>&1 | head -n1); gem $(gem --version) on $(ruby --version)"
    run cold-build "$@"
    ;;
  all)
    run pack
    echo
    run pack-memory
    echo
    run iso
    echo
    run pxe
    echo
    run cold-build
    ;;
  *) echo "usage: build/bench.sh [all|pack|pack-memory|iso|iso-uefi|pxe|cold-build] [options]" >&2; exit 2 ;;
esac
