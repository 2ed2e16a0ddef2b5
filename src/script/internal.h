/*
** internal.h: the script layer's private interfaces, shared by lex.c,
** parse.c, ast.c, compile.c, verify.c, vm.c, dump.c and script.c.
** Never included from outside src/script/.
*/
#ifndef HD_SCRIPT_INTERNAL_H
#define HD_SCRIPT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "script/script.h"

/** Allocator callback (Lua lua_Alloc style): newsz 0 frees. */
typedef void *(*script_alloc_fn)(void *ud, void *p, size_t oldsz, size_t newsz);

/* ---- limits (HyperDbg's Constants.h) ---- */
#define SCRIPT_MAX_STEPS   1000000u
#define SCRIPT_STACK_SLOTS 256
#define SCRIPT_MAX_GLOBALS 512
#define SCRIPT_MAX_NEST    200      /* parser recursion limit */

/* ---- bytecode ---- */

enum script_op {
#define OP(name, extra, pops, pushes, doc) SOP_##name,
#include "script/opcodes.def"
#undef OP
	SOP__COUNT
};

/** Static description of each opcode (generated from opcodes.def). */
struct script_opinfo {
	const char *name;
	int8_t extra, pops, pushes;
	const char *doc;
};
extern const struct script_opinfo script_opinfo[SOP__COUNT];

#define SCRIPT_INS(op, a) ((uint32_t)(op) | ((uint32_t)(a) << 8))
#define SCRIPT_OPC(w)     ((int)((w) & 0xffu))
#define SCRIPT_OPA(w)     ((int32_t)(w) >> 8)
#define SCRIPT_A_MIN      (-(1 << 23))
#define SCRIPT_A_MAX      ((1 << 23) - 1)

/** The compiled program: one position-independent blob. Offsets are from
 *  the start of the blob; the blob can be copied anywhere (8-aligned). */
#define SCRIPT_BC_MAGIC   0x42534448u   /* "HDSB" */
#define SCRIPT_BC_VERSION 1u
struct script_bc {
	uint32_t magic, version;
	uint32_t size;              /* total bytes */
	uint32_t k_off, nk;         /* 64-bit constants */
	uint32_t code_off, ncode;   /* 32-bit instruction words */
	uint32_t str_off, nstr;     /* string table bytes (NUL-terminated) */
	uint32_t nglobals;          /* global slots referenced */
};

/** Comparison kinds of the fused compare-and-jump instructions. */
enum script_cmp {
	SCMP_EQ, SCMP_NE, SCMP_LTS, SCMP_LTU, SCMP_LES, SCMP_LEU, SCMP_GTS,
	SCMP_GTU, SCMP_GES, SCMP_GEU,
};

/* ---- run-time function ids (error names). Built-ins use HyperDbg's
 * FUNC_* numbers; ids >= 200 are the typed-operation errors of v0.23. ---- */
