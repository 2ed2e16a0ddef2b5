/*
** format.c: HyperDbg's printf for scripts (spec hyperdbg-script.md §11).
** Runs on the hdbg side only: the VM (here or in the agent) emits a record
** (format, 64-bit arguments) and this file turns it into text.
**
** Rules: only the specifiers listed in format.h are recognised, each takes
** one argument; everything else is literal (no %% escape, no flags/width).
** Integer widths follow the Windows (LLP64) build: %d/%x/%ld... use the low
** 32 bits, %h.. 16 bits, %ll.. 64 bits; %p is 16 upper-case hex digits.
** One record produces at most SCRIPT_FORMAT_MAX - 1 characters: literal
** text or a number that would go past it is a run-time error; a %s/%ws
** string that does not fit is left out; one that cannot be read is a
** run-time error (HyperDbg's kernel engine validates the address).
*/
#include <stdio.h>
#include <string.h>

#include "script/format.h"
#include "script/script.h"

static bool is_int_conv(char c)
{
	return c && strchr("diuox", c) != NULL;
}

size_t script_format_spec(const char *p, enum script_fmt_kind *kind)
{
	enum script_fmt_kind k = SCRIPT_FMT_INT;
	size_t n = 0;

	if (p[0] != '%')
		return 0;
	if (p[1] == 'l' && p[2] == 'l' && is_int_conv(p[3]))
		n = 4;
	else if ((p[1] == 'l' || p[1] == 'h') && is_int_conv(p[2]))
		n = 3;
	else if ((p[1] == 'w' || p[1] == 'l') && p[2] == 's')
		n = 3, k = SCRIPT_FMT_WSTR;
	else if (p[1] && strchr("diuoxcpsf", p[1])) {
		n = 2;
		if (p[1] == 's')
			k = SCRIPT_FMT_STR;
		else if (p[1] == 'f')
			k = SCRIPT_FMT_FLOAT;
	}
	if (n && kind)
		*kind = k;
	return n;
}

int script_format_kinds(const char *fmt, enum script_fmt_kind *kinds, int max)
{
	int count = 0;

	while (*fmt) {
		enum script_fmt_kind k;
		size_t n = script_format_spec(fmt, &k);

		if (!n) {
			fmt++;
			continue;
		}
		if (count < max)
			kinds[count] = k;
		count++;
		fmt += n;
	}
	return count;
}

int script_format_check(const char *fmt, int nargs, char *err, size_t errlen)
{
	int n = script_format_kinds(fmt, NULL, 0);

	if (n == nargs)
		return 0;
	if (err && errlen)
		snprintf(err, errlen,
			 "printf: the format has %d specifier%s but %d argument%s are given",
			 n, n == 1 ? "" : "s", nargs, nargs == 1 ? " is" : "s");
	return -HD_E_PARSE;
}

/* ---- run time ---- */

struct fmt_out {
	char buf[SCRIPT_FORMAT_MAX];
	size_t len;
	bool overflow;
	bool badaddr;
};

static size_t room(const struct fmt_out *o)
{
	return SCRIPT_FORMAT_MAX - 1 - o->len;
}

