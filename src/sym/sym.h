/*
** sym.h: the symbols layer's public header. Modules of a process from
** /proc/PID/maps through elfutils' libdwfl, ELF symbols with their load bias,
** `module!symbol` resolution, address -> `module!symbol+off`, DWARF source
** lines, and stack unwinding (DWARF CFI, frame pointers as fallback).
**
** A module's name is its file's basename up to the first dot
** (`libc.so.6` -> `libc`, `./poolsim` -> `poolsim`). An unqualified symbol is
** looked up in the main program first, then in every module.
**
** CONTRACT: the cmd, event and asm-using layers code against the functions
** below. Add functions freely; keep these signatures.
** This layer never touches ptrace: memory and registers come from callbacks.
*/
#ifndef HD_SYM_SYM_H
#define HD_SYM_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/hd.h"

struct sym_session;

/** Reads `len` bytes of target memory for unwinding. Success: 0 (the
 *  project's convention, as target_mem_read) or `len` (pread style);
 *  anything else (negative, a short count) is a failure. */
typedef int (*sym_mem_read_fn)(void *ud, uint64_t addr, void *buf, size_t len);

struct sym_module {
	const char *name;  /**< short name: basename up to the first dot */
	const char *path;  /**< file path */
	uint64_t start, end; /**< mapped range */
	uint64_t bias;     /**< load bias (0 for ET_EXEC) */
};

/** @brief Open the modules of process `pid`. The process must be alive
 *  (and, to read the vDSO, traced by us). ELF files are opened now, symbol
 *  tables and DWARF on first use.
 *  @return 0, -errno (e.g. -ENOENT: no such process), -HD_E_NOTARGET. */
int sym_open(struct sym_session **out, pid_t pid) HD_MUST_CHECK;
/** @brief Re-read /proc/PID/maps (after dlopen, exec). `struct sym_module`
 *  pointers are invalid afterwards; the strings (module names, paths, file
 *  names of sym_addr_line) stay valid for modules that are still loaded at
 *  the same place, and only for those. */
int sym_refresh(struct sym_session *s) HD_MUST_CHECK;
/** @brief Free the session (NULL is allowed). */
void sym_close(struct sym_session *s);

/** @brief Call `fn` for each module in address order; stops early if fn != 0.
 *  @return 0, or the first non-zero value of `fn`. */
int sym_modules(struct sym_session *s, int (*fn)(void *ud, const struct sym_module *m), void *ud);

/** @brief The module containing `addr` (its .bss included), or NULL.
 *  Valid until sym_refresh/sym_close. */
const struct sym_module *sym_module_at(struct sym_session *s, uint64_t addr);

/** @brief The main program's module (/proc/PID/exe), or NULL. */
const struct sym_module *sym_module_main(struct sym_session *s);

/** @brief Resolve `name` ("sym" or "module!sym") to an address.
 *  An unqualified name is looked up in the main program first, then in
 *  every module. Defined FUNC/IFUNC/OBJECT symbols are preferred over
 *  untyped ones, GLOBAL over WEAK over LOCAL. A module qualifier is its
 *  short name; the "lib" prefix may be left out ("hdlib!f" finds
 *  libhdlib.so when no module is called "hdlib"). The address of an IFUNC
 *  symbol is its resolver's.
 *  @return 0, or -HD_E_NOSYM (unknown module or symbol, empty name). */
int sym_lookup(struct sym_session *s, const char *name, uint64_t *addr) HD_MUST_CHECK;

/** @brief Format `addr` as "module!symbol+0xoff" ("module!symbol" at
 *  offset 0, "module+0xoff" from the module's start without a symbol).
 *  The symbol is the nearest one at or below `addr` whose size covers it
 *  (or that has no size); of several at one address the one printed is
 *  GLOBAL, typed, with the fewest leading underscores ("malloc", not
 *  "__libc_malloc"). Output is truncated to `len`. @return 0, or -HD_E_NOSYM
 *  when the address is in no module (buf then holds nothing useful). */
int sym_addr_name(struct sym_session *s, uint64_t addr, char *buf, size_t len);

/** @brief Like sym_addr_name, in pieces: `*module` (short name), `*name`
 *  (`*name_len` characters; NULL when no symbol covers `addr`)
 *  and `*offset` (from the symbol, or from the module's start when
 *  `*name` is NULL). Pointers are valid until sym_refresh/sym_close.
 *  @return 0, or -HD_E_NOSYM when the address is in no module. */
int sym_addr_symbol(struct sym_session *s, uint64_t addr, const char **module,
		    const char **name, size_t *name_len, uint64_t *offset) HD_MUST_CHECK;

/** @brief Source file and line for `addr` from DWARF. -HD_E_NOTFOUND if none.
 *  `*file` is the path as the compiler recorded it, valid until
 *  sym_refresh/sym_close. */
int sym_addr_line(struct sym_session *s, uint64_t addr, const char **file, int *line);

/** @brief Call `fn` for every symbol matching `pattern` ("libc!mem*", "*alloc",
 *  wildcards * and ?), with its module, name and address. The module part
 *  may hold wildcards too, and may leave out a "lib" prefix. Modules come in
 *  address order, symbols of a module in name order (then address); a
 *  name defined at several addresses is reported once per address.
 *  @return 0, or the first non-zero value of `fn` (which stops the search). */
int sym_search(struct sym_session *s, const char *pattern,
	       int (*fn)(void *ud, const char *module, const char *name, uint64_t addr),
	       void *ud);

struct sym_frame {
	uint64_t pc;   /**< return address (pc of frame 0 is rip) */
	uint64_t sp;
	uint64_t cfa;
};

/** @brief Unwind from the 16 general-purpose registers `regs` (DWARF order:
 *  rax rdx rcx rbx rsi rdi rbp rsp r8..r15) plus `rip`.
 *  DWARF CFI (.eh_frame, .debug_frame) first; where it gives nothing more,
 *  the rbp chain. Frame 0 is always stored (pc = rip, sp = rsp). A frame's
 *  `cfa` is its caller's stack pointer, 0 when unknown (outermost frame).
 *  `mem_read` is called only during this call.
 *  @return the number of frames stored (<= max). */
int sym_unwind(struct sym_session *s, const uint64_t regs[16], uint64_t rip,
	       sym_mem_read_fn mem_read, void *ud, struct sym_frame *frames, int max);

/** @brief Like sym_unwind, with frame pointers only (the rbp chain from
 *  frame 0; frames of functions without a frame are skipped). */
int sym_unwind_fp(struct sym_session *s, const uint64_t regs[16], uint64_t rip,
		  sym_mem_read_fn mem_read, void *ud, struct sym_frame *frames, int max);

#endif
