# SPDX-License-Identifier: GPL-2.0-or-later
# Shared part of the Debian cross toolchain files: set VG_CROSS_TRIPLET and
# VG_CROSS_QEMU, then include this file.
set(CMAKE_SYSTEM_NAME Linux)
string(REGEX REPLACE "-.*" "" CMAKE_SYSTEM_PROCESSOR "${VG_CROSS_TRIPLET}")
set(CMAKE_C_COMPILER ${VG_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${VG_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${VG_CROSS_TRIPLET})

# 64-bit file offsets on the 32-bit targets (armhf, mipsel), as musl (OpenWrt)
# always has. Without it, readdir() of the tests under qemu-user fails with
# EOVERFLOW: the 64-bit host kernel hands ext4's 64-bit directory hash
# offsets to the emulated process, which a 32-bit d_off cannot hold (qemu
# cannot ask for the 32-bit hashes a native 32-bit process would get).
# No library the build links has off_t in its interface, so this is ABI-safe;
# time_t stays as Debian built the libraries (libnetfilter_queue passes a
# struct timeval).
string(APPEND CMAKE_CXX_FLAGS_INIT " -D_FILE_OFFSET_BITS=64")
string(APPEND CMAKE_C_FLAGS_INIT " -D_FILE_OFFSET_BITS=64")

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
  # LD_LIBRARY_PATH names every folder the target's libraries are in, so the
  # target's dynamic loader finds them all before it would fall back to
  # /etc/ld.so.cache: qemu-user hands it the host's cache, which a big-endian
  # loader (s390x) misreads and aborts on ("stack smashing detected"). The
  # loader and libc come from the cross toolchain's folder, as one pair.
  set(CMAKE_CROSSCOMPILING_EMULATOR ${VG_QEMU} -L /usr/${VG_CROSS_TRIPLET}
      -E LD_LIBRARY_PATH=/usr/${VG_CROSS_TRIPLET}/lib:/lib/${VG_CROSS_TRIPLET}:/usr/lib/${VG_CROSS_TRIPLET})
endif()
