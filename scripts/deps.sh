#!/bin/sh
# Installs the Debian packages qatc needs that are missing; silent when all
# are present (libclang-rt-14-dev: the libFuzzer and sanitizer runtimes, only
# recommended by clang; gcc-riscv64-unknown-elf, picolibc-riscv64-unknown-elf
# and qemu-system-misc: the rv32imc target, qemu-system-riscv32).
# Usage: scripts/deps.sh [extra-package ...]
set -e
pkgs="libyaml-dev m4 libcmocka-dev zlib1g-dev clang gcc-arm-none-eabi
      libnewlib-arm-none-eabi qemu-system-arm gcc-riscv64-unknown-elf
      picolibc-riscv64-unknown-elf qemu-system-misc dataset-fashion-mnist
      libopenblas-dev libclang-rt-14-dev $*"
missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
if [ "$(id -u)" != 0 ]; then
    echo "deps: not root; install these Debian packages:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# An installation cut short (a killed make bench: python3-torch and its
# libraries left unpacked, not configured) makes apt-get refuse every
# install until dpkg finishes it.
if [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ] || [ -n "$(dpkg --audit 2>/dev/null)" ]; then
    echo "deps: finishing an interrupted installation first (dpkg --configure -a)" >&2
    dpkg --configure -a >/dev/null
fi
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
