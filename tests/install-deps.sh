#!/usr/bin/env bash
# Installs the Debian packages the full test suite uses, when they are missing and this user can install them:
#   zstd                         the zstd command-line tool (cross-check of Engine's zstd frames)
#   qemu-system-x86 qemu-utils   a real QEMU 7.2 peer (tests/interop)
#   cpio                         builds the interop guest's initramfs
# and then unpacks QEMU 10.0 beside the system's 7.2 (tests/interop/qemu10.sh into tests/interop/work/qemu10, not installed;
# it needs qemu-system-x86's libraries, so it runs after the apt install), for tests/interop/qemu10-peer.sh.
# Without root or apt-get it only reports what is missing; the tests that need it then report themselves skipped, with the reason.
set -u
need=()
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86 qemu-utils)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
command -v python3 >/dev/null 2>&1 || need+=(python3)

# QEMU 10.0, unpacked (idempotent: instant when already there). Without root, apt-get or the network the QEMU 10 tests
# report themselves skipped, with the reason.
qemu10() {
    command -v qemu-system-x86_64 >/dev/null 2>&1 || return 0
    local dir err; dir="$(cd "$(dirname "$0")" && pwd)/interop"; err=$(mktemp)
    "$dir/qemu10.sh" "$dir/work/qemu10" >/dev/null 2>"$err" \
        || echo "install-deps: QEMU 10.0 not unpacked ($(tail -1 "$err")); the QEMU 10 tests will report themselves skipped"
    rm -f "$err"
}
[ ${#need[@]} -eq 0 ] && { qemu10; exit 0; }

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || echo "install-deps: apt-get update failed; trying the install anyway"
    if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
        echo "install-deps: could not install ${need[*]}; the tests that need them will report themselves skipped"
    fi
else
    echo "install-deps: missing ${need[*]} (run as root with apt-get to install); the tests that need them will report themselves skipped"
fi
qemu10
exit 0