#define SF_FUNC_POI 63
#define SF_FUNC_DB 64
#define SF_FUNC_DD 65
#define SF_FUNC_DW 66
#define SF_FUNC_DQ 67
enum {
	FN_INC = 1, FN_DEC = 2, FN_REFERENCE = 3, FN_PRINT = 36, FN_FORMATS = 37,
	FN_EVENT_ENABLE = 38, FN_EVENT_DISABLE = 39, FN_EVENT_CLEAR = 40,
	FN_TEST_STATEMENT = 41, FN_SPINLOCK_LOCK = 42, FN_SPINLOCK_UNLOCK = 43,
	FN_EVENT_SC = 44, FN_MICROSLEEP = 45, FN_PRINTF = 46, FN_PAUSE = 47,
	FN_FLUSH = 48, FN_EVENT_TRACE_STEP = 49, FN_EVENT_TRACE_STEP_IN = 50,
	FN_EVENT_TRACE_STEP_OUT = 51, FN_EVENT_TRACE_INSTRUMENTATION_STEP = 52,
	FN_EVENT_TRACE_INSTRUMENTATION_STEP_IN = 53, FN_RDTSC = 54,
	FN_RDTSCP = 55, FN_LBR_SAVE = 56, FN_LBR_DUMP = 57, FN_LBR_PRINT = 58,
	FN_LBR_RESTORE = 59, FN_LBR_CHECK = 60, FN_SPINLOCK_LOCK_CUSTOM_WAIT = 61,
	FN_EVENT_INJECT = 62, FN_POI = 63, FN_DB = 64, FN_DD = 65, FN_DW = 66,
	FN_DQ = 67, FN_NEG = 68, FN_HI = 69, FN_LOW = 70, FN_NOT = 71,
	FN_CHECK_ADDRESS = 72, FN_DISASSEMBLE_LEN = 73, FN_DISASSEMBLE_LEN32 = 74,
	FN_DISASSEMBLE_LEN64 = 75, FN_INTERLOCKED_INCREMENT = 76,
	FN_INTERLOCKED_DECREMENT = 77, FN_PHYSICAL_TO_VIRTUAL = 78,
	FN_VIRTUAL_TO_PHYSICAL = 79, FN_POI_PA = 80, FN_HI_PA = 81,
	FN_LOW_PA = 82, FN_DB_PA = 83, FN_DD_PA = 84, FN_DW_PA = 85,
	FN_DQ_PA = 86, FN_LBR_RESTORE_BY_FILTER = 87, FN_ED = 88, FN_EB = 89,
	FN_EQ = 90, FN_INTERLOCKED_EXCHANGE = 91, FN_INTERLOCKED_EXCHANGE_ADD = 92,
	FN_EB_PA = 93, FN_ED_PA = 94, FN_EQ_PA = 95,
	FN_INTERLOCKED_COMPARE_EXCHANGE = 96, FN_STRLEN = 97, FN_STRCMP = 98,
	FN_MEMCMP = 99, FN_STRNCMP = 100, FN_WCSLEN = 101, FN_WCSCMP = 102,
	FN_EVENT_INJECT_ERROR_CODE = 103, FN_MEMCPY = 104, FN_MEMCPY_PA = 105,
	FN_WCSNCMP = 106,
	FN_ADD_TYPED = 200, FN_SUB_TYPED, FN_MUL_TYPED, FN_DIV_TYPED,
	FN_MOD_TYPED, FN_SHIFT_LEFT_TYPED, FN_SHIFT_RIGHT_TYPED,
	FN_TYPED_LOAD, FN_TYPED_STORE, FN_DEREF, FN_MOV,
};

/** @brief "FUNC_..." name of a run-time function id (vm.c). */
const char *script_func_name(int id);

/** @brief Run a verified blob (vm.c: freestanding, no allocation).
 *  @param globals the session's global slots (SCRIPT_MAX_GLOBALS). */
int script_vm_run(const struct script_bc *bc, const struct script_env *env,
		  uint64_t *globals, char *err, size_t errlen);
/** @brief script_vm_run() in caller-provided storage `s`, which makes the
 *  run resumable: SCRIPT_SUSPENDED when event_ctl() asked for it
 *  (script_resume() goes on). */
int script_vm_start(struct script_state *s, const struct script_bc *bc,
		    const struct script_env *env, uint64_t *globals, char *err, size_t errlen);

/** @brief Check a blob before it is run (verify.c): header, operand
 *  ranges, jump targets, stack depth per path. @return 0 or -HD_E_RUNTIME
 *  with `msg` filled. */
int script_verify(const struct script_bc *bc, size_t len, char *msg, size_t msglen);
/** @brief Same, and with `fill` store each function's computed maximum
 *  stack depth into its ENTER operand (used once by the compiler). */
int script_verify_ex(struct script_bc *bc, size_t len, bool fill, char *msg, size_t msglen,
		     script_alloc_fn alloc, void *ud);

/* ---- allocation (Lua lua_Alloc style) ---- */
void *script_default_alloc(void *ud, void *p, size_t oldsz, size_t newsz);

/** Bump arena for the compiler's tokens, AST and types. When an
 *  allocation fails, the arena longjmps to `oom` (set by the running
 *  stage) with *oom_rc = -ENOMEM; without a handler it aborts. */
struct script_arena {
	script_alloc_fn alloc;
	void *ud;
	struct arena_blk *blk;
	void *oom;              /* jmp_buf * */
	int *oom_rc;
};
void *script_arena_alloc(struct script_arena *a, size_t n);
char *script_arena_strndup(struct script_arena *a, const char *s, size_t n);
void script_arena_free(struct script_arena *a);

