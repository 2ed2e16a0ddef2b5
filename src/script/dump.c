/*
** dump.c: the bytecode disassembler (script_prog_dump), generated from
** the opcode table: one line per instruction with its operands decoded.
*/
#include <string.h>

#include "script/internal.h"

static void dump_str(struct hd_buf *b, const char *s)
{
	hd_buf_append(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '\n')
			hd_buf_append(b, "\\n", 2);
		else if (*s == '"' || *s == '\\')
			hd_buf_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 32)
			hd_buf_printf(b, "\\x%02x", (unsigned char)*s);
		else
			hd_buf_append(b, s, 1);
	}
	hd_buf_append(b, "\"", 1);
}

static const char *const cmp_names[16] = {
	"==", "!=", "<s", "<u", "<=s", "<=u", ">s", ">u", ">=s", ">=u",
	"?", "?", "?", "?", "?", "?",
};

void script_prog_dump(const struct script_prog *p, struct hd_buf *b)
{
	const struct script_bc *bc = p->bc;
	const char *base = (const char *)bc;
	const uint32_t *code = (const uint32_t *)(const void *)(base + bc->code_off);
	const uint64_t *K = (const uint64_t *)(const void *)(base + bc->k_off);
	const char *strs = base + bc->str_off;

	hd_buf_printf(b, "; bytecode v%u: %u bytes, %u instruction words, %u constants, "
		      "%u string bytes\n", bc->version, bc->size, bc->ncode, bc->nk, bc->nstr);
	for (uint32_t pc = 0; pc < bc->ncode;) {
		uint32_t w = code[pc];
		int op = SCRIPT_OPC(w), a = SCRIPT_OPA(w);
		const struct script_opinfo *oi;
		uint32_t bw = 0;

		if (op >= SOP__COUNT) {
			hd_buf_printf(b, "%5u  ??? %08x\n", pc, w);
			pc++;
			continue;
		}
		oi = &script_opinfo[op];
		if (oi->extra && pc + 1 < bc->ncode)
			bw = code[pc + 1];
		if (op == SOP_ENTER)
			hd_buf_printf(b, "; function\n");
		hd_buf_printf(b, "%5u  %-7s", pc, oi->name);
		switch (op) {
		case SOP_PUSHK:
			hd_buf_printf(b, " %d  ; 0x%llx", a, (unsigned long long)K[a]);
			break;
		case SOP_PUSHS:
			hd_buf_printf(b, " %d  ; ", a);
			dump_str(b, strs + a);
			break;
		case SOP_PRINTF:
			hd_buf_printf(b, " ");
			dump_str(b, strs + a);
			hd_buf_printf(b, ", %u args", bw);
			break;
		case SOP_LDR: case SOP_STR:
			hd_buf_printf(b, " @%s", script_reg_name(a));
			break;
		case SOP_LDP:
			hd_buf_printf(b, " $%s", script_pseudo_names[a & 15]);
			break;
		case SOP_LOAD: case SOP_STORE:
			hd_buf_printf(b, " %d%s  ; %s", a & 15, (a >> 4) & 1 ? "s" : "",
				      script_func_name(a >> 8));
			break;
		case SOP_CALLB:
			hd_buf_printf(b, " %d, %u args", a, bw);
			break;
		case SOP_ERR:
			hd_buf_printf(b, " %s", script_func_name(a));
			break;
		case SOP_ENTER:
			hd_buf_printf(b, " %d params, %u locals, stack %u", a, bw & 0xffff, bw >> 16);
			break;
		case SOP_LDL2:
			hd_buf_printf(b, " %d, %d", a & 255, (a >> 8) & 255);
			break;
		case SOP_ADD3: case SOP_SUB3: case SOP_MUL3: case SOP_AND3:
		case SOP_OR3: case SOP_XOR3:
			hd_buf_printf(b, " %d = %d, %d", a & 255, (a >> 8) & 255, (a >> 16) & 255);
			break;
		case SOP_JCLI:
			hd_buf_printf(b, " %d  ; if local %u %s %d", a, bw & 255,
				      cmp_names[(bw >> 8) & 15], (int32_t)bw >> 12);
			break;
		case SOP_JCLL:
			hd_buf_printf(b, " %d  ; if local %u %s local %u", a, bw & 255,
				      cmp_names[(bw >> 16) & 15], (bw >> 8) & 255);
			break;
		case SOP_INCL:
			hd_buf_printf(b, " %d, %d", a, (int32_t)bw);
			break;
		default:
			if (op != SOP_HALT && op != SOP_NOP && oi->pops >= 0 &&
			    !(a == 0 && (op == SOP_ADD || op == SOP_SUB || op == SOP_MUL ||
					 op == SOP_POP || op == SOP_DUP || op == SOP_NEG ||
					 op == SOP_BNOT || op == SOP_LNOT || op == SOP_AND ||
					 op == SOP_OR || op == SOP_XOR || op == SOP_EQ ||
					 op == SOP_NE || op == SOP_PRINT || op == SOP_TEST ||
					 (op >= SOP_DIVS && op <= SOP_MODU) ||
					 (op >= SOP_LTS && op <= SOP_GEU))))
				hd_buf_printf(b, " %d", a);
			else if (op == SOP_CALL)
				hd_buf_printf(b, " %d", a);
			break;
		}
		hd_buf_append(b, "\n", 1);
		pc += 1 + (uint32_t)oi->extra;
	}
}
