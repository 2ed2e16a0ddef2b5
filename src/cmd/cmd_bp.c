/*
** cmd_bp.c: classic breakpoints (bp bl bc bd be). Ids are the lowest free
** numbers from 0; a disabled breakpoint has its int3 removed. The address
** expression is kept so that .restart can resolve it again (PIE).
** A `module!symbol` of a library not loaded yet is pending: it is inserted
** when a library load (cmd_pending.c) makes it resolve.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/internal.h"
#include "sym/sym.h"
#include "target/target.h"

struct cmd_bp *cmd_bp_at(struct cmd_session *s, uint64_t addr)
{
	for (int i = 0; i < CMD_MAX_BP; i++)
		if (s->bp[i].used && !s->bp[i].pending && s->bp[i].addr == addr)
			return &s->bp[i];
	return NULL;
}

static int free_id(struct cmd_session *s, const char *text)
{
	int id = 0;
	while (id < CMD_MAX_BP && s->bp[id].used)
		id++;
	if (id == CMD_MAX_BP)
		return cmd_err(s, -HD_E_LIMIT, "too many breakpoints (%d) for '%s'", CMD_MAX_BP, text);
	return id;
}

/* A breakpoint on a symbol of a library that is not loaded yet. */
static int add_pending(struct cmd_session *s, const char *text)
{
	for (int i = 0; i < CMD_MAX_BP; i++)
		if (s->bp[i].used && s->bp[i].pending && !strcmp(s->bp[i].expr, text)) {
			cmd_out(s, "breakpoint %d redefined\n", i);
			return 0;
		}
	int id = free_id(s, text);
	TRY(id);
	struct cmd_bp *b = &s->bp[id];
	memset(b, 0, sizeof(*b));
	b->used = b->enabled = b->pending = true;
	b->expr = hd_xstrdup(text);
	cmd_out(s, "breakpoint %d pending on '%s' (no such symbol yet)\n", id, text);
	return 0;
}

int cmd_do_bp(struct cmd_session *s, const struct cmd_args *a)
{
	uint64_t addr;
	if (a->tk->n != 2)
		return cmd_err(s, -HD_E_PARSE, a->tk->n < 2 ? "missing address (usage: bp ADDR)%s" :
			       "too many arguments at '%s' (usage: bp ADDR)",
			       a->tk->n < 2 ? "" : a->tk->v[2].text);
	TRY(cmd_need_target(s));
	const char *text = a->tk->v[1].text;
	if (!cmd_parse_number(text, &addr) && cmd_pending_candidate(s, text))
		return add_pending(s, text);
	TRY(cmd_eval(s, text, &addr));
	struct cmd_bp *b = cmd_bp_at(s, addr);
	if (b) {
		cmd_out(s, "breakpoint %d redefined\n", (int)(b - s->bp));
		return 0;
	}
	int id = free_id(s, text);
	TRY(id);
	int rc = target_bp_insert(s->t, addr);
	if (rc < 0)
		return cmd_err(s, rc, "cannot set a breakpoint at '%s' (%016llx): %s", text,
			       (unsigned long long)addr, hd_strerror(rc));
	b = &s->bp[id];
	memset(b, 0, sizeof(*b));
	b->used = b->enabled = b->inserted = true;
	b->addr = addr;
	b->expr = hd_xstrdup(text);
	return 0;
}

int cmd_do_bl(struct cmd_session *s, const struct cmd_args *a)
{
	if (a->tk->n > 1)
		return cmd_err(s, -HD_E_PARSE, "too many arguments at '%s'", a->tk->v[1].text);
	for (int i = 0; i < CMD_MAX_BP; i++) {
		struct cmd_bp *b = &s->bp[i];
		char name[512];
		if (!b->used)
			continue;
		if (b->pending) {
			cmd_out(s, "%2d %c %-16s %04x  %s\n", i, b->enabled ? 'e' : 'd', "pending", b->hits,
				b->expr);
			continue;
		}
		cmd_addr_name(s, b->addr, name, sizeof(name));
		cmd_out(s, "%2d %c %016llx %04x  %s\n", i, b->enabled ? 'e' : 'd',
			(unsigned long long)b->addr, b->hits, name);
	}
	return 0;
}

