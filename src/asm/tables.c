/*
** tables.c: name tables of the assembler. Mnemonics and registers come from
** Zydis's own string tables (sorted once for binary search); the aliases
** that Keystone and GNU as accept on top of Zydis's names are listed here.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm/internal.h"

struct name_id {
	const char *name;
	int id;
};

static struct name_id mnems[ZYDIS_MNEMONIC_MAX_VALUE + 1];
static int nmnems;
static struct name_id regs[ZYDIS_REGISTER_MAX_VALUE + 1];
static int nregs;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* Condition-code spellings that Zydis does not use, and Zydis's name. */
static const char *const cc_alias[][2] = {
	{ "e", "z" },    { "ne", "nz" },  { "c", "b" },   { "nae", "b" },
	{ "nc", "nb" },  { "ae", "nb" },  { "na", "be" }, { "a", "nbe" },
	{ "nge", "l" },  { "ge", "nl" },  { "ng", "le" }, { "g", "nle" },
	{ "pe", "p" },   { "po", "np" },
};

/* Other aliases: alias, Zydis name, and what the spelling implies. Looked up
 * before Zydis's own names: in 64-bit mode GNU as and Keystone read `pushf`,
 * `popf` and `iret` at the default operand size (pushfq, popfq, iretd),
 * where Zydis's names of those spellings are the 16-bit forms. */
#define OSZ(n) { ZYDIS_OPERAND_SIZE_HINT_##n, 0, 0, 0 }
#define FAR(w) { 0, ZYDIS_BRANCH_TYPE_FAR, ZYDIS_BRANCH_WIDTH_##w, 0 }
static const struct {
	const char *alias, *name;
	struct asm_mnem_hint hint;
} mn_alias[] = {
	{ "movabs", "mov", { 0 } },     { "sal", "shl", { 0 } },
	{ "retn", "ret", { 0 } },       { "retq", "ret", { 0 } },
	{ "wait", "fwait", { 0 } },     { "xlatb", "xlat", { 0 } },
	{ "icebp", "int1", { 0 } },     { "int01", "int1", { 0 } },
	{ "loopz", "loope", { 0 } },    { "loopnz", "loopne", { 0 } },
	{ "cwtl", "cwde", { 0 } },      { "cltq", "cdqe", { 0 } },
	{ "cqto", "cqo", { 0 } },       { "cltd", "cdq", { 0 } },
	{ "cwtd", "cwd", { 0 } },       { "cbtw", "cbw", { 0 } },
	{ "callq", "call", { 0 } },     { "jmpq", "jmp", { 0 } },
	{ "sysretq", "sysret", OSZ(64) },
	{ "sysexitq", "sysexit", { ZYDIS_OPERAND_SIZE_HINT_64, 0, 0, 0x48 } },
	{ "pushf", "pushfq", { 0 } },   { "popf", "popfq", { 0 } },
	{ "pushfw", "pushf", { 0 } },   { "popfw", "popf", { 0 } },
	{ "iret", "iretd", { 0 } },     { "iretw", "iret", { 0 } },
	{ "pushq", "push", OSZ(64) },   { "popq", "pop", OSZ(64) },
	{ "pushw", "push", OSZ(16) },   { "popw", "pop", OSZ(16) },
	{ "leaveq", "leave", { 0 } },   { "leavew", "leave", OSZ(16) },
	{ "enterq", "enter", { 0 } },   { "enterw", "enter", OSZ(16) },
	{ "retf", "ret", FAR(NONE) },   { "lret", "ret", FAR(NONE) },
	{ "retfd", "ret", FAR(NONE) },  { "retfq", "ret", FAR(64) },
	{ "lretq", "ret", FAR(64) },    { "retfw", "ret", FAR(16) },
	{ "lretw", "ret", FAR(16) },
};
#undef OSZ
#undef FAR

static int cmp_name_id(const void *a, const void *b)
{
	return strcmp(((const struct name_id *)a)->name, ((const struct name_id *)b)->name);
}

