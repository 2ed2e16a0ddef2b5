/*
** script_bench.c: the script VM against Lua 5.4's interpreter on the same
** loop-heavy computations (manual test case 30's prime sum and a loop of
** simple assignments). Each script run stays within HyperDbg's
** 1,000,000-step budget, so the script is run many times; Lua runs the
** same computation the same number of times in one process (`lua5.4`).
** Prints the best time per run over 5 batches (the machine is shared),
** the ratio, and the VM's cost per simple statement in ns.
** Usage: script_bench [runs] (default 2000).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "script/script.h"

struct bench {
	const char *name;
	const char *script;
	const char *lua;        /* body of a Lua function computing the same */
	const char *expect;     /* the script's output */
	double stmts;           /* simple statements executed per run */
};

static const struct bench benches[] = {
	{
		"prime sum below 0n1000 (manual case 30)",
		"sum_of_prime_nums = 0;\n"
		"for (i = 2; i < 0n1000; i++) {\n"
		"  for (j = 2; j <= (i / j); j++) {\n"
		"    if ((i % j) == 0) { break; }\n"
		"  }\n"
		"  if (j > (i / j)) { sum_of_prime_nums = sum_of_prime_nums + i; }\n"
		"}\n"
		"printf(\"%d\\n\", sum_of_prime_nums);\n",
		"local s = 0\n"
		"for i = 2, 999 do\n"
		"  local j = 2\n"
		"  while j <= i // j do\n"
		"    if i % j == 0 then break end\n"
		"    j = j + 1\n"
		"  end\n"
		"  if j > i // j then s = s + i end\n"
		"end\n"
		"return s\n",
		"76127\n",
		0,
	},
	{
		"simple statements (4 assignments per iteration)",
		"x = 0; y = 0; z = 0; w = 0;\n"
		"for (i = 0; i < 0n20000; i++) {\n"
		"  x = x + 1; y = y + x; z = z ^ y; w = w + 3;\n"
		"}\n"
		"printf(\"%llx\\n\", x + y + z + w);\n",
		"local x, y, z, w = 0, 0, 0, 0\n"
		"for i = 0, 19999 do\n"
		"  x = x + 1; y = y + x; z = z ~ y; w = w + 3\n"
		"end\n"
		"return x + y + z + w\n",
		NULL,
		20000.0 * 4,
	},
	{
		"recursive calls (fib(0n18), 8361 calls)",
		"int fib(int n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); }\n"
		"printf(\"%d\\n\", fib(0n18));\n",
		"local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\n"
		"return fib(18)\n",
		"2584\n",
		0,
	},
};

static char outbuf[256];

static int out(void *ud, const char *fmt, const uint64_t *args, int n,
	       const struct script_mem *mem)
{
	(void)ud;
	return script_format(fmt, args, n, mem, outbuf, sizeof(outbuf)) < 0 ? -1 : 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* seconds per run of the Lua version, or -1 if lua5.4 is missing */
static double lua_time(const struct bench *b, int runs)
{
	char path[] = "/tmp/hd_bench_luaXXXXXX";
	int fd = mkstemp(path);
	FILE *f, *p;
	char cmd[256], line[128] = "";
	double t = -1;

	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	fprintf(f, "local function run()\n%s\nend\n"
		"local r = run()\nlocal best = 1e9\n"
		"for batch = 1, 5 do\n"
		"  local t0 = os.clock()\n"
		"  for k = 1, %d do r = run() end\n"
		"  local t = (os.clock() - t0) / %d\n"
		"  if t < best then best = t end\n"
		"end\n"
		"print(string.format('%%.9f %%d', best, r))\n",
		b->lua, runs / 5 + 1, runs / 5 + 1);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "lua5.4 %s 2>/dev/null", path);
	p = popen(cmd, "r");
	if (p) {
		if (fgets(line, sizeof(line), p))
			t = strtod(line, NULL);
		if (pclose(p) != 0)
			t = -1;
	}
	unlink(path);
	return t > 0 ? t : -1;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 2000;
	struct script_env env = {.output = out};
	int status = 0;

	printf("Script VM vs Lua 5.4 (%d runs each)\n", runs);
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		const struct bench *b = &benches[i];
		struct script_prog *p;
		struct script_diag d;
		char err[128];
		double t0, vm, lua;

		if (script_compile(b->script, NULL, &p, &d)) {
			fprintf(stderr, "%s: compile error: %s\n", b->name, d.msg);
			return 1;
		}
		if (script_run(p, &env, NULL, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", b->name, err);
			return 1;
		}
		if (b->expect && strcmp(outbuf, b->expect)) {
			fprintf(stderr, "%s: wrong result %s", b->name, outbuf);
			return 1;
		}
		/* best of 5 batches: the machine is shared */
		vm = 1e9;
		for (int batch = 0; batch < 5; batch++) {
			double t;
			t0 = now();
			for (int r = 0; r < runs / 5 + 1; r++)
				if (script_run(p, &env, NULL, err, sizeof(err)))
					return 1;
			t = (now() - t0) / (runs / 5 + 1);
			if (t < vm)
				vm = t;
		}
		script_prog_free(p);
		lua = lua_time(b, runs);
		printf("%-50s VM %9.1f us/run", b->name, vm * 1e6);
		if (lua > 0)
			printf("   Lua %9.1f us/run   VM/Lua %.2f", lua * 1e6, vm / lua);
		else
			printf("   (lua5.4 not available: no ratio)");
		if (b->stmts > 0)
			printf("   %.2f ns/statement", vm * 1e9 / b->stmts);
		printf("\n");
	}
	return status;
}
