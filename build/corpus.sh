#!/usr/bin/env bash
# Real-world corpus: build/corpus.sh DIR [PASS…]
#
# Installs every DIR/gems/*.gem and extracts every DIR/tcz/* image through `dotnet build` of the packed SDK, and
# compares each with the real tool on the same input:
#   gems18  each gem with the RubyGems 1.8 layout (RubyVersion 1.8.7, RubyGemsVersion 1.8.15) against Debian's
#           `gem install --local --install-dir D --bindir D/bin --ignore-dependencies --no-document`: the gems/
#           tree (content and modes), cache/, the wrappers (names, modes, shebang, the gem and executable they
#           load) and the specification loaded back with Ruby (name, version, platform, executables,
#           require_paths, dependencies);
#   gems3   each gem with the RubyGems 3 layout (RubyVersion and RubyGemsVersion of Debian's ruby and gem)
#           against the same `gem install`: the whole GEMHOME, byte for byte (specifications, wrappers, plugins,
#           cache, empty folders, modes);
#   tcz     each image as a TczImage item against `unsquashfs -no-xattrs`: content, modes, owners, symlinks and
#           hard links of every entry.
# PASS… picks passes (default: all three). One line per input — identical / differs: how / refused by us: CODE /
# refused by both — then a summary per pass and a total. Exit status 1 on any "differs" and on any refusal by us
# that the real tool does not make, unless the allow-list below names it with its reason (docs/corpus.md).
# Environment: CORPUS_JOBS (parallel builds and installs, default: the number of CPUs), CORPUS_KEEP=1 keeps the
# work folder (it is also kept, and named, when something differs).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  echo "usage: build/corpus.sh DIR [gems18|gems3|tcz]…  (DIR holds gems/ and tcz/, e.g. ../shared/corpus)" >&2
  exit 2
fi
corpus=$(cd "$1" && pwd)
shift
passes=${*:-gems18 gems3 tcz}
jobs=${CORPUS_JOBS:-$(nproc 2>/dev/null || echo 2)}
for pass in $passes; do
  case $pass in
    gems18|gems3) folder=gems ;;
    tcz) folder=tcz ;;
    *) echo "unknown pass '$pass' (gems18, gems3, tcz)" >&2; exit 2 ;;
  esac
  if [ ! -d "$corpus/$folder" ]; then
    echo "$corpus has no $folder/ folder (pass $pass)" >&2
    exit 2
  fi
done
for tool in dotnet ruby gem unsquashfs tar; do
  command -v "$tool" >/dev/null || { echo "corpus.sh needs $tool (build/test.sh installs it)" >&2; exit 2; }
done
# Owners are compared as the tools set them on disk: as root, or else inside fakeroot.
asroot=()
if [ "$(id -u)" -ne 0 ]; then
  command -v fakeroot >/dev/null || { echo "corpus.sh needs root or fakeroot (build/test.sh installs it)" >&2; exit 2; }
  asroot=(fakeroot --)
fi

# Intentional refusals: PASS-GLOB, CODE, message regexp, reason. A refusal by us that gem install or unsquashfs does
# not make must match one line, else it counts as a failure. Keep docs/corpus.md in step.
allowlist=$(cat <<'EOF'
gems*	RMK3204	is built for platform '(java|(x86|x64|i386)-mswin(32|64)(-[0-9]+)?|mswin32|(x86|x64)-mingw32|universal-darwin(-[0-9]+)?|[a-z0-9_]+-darwin(-[0-9]+)?)'	foreign platform: the target is x86 Linux; gem install --local installs any platform it is given (it only filters when it picks from a source), and the result would not run there
gems*	RMK3204	has native extensions	native extensions are compiled by gem install on the machine it runs on; a build cannot compile for the target: give the gem PrebuiltExtensions
gems18	RMK3204	requires Ruby version	the 1.8 layout's target is Ruby 1.8.7, and the gem needs a later Ruby (Debian's gem install checks against its own Ruby 3.1)
gems18	RMK3204	requires RubyGems version	the 1.8 layout's target is RubyGems 1.8.15, and the gem needs a later RubyGems (Debian's gem install checks against its own 3.3.15)
EOF
)

umask 022
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER=1
unset MSBuildSDKsPath MSBuildExtensionsPath MSBUILD_EXE_PATH NUGET_PACKAGES GEM_HOME GEM_PATH RUBYOPT
# One day for the specifications of gems without a date (gem install and the SDK both use SOURCE_DATE_EPOCH).
export SOURCE_DATE_EPOCH=1700000000
start=$(date +%s)
# The work folder (about 1.5 GB for the whole corpus) on a memory file system when there is one: thousands of small
# files are written, compared and deleted, which a disk with online discard makes slow.
tmp=${CORPUS_TMPDIR:-${TMPDIR:-/tmp}}
if [ -z "${CORPUS_TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR==2 {print $4}')" -gt 3000000 ]; then tmp=/dev/shm; fi
work=$(mktemp -d "$tmp/rmk-corpus-XXXXXX")
printf '%s\n' "$allowlist" >"$work/allowlist.tsv"

