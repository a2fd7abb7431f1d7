#!/bin/sh
# Install the system packages Counter TUI needs, where this user can; say plainly otherwise.
#   scripts/system-deps.sh run    libzbar0 (barcode decoding); a CJK font if cheap (demo pages)
#   scripts/system-deps.sh test   the above plus PostgreSQL server binaries (throwaway test server)
set -eu
mode="${1:-run}"

have_zbar() { ldconfig -p 2>/dev/null | grep -q 'libzbar\.so\.0' || [ -e /opt/homebrew/lib/libzbar.dylib ] || [ -e /usr/local/lib/libzbar.dylib ]; }
have_pg() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_cjk_font() {
  for f in /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc /usr/share/fonts/truetype/wqy/wqy-microhei.ttc /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc /System/Library/Fonts/PingFang.ttc; do
    [ -e "$f" ] && return 0
  done
  return 1
}

missing=""
have_zbar || missing="$missing libzbar0"
if [ "$mode" = test ]; then have_pg || missing="$missing postgresql"; fi
optional=""
have_cjk_font || optional="fonts-wqy-microhei"

[ -z "$missing$optional" ] && exit 0

apt_install() {
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else return 1; fi
  command -v apt-get >/dev/null 2>&1 || return 1
  echo "Installing system packages:$*"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ -n "$missing" ]; then
  # shellcheck disable=SC2086
  if ! apt_install $missing $optional; then
    if command -v brew >/dev/null 2>&1; then
      brew install zbar $( [ "$mode" = test ] && echo postgresql ) || true
    fi
  fi
elif [ -n "$optional" ]; then
  # shellcheck disable=SC2086
  apt_install $optional || echo "Note: no CJK font found; demo page images will carry ASCII titles (install fonts-wqy-microhei for Chinese)."
fi

fail=0
if ! have_zbar; then
  echo "ERROR: the zbar library (libzbar0) is missing and could not be installed here." >&2
  echo "       Debian/Ubuntu: sudo apt-get install libzbar0    macOS: brew install zbar" >&2
  fail=1
fi
if [ "$mode" = test ] && ! have_pg; then
  echo "ERROR: PostgreSQL server binaries (initdb, pg_ctl) are missing; the tests start a throwaway server." >&2
  echo "       Debian/Ubuntu: sudo apt-get install postgresql    macOS: brew install postgresql" >&2
  fail=1
fi
exit $fail
