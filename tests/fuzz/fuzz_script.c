/*
** fuzz_script.c: libFuzzer target for the script engine. Every input is
** compiled as a script (and as an expression); what compiles must pass the
** verifier, disassemble, and run to completion under the 1,000,000-step
** budget in an environment whose memory is a small sandbox buffer. Any
** crash, sanitizer report or hang is a bug.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "script/script.h"

static uint8_t sandbox[4096];
static uint64_t regs[120];

static int f_reg_read(void *ud, int r, uint64_t *v)
{
	(void)ud;
	if (r < 0 || r >= 120)
		abort();
	*v = regs[r];
	return 0;
}

static int f_reg_write(void *ud, int r, uint64_t v)
{
	(void)ud;
	if (r < 0 || r >= 120)
		abort();
	regs[r] = v;
	return 0;
}

static int in_sandbox(uint64_t a, size_t n)
{
	uint64_t b = (uint64_t)(uintptr_t)sandbox;
	return a >= b && n <= sizeof(sandbox) && a - b <= sizeof(sandbox) - n;
}

static int f_mem_read(void *ud, uint64_t a, void *buf, size_t n)
{
	(void)ud;
	if (!in_sandbox(a, n))
		return -14;
	memcpy(buf, (void *)(uintptr_t)a, n);
	return 0;
}

static int f_mem_write(void *ud, uint64_t a, const void *buf, size_t n)
{
	(void)ud;
	if (!in_sandbox(a, n))
		return -14;
	memcpy((void *)(uintptr_t)a, buf, n);
	return 0;
}

static int f_pseudo(void *ud, int id, uint64_t *v)
{
	(void)ud;
	*v = id == 2 ? (uint64_t)(uintptr_t)sandbox : 0;
	return 0;
}

static int f_output(void *ud, const char *fmt, const uint64_t *args, int n,
		    const struct script_mem *mem)
{
	char out[4096];
	(void)ud;
	return script_format(fmt, args, n, mem, out, sizeof(out)) < 0 ? -1 : 0;
}

static int resolve(void *ud, const char *name, uint64_t *v)
{
	(void)ud;
	if (!strcmp(name, "main")) {
		*v = (uint64_t)(uintptr_t)sandbox;
		return 0;
	}
	return -HD_E_NOSYM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct script_globals *g;
	struct script_env env = {0};
	struct script_compile_opts o = {.sz = sizeof(o), .resolve = resolve};
	struct script_prog *p = NULL;
	struct script_diag d;
	char err[256], msg[128];
	char *src;
	uint64_t v;

	if (size > 8192)
		return 0;
	if (!g)
		g = script_globals_new();
	src = malloc(size + 1);
	memcpy(src, data, size);
	src[size] = 0;
	env.ud = &env;
	env.reg_read = f_reg_read;
	env.reg_write = f_reg_write;
	env.mem_read = f_mem_read;
	env.mem_write = f_mem_write;
	env.pseudo_read = f_pseudo;
	env.output = f_output;
	memset(regs, 0, sizeof(regs));
	regs[20] = (uint64_t)(uintptr_t)sandbox + 64;
	o.globals = g;
	if (script_compile(src, &o, &p, &d) == 0) {
		size_t len;
		const void *bc = script_prog_bytecode(p, &len);
		struct hd_buf b = {0};
		if (script_bytecode_verify(bc, len, msg, sizeof(msg)) != 0)
			abort();        /* the compiler produced unverifiable code */
		script_prog_dump(p, &b);
		hd_buf_free(&b);
		(void)script_run(p, &env, g, err, sizeof(err));
		script_prog_free(p);
	}
	(void)script_eval_expr(src, &env, resolve, NULL, &v, &d);
	free(src);
	return 0;
}
