# SPDX-License-Identifier: GPL-2.0-or-later
# Shared part of the Debian cross toolchain files: set VG_CROSS_TRIPLET and
# VG_CROSS_QEMU, then include this file.
set(CMAKE_SYSTEM_NAME Linux)
string(REGEX REPLACE "-.*" "" CMAKE_SYSTEM_PROCESSOR "${VG_CROSS_TRIPLET}")
set(CMAKE_C_COMPILER ${VG_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${VG_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${VG_CROSS_TRIPLET})

# Headers and libraries of the target come from Debian's multiarch folders.
set(CMAKE_FIND_ROOT_PATH /usr/${VG_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(_vg_pc "/usr/lib/${VG_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
# Extra pkg-config folder for -dev files unpacked outside the system (cross-test).
if(DEFINED ENV{VG_CROSS_EXTRA_PKG_CONFIG_DIR})
  set(_vg_pc "$ENV{VG_CROSS_EXTRA_PKG_CONFIG_DIR}:${_vg_pc}")
endif()
set(ENV{PKG_CONFIG_LIBDIR} "${_vg_pc}")
set(ENV{PKG_CONFIG_PATH} "")

# ctest (and gtest discovery) run the target's binaries through qemu-user.
find_program(VG_QEMU NAMES ${VG_CROSS_QEMU}-static ${VG_CROSS_QEMU})
if(VG_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${VG_QEMU} -L /usr/${VG_CROSS_TRIPLET})
endif()
