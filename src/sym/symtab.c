/*
** symtab.c: symbol tables (libdwfl's symtab or dynsym of each module),
** cached per module as an array sorted by name; `module!symbol` lookup,
** wildcard search, address -> name and DWARF source lines.
*/
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sym/internal.h"

/* Lookup preference: functions and objects before untyped symbols,
 * GLOBAL before WEAK before LOCAL. */
static uint8_t sym_rank(const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info), bind = GELF_ST_BIND(sym->st_info);
	int cls = (type == STT_FUNC || type == STT_GNU_IFUNC || type == STT_OBJECT) ? 0 : 1;
	int b = (bind == STB_GLOBAL || bind == STB_GNU_UNIQUE) ? 0 : bind == STB_WEAK ? 1 : 2;
	return (uint8_t)(cls * 3 + b);
}

static bool sym_wanted(const char *name, const GElf_Sym *sym, GElf_Word shndx, GElf_Addr addr)
{
	if (name == NULL || name[0] == 0 || name[0] == '@')
		return false;
	if (shndx == SHN_UNDEF || shndx == SHN_ABS)
		return false;
	/* not loaded: symbols of sections that are not mapped (the link-time
	 * warnings of .gnu.warning.*) keep address 0, never mapped */
	if (addr == 0)
		return false;
	switch (GELF_ST_TYPE(sym->st_info)) {
	case STT_FUNC:
	case STT_GNU_IFUNC:
	case STT_OBJECT:
	case STT_NOTYPE:
		return true;
	default: /* sections, files, TLS offsets */
		return false;
	}
}

