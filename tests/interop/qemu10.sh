#!/usr/bin/env bash
# qemu10.sh [DIR]: QEMU 10.0 beside the system's QEMU 7.2, for qemu10-peer.sh. Nothing is installed: Debian's
# bookworm-backports build of qemu-system-x86 (with qemu-system-common and -data) and trixie's SeaBIOS (QEMU 10's
# firmware needs a newer one than bookworm's) are fetched with `apt-get download` into DIR and unpacked there.
#
# DIR defaults to tests/interop/work/qemu10 (git-ignored), where qemu10-peer.sh looks. Afterwards DIR/qemu-system-x86_64
# is a wrapper that points QEMU at its own firmware (-L) and modules (QEMU_MODULE_DIR).
# Needs: root and apt-get, Debian's package archive (the one this machine's apt uses), and the system's qemu-system-x86
# 7.2 installed first (the 10.0 binary links against the libraries it pulled in).
# Idempotent: exits at once when DIR already holds a working QEMU 10. Every apt call is bounded (QEMU10_TIME_LIMIT,
# default 300 s for the whole run). Exit 0: ready; 1: could not (the reason on stderr).
set -euo pipefail
if [ -z "${_Q10_INSTALL_TIMED:-}" ]; then
    exec timeout -k 10 "${QEMU10_TIME_LIMIT:-300}" env _Q10_INSTALL_TIMED=1 "$0" "$@"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-$HERE/work/qemu10}
mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
WRAPPER=$DIR/qemu-system-x86_64
say() { echo "qemu10.sh: $*" >&2; }

if [ -x "$WRAPPER" ] && "$WRAPPER" --version 2>/dev/null | grep -q 'version 10\.'; then
    "$WRAPPER" --version | head -1
    exit 0
fi
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 \
    || { say "needs root, apt-get and dpkg-deb"; exit 1; }
# QEMU 10's binary uses the shared libraries Debian 12's qemu-system-x86 pulled in (libpixman, libfdt, libslirp, ...).
dpkg -s qemu-system-x86 >/dev/null 2>&1 || { say "install qemu-system-x86 (7.2) first: QEMU 10 uses its libraries"; exit 1; }

# The mirror this machine's apt already uses: deb822 (.sources) or one-line (sources.list) entries, not the security one.
mirror=$( { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
            grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'; } \
          | grep -v -e security -e '^$' | head -1 || true)
[ -n "$mirror" ] || { say "no Debian mirror in /etc/apt/sources*"; exit 1; }

# A private apt state in DIR: the system's sources and lists are not touched.
APT=$DIR/apt
mkdir -p "$APT/lists/partial" "$DIR/debs"
printf 'deb %s bookworm-backports main\ndeb %s trixie main\n' "$mirror" "$mirror" > "$APT/sources.list"
opts=(-o "Dir::Etc::sourcelist=$APT/sources.list" -o Dir::Etc::sourceparts=/dev/null -o "Dir::State::Lists=$APT/lists"
      -o Debug::NoDropPrivs=true -o APT::Sandbox::User=root)
apt-get "${opts[@]}" update > "$APT/update.log" 2>&1 || { say "apt-get update failed: $(tail -1 "$APT/update.log")"; exit 1; }
version=$(apt-cache "${opts[@]}" madison qemu-system-x86 | awk -F'|' '/bookworm-backports/ { gsub(/ /, "", $2); print $2; exit }')
case "$version" in
    1:10.*) ;;
    *) say "bookworm-backports offers no qemu-system-x86 10.x (found '${version}')"; exit 1 ;;
esac
rm -f "$DIR"/debs/*.deb
(cd "$DIR/debs" && apt-get "${opts[@]}" download "qemu-system-x86=$version" "qemu-system-common=$version" \
    "qemu-system-data=$version" seabios/trixie) > "$APT/download.log" 2>&1 \
    || { say "apt-get download failed: $(tail -1 "$APT/download.log")"; exit 1; }

# Unpack into a fresh tree, then publish the wrapper last: a half-done run never leaves a wrapper that looks ready.
rm -rf "$DIR/root" "$DIR/firmware" "$WRAPPER"
mkdir -p "$DIR/root" "$DIR/firmware"
for deb in "$DIR"/debs/*.deb; do dpkg-deb -x "$deb" "$DIR/root"; done
cp -L "$DIR"/root/usr/share/qemu/* "$DIR/firmware/" 2>/dev/null || true
cp "$DIR"/root/usr/share/seabios/*.bin "$DIR/firmware/"
cat > "$WRAPPER.tmp" <<EOF
#!/bin/sh
# QEMU $version, unpacked by tests/interop/qemu10.sh (not installed).
QEMU_MODULE_DIR="$DIR/root/usr/lib/x86_64-linux-gnu/qemu" exec "$DIR/root/usr/bin/qemu-system-x86_64" -L "$DIR/firmware" "\$@"
EOF
chmod +x "$WRAPPER.tmp"
"$WRAPPER.tmp" --version 2>&1 | grep -q 'version 10\.' || { say "the unpacked QEMU does not run: $("$WRAPPER.tmp" --version 2>&1 | head -1)"; exit 1; }
mv "$WRAPPER.tmp" "$WRAPPER"
"$WRAPPER" --version | head -1
