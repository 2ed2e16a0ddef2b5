/*
** table.c: the event table: lifetime, binding to a target (agent
** injection, loading blocks and buffers, arming), the `events` command
** (listing, enable/disable/clear, sc) and id numbering.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/agent.h"
#include "asm/asm.h"
#include "event/internal.h"
#include "target/target.h"

int event_table_new(struct event_table **out, const struct event_host *host)
{
	struct event_table *tab = calloc(1, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	if (host)
		tab->host = *host;
	*out = tab;
	return 0;
}

static void reset_kinds(struct event_table *tab)
{
	for (int k = 0; k < EVENT_KIND_COUNT; k++) {
		const struct event_kind_info *ki = event_kind_info((enum event_kind)k);
		if (ki->ops && ki->ops->reset)
			ki->ops->reset(tab);
	}
}

void event_table_free(struct event_table *tab)
{
	if (!tab)
		return;
	event_flush_imm(tab);
	event_pending_drop(tab);
	for (int i = 0; i < tab->n; i++)
		event_free(tab->v[i]);
	free(tab->v);
	reset_kinds(tab);
	if (tab->agent)
		agent_free(tab->agent);
	hd_buf_free(&tab->imm_no);
	free(tab->susp_spare);
	free(tab);
}

struct agent *event_table_agent(struct event_table *tab)
{
	return tab->agent;
}

struct event *event_find(struct event_table *tab, uint32_t id)
{
	for (int i = 0; i < tab->n; i++)
		if (tab->v[i]->id == id && !tab->v[i]->cleared)
			return tab->v[i];
	return NULL;
}

int event_count(const struct event_table *tab)
{
	int c = 0;
	for (int i = 0; i < tab->n; i++)
		c += !tab->v[i]->cleared;
	return c;
}

/* ---- agent, blocks, buffers, arming ---- */

int event_agent_get(struct event_table *tab, pid_t tid, uint64_t near, struct agent **out,
		    struct hd_buf *text)
{
	if (!tab->agent) {
		int rc = agent_inject_near(tab->t, tid, near, &tab->agent);
		if (rc < 0) {
			tab->agent = NULL;
			if (text)
				hd_buf_printf(text, "err, cannot inject the agent into the target "
					      "(needed for custom code, conditions and buffers): %s\n",
					      hd_strerror(rc));
			return rc;
		}
	}
	*out = tab->agent;
	return 0;
}

static int asm_resolve(void *ud, const char *name, uint64_t *value)
{
	const struct event_host *h = ud;
	if (!h->resolve)
		return -HD_E_NOSYM;
	return h->resolve(h->resolve_ud, name, value);
}

/* Hex: copied as is. Assembly: a placeholder reserves room, then the text
 * is assembled at that address (rip-relative references to symbols are
 * right) and written over it. */
static int load_block(struct event_table *tab, struct event *e, struct event_block *b,
		      struct hd_buf *out)
{
	if (!b->is_asm)
		return agent_code_load(tab->agent, b->bytes, b->len, &b->addr);
	size_t room = b->len + 64, len = room;
	uint8_t *pad = hd_xmalloc(room), *code = hd_xmalloc(room);
	struct asm_error ae;
	int rc;
	memset(pad, 0xcc, room);
	CHECK(agent_code_load(tab->agent, pad, room, &b->addr));
	memset(&ae, 0, sizeof(ae));
	rc = asm_assemble(b->text, b->addr, asm_resolve, &tab->host, code, &len, &ae);
	if (rc < 0) {
		char caret[512];
		size_t n = asm_error_render(b->text, &ae, caret, sizeof(caret));
		if (out)
			hd_buf_printf(out, "err, assemble error in the %s of event 0x%x at line %d "
				      "column %d: %s\n%s%s", b == &e->cond ? "condition" : "code", e->id,
				      ae.line, ae.col, ae.msg[0] ? ae.msg : hd_strerror(rc), caret,
				      n && caret[n - 1] != '\n' ? "\n" : "");
		b->addr = 0;
		rc = -HD_E_ENCODE; /* reported */
		goto out;
	}
	CHECK(target_mem_write(tab->t, b->addr, code, len));
out:
	free(pad);
	free(code);
	return rc;
}

