// A 32-bit native build of MicroPython's core, to run memory measurements with the core's own
// collector (conservative scan of registers and the C stack), for tools/bench_lean.py. Built
// by tools/nativecore/build.py; not a firmware, not the unix port.
#include <stdint.h>
#include <alloca.h>

#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#define MICROPY_ENABLE_GC (1)
#define MICROPY_GCREGS_SETJMP (1)
#define MICROPY_NLR_SETJMP (1)
#define MICROPY_ENABLE_COMPILER (1)
#define MICROPY_PERSISTENT_CODE_LOAD (1)
#define MICROPY_READER_POSIX (1)
#define MICROPY_ENABLE_EXTERNAL_IMPORT (1)
#define MICROPY_HELPER_REPL (0)
#define MICROPY_LONGINT_IMPL (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL (MICROPY_FLOAT_IMPL_DOUBLE)
#define MICROPY_PY_SYS_STDFILES (0)
#define MICROPY_PY_SYS_STDIO_BUFFER (0)
#define MICROPY_PY_IO_FILEIO (0)
#define MICROPY_PY_BUILTINS_INPUT (0)
#define MICROPY_PY_BUILTINS_HELP (0)
#define MICROPY_PY_SYS_EXIT (1)
#define MICROPY_PY_SYS_PLATFORM "native32"
// no extmod in this source: os is main.c's, json and binascii are Python (pylib/)
#define MICROPY_PY_OS (0)
#define MICROPY_PY_TIME (0)
#define MICROPY_PY_JSON (0)
#define MICROPY_PY_BINASCII (0)
#define MICROPY_PY_UCTYPES (0)
#define MICROPY_PY_THREAD (0)
#define MICROPY_ENABLE_SCHEDULER (0)
#define MICROPY_ALLOC_PATH_MAX (260)
#define MICROPY_USE_INTERNAL_PRINTF (0)
#define MICROPY_PY_MICROPYTHON_MEM_INFO (1)
#define MICROPY_EMIT_X86 (0)
#define MICROPY_ENABLE_EMERGENCY_EXCEPTION_BUF (0)
#define MICROPY_KBD_EXCEPTION (0)
// the library, the stand-in of requests and json/binascii are frozen in: py/mkrules.mk turns
// on frozen modules when FROZEN_MANIFEST is given (tools/nativecore/build.py always gives one)

typedef int mp_int_t;
typedef unsigned int mp_uint_t;
typedef long mp_off_t;

#define MP_SSIZE_MAX (0x7fffffff)
#define MICROPY_HW_BOARD_NAME "native32"
#define MICROPY_HW_MCU_NAME "x86"
#define MICROPY_PORT_ROOT_POINTERS
#define MP_STATE_PORT MP_STATE_VM