# The SDK, packed once under a version no earlier build used, into a private feed and packages folder.
version="1.0.0-corpus.$(date -u +%Y%m%d%H%M%S).$$"
if ! dotnet pack src/Razor.Microkernel.Sdk/Razor.Microkernel.Sdk.csproj -c Release -o "$work/feed" -p:RmkSdkVersion="$version" \
     -nr:false -tl:off -v:q >"$work/pack.log" 2>&1; then
  cat "$work/pack.log" >&2
  echo "dotnet pack of the SDK failed (work folder $work)" >&2
  exit 2
fi
cat >"$work/NuGet.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="$work/packages" /></config>
  <packageSources><clear /><add key="corpus" value="$work/feed" /></packageSources>
</configuration>
EOF
cp global.json "$work/global.json"

ruby_path=$(ruby -e 'print Gem.ruby')
ruby_version=$(ruby -e 'print RUBY_VERSION')
rubygems_version=$(ruby -e 'print Gem::VERSION')

# project DIR ITEM PROPERTIES: one project per input, so every error is attributed to its input.
project() {
  mkdir -p "$1"
  cat >"$1/Microkernel.proj" <<EOF
<Project Sdk="Razor.Microkernel.Sdk/$version">
  <PropertyGroup>
    <OverlayCompressionLevel>1</OverlayCompressionLevel>
    $3
  </PropertyGroup>
  <ItemGroup>
    $2
  </ItemGroup>
</Project>
EOF
}
xml() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' <<<"$1"; }

gems=()
images=()
for pass in $passes; do
  case $pass in
    gems18|gems3) [ ${#gems[@]} -gt 0 ] || mapfile -t gems < <(find "$corpus/gems" -maxdepth 1 -name '*.gem' -printf '%f\n' | LC_ALL=C sort) ;;
    tcz) mapfile -t images < <(find "$corpus/tcz" -maxdepth 1 -type f ! -name '*.txt' ! -name '*.md' -printf '%f\n' | LC_ALL=C sort) ;;
    *) echo "unknown pass '$pass' (gems18, gems3, tcz)" >&2; exit 2 ;;
  esac
done
# A pass with no input checks nothing: that is a corpus that is not there, not a pass.
for pass in $passes; do
  case $pass in gems18|gems3) n=${#gems[@]} ;; *) n=${#images[@]} ;; esac
  if [ "$n" -eq 0 ]; then
    echo "$corpus holds no input for pass $pass: nothing would be checked" >&2
    rm -rf "$work"
    exit 2
  fi
done
# The gems as a download leaves them (0644): gem install copies the .gem's own mode into cache/ (the corpus files are
# read-only), while the SDK writes 0644 whatever the build machine's file says. Content is unchanged.
if [ ${#gems[@]} -gt 0 ]; then
  mkdir -p "$work/input"
  for g in "${gems[@]}"; do install -m 0644 "$corpus/gems/$g" "$work/input/$g"; done
fi
gemprops="<GemHome>/gemhome</GemHome><GemBinDir>/gemhome/bin</GemBinDir><RubyPath>$ruby_path</RubyPath><GemIgnoreDependencies>true</GemIgnoreDependencies>"
for pass in $passes; do
  case $pass in
    gems18) for g in "${gems[@]}"; do
              project "$work/gems18/$g" "<Gem Include=\"$(xml "$work/input/$g")\" />" "$gemprops<RubyVersion>1.8.7</RubyVersion><RubyGemsVersion>1.8.15</RubyGemsVersion>"
            done ;;
    gems3) for g in "${gems[@]}"; do
             project "$work/gems3/$g" "<Gem Include=\"$(xml "$work/input/$g")\" />" "$gemprops<RubyVersion>$ruby_version</RubyVersion><RubyGemsVersion>$rubygems_version</RubyGemsVersion>"
           done ;;
    tcz) for i in "${images[@]}"; do project "$work/tcz/$i" "<TczImage Include=\"$(xml "$corpus/tcz/$i")\" />" ""; done ;;
  esac
done

# All projects in one MSBuild run (one node per job), each on its own; errors go to a log that names the project.
cat >"$work/corpus.proj" <<'EOF'
<Project>
  <ItemGroup><CorpusProject Include="*/*/Microkernel.proj" /></ItemGroup>
  <Target Name="Build">
    <MSBuild Projects="@(CorpusProject)" Targets="Build" BuildInParallel="true" StopOnFirstFailure="false" ContinueOnError="true" />
  </Target>
</Project>
EOF
build_start=$(date +%s)
(cd "$work" && NUGET_PACKAGES="$work/packages" dotnet build corpus.proj -m:"$jobs" -nr:false -tl:off -v:q -clp:NoSummary \
  "-flp1:logfile=$work/errors.log;errorsonly" "-flp2:logfile=$work/warnings.log;warningsonly" >"$work/build.log" 2>&1)
build_end=$(date +%s)

