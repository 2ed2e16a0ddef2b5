/*
** kind_monitor.c: `!monitor [va] ATTR FROM TO` and `!monitor [va] ATTR
** FROM l LEN` (HyperDbg's parsing: TO is the last byte, LEN counts bytes;
** ATTR r w x rw rx wx rwx in any order). Context = the accessed address.
**
** Two mechanisms.
**
** Debug registers, for r/w/rw ranges that split into at most 4 aligned
** pieces of 1, 2, 4 or 8 bytes (and free slots). The CPU reports the
** access after the instruction ran and has no read-only watchpoint, so
** hdbg keeps a copy of the watched bytes: changed bytes mean a write,
** unchanged ones a read. For a write, the pre stage sees the old bytes
** again (rip is already past the instruction); sc keeps them (the write is
** undone; a read cannot be); otherwise the new bytes are put back (also
** when the occurrence is abandoned) and the post stage sees them.
** Context = the watched piece's address.
**
** Page protection otherwise (and for x): mprotect in the target removes
** the access from the pages of the range; a fault (SIGSEGV, SEGV_ACCERR)
** on such a page inside the range and of a wanted kind is an occurrence
** (context = si_addr; the instruction is decoded to tell a read from a
** write), before the access: sc skips the instruction; else
** the page gets its protection back for one single step of the thread
** (waited for at once, the other threads stopped meanwhile so that none
** touches the open page unseen, then resumed), then is protected again (post stage after
** the step). Faults on those pages outside the range are run the same way
** without events. A syscall writing into a protected range fails with
** EFAULT (the kernel does not fault). Protections are restored when the event is disabled or cleared
** and before detach.
*/
#include <ctype.h>
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
 * occurrence can be; PP: aux[1] = the page. */
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

struct drpost {        /* the queued stop after a hit: post pass or none */
	pid_t tid;
	uint64_t context;
	bool post;         /* a post pass; else the end of a page's step */
	struct drpost *next;
};

struct state {
	struct page *pages;
	struct drpost *posts;
	struct {           /* new bytes of a debug-register hit, shown old */
		bool on;
		uint64_t addr, bytes;
		size_t len;
	} wb;
};

static void wb_flush(struct event_table *tab);
static void shadows_update(struct event_table *tab, uint64_t addr, const void *bytes, size_t len);

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

/* A short word of letters, as an attribute is (`q`, `rq`), not an address. */
static bool looks_like_attr(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 3)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalpha((unsigned char)s[i]))
			return false;
	return true;
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
		} else if (!attr && looks_like_attr(p->tk[1].text)) {
			/* three values, no attribute, and the first looks like one */
			hd_buf_printf(p->out, "unknown attribute '%s' (r, w, x and their combinations "
				      "such as rw)\n", p->tk[1].text);
			return -HD_E_PARSE;
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
			hd_buf_printf(out, "err, couldn't resolve error at '%s' in the new program\n",
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
	wb_flush(tab); /* a hit left unfinished (detach while paused): its write is done */
	if (w->dr) {
		dr_free(tab, w);
		return;
	}
	e->armed = false; /* so that removed_on() leaves it out */
	IGNORE_RC(pages_apply(tab, target_thread_current(tab->t), e->param[0], e->param[1], 0));
	e->armed = true;  /* event_disarm() clears it */
}

/* ---- occurrences ---- */

/* Put back the new bytes of a hit whose pre stage showed the old ones. */
static void wb_flush(struct event_table *tab)
{
	struct state *s = tab->kstate[EVENT_KIND_MONITOR];
	if (!s || !s->wb.on)
		return;
	s->wb.on = false;
	IGNORE_RC(target_mem_write(tab->t, s->wb.addr, &s->wb.bytes, s->wb.len));
	shadows_update(tab, s->wb.addr, &s->wb.bytes, s->wb.len);
}

static bool claim_dr(struct event_table *tab, const struct target_stop *st, struct event_occ *occ)
{
	struct state *s = st_get(tab);
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
			/* changed bytes: a write (whose pre stage sees the bytes
			 * from before it); else a read (or a write of the same
			 * bytes, which nothing can tell from a read) */
			bool changed = memcmp(&now, w->shadow[k], len) != 0;
			if (changed) {
				IGNORE_RC(target_mem_write(tab->t, w->saddr[k], w->shadow[k], len));
				s->wb.on = true;
				s->wb.addr = w->saddr[k];
				s->wb.bytes = now;
				s->wb.len = len;
			}
			occ->aux[0] = M_DR;
			occ->aux[2] = (uint64_t)(changed || e->param[2] == A_W ? A_W : A_R);
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
	 * forbidden, else what the instruction does to memory (both when it
	 * cannot be decoded) */
	int kind = A_W;
	if (addr == r.rip) {
		kind = A_X;
	} else if (removed & A_R) {
		int rw = target_insn_mem_access(tab->t, st->tid);
		kind = rw > 0 ? (rw & 1 ? A_R : 0) | (rw & 2 ? A_W : 0) : A_R | A_W;
	}
	occ->aux[0] = M_PP;
	occ->aux[1] = p->addr;
	occ->aux[2] = (uint64_t)kind;
	occ->context = occ->key = addr;
	return true;
}

/* Resume the threads stopped for a step on an open page (those with a
 * stop still to report stay stopped until it is reported). */
static void thaw_others(struct event_table *tab, pid_t tid)
{
	int n, cap = 64;
	pid_t *v = NULL;
	for (;;) {
		v = hd_xrealloc(v, (size_t)cap * sizeof(*v));
		n = target_threads(tab->t, v, cap);
		if (n < cap)
			break;
		cap *= 2;
	}
	for (int i = 0; i < n; i++)
		if (v[i] != tid)
			IGNORE_RC(target_resume(tab->t, v[i], TARGET_RESUME_CONT, 0));
	free(v);
}

static bool claim(struct event_table *tab, const struct target_stop *st, struct event_occ *occ)
{
	struct state *s = tab->kstate[EVENT_KIND_MONITOR];
	if (!s)
		return false;
	wb_flush(tab); /* an occurrence dropped before its end */
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
		occ->stage = d->post ? EVENT_STAGE_POST : EVENT_STAGE_PRE;
		occ->context = occ->key = d->context;
		occ->aux[0] = d->post ? 0 : M_STEP;
		occ->aux[2] = d->post ? (uint64_t)(A_R | A_W | A_X) : 0; /* 0: no events */
		*pp = d->next;
		free(d);
		return true;
	}
	return false;
}