static int cmp_ent(const void *a, const void *b)
{
	const struct sym_ent *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static size_t underscores(const char *s)
{
	return strspn(s, "_");
}

/* Address order; at one address the name to print first: sized symbols,
 * typed ones, the fewest leading underscores ("malloc" rather than
 * "__libc_malloc", "write" rather than "__write"), GLOBAL before WEAK
 * before LOCAL, then the shortest name. */
static int cmp_addr(const void *a, const void *b)
{
	const struct sym_ent *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if ((x->size == 0) != (y->size == 0))
		return x->size == 0 ? 1 : -1;
	if (x->rank / 3 != y->rank / 3) /* typed first */
		return x->rank / 3 - y->rank / 3;
	size_t ux = underscores(x->name), uy = underscores(y->name);
	if (ux != uy)
		return ux < uy ? -1 : 1;
	if (x->rank != y->rank) /* then GLOBAL, WEAK, LOCAL */
		return x->rank - y->rank;
	size_t lx = strlen(x->name), ly = strlen(y->name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

void sym_mod_load_syms(struct sym_mod *m)
{
	if (m->syms_done)
		return;
	m->syms_done = true;
	int n = dwfl_module_getsymtab(m->dm);
	if (n <= 0)
		return;
	m->byname = hd_xcalloc((size_t)n, sizeof(*m->byname));
	/* Names with a version suffix ("memcpy@GLIBC_2.2.5") are stored cut
	 * at the '@' in one block; first measure it. */
	size_t pool = 0, used = 0, k = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			GElf_Sym sym;
			GElf_Addr addr;
			GElf_Word shndx;
			const char *name = dwfl_module_getsym_info(m->dm, i, &sym, &addr,
								   &shndx, NULL, NULL);
			if (!sym_wanted(name, &sym, shndx, addr))
				continue;
			const char *at = strchr(name, '@');
			if (pass == 0) {
				if (at)
					pool += (size_t)(at - name) + 1;
				continue;
			}
			struct sym_ent *e = &m->byname[k++];
			e->addr = addr;
			e->size = sym.st_size;
			e->rank = sym_rank(&sym);
			e->name = name;
			if (at) {
				size_t len = (size_t)(at - name);
				memcpy(m->names + used, name, len);
				m->names[used + len] = 0;
				e->name = m->names + used;
				used += len + 1;
			}
		}
		if (pass == 0 && pool)
			m->names = hd_xmalloc(pool);
	}
	m->nsyms = k;
	/* Drop exact duplicates (same name and address: the .symtab and
	 * .dynsym entries of one symbol, aliases); entries of one name sort by
	 * rank, so a duplicate need not be next to its first. */
	qsort(m->byname, k, sizeof(*m->byname), cmp_ent);
	size_t w = 0, first = 0; /* first: start of the current name's run */
	for (size_t i = 0; i < k; i++) {
		if (!w || strcmp(m->byname[first].name, m->byname[i].name) != 0)
			first = w;
		bool dup = false;
		for (size_t j = first; j < w && !dup; j++)
			dup = m->byname[j].addr == m->byname[i].addr;
		if (!dup)
			m->byname[w++] = m->byname[i];
	}
	m->nsyms = w;
	if (w) {
		m->byaddr = hd_xmalloc(w * sizeof(*m->byaddr));
		memcpy(m->byaddr, m->byname, w * sizeof(*m->byaddr));
		qsort(m->byaddr, w, sizeof(*m->byaddr), cmp_addr);
	}
}

/* The symbol covering `addr`: the nearest one at or below it, if it has no
 * size or its size reaches `addr`. NULL when none does. */
static const struct sym_ent *mod_sym_at(struct sym_mod *m, uint64_t addr)
{
	sym_mod_load_syms(m);
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->byaddr[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	size_t first = lo - 1;
	uint64_t base = m->byaddr[first].addr;
	while (first > 0 && m->byaddr[first - 1].addr == base)
		first--;
	for (size_t i = first; i < m->nsyms && m->byaddr[i].addr == base; i++)
		if (m->byaddr[i].size == 0 || addr - base < m->byaddr[i].size)
			return &m->byaddr[i];
	return NULL;
}

/* First entry named `name` (the best one, as entries sort by rank), or NULL. */
static const struct sym_ent *mod_find(struct sym_mod *m, const char *name)
{
	sym_mod_load_syms(m);
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(m->byname[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < m->nsyms && strcmp(m->byname[lo].name, name) == 0)
		return &m->byname[lo];
	return NULL;
}

int sym_lookup(struct sym_session *s, const char *name, uint64_t *addr)
{
	const char *bang = strchr(name, '!');
	if (bang) {
		struct sym_mod *m = sym_mod_named(s, name, (size_t)(bang - name));
		const struct sym_ent *e = m ? mod_find(m, bang + 1) : NULL;
		if (e == NULL)
			return -HD_E_NOSYM;
		*addr = e->addr;
		return 0;
	}
	if (name[0] == 0)
		return -HD_E_NOSYM;
	if (s->main_idx >= 0) {
		const struct sym_ent *e = mod_find(&s->mods[s->main_idx], name);
		if (e) {
			*addr = e->addr;
			return 0;
		}
	}
	/* Then every module: the best-ranked definition wins; among equals
	 * the lowest module (ld.so loads dependencies in that order rarely, but
	 * the result is at least deterministic). */
	const struct sym_ent *best = NULL;
	for (size_t i = 0; i < s->nmods; i++) {
		const struct sym_ent *e = mod_find(&s->mods[i], name);
		if (e && (best == NULL || e->rank < best->rank))
			best = e;
	}
	if (best == NULL)
		return -HD_E_NOSYM;
	*addr = best->addr;
	return 0;
}

int sym_search(struct sym_session *s, const char *pattern,
	       int (*fn)(void *ud, const char *module, const char *name, uint64_t addr),
	       void *ud)
{
	const char *bang = strchr(pattern, '!');
	const char *sympat = bang ? bang + 1 : pattern;
	char *modpat = NULL;
	if (bang) {
		size_t n = (size_t)(bang - pattern);
		modpat = hd_xmalloc(n + 4);
		memcpy(modpat, pattern, n);
		modpat[n] = 0;
	}
	int r = 0;
	for (size_t i = 0; i < s->nmods && r == 0; i++) {
		struct sym_mod *m = &s->mods[i];
		if (modpat && fnmatch(modpat, m->name, 0) != 0 &&
		    !(strncmp(m->name, "lib", 3) == 0 && fnmatch(modpat, m->name + 3, 0) == 0))
			continue;
		sym_mod_load_syms(m);
		for (size_t k = 0; k < m->nsyms && r == 0; k++)
			if (fnmatch(sympat, m->byname[k].name, 0) == 0)
				r = fn(ud, m->name, m->byname[k].name, m->byname[k].addr);
	}
	free(modpat);
	return r;
}

int sym_addr_symbol(struct sym_session *s, uint64_t addr, const char **module,
		    const char **name, size_t *name_len, uint64_t *offset)
{
	struct sym_mod *m = sym_mod_at(s, addr);
	if (m == NULL)
		return -HD_E_NOSYM;
	const struct sym_ent *e = mod_sym_at(m, addr);
	*module = m->name;
	*name = e ? e->name : NULL;
	*name_len = e ? strlen(e->name) : 0;
	*offset = addr - (e ? e->addr : m->pub.start);
	return 0;
}

int sym_addr_name(struct sym_session *s, uint64_t addr, char *buf, size_t len)
{
	const char *mod, *name;
	size_t nlen;
	uint64_t off;
	if (len)
		buf[0] = 0;
	TRY(sym_addr_symbol(s, addr, &mod, &name, &nlen, &off));
	if (name == NULL)
		snprintf(buf, len, "%s+0x%" PRIx64, mod, off);
	else if (off)
		snprintf(buf, len, "%s!%s+0x%" PRIx64, mod, name, off);
	else
		snprintf(buf, len, "%s!%s", mod, name);
	return 0;
}

int sym_addr_line(struct sym_session *s, uint64_t addr, const char **file, int *line)
{
	struct sym_mod *m = sym_mod_at(s, addr);
	if (m == NULL)
		return -HD_E_NOTFOUND;
	Dwfl_Line *l = dwfl_module_getsrc(m->dm, addr);
	if (l == NULL)
		return -HD_E_NOTFOUND;
	int lineno = 0;
	const char *f = dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL);
	if (f == NULL || lineno <= 0)
		return -HD_E_NOTFOUND;
	*file = f;
	*line = lineno;
	return 0;
}
