/*
** fuzz_asm.c: libFuzzer target for the assembler and disassembler.
** Arbitrary text goes through asm_assemble (with a resolver that knows
** every name starting with 's', so symbol paths run too); whatever it
** produces is disassembled back. Arbitrary bytes go through asm_disasm_one
** with a symbolizer. Invariants: no crash, no hang, no leak; an error has a
** position and a message, a success fits the buffer and emits nothing else.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm/asm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int resolve(void *ud, const char *name, uint64_t *v)
{
	(void)ud;
	if (name[0] != 's')
		return -HD_E_NOSYM;
	uint64_t h = 1469598103934665603ull;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	*v = (name[1] == 'l') ? (h & 0xffff) + 0x400000 : h;
	return 0;
}

static int symbolize(void *ud, uint64_t addr, char *buf, size_t len)
{
	(void)ud;
	if (addr & 1)
		return -1;
	snprintf(buf, len, "mod!f+0x%llx", (unsigned long long)(addr & 0xfff));
	return 0;
}

static void disasm_all(const uint8_t *code, size_t n, uint64_t addr)
{
	for (size_t off = 0; off < n;) {
		struct asm_insn in;
		int rc = asm_disasm_one(code + off, n - off, addr + off, symbolize, NULL, &in);
		if (in.len == 0 || in.len > 15 || (rc == 0 && asm_insn_length(code + off, n - off) != in.len))
			abort();
		off += in.len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[1 << 16];
	struct asm_error err;

	if (size > 8192)
		return 0;
	if (size > 0 && data[0] == 0xff) { /* raw bytes: the disassembler */
		disasm_all(data + 1, size - 1, 0x7f0000000000ull);
		return 0;
	}
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	memset(out, 0x5a, 16);
	size_t n = sizeof(out);
	int rc = asm_assemble(text, 0x400000, resolve, NULL, out, &n, &err);
	if (rc == 0) {
		if (n > sizeof(out))
			abort();
		disasm_all(out, n, 0x400000);
	} else {
		if (n != sizeof(out) || err.msg[0] == '\0' || err.line < 1 || err.col < 1)
			abort();
		for (int i = 0; i < 16; i++)
			if (out[i] != 0x5a)
				abort();
		/* the caret rendering stays in its buffer and ends with the caret */
		char caret[96];
		size_t cl = asm_error_render(text, &err, caret, sizeof(caret));
		if (cl >= sizeof(caret) || cl != strlen(caret) ||
		    (cl > 0 && caret[cl - 1] != '^'))
			abort();
	}
	free(text);
	return 0;
}
