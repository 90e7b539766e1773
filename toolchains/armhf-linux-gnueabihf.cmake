# SPDX-License-Identifier: GPL-2.0-or-later
# Cross build for 32-bit ARM hard-float (little-endian, strict alignment on older cores) with Debian's cross compiler (g++-arm-linux-gnueabihf) and
# multiarch libraries (dpkg --add-architecture ...; apt-get install lib...-dev:ARCH).
# Tests run under qemu-user. See toolchains/cross-test.
set(VG_CROSS_TRIPLET arm-linux-gnueabihf)
set(VG_CROSS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
