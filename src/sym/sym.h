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

/** Reads target memory for unwinding; 0 or negative on failure. */
typedef int (*sym_mem_read_fn)(void *ud, uint64_t addr, void *buf, size_t len);

struct sym_module {
	const char *name;  /**< short name: basename up to the first dot */
	const char *path;  /**< file path */
	uint64_t start, end; /**< mapped range */
	uint64_t bias;     /**< load bias (0 for ET_EXEC) */
};

/** @brief Open the modules of process `pid`. */
int sym_open(struct sym_session **out, pid_t pid) HD_MUST_CHECK;
/** @brief Re-read /proc/PID/maps (after dlopen, exec). */
int sym_refresh(struct sym_session *s) HD_MUST_CHECK;
void sym_close(struct sym_session *s);

/** @brief Call `fn` for each module in address order; stops early if fn != 0. */
int sym_modules(struct sym_session *s, int (*fn)(void *ud, const struct sym_module *m), void *ud);

/** @brief Resolve `name` ("sym" or "module!sym") to an address.
 *  @return 0, or -HD_E_NOSYM. */
int sym_lookup(struct sym_session *s, const char *name, uint64_t *addr) HD_MUST_CHECK;

/** @brief Format `addr` as "module!symbol+0xoff" ("module!symbol" at
 *  offset 0, "module+0xoff" without a symbol). @return 0, or -HD_E_NOSYM
 *  when the address is in no module (buf then holds nothing useful). */
int sym_addr_name(struct sym_session *s, uint64_t addr, char *buf, size_t len);

/** @brief Source file and line for `addr` from DWARF. -HD_E_NOTFOUND if none. */
int sym_addr_line(struct sym_session *s, uint64_t addr, const char **file, int *line);

/** @brief Call `fn` for every symbol matching `pattern` ("libc!mem*", "*alloc",
 *  wildcards * and ?), with its module, name and address. */
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
 *  @return the number of frames stored (<= max). */
int sym_unwind(struct sym_session *s, const uint64_t regs[16], uint64_t rip,
	       sym_mem_read_fn mem_read, void *ud, struct sym_frame *frames, int max);

#endif
