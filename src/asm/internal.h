/*
** internal.h: private to src/asm/. The parsed form of an assembly block
** (statements with symbolic operands) shared by the parser (parse.c), the
** name tables (tables.c) and the layout/encoder driver (assemble.c).
*/
#ifndef HD_ASM_INTERNAL_H
#define HD_ASM_INTERNAL_H

#include <Zydis/Zydis.h>

#include "asm/asm.h"

#define ASM_MAX_OPS   5   /* ZYDIS_ENCODER_MAX_OPERANDS */
#define ASM_MAX_TERMS 4   /* symbolic terms in one expression */
#define ASM_NAME_MAX  128 /* longest label or symbol name */

/** An expression: num + sum(sign * value(sym)). Symbols index asm_ctx.syms. */
struct asm_expr {
	int64_t num;
	int nterms;
	struct {
		int sym;
		int sign;
	} term[ASM_MAX_TERMS];
	bool here;          /* contains `$` (the statement's address) */
	int col;            /* column of the expression's first character */
};

enum asm_opk { ASM_OP_REG, ASM_OP_MEM, ASM_OP_IMM };

struct asm_operand {
	enum asm_opk kind;
	int col;
	ZydisRegister reg;            /* ASM_OP_REG */
	ZydisRegister base, index;    /* ASM_OP_MEM */
	uint8_t scale;
	uint16_t size;                /* bytes from `SIZE PTR`; 0 = unspecified */
	ZydisRegister seg;            /* segment override, or NONE */
	bool rip_sym;                 /* [rip + expr-with-symbol]: disp is the target */
	uint8_t bcst;                 /* {1toN}: N, or 0 */
	struct asm_expr expr;         /* displacement or immediate */
};

enum asm_stk { ASM_ST_INSN, ASM_ST_DATA };

/** One statement: an instruction or a data directive. */
struct asm_stmt {
	enum asm_stk kind;
	int line, col;
	/* instruction */
	ZydisMnemonic mnem;
	char mnem_text[24];
	ZydisInstructionAttributes prefixes;
	bool rep_generic;             /* `rep` written: REP or REPE by instruction */
	bool is_branch;               /* relative-branch mnemonic */
	ZydisOperandSizeHint osz_hint; /* from a suffixed alias (sysretq, pushw) */
	ZydisBranchType branch_type;  /* FAR for retf/lret/`ret far` */
	ZydisBranchWidth far_width;   /* operand size of a far return (retfq: 64) */
	uint8_t raw_rex;              /* REX Zydis cannot encode (sysexitq: 0x48) */
	uint8_t raw_rep;              /* F2/F3 GNU as accepts as a raw prefix (`rep ret`) */
	ZydisBranchWidth width_hint;  /* `short`/`near` written */
	int nops;
	struct asm_operand op[ASM_MAX_OPS];
	ZydisRegister mask;           /* {kN} on the first operand, or NONE */
	bool zeroing;                 /* {z} */
	ZydisRoundingMode rounding;
	bool sae;
	/* data directive: dwidth bytes per item; a db "string" is one item per char */
	int dwidth;
	int nitems;
	struct asm_expr *items;
	uint8_t *raw;                 /* the directive's encoded bytes */
	/* layout */
	uint64_t addr;
	size_t len;
	bool force_near;
	uint8_t seg_byte;             /* cs/ds/es/ss override, added after Zydis */
	uint8_t bytes[16];
};

struct asm_sym {
	char name[ASM_NAME_MAX];
	int label_stmt;               /* statement index the label precedes, or -1 */
	int line, col;                /* first use or definition */
	uint64_t value;
};

struct asm_ctx {
	struct asm_stmt *st;
	int nst, capst;
	struct asm_sym *syms;
	int nsyms, capsyms;
	uint64_t addr;
	asm_resolve_fn resolve;
	void *ud;
	struct asm_error *err;
};

/* parse.c */
/** Parse the whole text into ctx->st and ctx->syms. 0 or -HD_E_PARSE. */
int asm_parse(struct asm_ctx *ctx, const char *text);
/** Record an error at line:col (the first one recorded wins); returns `rc`. */
int asm_fail(struct asm_ctx *ctx, int rc, int line, int col, const char *fmt, ...)
	HD_PRINTF(5, 6);
/** Record a range error; `dep`: it depends on the address assembled at
 *  (asm_error.addr_dependent). Returns -HD_E_RANGE. */
int asm_fail_range(struct asm_ctx *ctx, bool dep, int line, int col, const char *fmt, ...)
	HD_PRINTF(5, 6);

/* tables.c */
/** What a mnemonic spelling implies besides Zydis's mnemonic (`pushw`: a
 *  16-bit operand size; `retf`: a far return). */
struct asm_mnem_hint {
	ZydisOperandSizeHint osz;
	ZydisBranchType branch_type;
	ZydisBranchWidth far_width;
	uint8_t raw_rex;
};
/** Mnemonic by (lower-case) name, including Keystone/GNU aliases; `hint`
 *  (may be NULL) receives what the spelling implies (zeroed if nothing). */
ZydisMnemonic asm_mnemonic_lookup(const char *name, struct asm_mnem_hint *hint);
/** Register by (lower-case) name, or ZYDIS_REGISTER_NONE. */
ZydisRegister asm_register_lookup(const char *name);
/** True for mnemonics with a relative branch operand (jmp, jcc, call, loop...). */
bool asm_mnemonic_is_branch(ZydisMnemonic m);
/** True if the name looks like a register spelling (used for diagnostics). */
bool asm_looks_like_register(const char *name);

#endif
