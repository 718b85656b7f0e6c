#!/usr/bin/env bash
# Runs the whole test suite. First provides what the tests (and build/corpus.sh, which .ci/run runs after them) need: on Debian/Ubuntu it installs missing
# tools with apt-get; elsewhere it names what is missing and stops. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

# tool -> Debian package
declare -A tools=(
  [tar]=tar [gzip]=gzip [bzip2]=bzip2 [xz]=xz-utils [stat]=coreutils
  [mksquashfs]=squashfs-tools [unsquashfs]=squashfs-tools
  [ruby]=ruby [gem]=ruby [busybox]=busybox-static [chromium]=chromium
  [xorriso]=xorriso [isoinfo]=genisoimage [cpio]=cpio [isohybrid]=syslinux-utils [/usr/lib/ISOLINUX/isolinux.bin]=isolinux
  [qemu-system-x86_64]=qemu-system-x86 [/boot/vmlinuz-*]=linux-image-amd64
  [/usr/lib/ipxe/qemu/pxe-e1000.rom]=ipxe-qemu [/usr/lib/PXELINUX/pxelinux.0]=pxelinux [file]=file [sha256sum]=coreutils
  [fakeroot]=fakeroot
  [mkfs.vfat]=dosfstools [fsck.vfat]=dosfstools [mdir]=mtools [mcopy]=mtools [sgdisk]=gdisk [gdisk]=gdisk [fdisk]=fdisk
  [grub-mkstandalone]=grub-common [grub-script-check]=grub-common [/usr/lib/grub/x86_64-efi/linux.mod]=grub-efi-amd64-bin
  [/usr/share/OVMF/OVMF_CODE_4M.fd]=ovmf
)
# A tool is a command on PATH, or a file (a path, possibly a glob).
have() {
  case "$1" in
    /*) compgen -G "$1" >/dev/null ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}
if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK (dotnet) is required: https://dot.net" >&2
  exit 1
fi
if command -v apt-get >/dev/null 2>&1 && [ -f /etc/debian_version ]; then
  # Debian/Ubuntu: install the packages that are missing (busybox-static: the boot-hook test chroots into
  # an overlay with a static busybox and the boot test puts it into a stand-in core.gz; qemu-system-x86 and
  # linux-image-amd64: the boot tests boot the ISO and the network boot files under software emulation, the kernel's
  # modules go into a stand-in module extension; ipxe-qemu and pxelinux: the network boots run Debian's iPXE ROM and PXELINUX; file: reads a
  # kernel's version, to check the SDK's reader).
  pkgs=$(for t in "${!tools[@]}"; do echo "${tools[$t]}"; done | sort -u)
  # Ubuntu names its kernel package differently.
  if grep -qi '^ID=ubuntu' /etc/os-release 2>/dev/null; then pkgs=${pkgs/linux-image-amd64/linux-image-generic}; fi
  missing_pkgs=$(for p in $pkgs; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"; done | tr '\n' ' ')
  if [ -n "${missing_pkgs// /}" ]; then
    echo "Installing: $missing_pkgs"
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq || exit 1
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $missing_pkgs >/dev/null || exit 1
  fi
else
  missing=()
  for t in "${!tools[@]}"; do have "$t" || missing+=("$t"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Missing tools the tests need: ${missing[*]}" >&2
    echo "Install them (Debian packages: $(for t in "${missing[@]}"; do echo -n "${tools[$t]} "; done)) and run again." >&2
    exit 1
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results=artifacts/test-results
rm -rf "$results"
log=$(mktemp)
dotnet test Razor.Microkernel.Sdk.sln -c Release --blame-hang-timeout 20m --results-directory "$results" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Sum the per-assembly summaries: "Passed!  - Failed:     0, Passed:    48, Skipped: ..."
read -r passed failed < <(grep -E '(Passed|Failed)! +- Failed: ' "$log" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+).*/\2 \1/' |
  awk '{p+=$1; f+=$2} END {print p+0, f+0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
# The failed tests again, each with the first lines of its message, so that a reader of the output's tail (a CI log
# that keeps only its end) sees which failed and why without the whole log.
digest=$(awk '
  /^ +Failed .* \[[^]]*\]$/ { sub(/^ +Failed /, ""); want = 0; print "  failed: " $0; next }
  /^ +Error Message:/ { want = 3; next }
  want > 0 && NF > 0 { sub(/^ +/, ""); print "    " substr($0, 1, 300); want--; next }
  /^ +Stack Trace:/ { want = 0 }
' "$log")
if [ -n "$digest" ]; then
  echo "Failed tests:"
  echo "$digest"
fi
rm -f "$log"
echo "$passed passed, $failed failed"
exit "$status"