/* Append text that must fit (literal text, numbers). */
static void put(struct fmt_out *o, const char *s, size_t n)
{
	if (o->overflow)
		return;
	if (n > room(o)) {
		memcpy(o->buf + o->len, s, room(o));
		o->len = SCRIPT_FORMAT_MAX - 1;
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* %s / %ws: append the string at `addr` (unit = 1 or 2 bytes) if it
 * fits, else nothing; a string that cannot be read up to its NUL (or up to
 * the room left) sets o->badaddr. Memory is read in chunks, unit by unit
 * where a chunk is not readable (end of a mapping). */
static void put_string(struct fmt_out *o, const struct script_mem *mem,
		       uint64_t addr, size_t unit)
{
	size_t max = room(o), n = 0, have = 0, pos = 0;
	unsigned char chunk[64];
	char tmp[SCRIPT_FORMAT_MAX];

	if (!mem || !mem->read) {
		o->badaddr = true;
		return;
	}
	for (;;) {
		unsigned c;

		if (pos == have) {
			uint64_t a = addr + n * unit;

			if (mem->read(mem->ud, a, chunk, sizeof(chunk)) == 0) {
				have = sizeof(chunk);
			} else if (mem->read(mem->ud, a, chunk, unit) == 0) {
				have = unit;
			} else {
				o->badaddr = true;
				return;
			}
			pos = 0;
		}
		c = unit == 1 ? chunk[pos] : chunk[pos] | (unsigned)chunk[pos + 1] << 8;
		pos += unit;
		if (!c) {
			put(o, tmp, n);
			return;
		}
		if (n == max)
			return;  /* does not fit: left out */
		tmp[n++] = c < 0x80 ? (char)c : '?';
	}
}

static void put_number(struct fmt_out *o, const char *spec, uint64_t v)
{
	char num[512];
	int n = 0;
	size_t len = strlen(spec);
	char conv = spec[len - 1];

	if (conv == 'c') {
		num[0] = (char)(v & 0xff);
		if (num[0])
			put(o, num, 1);
		return;
	}
	if (conv == 'p') {
		n = snprintf(num, sizeof(num), "%016llX", (unsigned long long)v);
	} else if (conv == 'f') {
		double d;

		memcpy(&d, &v, sizeof(d));
		n = snprintf(num, sizeof(num), "%f", d);
		if (n >= (int)sizeof(num)) {
			/* |d| > 1e500 cannot happen, but never cut a number silently */
			o->overflow = true;
			return;
		}
	} else {
		bool is_signed = conv == 'd' || conv == 'i';
		const char *cfmt = conv == 'x' ? "%llx" : conv == 'o' ? "%llo" :
				   is_signed ? "%lld" : "%llu";
		unsigned long long u;
		long long s;

		if (len == 4) {            /* %ll? : 64 bits */
			u = v, s = (long long)v;
		} else if (spec[1] == 'h') {
			u = (uint16_t)v, s = (int16_t)v;
		} else {                   /* %? and %l? : 32 bits on Windows */
			u = (uint32_t)v, s = (int32_t)v;
		}
		n = is_signed ? snprintf(num, sizeof(num), cfmt, s)
			      : snprintf(num, sizeof(num), cfmt, u);
	}
	put(o, num, (size_t)n);
}

int script_format(const char *fmt, const uint64_t *args, int nargs,
		  const struct script_mem *mem, char *out, size_t cap)
{
	struct fmt_out o;
	int argi = 0;
	size_t n;

	o.len = 0;
	o.overflow = false;
	o.badaddr = false;
	while (*fmt && !o.overflow && !o.badaddr) {
		enum script_fmt_kind k;
		size_t sl = script_format_spec(fmt, &k);

		if (!sl || argi >= nargs) {
			/* literal run up to the next '%' */
			const char *e = strchr(fmt + 1, '%');

			n = e ? (size_t)(e - fmt) : strlen(fmt);
			put(&o, fmt, n);
			fmt += n;
			continue;
		}
		if (k == SCRIPT_FMT_STR || k == SCRIPT_FMT_WSTR) {
			put_string(&o, mem, args[argi], k == SCRIPT_FMT_STR ? 1u : 2u);
		} else {
			char spec[8];

			memcpy(spec, fmt, sl);
			spec[sl] = 0;
			put_number(&o, spec, args[argi]);
		}
		argi++;
		fmt += sl;
	}
	if (cap) {
		n = o.len < cap - 1 ? o.len : cap - 1;
		memcpy(out, o.buf, n);
		out[n] = 0;
	} else {
		n = 0;
	}
	return o.badaddr ? -HD_E_BADADDR : o.overflow ? -HD_E_LIMIT : (int)n;
}