static bool match(const struct event *e, const struct event_occ *occ)
{
	return ((int)e->param[2] & (int)occ->aux[2]) && e->param[0] <= occ->key &&
	       occ->key <= e->param[1];
}

static void post_queue(struct state *s, pid_t tid, uint64_t context, bool post)
{
	struct drpost *d = hd_xcalloc(1, sizeof(*d));
	d->tid = tid;
	d->context = context;
	d->post = post;
	d->next = s->posts;
	s->posts = d;
}

/* The access runs with the page open for one single step of the thread,
 * waited for here, while no other thread runs (their accesses would go
 * unseen): they are stopped for it and resumed after it, unless they are
 * stopped already (a user's step, `g` from a break: the caller resumes them). */
static int finish_pp(struct event_table *tab, struct event_occ *occ, bool sc, bool post)
{
	struct state *s = st_get(tab);
	struct target_stop st;
	pid_t tid = occ->tid;
	if (sc) { /* the access never happens */
		TRY(target_insn_skip(tab->t, tid));
		return event_resume(tab, tid, EVENT_RESUME_DONE, 0);
	}
	bool freeze = !event_others_stopped(tab);
	if (freeze)
		TRY(target_stop_all(tab->t));
	struct page *p = page_find(s, occ->aux[1]);
	int rc = p ? target_mprotect(tab->t, tid, p->addr, PAGE, p->orig) : 0;
	if (rc == 0)
		rc = target_resume_step(tab->t, tid, 0);
	if (rc == 0)
		rc = target_wait_thread(tab->t, tid, &st);
	if (rc == 0 && st.kind == TARGET_STOP_INTERRUPT)
		return target_stop_queue(tab->t, &st); /* Ctrl-C: all stopped */
	/* the access ran (or a signal came first): protect the page again */
	if (p && p->cur != p->orig)
		IGNORE_RC(target_mprotect(tab->t, tid, p->addr, PAGE, p->cur));
	if (freeze)
		thaw_others(tab, tid);
	if (rc < 0)
		return rc;
	if (st.kind != TARGET_STOP_STEP) {
		/* a signal before the access, an exit...: reported as usual (a
		 * signal's handler returns to the access, which faults again) */
		if (st.kind == TARGET_STOP_EXITED || st.kind == TARGET_STOP_KILLED ||
		    st.kind == TARGET_STOP_THREAD_EXIT)
			return -HD_E_EXITED;
		return target_stop_queue(tab->t, &st);
	}
	/* the step's stop is reported: the post pass, or its end */
	post_queue(s, tid, occ->context, post);
	return target_stop_queue(tab->t, &st);
}

static int finish(struct event_table *tab, struct event_occ *occ, bool sc, bool post)
{
	struct state *s = st_get(tab);
	if (occ->stage == EVENT_STAGE_POST || occ->aux[0] == M_STEP)
		return event_resume(tab, occ->tid, EVENT_RESUME_DONE, 0);
	if (occ->aux[0] == M_PP)
		return finish_pp(tab, occ, sc, post);
	/* debug registers: the access already ran; a write's old bytes are
	 * shown until now; sc keeps them (the write undone) */
	if (sc)
		s->wb.on = false;
	else
		wb_flush(tab);
	if (post) {
		struct target_stop again = {.kind = TARGET_STOP_STEP, .tid = occ->tid};
		post_queue(s, occ->tid, occ->context, true);
		return target_stop_queue(tab->t, &again);
	}
	return event_resume(tab, occ->tid, EVENT_RESUME_DONE, 0);
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
