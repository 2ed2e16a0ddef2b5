/*
** kind_monitor.c: `!monitor [va] ATTR FROM TO` and `!monitor [va] ATTR
** FROM l LEN` (HyperDbg's parsing: TO is the last byte, LEN counts bytes;
** ATTR r w x rw rx wx rwx in any order). Context = the accessed address.
**
** Two mechanisms.
**
** Debug registers, for r/w/rw ranges that split into at most 4 aligned
** pieces of 1, 2, 4 or 8 bytes (and free slots). x86 has no read-only
** watchpoint: `r` watches reads and writes, like `rw`. The CPU reports the
** access after the instruction ran, so hdbg keeps a copy of the watched
** bytes: in the pre stage the memory shows its old bytes again (rip is
** already past the instruction); sc keeps the old bytes (a write is
** undone; a read cannot be); otherwise the new bytes are put back and the
** post stage sees them. Context = the watched piece's address.
**
** Page protection otherwise (and for x): mprotect in the target removes
** the access from the pages of the range; a fault (SIGSEGV, SEGV_ACCERR)
** on such a page inside the range and of a wanted kind is an occurrence
** (context = si_addr), before the access: sc skips the instruction; else
** the page gets its protection back for one single step of the thread,
** then is protected again (post stage after the step). Faults on those
** pages outside the range are run the same way without events. While one
** access is stepped, other threads may touch the page unseen; a syscall
** writing into a protected range fails with EFAULT (the kernel does not
** fault). Protections are restored when the event is disabled or cleared
** and before detach.
*/
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "event/internal.h"
#include "target/target.h"

#define PAGE 4096ull

enum { A_R = 1, A_W = 2, A_X = 4 };
/* occ->aux[0]: the mechanism; aux[2]: the access kinds (A_*) the
 * occurrence can be; DR: aux[1] = piece length, aux[3] = its new bytes;
 * PP: aux[1] = the page. */
enum { M_DR = 1, M_PP = 2, M_STEP = 3 };

struct watch {         /* e->kdata */
	char *text[2];     /* FROM and TO/LEN expressions, for execve */
	bool is_len;
	bool dr;           /* armed with debug registers */
	int nslot;
	int slot[4];
	uint64_t saddr[4];
	int slen[4];
	uint8_t shadow[4][8];
};

struct page {
	uint64_t addr;
	int orig;          /* PROT_* before hdbg */
	int cur;
	struct page *next;
};

struct stepping {      /* a thread running one access on an open page */
	pid_t tid;
	uint64_t page;
	uint64_t context;
	bool post;
	struct stepping *next;
};

struct drpost {        /* a queued post pass of a debug-register hit */
	pid_t tid;
	uint64_t context;
	struct drpost *next;
};

struct state {
	struct page *pages;
	struct stepping *steps;
	struct drpost *posts;
};

static struct state *st_get(struct event_table *tab)
{
	struct state **p = (struct state **)&tab->kstate[EVENT_KIND_MONITOR];
	if (!*p)
		*p = hd_xcalloc(1, sizeof(**p));
	return *p;
}

/* ---- parsing ---- */

static int attr_of(const char *s)
{
	int a = 0;
	size_t n = strlen(s);
	if (n == 0 || n > 3)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int bit = s[i] == 'r' ? A_R : s[i] == 'w' ? A_W : s[i] == 'x' ? A_X : 0;
		if (!bit || (a & bit))
			return 0;
		a |= bit;
	}
	return a;
}

static int eval(struct event_parse *p, const struct script_env *env, const char *text,
		uint64_t *v)
{
	struct script_diag d;
	memset(&d, 0, sizeof(d));
	if (script_eval_expr(text, env, p->tab->host.resolve, p->tab->host.resolve_ud, v, &d) < 0) {
		hd_buf_printf(p->out, "err, couldn't resolve error at '%s'\n", text);
		return -HD_E_NOSYM;
	}
	return 0;
}

static void free_kdata(struct event *e)
{
	struct watch *w = e->kdata;
	if (!w)
		return;
	free(w->text[0]);
	free(w->text[1]);
	free(w);
	e->kdata = NULL;
}

