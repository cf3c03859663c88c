# Cross build for s390x (64-bit big-endian) against a sysroot of Debian's s390x packages
# (tests/cross/run.sh extracts them to WARD_SYSROOT). Multiarch cannot be used for s390x
# on this archive mirror: its s390x index lags the amd64 security updates (libssl3,
# zlib1g), and Multi-Arch: same libraries must have one version for all architectures.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(CMAKE_C_COMPILER s390x-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE s390x-linux-gnu)
if(NOT DEFINED WARD_SYSROOT)
  set(WARD_SYSROOT $ENV{WARD_SYSROOT})
endif()
set(CMAKE_FIND_ROOT_PATH ${WARD_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${WARD_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR}
    ${WARD_SYSROOT}/usr/lib/s390x-linux-gnu/pkgconfig:${WARD_SYSROOT}/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
set(libdirs ${WARD_SYSROOT}/lib/s390x-linux-gnu ${WARD_SYSROOT}/usr/lib/s390x-linux-gnu)
string(REPLACE ";" ":" libpath "${libdirs}")
set(CMAKE_C_FLAGS_INIT "-I${WARD_SYSROOT}/usr/include/s390x-linux-gnu")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${libpath}")
if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-s390x;-L;/usr/s390x-linux-gnu;-E;LD_LIBRARY_PATH=${libpath})
endif()