static int load(struct event_table *tab, struct event *e, pid_t tid, struct hd_buf *out)
{
	struct agent *a;
	int rc;
	bool need = e->cond.present || e->code.present || e->buffer;
	if (e->loaded || !need)
		goto done;
	/* the agent's arena near the first event that needs it (when its
	 * parameter is an address), so its blocks reach that module's symbols */
	const struct event_kind_info *ki = event_kind_info(e->kind);
	TRY(event_agent_get(tab, tid, ki->ops && ki->ops->exec ? e->param[0] : 0, &a, out));
	if (e->cond.present) {
		rc = load_block(tab, e, &e->cond, out);
		if (rc < 0)
			goto fail;
	}
	if (e->code.present) {
		rc = load_block(tab, e, &e->code, out);
		if (rc < 0)
			goto fail;
	}
	if (e->buffer && e->script) {
		rc = agent_buffer_alloc(a, e->buffer, &e->script_buf);
		if (rc < 0)
			goto fail;
	}
	if (e->buffer && e->code.present) {
		rc = agent_buffer_alloc(a, e->buffer, &e->code_buf);
		if (rc < 0)
			goto fail;
	}
done:
	e->loaded = true;
	return 0;
fail:
	if (out && rc != -HD_E_ENCODE)
		hd_buf_printf(out, "err, cannot load event 0x%x into the target: %s\n", e->id,
			      hd_strerror(rc));
	return rc;
}

static int arm(struct event_table *tab, struct event *e, pid_t tid, struct hd_buf *out)
{
	const struct event_kind_info *ki = event_kind_info(e->kind);
	if (e->armed || !e->enabled || e->cleared || e->stale || !tab->t)
		return 0;
	if (ki->ops && ki->ops->arm) {
		int rc = ki->ops->arm(tab, e, tid);
		if (rc < 0) {
			if (out)
				hd_buf_printf(out, "err, cannot arm event 0x%x (%s): %s\n", e->id,
					      ki->command, hd_strerror(rc));
			return rc;
		}
	}
	e->armed = true;
	return 0;
}

int event_load_arm(struct event_table *tab, struct event *e, pid_t tid, struct hd_buf *out)
{
	if (!tab->t)
		return 0;
	TRY(load(tab, e, tid, out));
	return arm(tab, e, tid, out);
}

void event_disarm(struct event_table *tab, struct event *e)
{
	const struct event_kind_info *ki = event_kind_info(e->kind);
	if (!e->armed)
		return;
	if (tab->t && ki->ops && ki->ops->disarm)
		ki->ops->disarm(tab, e);
	e->armed = false;
}

void event_sweep(struct event_table *tab)
{
	int j = 0;
	if (tab->running)
		return;
	for (int i = 0; i < tab->n; i++) {
		/* an event that cleared itself and then paused keeps its
		 * script until its suspended run is over */
		if (tab->v[i]->cleared && !event_susp_holds(tab, tab->v[i])) {
			event_disarm(tab, tab->v[i]);
			event_free(tab->v[i]);
		} else {
			tab->v[j++] = tab->v[i];
		}
	}
	tab->n = j;
	if (tab->n == 0 && tab->reset_ids) {
		tab->next_id = 0;
		tab->reset_ids = false;
	}
}

/* ---- target binding ---- */

static void forget_target(struct event_table *tab)
{
	event_flush_imm(tab);
	event_pending_drop(tab);
	for (int i = 0; i < tab->n; i++) {
		struct event *e = tab->v[i];
		e->armed = false;
		e->loaded = false;
		e->cond.addr = e->code.addr = 0;
		e->script_buf = e->code_buf = 0;
	}
	reset_kinds(tab);
	if (tab->agent)
		agent_free(tab->agent);
	tab->agent = NULL;
}

static int arm_all(struct event_table *tab, pid_t tid, struct hd_buf *out)
{
	int first = 0;
	for (int i = 0; i < tab->n; i++) {
		struct event *e = tab->v[i];
		if (e->cleared || !e->enabled || e->stale)
			continue;
		int rc = event_load_arm(tab, e, tid, out);
		if (rc < 0) {
			e->enabled = false;
			if (out)
				hd_buf_printf(out, "event 0x%x disabled\n", e->id);
			if (!first)
				first = rc;
		}
	}
	return first;
}

/* A new address space (execve, or another process after .restart): the
 * kinds whose parameters are addresses evaluate their text again (ASLR,
 * other libraries). An enabled event whose text does not evaluate yet (a
 * library not loaded yet) stays enabled but pending (stale, not armed):
 * event_libs_changed() tries again at every library load. */