static int set_enabled(struct cmd_session *s, struct cmd_bp *b, bool on)
{
	int rc = 0;
	if (b->pending) {
		b->enabled = on;
		return 0;
	}
	if (s->t && on && !b->inserted)
		rc = target_bp_insert(s->t, b->addr);
	else if (s->t && !on && b->inserted)
		rc = target_bp_remove(s->t, b->addr);
	if (rc < 0)
		return cmd_err(s, rc, "breakpoint %d at %016llx: %s", (int)(b - s->bp),
			       (unsigned long long)b->addr, hd_strerror(rc));
	if (s->t)
		b->inserted = on;
	b->enabled = on;
	return 0;
}

/* bc / bd / be ID|all; every id is checked before anything changes. */
static int each_bp(struct cmd_session *s, const struct cmd_args *a, int what)
{
	const struct cmd_tokens *tk = a->tk;
	bool sel[CMD_MAX_BP] = {false};
	if (tk->n < 2)
		return cmd_err(s, -HD_E_PARSE, "missing breakpoint id (usage: %s ID|all)", tk->v[0].text);
	for (int i = 1; i < tk->n; i++) {
		uint64_t id;
		if (!strcmp(tk->v[i].text, "all") || !strcmp(tk->v[i].text, "*")) {
			for (int k = 0; k < CMD_MAX_BP; k++)
				sel[k] = s->bp[k].used;
			continue;
		}
		TRY(cmd_eval(s, tk->v[i].text, &id));
		if (id >= CMD_MAX_BP || !s->bp[id].used)
			return cmd_err(s, -HD_E_NOTFOUND, "no breakpoint '%s'", tk->v[i].text);
		sel[id] = true;
	}
	for (int k = 0; k < CMD_MAX_BP; k++) {
		struct cmd_bp *b = &s->bp[k];
		if (!sel[k])
			continue;
		TRY(set_enabled(s, b, what == 'e'));
		if (what == 'c') {
			free(b->expr);
			memset(b, 0, sizeof(*b));
		}
	}
	return 0;
}

int cmd_do_bc(struct cmd_session *s, const struct cmd_args *a) { return each_bp(s, a, 'c'); }
int cmd_do_bd(struct cmd_session *s, const struct cmd_args *a) { return each_bp(s, a, 'd'); }
int cmd_do_be(struct cmd_session *s, const struct cmd_args *a) { return each_bp(s, a, 'e'); }

void cmd_bp_target_gone(struct cmd_session *s)
{
	for (int i = 0; i < CMD_MAX_BP; i++)
		s->bp[i].inserted = false;
}

void cmd_bp_rearm(struct cmd_session *s)
{
	for (int i = 0; i < CMD_MAX_BP; i++) {
		struct cmd_bp *b = &s->bp[i];
		uint64_t addr;
		if (!b->used || !b->enabled)
			continue;
		if (!cmd_parse_number(b->expr, &addr) && cmd_pending_candidate(s, b->expr)) {
			b->pending = true;
			b->inserted = false;
			b->addr = 0;
			cmd_out(s, "breakpoint %d pending on '%s' (no such symbol yet)\n", i, b->expr);
			continue;
		}
		if (cmd_eval(s, b->expr, &addr) < 0 || target_bp_insert(s->t, addr) < 0) {
			cmd_out(s, "breakpoint %d at '%s' could not be set again: disabled\n", i, b->expr);
			b->enabled = false;
			continue;
		}
		b->pending = false;
		b->addr = addr;
		b->inserted = true;
	}
}

bool cmd_bp_any_pending(const struct cmd_session *s)
{
	for (int i = 0; i < CMD_MAX_BP; i++)
		if (s->bp[i].used && s->bp[i].pending)
			return true;
	return false;
}

void cmd_bp_resolve_pending(struct cmd_session *s)
{
	for (int i = 0; i < CMD_MAX_BP; i++) {
		struct cmd_bp *b = &s->bp[i];
		uint64_t addr;
		char name[512];
		if (!b->used || !b->pending || !s->sym || sym_lookup(s->sym, b->expr, &addr) < 0)
			continue;
		if (b->enabled) {
			int rc = target_bp_insert(s->t, addr);
			if (rc < 0) {
				cmd_out(s, "breakpoint %d at '%s' (%016llx) cannot be set: %s\n", i,
					b->expr, (unsigned long long)addr, hd_strerror(rc));
				continue;
			}
			b->inserted = true;
		}
		b->pending = false;
		b->addr = addr;
		cmd_addr_name(s, addr, name, sizeof(name));
		cmd_out(s, "breakpoint %d resolved at %016llx %s\n", i, (unsigned long long)addr, name);
	}
}