static int parse(struct event_parse *p, struct event *e)
{
	int attr = 0, nval = 0;
	bool want_len = false, is_len = false;
	const char *val[2] = {NULL, NULL};
	if (p->orig_n < 4) {
		hd_buf_printf(p->out, "incorrect use of the '!monitor'\n");
		return -HD_E_PARSE;
	}
	for (int i = 1; i < p->n; i++) {
		const char *s = p->tk[i].text;
		if (want_len) {
			val[nval++] = s;
			want_len = false;
		} else if (!attr && attr_of(s)) {
			attr = attr_of(s);
		} else if (!strcmp(s, "l") && nval == 1 && !is_len) {
			want_len = is_len = true;
		} else if (!strcmp(s, "va") && i == 1) {
			continue;
		} else if (!strcmp(s, "pa") && i == 1) {
			hd_buf_printf(p->out, "err, physical addresses are not visible to a user-mode "
				      "debugger; use virtual addresses (va)\n");
			return -HD_E_UNSUPPORTED;
		} else if (nval < 2) {
			val[nval++] = s;
		} else {
			hd_buf_printf(p->out, "unknown parameter '%s'\n", s);
			return -HD_E_PARSE;
		}
	}
	if (nval < 2 || want_len) {
		hd_buf_printf(p->out, "please choose the 'from' or 'to' values or specify the length\n");
		return -HD_E_PARSE;
	}
	uint64_t from, to;
	TRY(eval(p, p->eval_env, val[0], &from));
	if (is_len) {
		if (!event_parse_u64(val[1], &to) || to == 0 || to > 0xffffffff) {
			hd_buf_printf(p->out, "err, you should enter a valid length\n");
			return -HD_E_PARSE;
		}
		to = from + to - 1;
	} else {
		TRY(eval(p, p->eval_env, val[1], &to));
	}
	if (from > to) {
		hd_buf_printf(p->out, "please choose the 'from' value first, then choose the 'to' "
			      "value\n");
		return -HD_E_RANGE;
	}
	if (!attr) {
		hd_buf_printf(p->out, "please specify the attribute(s) that you want to monitor (r, "
			      "w, x, rw, rx, wx, rwx)\n");
		return -HD_E_PARSE;
	}
	struct watch *w = hd_xcalloc(1, sizeof(*w));
	w->text[0] = hd_xstrdup(val[0]);
	w->text[1] = hd_xstrdup(val[1]);
	w->is_len = is_len;
	e->kdata = w;
	e->param[0] = from;
	e->param[1] = to;
	e->param[2] = (uint64_t)attr;
	return 0;
}

/* After execve: FROM (and TO) computed again in the new program. */
static int exec_rearm(struct event_table *tab, struct event *e, struct hd_buf *out)
{
	struct watch *w = e->kdata;
	struct script_diag d;
	uint64_t from = 0, to = 0;
	memset(&d, 0, sizeof(d));
	int rc = script_eval_expr(w->text[0], NULL, tab->host.resolve, tab->host.resolve_ud, &from,
				  &d);
	if (rc == 0 && !w->is_len)
		rc = script_eval_expr(w->text[1], NULL, tab->host.resolve, tab->host.resolve_ud,
				      &to, &d);
	if (rc < 0) {
		if (out)
			hd_buf_printf(out, "err, couldn't resolve error at '%s' after execve\n",
				      w->text[0]);
		return -HD_E_NOSYM;
	}
	if (w->is_len)
		to = from + (e->param[1] - e->param[0]);
	e->param[0] = from;
	e->param[1] = to;
	return 0;
}

/* ---- pages ---- */

static struct page *page_find(struct state *s, uint64_t addr)
{
	for (struct page *p = s->pages; p; p = p->next)
		if (p->addr == (addr & ~(PAGE - 1)))
			return p;
	return NULL;
}

