#!/bin/sh
# Install the system packages Counter TUI needs, where this user can; say plainly otherwise.
#   scripts/system-deps.sh run    libzbar0 (barcode decoding); a CJK font (certificate PDFs, demo pages)
#   scripts/system-deps.sh test   the above plus PostgreSQL server binaries (throwaway test server)
set -eu
mode="${1:-run}"

have_zbar() { ldconfig -p 2>/dev/null | grep -q 'libzbar\.so\.0' || [ -e /opt/homebrew/lib/libzbar.dylib ] || [ -e /usr/local/lib/libzbar.dylib ]; }
have_pg() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
# The same places counter_tui/services/fonts.py (find_cjk_font) looks, so "found" here means
# the app finds it too.
have_cjk_font() {
  [ -n "${COUNTER_TUI_CJK_FONT:-}" ] && [ -f "$COUNTER_TUI_CJK_FONT" ] && return 0
  for f in /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc \
    /usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc /usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc \
    /usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc /usr/share/fonts/noto/NotoSansCJK-Regular.ttc \
    /usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc /usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc \
    /usr/share/fonts/truetype/wqy/wqy-microhei.ttc /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc \
    /usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc /usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc \
    /usr/share/fonts/wqy-microhei/wqy-microhei.ttc /usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc \
    /usr/share/fonts/truetype/arphic/uming.ttc /System/Library/Fonts/PingFang.ttc "/System/Library/Fonts/STHeiti Light.ttc" \
    "/Library/Fonts/Arial Unicode.ttf"; do
    [ -e "$f" ] && return 0
  done
  return 1
}

missing=""
have_zbar || missing="$missing libzbar0"
if [ "$mode" = test ]; then have_pg || missing="$missing postgresql"; fi
# Certificates are PDFs with an embedded Chinese font; WenQuanYi Micro Hei is small (5 MB).
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
  apt_install $optional || true
fi

fail=0
if ! have_zbar; then
  echo "ERROR: the zbar library (libzbar0) is missing and could not be installed here." >&2
  echo "       Debian/Ubuntu: sudo apt-get install libzbar0    macOS: brew install zbar" >&2
  fail=1
fi
if ! have_cjk_font; then
  # The app starts without one; only certificate PDFs cannot be made (the tests make them).
  [ "$mode" = test ] && level=ERROR || level=WARNING
  echo "$level: no font with Chinese characters was found; certificate PDFs cannot be made without one." >&2
  echo "       Debian/Ubuntu: sudo apt-get install fonts-wqy-microhei (or fonts-noto-cjk)" >&2
  echo "       Fedora: sudo dnf install wqy-microhei-fonts    Alpine: sudo apk add font-wqy-zenhei" >&2
  echo "       or set COUNTER_TUI_CJK_FONT to the path of a .ttf/.ttc/.otf font with Chinese glyphs." >&2
  [ "$mode" = test ] && fail=1
fi
if [ "$mode" = test ] && ! have_pg; then
  echo "ERROR: PostgreSQL server binaries (initdb, pg_ctl) are missing; the tests start a throwaway server." >&2
  echo "       Debian/Ubuntu: sudo apt-get install postgresql    macOS: brew install postgresql" >&2
  fail=1
fi
exit $fail
