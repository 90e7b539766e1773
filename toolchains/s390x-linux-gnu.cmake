# SPDX-License-Identifier: GPL-2.0-or-later
# Cross build for 64-bit big-endian s390x, used here to catch byte-order bugs with Debian's cross compiler (g++-s390x-linux-gnu) and
# multiarch libraries (dpkg --add-architecture ...; apt-get install lib...-dev:ARCH).
# Tests run under qemu-user. See toolchains/cross-test.
set(VG_CROSS_TRIPLET s390x-linux-gnu)
set(VG_CROSS_QEMU qemu-s390x)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