/* Access bits removed from page `pg` by the armed page-protection events. */
static int removed_on(struct event_table *tab, uint64_t pg)
{
	int r = 0;
	for (int i = 0; i < tab->n; i++) {
		const struct event *e = tab->v[i];
		const struct watch *w = e->kdata;
		if (e->kind != EVENT_KIND_MONITOR || !e->armed || !w || w->dr)
			continue;
		if ((e->param[0] & ~(PAGE - 1)) <= pg && pg <= (e->param[1] & ~(PAGE - 1)))
			r |= (int)e->param[2];
	}
	return r;
}

static int prot_for(int orig, int removed)
{
	if (removed & A_R) /* no read-only-less page on x86: nothing at all */
		return PROT_NONE;
	return orig & ~((removed & A_W ? PROT_WRITE : 0) | (removed & A_X ? PROT_EXEC : 0));
}

/* Set every page of [from, to] to what the armed events want (`extra`:
 * bits of an event being armed, not yet marked armed). */
static int pages_apply(struct event_table *tab, pid_t tid, uint64_t from, uint64_t to, int extra)
{
	struct state *s = st_get(tab);
	for (uint64_t pg = from & ~(PAGE - 1); pg <= (to & ~(PAGE - 1)); pg += PAGE) {
		struct page *p = page_find(s, pg);
		if (!p) {
			int orig;
			TRY(target_page_prot(tab->t, pg, &orig));
			p = hd_xcalloc(1, sizeof(*p));
			p->addr = pg;
			p->orig = p->cur = orig;
			p->next = s->pages;
			s->pages = p;
		}
		int want = prot_for(p->orig, removed_on(tab, pg) | extra);
		if (want != p->cur) {
			TRY(target_mprotect(tab->t, tid, pg, PAGE, want));
			p->cur = want;
		}
		if (!extra && want == p->orig) { /* nobody watches it now */
			for (struct page **pp = &s->pages; *pp; pp = &(*pp)->next)
				if (*pp == p) {
					*pp = p->next;
					free(p);
					break;
				}
		}
		if (pg + PAGE < pg)
			break;
	}
	return 0;
}

/* ---- debug registers ---- */

static void dr_free(struct event_table *tab, struct watch *w)
{
	for (int i = 0; i < w->nslot; i++)
		IGNORE_RC(target_hw_clear(tab->t, w->slot[i]));
	w->nslot = 0;
	w->dr = false;
}

/* Split [from, to] into aligned 1/2/4/8-byte pieces; @return 0 if it takes
 * at most 4 and they are all armed. */
static int dr_arm(struct event_table *tab, struct event *e, struct watch *w)
{
	uint64_t a = e->param[0], end = e->param[1];
	int attr = (int)e->param[2];
	if (attr & A_X || end - a >= 32)
		return -HD_E_NOSLOT;
	w->nslot = 0;
	while (a <= end) {
		int sz = 8;
		while (sz > 1 && (a % (uint64_t)sz || a + (uint64_t)sz - 1 > end))
			sz /= 2;
		if (w->nslot == 4) {
			dr_free(tab, w);
			return -HD_E_NOSLOT;
		}
		int slot = target_hw_set(tab->t, a, attr == A_W ? TARGET_HW_WRITE : TARGET_HW_RW, sz);
		if (slot < 0) {
			dr_free(tab, w);
			return slot;
		}
		w->slot[w->nslot] = slot;
		w->saddr[w->nslot] = a;
		w->slen[w->nslot] = sz;
		IGNORE_RC(target_mem_read(tab->t, a, w->shadow[w->nslot], (size_t)sz));
		w->nslot++;
		a += (uint64_t)sz;
	}
	w->dr = true;
	return 0;
}

static int arm(struct event_table *tab, struct event *e, pid_t tid)
{
	struct watch *w = e->kdata;
	(void)st_get(tab); /* claim() looks for the state */
	int rc = dr_arm(tab, e, w);
	if (rc == 0)
		return 0;
	if (rc != -HD_E_NOSLOT)
		return rc;
	rc = pages_apply(tab, tid, e->param[0], e->param[1], (int)e->param[2]);
	if (rc < 0) { /* put back what was changed */
		e->armed = false;
		IGNORE_RC(pages_apply(tab, tid, e->param[0], e->param[1], 0));
	}
	return rc;
}

