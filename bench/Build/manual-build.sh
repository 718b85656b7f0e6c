#!/usr/bin/env bash
# The work of samples/RazorMicrokernel (Development flavor) done by a script with the classic tools, for the
# cold-build benchmark (bench/Razor.Microkernel.Bench cold-build): wget + md5sum -c of every extension and its
# .dep tree (tce-load -w), unsquashfs into one tree (tce-load -i), lscpu and sfdisk alone from util-linux, tar xzf
# of MCollective, RubyGems' lib/ and bin/ as its setup.rb installs them, `gem install --local` of the four gems,
# server.cfg and facts.yaml, the ssh configuration from the .example files, the boot hook, then `tar czf`.
#   Usage: manual-build.sh TCZ_URL DOWNLOADS_URL WORK_DIR OUTPUT.tar.gz
# TCZ_URL is the mirror's .../4.x/x86/tcz folder. MCOLLECTIVE_PSK and MCOLLECTIVE_STOMP_PASSWORD come from the
# environment. WORK_DIR must not exist.
set -euo pipefail
tcz=$1; downloads=$2; work=$3; out=$4
mkdir -p "$work/tce" "$work/dl" "$work/tree"
work=$(cd "$work" && pwd); out=$(realpath -m "$out"); root=$work/tree

# 1. tce-load -w: depth-first over the .dep files (KERNEL replaced), each extension once, dependencies first.
order=()
fetch() {
  local n=${1//KERNEL/3.0.21-tinycore} d
  [ -f "$n.visited" ] && return 0
  : > "$n.visited"
  if wget -q "$tcz/$n.dep" -O "$n.dep"; then
    for d in $(sed 's/[ \t\r]//g' "$n.dep" | grep -v '^$'); do fetch "$d"; done
  else
    rm -f "$n.dep"
  fi
  wget -q "$tcz/$n" -O "$n"
  wget -q "$tcz/$n.md5.txt" -O "$n.md5.txt"
  md5sum -c --quiet "$n.md5.txt"
  order+=("$n")
}
cd "$work/tce"
for x in ruby bash dmidecode lshw scsi-KERNEL libssl-0.9.8 firmware-bnx2 util-linux openssh; do fetch "$x.tcz"; done

# tce-load -i: each extension into the tree (copy to file system), with its /usr/local/tce.installed marker.
mkdir -p "$root/usr/local/tce.installed"
for n in "${order[@]}"; do
  [ "$n" = util-linux.tcz ] && continue
  unsquashfs -q -n -f -d "$root" "$n" >/dev/null
  [ -e "$root/usr/local/tce.installed/${n%.tcz}" ] || : > "$root/usr/local/tce.installed/${n%.tcz}"
done
chown root:staff "$root/usr/local/tce.installed" 2>/dev/null || true
chmod 775 "$root/usr/local/tce.installed"

# 2. Only lscpu and sfdisk from util-linux, under /tmp/tcloop/util-linux, linked from their own paths.
mkdir -p "$root/tmp/tcloop"
printf '%s\n' usr/local/bin/lscpu usr/local/sbin/sfdisk > "$work/util-linux.files"
unsquashfs -q -n -f -d "$root/tmp/tcloop/util-linux" -e "$work/util-linux.files" util-linux.tcz >/dev/null
mkdir -p "$root/usr/local/bin" "$root/usr/local/sbin"
ln -s /tmp/tcloop/util-linux/usr/local/bin/lscpu "$root/usr/local/bin/lscpu"
ln -s /tmp/tcloop/util-linux/usr/local/sbin/sfdisk "$root/usr/local/sbin/sfdisk"

# 3. MCollective into /usr/local/tce.installed, and its links.
cd "$work/dl"
for f in mcollective-1.2.1.tgz rubygems-1.8.15.tgz daemons-1.1.4.gem json_pure-1.6.1.gem stomp-1.2.0.gem facter-1.6.4.gem; do
  wget -q "$downloads/$f" -O "$f"
done
tar xzf mcollective-1.2.1.tgz -C "$root/usr/local/tce.installed"
ln -s /usr/local/tce.installed/mcollective-1.2.1 "$root/usr/local/mcollective"
ln -s /usr/local/mcollective/mcollectived.rb "$root/usr/local/sbin/mcollectived"

# 4. server.cfg and facts.yaml.
mkdir -p "$root/usr/local/etc/mcollective"
cat > "$root/usr/local/etc/mcollective/server.cfg" <<CFG
topicprefix = /topic/
main_collective = mcollective
collectives = mcollective
libdir = /usr/local/mcollective/plugins
logfile = /var/log/mcollective.log
loglevel = info
daemonize = 1
securityprovider = psk
plugin.psk = ${MCOLLECTIVE_PSK}
connector = stomp
plugin.stomp.host = razor-server
plugin.stomp.port = 6163
plugin.stomp.user = mcollective
plugin.stomp.password = ${MCOLLECTIVE_STOMP_PASSWORD}
factsource = yaml
plugin.yaml = /usr/local/etc/mcollective/facts.yaml
CFG
chmod 640 "$root/usr/local/etc/mcollective/server.cfg"
echo "--- {}" > "$root/usr/local/etc/mcollective/facts.yaml"

# 5. RubyGems as `ruby setup.rb` installs it (lib/**/*rb into site_ruby, bin/* but update_rubygems with #!ruby),
#    then the gems with Debian's gem into the overlay's gem home.
tar xzf rubygems-1.8.15.tgz
site="$root/usr/local/lib/ruby/site_ruby/1.8"
mkdir -p "$site"
(cd rubygems-1.8.15/lib && find . -name '*rb' -type f -exec cp --parents -t "$site" {} +)
for b in rubygems-1.8.15/bin/*; do
  [ "$(basename "$b")" = update_rubygems ] && continue
  { echo '#!/usr/local/bin/ruby'; tail -n +2 "$b"; } > "$root/usr/local/bin/$(basename "$b")"
  chmod 755 "$root/usr/local/bin/$(basename "$b")"
done
gem install --local --install-dir "$root/usr/local/lib/ruby/gems/1.8" --bindir "$root/usr/local/bin" --no-document --ignore-dependencies \
  --quiet daemons-1.1.4.gem json_pure-1.6.1.gem stomp-1.2.0.gem facter-1.6.4.gem >/dev/null

# 6. Development: the ssh configuration from the shipped examples; the boot hook starts the extensions' scripts.
cp "$root/usr/local/etc/ssh/ssh_config.example" "$root/usr/local/etc/ssh/ssh_config"
cp "$root/usr/local/etc/ssh/sshd_config.example" "$root/usr/local/etc/ssh/sshd_config"
mkdir -p "$root/opt" "$root/usr/local/etc/init.d"
printf '#!/bin/sh\n/usr/local/etc/init.d/microkernel-setup\n' > "$root/opt/bootsync.sh"
chmod 775 "$root/opt/bootsync.sh"
{
  echo '#!/bin/sh'
  echo '/sbin/ldconfig 2>/dev/null'
  for n in "${order[@]}"; do
    [ -s "$root/usr/local/tce.installed/${n%.tcz}" ] && echo "/usr/local/tce.installed/${n%.tcz}"
  done
  echo '/usr/local/etc/init.d/openssh start'
} > "$root/usr/local/etc/init.d/microkernel-setup"
chmod 755 "$root/usr/local/etc/init.d/microkernel-setup"

# 7. The snapshot.
tar czf "$out" -C "$root" .
