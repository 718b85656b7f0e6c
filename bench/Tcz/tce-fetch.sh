#!/bin/bash
# A sequential fetch of tce-load's kind (tce-load -w): depth-first over .dep files, each extension once,
# wget of .dep, .tcz and .md5.txt, then md5sum -c. Usage: tce-fetch.sh MIRROR_TCZ_URL DEST NAME.tcz...
set -e
MIRROR=$1; DEST=$2; shift 2
mkdir -p "$DEST"; cd "$DEST"
fetch() {
  local n=$1 d
  [ -f "$n.visited" ] && return 0
  touch "$n.visited"
  if wget -q "$MIRROR/$n.dep" -O "$n.dep"; then
    for d in $(sed 's/[ \t\r]//g' "$n.dep" | grep -v '^$'); do fetch "$d"; done
  else
    rm -f "$n.dep"
  fi
  wget -q "$MIRROR/$n" -O "$n"
  wget -q "$MIRROR/$n.md5.txt" -O "$n.md5.txt"
  md5sum -c --quiet "$n.md5.txt"
}
for x in "$@"; do fetch "$x"; done