static void disarm(struct event_table *tab, struct event *e)
{
	struct watch *w = e->kdata;
	if (w->dr) {
		dr_free(tab, w);
		return;
	}
	e->armed = false; /* so that removed_on() leaves it out */
	IGNORE_RC(pages_apply(tab, target_thread_current(tab->t), e->param[0], e->param[1], 0));
	e->armed = true;  /* event_disarm() clears it */
}

/* ---- occurrences ---- */

static bool claim_dr(struct event_table *tab, const struct target_stop *st, struct event_occ *occ)
{
	for (int i = 0; i < tab->n; i++) {
		struct event *e = tab->v[i];
		struct watch *w = e->kdata;
		if (e->kind != EVENT_KIND_MONITOR || !e->armed || !w || !w->dr)
			continue;
		for (int k = 0; k < w->nslot; k++) {
			if (w->slot[k] != st->slot)
				continue;
			uint64_t now = 0;
			size_t len = (size_t)w->slen[k];
			if (target_mem_read(tab->t, w->saddr[k], &now, len) < 0)
				return false;
			/* the pre stage sees the bytes from before the access */
			IGNORE_RC(target_mem_write(tab->t, w->saddr[k], w->shadow[k], len));
			occ->aux[0] = M_DR;
			occ->aux[1] = len;
			occ->aux[2] = A_R | A_W; /* a data breakpoint: either */
			occ->aux[3] = now;
			occ->context = occ->key = w->saddr[k];
			return true;
		}
	}
	return false;
}

/* After a hit: every watch's copy of those bytes follows the memory. */
static void shadows_update(struct event_table *tab, uint64_t addr, const void *bytes, size_t len)
{
	for (int i = 0; i < tab->n; i++) {
		struct event *e = tab->v[i];
		struct watch *w = e->kdata;
		if (e->kind != EVENT_KIND_MONITOR || !w || !w->dr)
			continue;
		for (int k = 0; k < w->nslot; k++)
			if (w->saddr[k] == addr && (size_t)w->slen[k] == len)
				memcpy(w->shadow[k], bytes, len);
	}
}

static bool claim_fault(struct event_table *tab, const struct target_stop *st,
			struct event_occ *occ)
{
	struct state *s = tab->kstate[EVENT_KIND_MONITOR];
	struct user_regs_struct r;
	if (st->signo != SIGSEGV || st->siginfo.si_code != SEGV_ACCERR)
		return false;
	uint64_t addr = (uint64_t)(uintptr_t)st->siginfo.si_addr;
	struct page *p = page_find(s, addr);
	if (!p || target_regs_get(tab->t, st->tid, &r) < 0)
		return false;
	int removed = removed_on(tab, p->addr);
	/* what the access was: a fetch at rip, a write if only writing is
	 * forbidden, else a read or a write */
	int kind = addr == r.rip ? A_X : removed & A_R ? A_R | A_W : A_W;
	occ->aux[0] = M_PP;
	occ->aux[1] = p->addr;
	occ->aux[2] = (uint64_t)kind;
	occ->context = occ->key = addr;
	return true;
}

static bool claim(struct event_table *tab, const struct target_stop *st, struct event_occ *occ)
{
	struct state *s = tab->kstate[EVENT_KIND_MONITOR];
	if (!s)
		return false;
	if (st->kind == TARGET_STOP_HWBP)
		return claim_dr(tab, st, occ);
	if (st->kind == TARGET_STOP_SIGNAL)
		return claim_fault(tab, st, occ);
	if (st->kind != TARGET_STOP_STEP)
		return false;
	for (struct drpost **pp = &s->posts; *pp; pp = &(*pp)->next) {
		struct drpost *d = *pp;
		if (d->tid != st->tid)
			continue;
		occ->stage = EVENT_STAGE_POST;
		occ->context = occ->key = d->context;
		occ->aux[2] = A_R | A_W | A_X;
		*pp = d->next;
		free(d);
		return true;
	}
	for (struct stepping **pp = &s->steps; *pp; pp = &(*pp)->next) {
		struct stepping *g = *pp;
		if (g->tid != st->tid)
			continue;
		*pp = g->next;
		/* the access ran: protect the page again */
		struct page *p = page_find(s, g->page);
		if (p && p->cur != p->orig)
			IGNORE_RC(target_mprotect(tab->t, st->tid, p->addr, PAGE, p->cur));
		occ->aux[0] = M_STEP;
		occ->stage = g->post ? EVENT_STAGE_POST : EVENT_STAGE_PRE;
		occ->context = occ->key = g->context;
		occ->aux[2] = g->post ? (uint64_t)(A_R | A_W | A_X) : 0; /* 0: no events */
		free(g);
		return true;
	}
	return false;
}