/* ---- types ---- */
enum ty_kind {
	TY_VOID, TY_BOOL, TY_I8, TY_I16, TY_I32, TY_I64, TY_U8, TY_U16, TY_U32,
	TY_U64, TY_F32, TY_F64, TY_PTR, TY_ARRAY, TY_STRUCT,
};
struct sdef;
struct ty {
	enum ty_kind k;
	uint32_t size, align;
	const struct ty *base;      /* pointee / element */
	uint32_t n;                 /* array length */
	struct sdef *sd;            /* struct */
};
struct smember {
	const char *name;
	const struct ty *t;
	uint32_t off;
};
struct sdef {
	const char *tag;
	bool complete;
	int nm;
	struct smember *m;
	uint32_t size, align;
	struct sdef *next;
};
extern const struct ty script_ty_scalar[TY_F64 + 1];
#define TYS(k) (&script_ty_scalar[k])
const struct ty *script_ty_ptr(struct script_arena *a, const struct ty *base);
const struct ty *script_ty_array(struct script_arena *a, const struct ty *el, uint32_t n);
bool script_ty_isint(const struct ty *t);
bool script_ty_isfloat(const struct ty *t);
bool script_ty_signed(const struct ty *t);
bool script_ty_scalar_k(const struct ty *t);

/* ---- lexer ---- */
enum tok {
	T_EOF, T_NUM, T_FLOAT, T_IDENT, T_REG, T_PSEUDO, T_GLOBAL, T_STR, T_WSTR,
	T_TYPE,      /* void bool char short int long unsigned signed float double */
	T_BUILTIN,   /* built-in function name (v = index in the built-in table) */
	T_IF, T_ELSIF, T_ELSE, T_WHILE, T_DO, T_FOR, T_BREAK, T_CONTINUE,
	T_RETURN, T_STRUCT, T_TYPEDEF, T_SIZEOF, T_INCLUDE,
	/* punctuation */
	T_LP, T_RP, T_LB, T_RB, T_LBK, T_RBK, T_COMMA, T_SEMI, T_COLON,
	T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PCT, T_TILDE, T_BANG, T_AMP, T_PIPE,
	T_CARET, T_SHL, T_SHR, T_LT, T_GT, T_LE, T_GE, T_EQ, T_NE, T_ANDAND,
	T_OROR, T_ASSIGN, T_ADDEQ, T_SUBEQ, T_MULEQ, T_DIVEQ, T_MODEQ, T_SHLEQ,
	T_SHREQ, T_ANDEQ, T_OREQ, T_XOREQ, T_INC, T_DEC, T_ARROW, T_DOT,
};

/** A source text: the script's own (name NULL) or an #include'd file. */
struct script_src {
	const char *name;
	const char *text;
};

struct token {
	enum tok k;
	int line, col;
	const struct script_src *in;  /* where line and col are */
	uint64_t v;          /* number value, register/pseudo id, float bits */
	const char *p;       /* source text */
	int len;
	char *s;             /* decoded string / name (arena) */
	int slen;            /* decoded length in bytes (without NUL) */
	bool hexword;        /* T_NUM that came from a word of hex digits */
};

struct lexer {
	const char *src, *p;
	int line;
	const char *line_start;
	enum tok prev;
	struct script_arena *arena;
	struct script_diag *diag;
	const struct script_src *in;  /* src and its file name (for diagnostics) */
};

/** @param in the text's name for diagnostics (may be NULL: the script's
 *  own text, unnamed); in->text must be `src`. */
void script_lex_init(struct lexer *lx, const char *src, const struct script_src *in,
		     struct script_arena *a, struct script_diag *diag);
/** @return 0 or -HD_E_PARSE (diag filled). */
int script_lex_next(struct lexer *lx, struct token *t);
/** Fill `diag` for position (line, col) of source `src` (the file `file`,
 *  NULL for the script's own text). */
void script_diag_set(struct script_diag *d, const char *src, const char *file, int line,
		     int col, const char *msg);

