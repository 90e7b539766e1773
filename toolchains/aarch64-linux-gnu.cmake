# SPDX-License-Identifier: GPL-2.0-or-later
# Cross build for 64-bit ARM (little-endian) with Debian's cross compiler (g++-aarch64-linux-gnu) and
# multiarch libraries (dpkg --add-architecture ...; apt-get install lib...-dev:ARCH).
# Tests run under qemu-user. See toolchains/cross-test.
set(VG_CROSS_TRIPLET aarch64-linux-gnu)
set(VG_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