static bool match(const struct event *e, const struct event_occ *occ)
{
	return ((int)e->param[2] & (int)occ->aux[2]) && e->param[0] <= occ->key &&
	       occ->key <= e->param[1];
}

static int finish_pp(struct event_table *tab, struct event_occ *occ, bool sc, bool post)
{
	struct state *s = st_get(tab);
	if (sc)
		return target_insn_skip(tab->t, occ->tid) < 0
			       ? -HD_E_DECODE
			       : target_resume(tab->t, occ->tid, TARGET_RESUME_CONT, 0);
	struct page *p = page_find(s, occ->aux[1]);
	if (p)
		TRY(target_mprotect(tab->t, occ->tid, p->addr, PAGE, p->orig));
	struct stepping *g = hd_xcalloc(1, sizeof(*g));
	g->tid = occ->tid;
	g->page = occ->aux[1];
	g->context = occ->context;
	g->post = post;
	g->next = s->steps;
	s->steps = g;
	return target_resume_step(tab->t, occ->tid, 0);
}

static int finish(struct event_table *tab, struct event_occ *occ, bool sc, bool post)
{
	struct state *s = st_get(tab);
	if (occ->stage == EVENT_STAGE_POST || occ->aux[0] == M_STEP)
		return target_resume(tab->t, occ->tid, TARGET_RESUME_CONT, 0);
	if (occ->aux[0] == M_PP)
		return finish_pp(tab, occ, sc, post);
	/* debug registers: the access already ran; its old bytes are shown */
	if (!sc) {
		IGNORE_RC(target_mem_write(tab->t, occ->context, &occ->aux[3], occ->aux[1]));
		shadows_update(tab, occ->context, &occ->aux[3], occ->aux[1]);
	}
	if (post) {
		struct drpost *d = hd_xcalloc(1, sizeof(*d));
		struct target_stop again = {.kind = TARGET_STOP_STEP, .tid = occ->tid};
		d->tid = occ->tid;
		d->context = occ->context;
		d->next = s->posts;
		s->posts = d;
		return target_stop_queue(tab->t, &again);
	}
	return target_resume(tab->t, occ->tid, TARGET_RESUME_CONT, 0);
}

static void reset(struct event_table *tab)
{
	struct state *s = tab->kstate[EVENT_KIND_MONITOR];
	if (!s)
		return;
	while (s->pages) {
		struct page *n = s->pages->next;
		free(s->pages);
		s->pages = n;
	}
	while (s->steps) {
		struct stepping *n = s->steps->next;
		free(s->steps);
		s->steps = n;
	}
	while (s->posts) {
		struct drpost *n = s->posts->next;
		free(s->posts);
		s->posts = n;
	}
	free(s);
	tab->kstate[EVENT_KIND_MONITOR] = NULL;
	for (int i = 0; i < tab->n; i++)
		if (tab->v[i]->kind == EVENT_KIND_MONITOR && tab->v[i]->kdata)
			((struct watch *)tab->v[i]->kdata)->dr = false;
}

const struct event_kind_ops event_ops_monitor = {
	.parse = parse,
	.arm = arm,
	.disarm = disarm,
	.claim = claim,
	.match = match,
	.finish = finish,
	.free = free_kdata,
	.exec = exec_rearm,
	.reset = reset,
};
