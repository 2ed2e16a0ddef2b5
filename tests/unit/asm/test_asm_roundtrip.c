/*
** test_asm_roundtrip.c: the assembler against real code. Every instruction
** of the .text of /bin/bash, libc and ld.so is decoded and formatted (asm_disasm_one),
** assembled back at the same address (asm_assemble), and decoded again: the
** formatted text must be identical (same mnemonic and operands; the encoding
** may differ where several exist). Goal: >= 99.5% per binary. Prints the rate
** and the commonest failure kinds with their first example.
** A second style formats with Zydis's default Intel formatter (sizes only
** where Zydis thinks them needed, upper-case hex, padded addresses), which
** exercises the assembler's operand-size inference.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <Zydis/Zydis.h>

#include "asm/asm.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

struct kind {
	char key[64];
	int count;
	char example[512];
};

struct stats {
	long total, ok, undecodable;
	struct kind kinds[256];
	int nkinds;
};

static void note_failure(struct stats *s, const char *key, const char *example)
{
	for (int i = 0; i < s->nkinds; i++)
		if (!strcmp(s->kinds[i].key, key)) {
			s->kinds[i].count++;
			return;
		}
	if (s->nkinds == (int)(sizeof(s->kinds) / sizeof(s->kinds[0])))
		return;
	struct kind *k = &s->kinds[s->nkinds++];
	snprintf(k->key, sizeof(k->key), "%s", key);
	snprintf(k->example, sizeof(k->example), "%s", example);
	k->count = 1;
}

static int cmp_kind(const void *a, const void *b)
{
	return ((const struct kind *)b)->count - ((const struct kind *)a)->count;
}

/* Map the file and find .text through the section headers. */
static const uint8_t *map_text(const char *path, size_t *len, uint64_t *addr, void **map,
			       size_t *maplen)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	*maplen = (size_t)st.st_size;
	*map = mmap(NULL, *maplen, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (*map == MAP_FAILED)
		return NULL;
	const uint8_t *base = *map;
	const Elf64_Ehdr *eh = *map;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return NULL;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(base + eh->e_shoff);
	const char *names = (const char *)(base + sh[eh->e_shstrndx].sh_offset);
	for (int i = 0; i < eh->e_shnum; i++)
		if (!strcmp(names + sh[i].sh_name, ".text")) {
			*len = sh[i].sh_size;
			*addr = sh[i].sh_addr;
			return base + sh[i].sh_offset;
		}
	return NULL;
}

static ZydisDecoder zdec;
static ZydisFormatter zfmt;

/* Format like asm_disasm_one but with Zydis's default Intel style. */
static int plain_format(const uint8_t *code, size_t len, uint64_t addr, struct asm_insn *in)
{
	ZydisDecodedInstruction d;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];

	memset(in, 0, sizeof(*in));
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&zdec, code, len, &d, ops)))
		return -1;
	in->len = d.length;
	if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&zfmt, &d, ops, d.operand_count_visible,
							  in->text, sizeof(in->text), addr, NULL)))
		return -1;
	return 0;
}

static void roundtrip_one(struct stats *s, uint64_t addr, const struct asm_insn *in, bool plain)
{
	uint8_t out[64];
	size_t n = sizeof(out);
	struct asm_error err;
	struct asm_insn back;
	char key[64], ex[512];
	char mn[24];

	sscanf(in->text, "%23s", mn);
	if (!strcmp(mn, "lock") || !strcmp(mn, "rep") || !strcmp(mn, "repe") ||
	    !strcmp(mn, "repne") || !strcmp(mn, "bnd") || !strcmp(mn, "notrack"))
		sscanf(in->text, "%*s %23s", mn);
	s->total++;
	if (asm_assemble(in->text, addr, NULL, NULL, out, &n, &err) != 0) {
		const char *q = strchr(err.msg, '(');
		snprintf(key, sizeof(key), "error %.*s: %s", (int)(q ? q - err.msg : 40), err.msg, mn);
		snprintf(ex, sizeof(ex), "'%.200s' -> %s", in->text, err.msg);
		note_failure(s, key, ex);
		return;
	}
	int drc = plain ? plain_format(out, n, addr, &back)
			: asm_disasm_one(out, n, addr, NULL, NULL, &back);
	if (drc != 0 || back.len != n ||
	    strcmp(back.text, in->text)) {
		snprintf(key, sizeof(key), "mismatch: %s", mn);
		snprintf(ex, sizeof(ex), "'%.200s' -> '%.200s' (%zu bytes, decoded %u)", in->text,
			 back.text, n, back.len);
		note_failure(s, key, ex);
		return;
	}
	s->ok++;
}