static void tables_init(void)
{
	for (int m = ZYDIS_MNEMONIC_INVALID + 1; m <= ZYDIS_MNEMONIC_MAX_VALUE; m++) {
		const char *s = ZydisMnemonicGetString((ZydisMnemonic)m);
		if (s)
			mnems[nmnems++] = (struct name_id){ s, m };
	}
	qsort(mnems, (size_t)nmnems, sizeof(mnems[0]), cmp_name_id);
	for (int r = ZYDIS_REGISTER_NONE + 1; r <= ZYDIS_REGISTER_MAX_VALUE; r++) {
		const char *s = ZydisRegisterGetString((ZydisRegister)r);
		if (s)
			regs[nregs++] = (struct name_id){ s, r };
	}
	qsort(regs, (size_t)nregs, sizeof(regs[0]), cmp_name_id);
}

static int table_find(const struct name_id *t, int n, const char *name)
{
	struct name_id key = { name, 0 };
	const struct name_id *hit = bsearch(&key, t, (size_t)n, sizeof(*t), cmp_name_id);
	return hit ? hit->id : -1;
}

static ZydisMnemonic mnemonic_exact(const char *name)
{
	int id = table_find(mnems, nmnems, name);
	return id < 0 ? ZYDIS_MNEMONIC_INVALID : (ZydisMnemonic)id;
}

ZydisMnemonic asm_mnemonic_lookup(const char *name, struct asm_mnem_hint *hint)
{
	static const char *const cc_prefix[] = { "j", "set", "cmov" };
	char buf[32];

	pthread_once(&tables_once, tables_init);
	if (hint)
		memset(hint, 0, sizeof(*hint));
	for (size_t i = 0; i < HD_ARRAY_SIZE(mn_alias); i++)
		if (!strcmp(name, mn_alias[i].alias)) {
			if (hint)
				*hint = mn_alias[i].hint;
			return mnemonic_exact(mn_alias[i].name);
		}
	ZydisMnemonic m = mnemonic_exact(name);
	if (m != ZYDIS_MNEMONIC_INVALID)
		return m;
	for (size_t p = 0; p < HD_ARRAY_SIZE(cc_prefix); p++) {
		size_t pl = strlen(cc_prefix[p]);
		if (strncmp(name, cc_prefix[p], pl))
			continue;
		for (size_t i = 0; i < HD_ARRAY_SIZE(cc_alias); i++) {
			if (strcmp(name + pl, cc_alias[i][0]))
				continue;
			snprintf(buf, sizeof(buf), "%s%s", cc_prefix[p], cc_alias[i][1]);
			return mnemonic_exact(buf);
		}
	}
	return ZYDIS_MNEMONIC_INVALID;
}

ZydisRegister asm_register_lookup(const char *name)
{
	pthread_once(&tables_once, tables_init);
	int id = table_find(regs, nregs, name);
	return id < 0 ? ZYDIS_REGISTER_NONE : (ZydisRegister)id;
}

bool asm_mnemonic_is_branch(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_JMP: case ZYDIS_MNEMONIC_CALL:
	case ZYDIS_MNEMONIC_JB: case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_JCXZ:
	case ZYDIS_MNEMONIC_JECXZ: case ZYDIS_MNEMONIC_JRCXZ: case ZYDIS_MNEMONIC_JL:
	case ZYDIS_MNEMONIC_JLE: case ZYDIS_MNEMONIC_JNB: case ZYDIS_MNEMONIC_JNBE:
	case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_JNLE: case ZYDIS_MNEMONIC_JNO:
	case ZYDIS_MNEMONIC_JNP: case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_JNZ:
	case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_JS:
	case ZYDIS_MNEMONIC_JZ: case ZYDIS_MNEMONIC_LOOP: case ZYDIS_MNEMONIC_LOOPE:
	case ZYDIS_MNEMONIC_LOOPNE: case ZYDIS_MNEMONIC_XBEGIN:
		return true;
	default:
		return false;
	}
}

bool asm_looks_like_register(const char *s)
{
	static const char *const pfx[] = { "xmm", "ymm", "zmm", "st(" };
	size_t n = strlen(s);

	for (size_t i = 0; i < HD_ARRAY_SIZE(pfx); i++)
		if (!strncmp(s, pfx[i], strlen(pfx[i])))
			return true;
	/* rXX / eXX of register length, r8..r15 with a size suffix */
	if ((s[0] == 'r' || s[0] == 'e') && n == 3 && strchr("xpil", s[2]))
		return true;
	return s[0] == 'r' && n >= 2 && n <= 4 && s[1] >= '0' && s[1] <= '9';
}