static void reevaluate_all(struct event_table *tab, struct hd_buf *out)
{
	for (int i = 0; i < tab->n; i++) {
		struct event *e = tab->v[i];
		const struct event_kind_info *ki = event_kind_info(e->kind);
		if (e->cleared || !ki->ops || !ki->ops->exec)
			continue;
		if (!e->enabled) {  /* evaluated when enabled */
			e->stale = true;
			continue;
		}
		e->stale = ki->ops->exec(tab, e, NULL) < 0;
		if (e->stale && out)
			hd_buf_printf(out, "event 0x%x pending: its address does not resolve yet\n",
				      e->id);
	}
}

int event_stale_count(const struct event_table *tab)
{
	int c = 0;
	for (int i = 0; i < tab->n; i++)
		c += tab->v[i]->enabled && tab->v[i]->stale && !tab->v[i]->cleared;
	return c;
}

int event_libs_changed(struct event_table *tab, pid_t tid, struct hd_buf *out)
{
	int first = 0;
	if (!tab->t)
		return 0;
	for (int i = 0; i < tab->n; i++) {
		struct event *e = tab->v[i];
		const struct event_kind_info *ki = event_kind_info(e->kind);
		if (e->cleared || !e->enabled || !e->stale || !ki->ops || !ki->ops->exec ||
		    ki->ops->exec(tab, e, NULL) < 0)
			continue;
		e->stale = false;
		int rc = event_load_arm(tab, e, tid, out);
		if (rc < 0) {
			e->enabled = false;
			if (out)
				hd_buf_printf(out, "event 0x%x disabled\n", e->id);
			if (!first)
				first = rc;
			continue;
		}
		if (out)
			hd_buf_printf(out, "event 0x%x armed at %016llx\n", e->id,
				      (unsigned long long)e->param[0]);
	}
	return first;
}

int event_target_set(struct event_table *tab, struct target *t, pid_t tid, struct hd_buf *out)
{
	forget_target(tab);
	tab->t = t;
	if (!t || !tid)
		return 0;
	reevaluate_all(tab, out);
	return arm_all(tab, tid, out);
}

void event_target_release(struct event_table *tab)
{
	event_flush_imm(tab);
	event_pending_drop(tab);
	if (tab->t)
		for (int i = 0; i < tab->n; i++)
			event_disarm(tab, tab->v[i]);
	/* A process that lives on (detach) keeps nothing of the agent:
	 * agent_unload() unmaps its arena and ring there and frees it. */
	if (tab->agent && tab->t && !target_exited(tab->t)) {
		IGNORE_RC(agent_unload(tab->agent, target_thread_current(tab->t)));
		tab->agent = NULL;
	}
	forget_target(tab);
}

int event_target_exec(struct event_table *tab, pid_t tid, struct hd_buf *out)
{
	struct target *t = tab->t;
	forget_target(tab);
	tab->t = t;
	if (!t)
		return 0;
	reevaluate_all(tab, out);
	return arm_all(tab, tid, out);
}

/* ---- enable / disable / clear ---- */

static void set_enabled(struct event_table *tab, struct event *e, bool on)
{
	if (e->enabled == on)
		return;
	e->enabled = on;
	if (!on) {
		event_disarm(tab, e);
		return;
	}
	if (!tab->t)
		return;
	/* a stopped thread: the event's own during actions, else the current */
	pid_t tid = tab->pend.active ? tab->pend.occ.tid : target_thread_current(tab->t);
	struct hd_buf out = {0};
	const struct event_kind_info *ki = event_kind_info(e->kind);
	/* an address that did not evaluate in this address space (a library
	 * not loaded yet at .restart) is tried again now; still unresolved, the
	 * event stays enabled and pending (armed at a library load) */
	if (e->stale && ki->ops && ki->ops->exec && ki->ops->exec(tab, e, NULL) < 0) {
		hd_buf_printf(&out, "event 0x%x pending: its address does not resolve yet\n", e->id);
		event_output(tab, true, hd_buf_str(&out));
		hd_buf_free(&out);
		return;
	}
	e->stale = false;
	if (event_load_arm(tab, e, tid, &out) < 0) {
		e->enabled = false;
		hd_buf_printf(&out, "event 0x%x disabled\n", e->id);
		event_output(tab, true, hd_buf_str(&out));
	}
	hd_buf_free(&out);
}

int event_enable(struct event_table *tab, uint32_t id, bool enable)
{
	struct event *e = event_find(tab, id);
	if (!e)
		return -HD_E_NOTFOUND;
	set_enabled(tab, e, enable);
	return 0;
}

int event_enable_all(struct event_table *tab, bool enable)
{
	for (int i = 0; i < tab->n; i++)
		if (!tab->v[i]->cleared)
			set_enabled(tab, tab->v[i], enable);
	return 0;
}

