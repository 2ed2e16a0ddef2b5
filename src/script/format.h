/*
** format.h: printf format rules of HyperDbg's script language (spec
** hyperdbg-script.md section 11), shared by the compiler (argument-count
** check) and script_format() (run-time formatting, declared in script.h).
** Private to src/script/ (not a layer header).
*/
#ifndef HD_SCRIPT_FORMAT_H
#define HD_SCRIPT_FORMAT_H

#include <stddef.h>

/** Largest text one printf may produce (HyperDbg's PacketChunkSize, with
 *  its terminating NUL). */
#define SCRIPT_FORMAT_MAX 4096

/** Kind of argument a recognised specifier consumes. */
enum script_fmt_kind {
	SCRIPT_FMT_INT = 'i',   /**< %d %i %u %o %x %c %p and l/ll/h forms */
	SCRIPT_FMT_STR = 's',   /**< %s: address of a NUL-terminated string */
	SCRIPT_FMT_WSTR = 'w',  /**< %ws %ls: address of a UTF-16 string */
	SCRIPT_FMT_FLOAT = 'f', /**< %f: a double's bit pattern (v0.23: the
				     only specifier for float values) */
};

/** @brief Recognise the specifier starting at `p` (which points at '%').
 *  Recognised: d i u o x c p s f, ws ls, l[diuox], h[diuox], ll[diuox]
 *  (lower case only; no flags, width or precision; `%%` is not an escape).
 *  @param kind receives the argument kind (may be NULL).
 *  @return the specifier's length including '%', or 0 if `p` does not
 *  start a specifier (the '%' is then literal text). */
size_t script_format_spec(const char *p, enum script_fmt_kind *kind);

/** @brief Argument kinds of every recognised specifier of `fmt`, in order.
 *  @param kinds array of `max` entries (may be NULL when max is 0).
 *  @return the number of specifiers (may exceed max; only max are stored). */
int script_format_kinds(const char *fmt, enum script_fmt_kind *kinds, int max);

/** @brief Compile-time check of a printf call: the number of recognised
 *  specifiers must equal `nargs` (HyperDbg reports a syntax error
 *  otherwise). @param err receives a message naming the counts (may be
 *  NULL). @return 0, or -HD_E_PARSE. */
int script_format_check(const char *fmt, int nargs, char *err, size_t errlen);

#endif
