/*
** internal.h: private state of the symbols layer, shared by its .c files
** (session.c: modules; symtab.c: symbol tables; unwind.c: stack unwinding).
** Never included from outside src/sym/.
*/
#ifndef HD_SYM_INTERNAL_H
#define HD_SYM_INTERNAL_H

#include <elfutils/libdwfl.h>

#include "sym/sym.h"

/* One entry of a module's symbol cache (defined, addressable symbols only). */
struct sym_ent {
	uint64_t addr;
	uint64_t size;
	const char *name; /* without any "@VERSION" suffix */
	uint8_t rank;     /* lookup preference: lower is better */
};

/* One module as libdwfl reported it, with our short name and caches. */
struct sym_mod {
	Dwfl_Module *dm;
	struct sym_module pub;
	char *name;        /* owned; pub.name points here */
	char *path;        /* owned; pub.path points here */
	uint64_t img_end;  /* end of the ELF image in memory (covers .bss) */
	bool syms_done;    /* byname built (possibly empty) */
	struct sym_ent *byname; /* sorted by name, then rank, then address */
	struct sym_ent *byaddr; /* sorted by address, preferred alias first */
	size_t nsyms;
	char *names;       /* storage for names that had a version suffix */
};

struct sym_session {
	pid_t pid;
	Dwfl *dwfl;
	Dwfl_Callbacks cb;
	char *debuginfo_path;
	struct sym_mod *mods; /* sorted by start address */
	size_t nmods;
	long main_idx;        /* index of the main program in mods, or -1 */

	/* unwinding: libdwfl's process state is attached once, lazily */
	bool attached, attach_failed;
	sym_mem_read_fn mem_read;
	void *mem_ud;
	const uint64_t *uw_regs;
	uint64_t uw_rip;
};

/* session.c */
/* The module containing `addr` (including its .bss beyond the file
 * mapping), or NULL. */
struct sym_mod *sym_mod_at(struct sym_session *s, uint64_t addr);
/* The module whose short name is `name` (or "lib" + name), or NULL. */
struct sym_mod *sym_mod_named(struct sym_session *s, const char *name, size_t len);
/* Release the caches of one module entry. */
void sym_mod_release(struct sym_mod *m);

/* symtab.c */
/* Build the module's symbol cache on first use. */
void sym_mod_load_syms(struct sym_mod *m);

#endif
