/*
** asm.h: the assembler layer's public header. An Intel-syntax (Keystone
** dialect) assembler on Zydis 4's encoder, and a disassembler on Zydis's
** decoder and formatter. No dependency on the target: memory comes in as
** bytes, symbols through callbacks.
**
** CONTRACT: cmd and event code against the functions below; add freely,
** keep these signatures.
*/
#ifndef HD_ASM_ASM_H
#define HD_ASM_ASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/hd.h"

/** Where and why assembly failed: 1-based line and column in the text
 *  (the column counts bytes: a tab is one). */
struct asm_error {
	int line, col;
	char msg[160];
	bool addr_dependent; /**< a range error that depends on the address the
				  text is assembled at (a branch, rip-relative or
				  absolute target out of reach, a label's value
				  too wide): assembling elsewhere may succeed */
};

/** Resolves a symbol (`puts`, `libc!puts`) to an address: 0 or -HD_E_NOSYM. */
typedef int (*asm_resolve_fn)(void *ud, const char *name, uint64_t *value);

/** @brief Assemble `text` (statements separated by ';' or newlines, labels,
 *  comments) as if placed at `addr`. Nothing is written to `out` unless the
 *  whole text assembles. The dialect (Keystone's Intel syntax) is described
 *  in docs/asm.md.
 *  @param addr runtime address of the first byte: branch targets and
 *         rip-relative addresses are computed from it.
 *  @param resolve called once per name that is not a label (NULL: no
 *         symbols); `ud` is passed to it.
 *  @param out_len in: capacity of out; out: bytes used (unchanged on error).
 *  @param err may be NULL; else filled on any error (1-based line:column of
 *         the offending text and a message), zeroed on success.
 *  @return 0, -HD_E_PARSE/-HD_E_ENCODE/-HD_E_NOSYM/-HD_E_RANGE with `err`
 *  filled, or -ENOSPC. Thread-safe. */
int asm_assemble(const char *text, uint64_t addr, asm_resolve_fn resolve, void *ud,
		 uint8_t *out, size_t *out_len, struct asm_error *err) HD_MUST_CHECK;

/** @brief Render the line of `text` that `err` points into, and a caret
 *  under its column, as two lines for the user:
 *  "  mov eax, 5 6\n             ^" (each indented by 2 spaces; no final
 *  newline). Tabs are expanded to 8-column stops and control characters
 *  shown as '?', so the caret stays under the offending character (a
 *  UTF-8 character counts one column); trailing blanks are dropped. A line
 *  too long for `cap` (2 * its width + 16 bytes hold it whole) is cut
 *  around the column, cut ends shown as "...".
 *  @param text the text given to asm_assemble.
 *  @param buf receives the rendering, always NUL-terminated if cap > 0.
 *  @return the length written (< cap), or 0 (buf empty) if err has no
 *  position in `text` (err->line is 0 or past the last line). */
size_t asm_error_render(const char *text, const struct asm_error *err, char *buf, size_t cap);

/** Names an address for the disassembler ("libc!puts+0x10"): 0, or <0 if none. */
typedef int (*asm_symbolize_fn)(void *ud, uint64_t addr, char *buf, size_t len);

struct asm_insn {
	uint64_t addr;
	uint8_t len;
	uint8_t bytes[15];
	char text[192];      /**< Intel syntax; branch targets and rip-relative
				  addresses named through the symbolizer */
	bool is_branch;      /**< jmp/jcc/call/loop with a known target */
	bool is_call;
	uint64_t target;     /**< branch target or rip-relative address, if any */
};

/** @brief Decode and format one instruction at `addr` from `code`.
 *  Intel syntax with explicit operand sizes; with `sym` (may be NULL),
 *  branch targets print as `call libc!puts` and rip-relative operands as
 *  `[rip+libc!environ]`, which asm_assemble reads back given a resolver.
 *  @return 0, or -HD_E_DECODE (insn->len = 1 then, or 0 if len is 0; text
 *  "(bad)"). Thread-safe. */
int asm_disasm_one(const uint8_t *code, size_t len, uint64_t addr,
		   asm_symbolize_fn sym, void *ud, struct asm_insn *insn);

/** @brief Length of the instruction at `code` (at most `len` bytes read),
 *  or -HD_E_DECODE if undecodable or truncated. */
int asm_insn_length(const uint8_t *code, size_t len);

#endif
