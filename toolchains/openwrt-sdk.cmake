# SPDX-License-Identifier: GPL-2.0-or-later
# Cross build with an OpenWrt SDK (musl). Set before configuring:
#   STAGING_DIR=<sdk>/staging_dir         (as the SDK documents)
#   OPENWRT_TARGET=mipsel_24kc_musl        (the toolchain-<...> folder's target part)
#   OPENWRT_TRIPLET=mipsel-openwrt-linux-musl (compiler prefix; optional, found
#                                          in the toolchain's bin/ otherwise)
# The package Makefile (packaging/openwrt) uses the SDK's own cmake.mk instead;
# this file is for building by hand against an SDK. The feeds have no spdlog
# 1.10+: pass -DVOIPGUARD_SPDLOG_INCLUDE_DIR=<spdlog release>/include to use
# spdlog header-only (see packaging/openwrt/README.md).
if(NOT DEFINED ENV{STAGING_DIR})
  message(FATAL_ERROR "STAGING_DIR is not set (point it at the SDK's staging_dir)")
endif()
if(NOT DEFINED ENV{OPENWRT_TARGET})
  message(FATAL_ERROR "OPENWRT_TARGET is not set (e.g. mipsel_24kc_musl)")
endif()
set(_sd $ENV{STAGING_DIR})
set(_target $ENV{OPENWRT_TARGET})
# The SDK names its folders target-<arch>_<libc> (target-mipsel_24kc_musl,
# target-arm_cortex-a7+neon-vfpv4_musl_eabi) and toolchain-<arch>_gcc-<version>_<libc>
# (toolchain-mipsel_24kc_gcc-12.3.0_musl).
if(NOT _target MATCHES "^(.+)_((musl|glibc|uclibc)(_eabi)?)$")
  message(FATAL_ERROR "OPENWRT_TARGET=${_target}: expected <arch>_<libc>, e.g. mipsel_24kc_musl")
endif()
set(_arch ${CMAKE_MATCH_1})
set(_libc ${CMAKE_MATCH_2})
file(GLOB _toolchain_dir LIST_DIRECTORIES true "${_sd}/toolchain-${_arch}_gcc-*_${_libc}")
file(GLOB _target_dir LIST_DIRECTORIES true "${_sd}/target-${_target}")
if(NOT _toolchain_dir OR NOT _target_dir)
  message(FATAL_ERROR "no toolchain-${_arch}_gcc-*_${_libc} or target-${_target} under ${_sd}")
endif()
list(GET _toolchain_dir 0 _toolchain_dir)
if(DEFINED ENV{OPENWRT_TRIPLET})
  set(_triplet $ENV{OPENWRT_TRIPLET})
else()
  # The compiler's prefix: mipsel-openwrt-linux-musl, arm-openwrt-linux-muslgnueabi, ...
  file(GLOB _gcc "${_toolchain_dir}/bin/*-openwrt-linux*-gcc")
  if(NOT _gcc)
    message(FATAL_ERROR "no *-openwrt-linux*-gcc in ${_toolchain_dir}/bin (set OPENWRT_TRIPLET)")
  endif()
  list(SORT _gcc)
  list(GET _gcc 0 _gcc)
  get_filename_component(_gcc "${_gcc}" NAME)
  string(REGEX REPLACE "-gcc$" "" _triplet "${_gcc}")
endif()

set(CMAKE_SYSTEM_NAME Linux)
string(REGEX REPLACE "-.*" "" CMAKE_SYSTEM_PROCESSOR "${_triplet}")
set(CMAKE_C_COMPILER ${_toolchain_dir}/bin/${_triplet}-gcc)
set(CMAKE_CXX_COMPILER ${_toolchain_dir}/bin/${_triplet}-g++)
set(CMAKE_FIND_ROOT_PATH ${_target_dir} ${_target_dir}/usr ${_toolchain_dir})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${_target_dir}")
set(ENV{PKG_CONFIG_LIBDIR} "${_target_dir}/usr/lib/pkgconfig:${_target_dir}/usr/share/pkgconfig")
# Router build: size first, no pcap-based replay, no tests.
set(VOIPGUARD_ROUTER ON CACHE BOOL "" FORCE)
set(VOIPGUARD_WITH_PCAP OFF CACHE BOOL "" FORCE)
set(VOIPGUARD_BUILD_TESTS OFF CACHE BOOL "" FORCE)
