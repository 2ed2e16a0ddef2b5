/*
** session.c: a symbols session over one process. libdwfl reports the
** modules from /proc/PID/maps; we keep them sorted by address with their
** short names ("libc.so.6" -> "libc") and load biases.
*/
#include <errno.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym/internal.h"

/* Basename up to the first dot; libdwfl names the vDSO "[vdso: PID]". */
static char *short_name(const char *modname)
{
	if (strncmp(modname, "[vdso", 5) == 0)
		return hd_xstrdup("vdso");
	const char *b = strrchr(modname, '/');
	b = b ? b + 1 : modname;
	size_t n = strcspn(b, ". ");
	if (n == 0)
		n = strcspn(b, " ");
	char *r = hd_xmalloc(n + 1);
	memcpy(r, b, n);
	r[n] = 0;
	return r;
}

/* Highest address of the module's PT_LOAD segments, so that addresses in
 * .bss (an anonymous mapping after the file's pages) still belong to it. */
static uint64_t image_end(Elf *elf, uint64_t bias, uint64_t end)
{
	size_t n;
	if (elf == NULL || elf_getphdrnum(elf, &n) != 0)
		return end;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) == NULL || ph.p_type != PT_LOAD)
			continue;
		uint64_t e = bias + ph.p_vaddr + ph.p_memsz;
		if (e > end)
			end = e;
	}
	return end;
}

struct collect {
	struct sym_mod *mods;
	size_t n, cap;
};

static int collect_module(Dwfl_Module *dm, void **ud, const char *name,
			  Dwarf_Addr start, void *arg)
{
	(void)ud;
	(void)start;
	struct collect *c = arg;
	Dwarf_Addr low, high, bias = 0;
	dwfl_module_info(dm, NULL, &low, &high, NULL, NULL, NULL, NULL);
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->mods = hd_xrealloc(c->mods, c->cap * sizeof(*c->mods));
	}
	struct sym_mod *m = &c->mods[c->n++];
	memset(m, 0, sizeof(*m));
	m->dm = dm;
	m->name = short_name(name);
	m->path = hd_xstrdup(strncmp(name, "[vdso", 5) == 0 ? "[vdso]" : name);
	/* Opens the ELF file (not its debug info). */
	Elf *elf = dwfl_module_getelf(dm, &bias);
	m->pub.name = m->name;
	m->pub.path = m->path;
	m->pub.start = low;
	m->pub.end = high;
	m->pub.bias = elf ? bias : 0;
	m->img_end = image_end(elf, m->pub.bias, high);
	return DWARF_CB_OK;
}

static int cmp_mod(const void *a, const void *b)
{
	const struct sym_mod *x = a, *y = b;
	return x->pub.start < y->pub.start ? -1 : x->pub.start > y->pub.start;
}

void sym_mod_release(struct sym_mod *m)
{
	free(m->name);
	free(m->path);
	free(m->byname);
	free(m->byaddr);
	free(m->names);
	memset(m, 0, sizeof(*m));
}

static void free_mods(struct sym_session *s)
{
	for (size_t i = 0; i < s->nmods; i++)
		sym_mod_release(&s->mods[i]);
	free(s->mods);
	s->mods = NULL;
	s->nmods = 0;
	s->main_idx = -1;
}

/* A module that libdwfl kept (the same Dwfl_Module: it reuses a module
 * reported again with the same name and range, and frees the others only at
 * the end of the round) keeps its symbol cache, name and path. */
static void keep_caches(struct sym_session *s, struct collect *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct sym_mod *n = &c->mods[i];
		for (size_t j = 0; j < s->nmods; j++) {
			struct sym_mod *o = &s->mods[j];
			if (o->dm != n->dm || o->name == NULL)
				continue;
			/* Names and paths stay the same strings, too. */
			free(n->name);
			free(n->path);
			n->name = o->name;
			n->path = o->path;
			n->pub.name = n->name;
			n->pub.path = n->path;
			o->name = o->path = NULL;
			n->syms_done = o->syms_done;
			n->byname = o->byname;
			n->byaddr = o->byaddr;
			n->names = o->names;
			n->nsyms = o->nsyms;
			o->byname = o->byaddr = NULL;
			o->names = NULL;
			o->syms_done = false;
			break;
		}
	}
}