static void run_binary(const char *path, bool plain)
{
	void *map = NULL;
	size_t maplen = 0, len = 0;
	uint64_t addr = 0;
	const uint8_t *text = map_text(path, &len, &addr, &map, &maplen);
	if (!text) {
		fail_msg("roundtrip: %s not readable as ELF64 with .text", path);
	}
	struct stats *s = calloc(1, sizeof(*s));
	/* under the sanitizers, every 8th instruction keeps the run short */
	int stride = SANITIZED ? 8 : 1;
	long idx = 0;
	clock_t t0 = clock();
	for (size_t off = 0; off < len;) {
		struct asm_insn in;
		int drc = plain ? plain_format(text + off, len - off, addr + off, &in)
				: asm_disasm_one(text + off, len - off, addr + off, NULL, NULL, &in);
		if (drc != 0) {
			s->undecodable++;
			off += 1;
			continue;
		}
		if (idx++ % stride == 0)
			roundtrip_one(s, addr + off, &in, plain);
		off += in.len;
	}
	double rate = s->total ? 100.0 * (double)s->ok / (double)s->total : 0;
	print_message("roundtrip %s (%s): %ld/%ld instructions (%.3f%%)%s, %ld undecodable bytes, %.1f s\n",
		      path, plain ? "Zydis default style" : "asm_disasm_one", s->ok, s->total, rate, stride > 1 ? " [sampled 1/8]" : "",
		      s->undecodable, (double)(clock() - t0) / CLOCKS_PER_SEC);
	qsort(s->kinds, (size_t)s->nkinds, sizeof(s->kinds[0]), cmp_kind);
	for (int i = 0; i < s->nkinds && i < 20; i++)
		print_message("  %6d  %-40s e.g. %s\n", s->kinds[i].count, s->kinds[i].key,
			      s->kinds[i].example);
	long total = s->total;
	free(s);
	munmap(map, maplen);
	assert_true(total > 2000);
	assert_true(rate >= 99.5);
}

static void test_roundtrip_bash(void **state)
{
	(void)state;
	run_binary("/bin/bash", false);
}

static void test_roundtrip_libc(void **state)
{
	(void)state;
	run_binary("/lib/x86_64-linux-gnu/libc.so.6", false);
}

static void test_roundtrip_ld_so(void **state)
{
	(void)state;
	run_binary("/lib64/ld-linux-x86-64.so.2", false);
}

static void test_roundtrip_bash_zydis_style(void **state)
{
	(void)state;
	run_binary("/bin/bash", true);
}

static void test_roundtrip_libc_zydis_style(void **state)
{
	(void)state;
	run_binary("/lib/x86_64-linux-gnu/libc.so.6", true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_bash),
		cmocka_unit_test(test_roundtrip_libc),
		cmocka_unit_test(test_roundtrip_ld_so),
		cmocka_unit_test(test_roundtrip_bash_zydis_style),
		cmocka_unit_test(test_roundtrip_libc_zydis_style),
	};
	ZydisDecoderInit(&zdec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisFormatterInit(&zfmt, ZYDIS_FORMATTER_STYLE_INTEL);
	/* rip-relative operands as [rip+disp]: an absolute [0x...] would be a
	 * different (non-rip) address form when assembled back */
	ZydisFormatterSetProperty(&zfmt, ZYDIS_FORMATTER_PROP_FORCE_RELATIVE_RIPREL, ZYAN_TRUE);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