# Each input's result: exit code, error lines, the overlay unpacked.
for d in "$work"/*/*/; do
  d=${d%/}
  [ -f "$d/Microkernel.proj" ] || continue
  grep -F "$d/Microkernel.proj" "$work/errors.log" >"$d/ours.errors" 2>/dev/null
  grep -F "$d/Microkernel.proj" "$work/warnings.log" >"$d/ours.warnings" 2>/dev/null
  overlay="$d/bin/Debug/mc-linux-fs-snap.tar.gz"
  if [ -s "$d/ours.errors" ] || [ ! -f "$overlay" ]; then
    echo 1 >"$d/ours.rc"
  else
    echo 0 >"$d/ours.rc"
  fi
done

# The real tools, on the same inputs: one gem install per gem (each into its own folder), one unsquashfs per image.
ref_start=$(date +%s)
export work corpus
ref_gem() {
  local g=$1 out="$work/ref-gems/$1"
  mkdir -p "$out"
  HOME="$out" gem install --local --install-dir "$out/gemhome" --bindir "$out/gemhome/bin" --ignore-dependencies --no-document \
    "$work/input/$g" >"$out.log" 2>&1
  echo $? >"$out.rc"
}
export -f ref_gem
if [ ${#gems[@]} -gt 0 ]; then
  printf '%s\0' "${gems[@]}" | xargs -0 -n1 -P"$jobs" bash -c 'ref_gem "$1"' _
fi
for pass in gems18 gems3; do
  [[ " $passes " == *" $pass "* ]] || continue
  for g in "${gems[@]}"; do
    d="$work/$pass/$g"
    cp "$work/ref-gems/$g.rc" "$d/ref.rc"
    cp "$work/ref-gems/$g.log" "$d/ref.log"
    ln -s "$work/ref-gems/$g/gemhome" "$d/ref"
  done
done
ref_end=$(date +%s)
# Unpacking (tar -p, unsquashfs) runs as root, or in fakeroot; for tcz the comparison runs in the same fakeroot session,
# since the owners tar and unsquashfs set exist only there.
unpack() {
  local d=$1 image=${2:-}
  if [ "$(cat "$d/ours.rc")" = 0 ]; then
    mkdir -p "$d/ours" && tar -xpzf "$d/bin/Debug/mc-linux-fs-snap.tar.gz" --numeric-owner -C "$d/ours" || echo 1 >"$d/ours.rc"
  fi
  if [ -n "$image" ]; then
    unsquashfs -no-progress -no-xattrs -d "$d/ref" "$image" >"$d/ref.log" 2>&1
    echo $? >"$d/ref.rc"
  fi
}
export -f unpack
export jobs repo
status=0
summaries=()
for pass in $passes; do
  case $pass in
    gems18|gems3)
      for g in "${gems[@]}"; do printf '%s\0' "$work/$pass/$g"; done | xargs -0 -n1 -P"$jobs" bash -c 'unpack "$1"' _
      ruby build/corpus/compare.rb "$pass" "$work" "$work/allowlist.tsv" >"$work/$pass.txt" ;;
    tcz)
      for i in "${images[@]}"; do printf '%s\0%s\0' "$work/tcz/$i" "$corpus/tcz/$i"; done >"$work/tcz.inputs"
      # fakeroot is a /bin/sh script, which drops exported bash functions: the function is passed as text.
      "${asroot[@]}" bash -c "$(declare -f unpack)"'
        export -f unpack
        xargs -0 -n2 -P"$jobs" bash -c '"'"'unpack "$1" "$2"'"'"' _ <"$work/tcz.inputs"
        ruby "$repo/build/corpus/compare.rb" tcz "$work" "$work/allowlist.tsv" >"$work/tcz.txt"' ;;
  esac
  [ $? -eq 0 ] || status=1
  head -n -1 "$work/$pass.txt"
  summaries+=("$(tail -n 1 "$work/$pass.txt")")
done
end=$(date +%s)
printf '%s\n' "${summaries[@]}"
# Every input of every pass is one check: it passes when identical, refused by both, or refused by us as intended.
read -r passed failed < <(printf '%s\n' "${summaries[@]}" |
  sed -nE 's/.* inputs: ([0-9]+) identical, ([0-9]+) differ, [0-9]+ refused by us \(([0-9]+) intended, ([0-9]+) not.*\), ([0-9]+) refused by both$/\1 \2 \3 \4 \5/p' |
  awk '{p += $1 + $3 + $5; f += $2 + $4} END {print p + 0, f + 0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi # a comparison that could not run
echo "corpus: $passed passed, $failed failed"
echo "corpus: $((end - start)) s (pack $((build_start - start)) s, dotnet build of $(find "$work" -mindepth 3 -maxdepth 3 -name Microkernel.proj | wc -l) projects $((build_end - build_start)) s, gem install $((ref_end - ref_start)) s, unpacking and comparison $((end - ref_end)) s)"
if [ "$status" -ne 0 ] || [ "${CORPUS_KEEP:-0}" = 1 ]; then
  echo "corpus: work folder kept: $work"
else
  rm -rf "$work"
fi
exit "$status"
