/*
** test_asm_gas.c: differential test against GNU as. Every line of
** gas_lines.txt (one case per line; `;` separates statements, labels are
** local to the line) is assembled by asm_assemble and by
** `as -msyntax=intel -mnaked-reg` (with `.intel_syntax noprefix`); the bytes
** must be identical.
**
** Deliberate differences are marked in the data file with a trailing
** `#! reason`: for those the bytes must differ (so a stale mark is noticed)
** and both encodings must decode to the same instruction text.
** Lines are batched into one `as` run, each behind a marker symbol whose
** offset `nm` reports; lines that define labels run alone.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asm/asm.h"

#define MAX_LINES 2000

struct tcase {
	char *text;        /* the line as written (marker included) */
	bool differs;      /* `#!` mark */
	bool solo;         /* defines a label */
	int lineno;
	uint8_t gas[4096];
	size_t ngas;
	bool have_gas;
};

static char tmpdir[64];

static int run(const char *fmt, ...) HD_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static bool defines_label(const char *s)
{
	for (const char *p = strchr(s, ':'); p; p = strchr(p + 1, ':')) {
		const char *b = p;
		while (b > s && (isalnum((unsigned char)b[-1]) || b[-1] == '_' || b[-1] == '.'))
			b--;
		size_t n = (size_t)(p - b);
		if (n == 2 && strchr("cdefgs", tolower((unsigned char)b[0])) &&
		    tolower((unsigned char)b[1]) == 's')
			continue; /* segment override */
		if (n > 0)
			return true;
	}
	return false;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	*len = fread(b, 1, (size_t)n, f);
	b[*len] = '\0';
	fclose(f);
	return b;
}

/* Assemble the cases idx[0..n) with GNU as in one file; fill their bytes. */
static void gas_batch(struct tcase *tc, const int *idx, int n, const char *name)
{
	char path[128], *nm, *bin;
	size_t nmlen, binlen;
	uint64_t *off = calloc((size_t)n + 1, sizeof(*off));

	snprintf(path, sizeof(path), "%s/%s.s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, ".intel_syntax noprefix\n.text\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "__hd_%d:\n%s\n", i, tc[idx[i]].text);
	fprintf(f, "__hd_%d:\n", n);
	fclose(f);
	if (run("cd %s && as --64 -msyntax=intel -mnaked-reg -o %s.o %s.s 2> %s.err", tmpdir, name,
		name, name) != 0) {
		snprintf(path, sizeof(path), "%s/%s.err", tmpdir, name);
		char *e = slurp(path, &nmlen);
		fail_msg("GNU as rejected %s (line %d): %s", name, tc[idx[0]].lineno, e ? e : "?");
	}
	assert_int_equal(run("cd %s && objcopy -O binary -j .text %s.o %s.bin && nm %s.o > %s.nm",
			     tmpdir, name, name, name, name), 0);
	snprintf(path, sizeof(path), "%s/%s.nm", tmpdir, name);
	nm = slurp(path, &nmlen);
	snprintf(path, sizeof(path), "%s/%s.bin", tmpdir, name);
	bin = slurp(path, &binlen);
	assert_non_null(nm);
	assert_non_null(bin);
	for (char *l = nm; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long long v;
		int k;
		if (sscanf(l, "%llx %*c __hd_%d", &v, &k) == 2 && k >= 0 && k <= n)
			off[k] = v;
	}
	for (int i = 0; i < n; i++) {
		struct tcase *t = &tc[idx[i]];
		size_t end = i + 1 == n ? binlen : off[i + 1];
		t->ngas = end - off[i];
		assert_true(t->ngas <= sizeof(t->gas));
		memcpy(t->gas, bin + off[i], t->ngas);
		t->have_gas = true;
	}
	free(nm);
	free(bin);
	free(off);
}

static void hex(char *dst, size_t cap, const uint8_t *b, size_t n)
{
	dst[0] = '\0';
	for (size_t i = 0; i < n && strlen(dst) + 4 < cap; i++)
		snprintf(dst + strlen(dst), cap - strlen(dst), "%02x ", b[i]);
}

/* Same instruction sequence: identical disassembly, instruction by instruction. */
static bool same_text(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	size_t ia = 0, ib = 0;
	while (ia < na && ib < nb) {
		struct asm_insn x, y;
		if (asm_disasm_one(a + ia, na - ia, ia, NULL, NULL, &x) ||
		    asm_disasm_one(b + ib, nb - ib, ib, NULL, NULL, &y) || strcmp(x.text, y.text))
			return false;
		ia += x.len;
		ib += y.len;
	}
	return ia == na && ib == nb;
}

static void test_against_gas(void **state)
{
	(void)state;
	size_t len;
	char *data = slurp(HD_SOURCE_DIR "/tests/unit/asm/gas_lines.txt", &len);
	static struct tcase tc[MAX_LINES];
	static int batch[MAX_LINES];
	int n = 0, nb = 0, lineno = 0;

	assert_non_null(data);
	if (system("as --version > /dev/null 2>&1") != 0)
		fail_msg("GNU as (binutils) not found: the differential test needs it");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hd_asm_gas_XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	for (char *l = strtok(data, "\n"); l; l = strtok(NULL, "\n")) {
		lineno++;
		while (isspace((unsigned char)*l))
			l++;
		if (*l == '\0' || *l == '#')
			continue;
		assert_true(n < MAX_LINES);
		tc[n].text = l;
		tc[n].lineno = lineno;
		tc[n].differs = strstr(l, "#!") != NULL;
		tc[n].solo = defines_label(l);
		if (!tc[n].solo)
			batch[nb++] = n;
		n++;
	}
	gas_batch(tc, batch, nb, "batch");
	for (int i = 0; i < n; i++)
		if (tc[i].solo) {
			char name[32];
			snprintf(name, sizeof(name), "solo%d", i);
			gas_batch(tc, &i, 1, name);
		}

	int same = 0, failures = 0, differs = 0;
	uint64_t addr = 0;
	for (int i = 0; i < n; i++) {
		struct tcase *t = &tc[i];
		uint8_t out[4096];
		size_t nout = sizeof(out);
		struct asm_error err;
		char h1[512], h2[512];
		/* batched lines sit at their offset in GNU's section: same address here */
		uint64_t at = t->solo ? 0 : addr;
		if (!t->solo)
			addr += t->ngas;
		if (asm_assemble(t->text, at, NULL, NULL, out, &nout, &err) != 0) {
			print_message("line %d: '%s': error %d:%d %s\n", t->lineno, t->text, err.line,
				      err.col, err.msg);
			failures++;
			continue;
		}
		bool eq = nout == t->ngas && !memcmp(out, t->gas, nout);
		hex(h1, sizeof(h1), out, nout);
		hex(h2, sizeof(h2), t->gas, t->ngas);
		if (eq && !t->differs) {
			same++;
		} else if (!eq && t->differs && same_text(out, nout, t->gas, t->ngas)) {
			differs++;
		} else {
			print_message("line %d: '%s': hdbg %s| gas %s%s\n", t->lineno, t->text, h1, h2,
				      t->differs ? " (marked #! but identical or not equivalent)" : "");
			failures++;
		}
	}
	print_message("gas differential: %d lines, %d identical, %d documented differences, "
		      "%d failures\n", n, same, differs, failures);
	run("rm -rf %s", tmpdir);
	free(data);
	assert_true(n >= 500);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_gas),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