/* Report /proc/PID/maps to libdwfl and rebuild our sorted module table. */
static int report(struct sym_session *s)
{
	dwfl_report_begin(s->dwfl);
	int r = dwfl_linux_proc_report(s->dwfl, s->pid);
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0 && r == 0)
		r = -1;
	if (r < 0)
		pr_warn("sym: process %d: %s", (int)s->pid, dwfl_errmsg(-1));

	/* Even after a failure libdwfl's module list has changed (modules not
	 * reported again are gone): the table always follows it. */
	struct collect c = {0};
	if (dwfl_getmodules(s->dwfl, collect_module, &c, 0) != 0 && r == 0)
		r = -1;
	if (c.n)
		qsort(c.mods, c.n, sizeof(*c.mods), cmp_mod);
	keep_caches(s, &c);
	free_mods(s);
	s->mods = c.mods;
	s->nmods = c.n;
	if (r != 0)
		return r > 0 ? -r : -HD_E_NOTARGET;

	char exe[PATH_MAX], link[64];
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)s->pid);
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		for (size_t i = 0; i < s->nmods; i++)
			if (strcmp(s->mods[i].path, exe) == 0) {
				s->main_idx = (long)i;
				break;
			}
	}
	return 0;
}

int sym_open(struct sym_session **out, pid_t pid)
{
	int rc;
	struct sym_session *s = hd_xcalloc(1, sizeof(*s));
	*out = NULL;
	s->pid = pid;
	s->main_idx = -1;
	s->cb.find_elf = dwfl_linux_proc_find_elf;
	s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->cb.debuginfo_path = &s->debuginfo_path;
	s->dwfl = dwfl_begin(&s->cb);
	if (s->dwfl == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	CHECK(report(s));
	*out = s;
	return 0;
out:
	sym_close(s);
	return rc;
}

int sym_refresh(struct sym_session *s)
{
	return report(s);
}

void sym_close(struct sym_session *s)
{
	if (s == NULL)
		return;
	free_mods(s);
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s);
}

int sym_modules(struct sym_session *s, int (*fn)(void *ud, const struct sym_module *m), void *ud)
{
	for (size_t i = 0; i < s->nmods; i++) {
		int r = fn(ud, &s->mods[i].pub);
		if (r != 0)
			return r;
	}
	return 0;
}

const struct sym_module *sym_module_at(struct sym_session *s, uint64_t addr)
{
	struct sym_mod *m = sym_mod_at(s, addr);
	return m ? &m->pub : NULL;
}

const struct sym_module *sym_module_main(struct sym_session *s)
{
	return s->main_idx >= 0 ? &s->mods[s->main_idx].pub : NULL;
}

struct sym_mod *sym_mod_at(struct sym_session *s, uint64_t addr)
{
	/* Last module starting at or below addr. */
	size_t lo = 0, hi = s->nmods;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->mods[mid].pub.start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct sym_mod *m = &s->mods[lo - 1];
	uint64_t end = m->img_end > m->pub.end ? m->img_end : m->pub.end;
	if (addr < end && (lo == s->nmods || addr < s->mods[lo].pub.start))
		return m;
	return NULL;
}

struct sym_mod *sym_mod_named(struct sym_session *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->nmods; i++)
		if (strlen(s->mods[i].name) == len && memcmp(s->mods[i].name, name, len) == 0)
			return &s->mods[i];
	/* "hdlib!f" also finds libhdlib.so (the "lib" prefix is optional). */
	for (size_t i = 0; i < s->nmods; i++) {
		const char *n = s->mods[i].name;
		if (strncmp(n, "lib", 3) == 0 && strlen(n + 3) == len && memcmp(n + 3, name, len) == 0)
			return &s->mods[i];
	}
	return NULL;
}
