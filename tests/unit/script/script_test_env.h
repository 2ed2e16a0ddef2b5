/*
** script_test_env.h: a test environment for the script unit tests: the
** register file of HyperDbg's test runner (rax=1, rdx=3, rbx=4, ...), host
** memory readable above 64 KiB, output captured as formatted text.
*/
#ifndef HD_TEST_SCRIPT_ENV_H
#define HD_TEST_SCRIPT_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script/script.h"

struct tenv {
	struct script_env env;
	uint64_t regs[120];
	char out[16384];
	size_t outlen;
	uint64_t test_value;
	int test_calls;
	int reg_reads_sub;      /* reg_read called with a sub-register id */
	int events[8];
	int nevents;
};

static inline int tenv_is_full_reg(int r)
{
	static const int full[] = {0, 5, 10, 15, 20, 24, 28, 32, 36, 41, 46, 51, 56, 61, 66, 71,
				   76, 77, 78, 79, 80, 81, 82, 102};
	for (size_t i = 0; i < sizeof(full) / sizeof(full[0]); i++)
		if (full[i] == r)
			return 1;
	return r >= 105;
}

static int tenv_reg_read(void *ud, int r, uint64_t *v)
{
	struct tenv *t = ud;
	if (!tenv_is_full_reg(r))
		t->reg_reads_sub++;
	*v = t->regs[r];
	return 0;
}

static int tenv_reg_write(void *ud, int r, uint64_t v)
{
	struct tenv *t = ud;
	if (!tenv_is_full_reg(r))
		t->reg_reads_sub++;
	t->regs[r] = v;
	return 0;
}

static int tenv_mem_read(void *ud, uint64_t a, void *b, size_t n)
{
	(void)ud;
	if (a < 0x10000)
		return -14;
	memcpy(b, (void *)(uintptr_t)a, n);
	return 0;
}

static int tenv_mem_write(void *ud, uint64_t a, const void *b, size_t n)
{
	(void)ud;
	if (a < 0x10000)
		return -14;
	memcpy((void *)(uintptr_t)a, b, n);
	return 0;
}

static int tenv_pseudo(void *ud, int id, uint64_t *v)
{
	(void)ud;
	*v = id == 0 ? 4242 : 0;
	return 0;
}

static int tenv_output(void *ud, const char *fmt, const uint64_t *args, int n,
		       const struct script_mem *mem)
{
	struct tenv *t = ud;
	char buf[4096];
	int r = script_format(fmt, args, n, mem, buf, sizeof(buf));
	size_t len = strlen(buf);
	if (r < 0)
		return r;
	if (t->outlen + len < sizeof(t->out)) {
		memcpy(t->out + t->outlen, buf, len + 1);
		t->outlen += len;
	}
	return 0;
}

static void tenv_test(void *ud, uint64_t v)
{
	struct tenv *t = ud;
	t->test_value = v;
	t->test_calls++;
}

static inline void tenv_init(struct tenv *t)
{
	memset(t, 0, sizeof(*t));
	t->env.ud = t;
	t->env.reg_read = tenv_reg_read;
	t->env.reg_write = tenv_reg_write;
	t->env.mem_read = tenv_mem_read;
	t->env.mem_write = tenv_mem_write;
	t->env.pseudo_read = tenv_pseudo;
	t->env.output = tenv_output;
	t->env.test_statement = tenv_test;
	t->regs[0] = 1;
	t->regs[10] = 3;
	t->regs[15] = 4;
	t->regs[20] = 5;
	t->regs[24] = 6;
	t->regs[28] = 7;
	t->regs[32] = 8;
	for (int i = 0; i < 6; i++)
		t->regs[36 + 5 * i] = (uint64_t)(9 + i);
}

/* Compile and run `src` in a fresh environment; returns the compile or
 * run result; output in t->out, compile diagnostics in *d, run error in
 * err. */
static inline int tenv_run(struct tenv *t, struct script_globals *g, const char *src,
		    struct script_diag *d, char *err, size_t errlen)
{
	struct script_compile_opts o = {.sz = sizeof(o), .globals = g};
	struct script_prog *p;
	int rc = script_compile(src, &o, &p, d);
	if (rc < 0)
		return rc;
	rc = script_run(p, &t->env, g, err, errlen);
	script_prog_free(p);
	return rc;
}

#endif