int event_clear(struct event_table *tab, uint32_t id)
{
	struct event *e = event_find(tab, id);
	if (!e)
		return -HD_E_NOTFOUND;
	e->enabled = false;
	e->cleared = true;
	event_disarm(tab, e);
	/* at the prompt, the event paused in its script: that run is dropped
	 * (a script clearing its own event finishes its run) */
	if (!tab->running && event_susp_holds(tab, e))
		event_susp_drop(tab);
	event_sweep(tab);
	return 0;
}

int event_clear_all(struct event_table *tab)
{
	for (int i = 0; i < tab->n; i++) {
		tab->v[i]->enabled = false;
		tab->v[i]->cleared = true;
		event_disarm(tab, tab->v[i]);
	}
	if (!tab->running)
		event_susp_drop(tab);
	tab->pend.below = 0;
	tab->reset_ids = true; /* numbering restarts once they are gone */
	event_sweep(tab);
	return 0;
}

/* ---- the events command ---- */

static void list(struct event_table *tab, struct hd_buf *out)
{
	if (event_count(tab) == 0) {
		hd_buf_printf(out, "no active/disabled events \n");
		return;
	}
	for (int i = 0; i < tab->n; i++) {
		const struct event *e = tab->v[i];
		if (e->cleared)
			continue;
		char cmd[80];
		size_t len = strlen(e->command);
		snprintf(cmd, sizeof(cmd), "%.*s%s", 70, e->command, len > 70 ? "..." : "");
		for (char *p = cmd; *p; p++)
			if (*p == '\n')
				*p = ' ';
		hd_buf_printf(out, "%x\t(%s)\t    %s\n", e->id,
			      !e->enabled ? "disabled" : e->stale ? "pending" : "enabled", cmd);
	}
}

static void events_help(struct hd_buf *out)
{
	hd_buf_printf(out, "events : shows active and disabled events\n\n"
		      "syntax : \tevents\n"
		      "syntax : \tevents [e|d|c all|EventNumber (hex)]\n"
		      "syntax : \tevents [sc State (on|off)]\n");
}

static int events_sc(struct event_table *tab, const char *v, struct hd_buf *out)
{
	bool on;
	if (!strcasecmp(v, "on"))
		on = true;
	else if (!strcasecmp(v, "off"))
		on = false;
	else {
		hd_buf_printf(out, "incorrect use of the 'events'\n\n");
		events_help(out);
		return -HD_E_PARSE;
	}
	if (!tab->pend.active) {
		hd_buf_printf(out, "err, short-circuiting is only possible while the target is "
			      "paused by an event\n");
		return -HD_E_NOTFOUND;
	}
	const struct event_kind_info *ki = event_kind_info(tab->pend.occ.kind);
	if (on && !ki->sc) {
		hd_buf_printf(out, "err, short-circuiting is not supported by '%s'\n", ki->command);
		return -HD_E_UNSUPPORTED;
	}
	if (on && tab->pend.occ.stage == EVENT_STAGE_POST) {
		hd_buf_printf(out, "err, short-circuiting is not possible in the post stage: "
			      "the event has already happened\n");
		return -HD_E_UNSUPPORTED;
	}
	tab->pend.sc = on;
	return 0;
}

int event_events_command(struct event_table *tab, const struct event_token *tk, int n,
			 struct hd_buf *out)
{
	if (n == 1) {
		list(tab, out);
		return 0;
	}
	if (n != 3) {
		hd_buf_printf(out, "incorrect use of the 'events'\n\n");
		events_help(out);
		return -HD_E_PARSE;
	}
	const char *op = tk[1].text, *arg = tk[2].text;
	if (!strcasecmp(op, "sc"))
		return events_sc(tab, arg, out);
	if (strcmp(op, "e") && strcmp(op, "d") && strcmp(op, "c")) {
		hd_buf_printf(out, "incorrect use of the 'events'\n\n");
		events_help(out);
		return -HD_E_PARSE;
	}
	if (!strcasecmp(arg, "all")) {
		if (op[0] == 'c')
			return event_clear_all(tab);
		return event_enable_all(tab, op[0] == 'e');
	}
	uint32_t id;
	if (!event_parse_u32(arg, &id)) {
		hd_buf_printf(out, "please specify a correct hex value for tag id (event number)\n\n");
		events_help(out);
		return -HD_E_PARSE;
	}
	int rc = op[0] == 'c' ? event_clear(tab, id) : event_enable(tab, id, op[0] == 'e');
	if (rc < 0)
		hd_buf_printf(out, "err, tag id is invalid (event 0x%x not found)\n", id);
	return rc;
}
