# SPDX-License-Identifier: GPL-2.0-or-later
# Cross build for 32-bit little-endian MIPS, like most OpenWrt routers with Debian's cross compiler (g++-mipsel-linux-gnu) and
# multiarch libraries (dpkg --add-architecture ...; apt-get install lib...-dev:ARCH).
# Tests run under qemu-user. See toolchains/cross-test.
set(VG_CROSS_TRIPLET mipsel-linux-gnu)
set(VG_CROSS_QEMU qemu-mipsel)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