/* ---- built-in functions ---- */
enum bi_kind {
	BI_VALUE,    /* returns a value, E arguments */
	BI_STMT,     /* statement only */
	BI_STR,      /* string functions: S (or W) arguments then E */
};
struct script_builtin {
	const char *name;
	int func;          /* FN_* id */
	int nargs;         /* fixed count (printf: -1) */
	enum bi_kind kind;
	char argk[4];      /* per argument: 'E' value, 'S' narrow, 'W' wide */
};
extern const struct script_builtin script_builtins[];
int script_builtin_find(const char *name, size_t len);

/* ---- AST ---- */
enum nkind {
	/* expressions */
	N_NUM, N_FLT, N_STR, N_WSTR, N_VAR, N_REG, N_PSEUDO, N_UN, N_BIN,
	N_LAND, N_LOR, N_CALL, N_BUILTIN, N_INDEX, N_MEMBER, N_CAST,
	N_SIZEOF, N_ADDR, N_DEREF, N_INITLIST,
	/* statements */
	N_ASSIGN, N_INCDEC, N_EXPRSTMT, N_IF, N_WHILE, N_DO, N_FOR, N_BREAK,
	N_CONTINUE, N_RETURN, N_DECL, N_PRINTF, N_NOP,
};

struct var {
	const char *name;
	const struct ty *t;
	int slot;           /* local slot (frame relative) or global slot */
	bool global;
	bool implicit;      /* created by assignment, unsigned long long */
};

struct node;
struct func {
	const char *name;
	const struct ty *ret;
	int np;             /* parameters */
	int np_slots;       /* their frame slots (a struct takes several) */
	struct var **params;
	struct node *body;  /* statement list */
	int nslots;         /* frame slots: params + 2 + locals */
	int pc;             /* entry instruction (compile.c) */
	struct func *next;
	int line, col;
};

struct node {
	enum nkind k;
	int op;              /* token of the operator (T_PLUS...) or builtin index */
	int line, col;
	const struct script_src *in;  /* the text line/col are in (NULL: the script's) */
	struct node *a, *b, *c, *d;
	struct node *next;   /* statement / argument lists */
	uint64_t v;          /* N_NUM value, N_FLT bits, N_REG/N_PSEUDO id */
	const struct ty *t;  /* N_CAST/N_SIZEOF(type)/N_DECL type */
	struct var *var;     /* N_VAR, N_DECL */
	struct func *fn;     /* N_CALL */
	const char *s;       /* N_STR/N_WSTR bytes, N_MEMBER name, printf format */
	int slen;
	int n;               /* argument count */
};

struct node *script_node_new(struct script_arena *a, enum nkind k, const struct token *at);

/** The result of parsing: main body, functions, and the bookkeeping the
 *  compiler needs. */
struct parse_result {
	struct node *body;
	struct func *funcs;
	int main_slots;
};

/** Compiler-visible view of the session's globals (script.c). */
struct script_globals {
	uint64_t slot[SCRIPT_MAX_GLOBALS];
	int n;
	char *name[SCRIPT_MAX_GLOBALS];
	enum ty_kind kind[SCRIPT_MAX_GLOBALS];
};

struct parse_opts {
	script_resolve_fn resolve;
	void *resolve_ud;
	struct script_globals *globals;
	const char *include_dir;
	bool expr_only;       /* script_eval_expr: one value expression */
};

/** @brief Parse `src` into an AST (parse.c). New globals are appended to
 *  opts->globals; on failure the caller rolls them back. */
int script_parse(const char *src, const struct parse_opts *opts,
		 struct script_arena *a, struct parse_result *out,
		 struct script_diag *diag);

/** @brief Generate bytecode (compile.c). @return 0 / -HD_E_PARSE. */
int script_codegen(const struct parse_result *pr, struct script_arena *a,
		   int nglobals, const char *src, struct script_bc **out,
		   size_t *outlen, struct script_diag *diag);

/** Compiled program as handed out by script_compile(). */
struct script_prog {
	size_t len;
	struct script_bc *bc;
	script_alloc_fn alloc;
	void *ud;
};

/* ---- registers ---- */
#define SCRIPT_NREGS 120
extern const char *const script_reg_names[SCRIPT_NREGS];
extern const char *const script_pseudo_names[16];

#endif
