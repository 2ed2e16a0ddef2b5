/*
** cmd_pending.c: library loads and pending breakpoints. The dynamic loader
** calls _dl_debug_state (r_debug's r_brk) after it has loaded the program's
** libraries and after every dlopen/dlclose: an internal breakpoint there
** (not a user breakpoint: `bl` does not show it, memory commands show the
** original byte) tells the run loop that the modules changed. Symbols are
** read again, then the pending breakpoints and the events whose address did
** not resolve are tried again, and the target runs on without a stop for
** the user.
*/
#include <ctype.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/internal.h"
#include "sym/sym.h"
#include "target/target.h"

struct mod_find {
	const char *name;
	size_t len;
	bool found;
};

static int mod_match(void *ud, const struct sym_module *m)
{
	struct mod_find *f = ud;
	const char *n = m->name;
	if (!strncmp(n, "lib", 3) && strlen(n + 3) == f->len && !strncmp(n + 3, f->name, f->len))
		f->found = true;
	if (strlen(n) == f->len && !strncmp(n, f->name, f->len))
		f->found = true;
	return 0;
}

/* A file `DIR/MOD.so*` or `DIR/libMOD.so*` exists. */
static bool lib_in_dir(const char *dir, const char *mod, size_t len)
{
	static const char *const pfx[] = {"", "lib"};
	for (size_t i = 0; i < HD_ARRAY_SIZE(pfx); i++) {
		struct hd_buf b = {0};
		glob_t g;
		hd_buf_printf(&b, "%s/%s%.*s.so*", dir, pfx[i], (int)len, mod);
		int rc = glob(hd_buf_str(&b), GLOB_NOSORT, NULL, &g);
		hd_buf_free(&b);
		bool found = rc == 0 && g.gl_pathc > 0;
		if (rc == 0)
			globfree(&g);
		if (found)
			return true;
	}
	return false;
}

static bool lib_exists(struct cmd_session *s, const char *mod, size_t len)
{
	static const char *const sysdirs[] = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
					      "/lib64", "/lib", "/usr/lib", "/usr/local/lib"};
	char exe[64], path[4096];
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)target_pid(s->t));
	ssize_t n = readlink(exe, path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = '\0';
		char *slash = strrchr(path, '/');
		if (slash) {
			*slash = '\0';
			if (lib_in_dir(path[0] ? path : "/", mod, len))
				return true;
		}
	}
	const char *llp = getenv("LD_LIBRARY_PATH");
	if (llp) {
		char *copy = hd_xstrdup(llp), *save = NULL;
		bool found = false;
		for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save))
			found = lib_in_dir(d, mod, len);
		free(copy);
		if (found)
			return true;
	}
	for (size_t i = 0; i < HD_ARRAY_SIZE(sysdirs); i++)
		if (lib_in_dir(sysdirs[i], mod, len))
			return true;
	return false;
}

static bool name_chars(const char *p, const char *end)
{
	if (p == end)
		return false;
	for (; p < end; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.$-@", *p))
			return false;
	return true;
}

bool cmd_pending_candidate(struct cmd_session *s, const char *text)
{
	uint64_t addr;
	const char *bang = strchr(text, '!');
	if (!s->t || !s->sym || !bang || !name_chars(text, bang) ||
	    !name_chars(bang + 1, bang + strlen(bang)))
		return false;
	if (sym_lookup(s->sym, text, &addr) == 0)
		return false;
	struct mod_find f = {text, (size_t)(bang - text), false};
	IGNORE(sym_modules(s->sym, mod_match, &f));
	if (f.found) /* loaded, and the symbol is not in it: an error */
		return false;
	return lib_exists(s, text, (size_t)(bang - text));
}

void cmd_ldbrk_set(struct cmd_session *s)
{
	uint64_t addr;
	s->ldbrk = 0;
	if (!s->t || !s->sym)
		return;
	if (sym_lookup(s->sym, "ld-linux-x86-64!_dl_debug_state", &addr) < 0 &&
	    sym_lookup(s->sym, "_dl_debug_state", &addr) < 0)
		return;
	if (target_bp_insert(s->t, addr) == 0)
		s->ldbrk = addr;
}

bool cmd_ldbrk_stop(struct cmd_session *s, const struct target_stop *st)
{
	if (st->kind != TARGET_STOP_BREAKPOINT || !s->ldbrk || st->addr != s->ldbrk)
		return false;
	bool pending = cmd_bp_any_pending(s) || cmd_events_any_pending(s);
	if (!pending)
		return false; /* nothing waits for a library: the stop just runs on */
	/* inserting breakpoints and arming hooks: every thread stopped */
	if (target_stop_all(s->t) < 0)
		return false;
	if (s->sym)
		IGNORE(sym_refresh(s->sym));
	cmd_bp_resolve_pending(s);
	cmd_events_libs(s, st->tid);
	/* a user's breakpoint or an event on the loader's function: the
	 * ordinary path sees the stop */
	if (cmd_bp_at(s, st->addr))
		return false;
	if (target_resume_all(s->t) < 0)
		return false;
	return true;
}
