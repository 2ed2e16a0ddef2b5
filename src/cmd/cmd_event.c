/*
** cmd_event.c: the bridge to the event layer: event commands (`!epthook`,
** `!syscall`...), `events`, the session's event table and its output, and
** the pieces of the run loop that offer stops to the events.
*/
#include <stdlib.h>
#include <string.h>

#include "cmd/internal.h"
#include "event/event.h"
#include "target/target.h"

/* Script output of events is printed as it comes: a printf without a
 * newline leaves the line open and the next hit's output continues it
 * (session.c, emit). */
static void event_write(void *ud, const char *text)
{
	cmd_out_event(ud, text);
}

int cmd_events_new(struct cmd_session *s)
{
	struct event_host host = {
		.resolve = cmd_resolve,
		.resolve_ud = s,
		.globals = s->globals,
		.sink = {event_write, s},
		.interrupt = &s->interrupt,
	};
	return event_table_new(&s->events, &host);
}

void cmd_events_free(struct cmd_session *s)
{
	if (s->events)
		event_table_free(s->events);
	s->events = NULL;
}

/* Print text the event layer returned: errors on CMD_ERR as one line each. */
static void print_text(struct cmd_session *s, const struct hd_buf *b, bool error)
{
	if (!b->len)
		return;
	const char *t = hd_buf_str(b);
	if (error) {
		struct hd_buf e = {0};
		hd_buf_printf(&e, "%s", t);
		while (e.len && e.p[e.len - 1] == '\n')
			e.p[--e.len] = '\0';
		if (!strncmp(e.p, "error: ", 7))
			IGNORE(cmd_err(s, -1, "%s", e.p + 7));
		else
			IGNORE(cmd_err(s, -1, "%s", e.p));
		hd_buf_free(&e);
		return;
	}
	cmd_out(s, "%s%s", t, t[b->len - 1] == '\n' ? "" : "\n");
}

void cmd_events_target_set(struct cmd_session *s)
{
	struct hd_buf out = {0};
	IGNORE(event_target_set(s->events, s->t, s->t ? target_thread_current(s->t) : 0, &out));
	print_text(s, &out, false);
	hd_buf_free(&out);
}

void cmd_events_release(struct cmd_session *s)
{
	if (s->t)
		event_target_release(s->events);
}

void cmd_events_exec(struct cmd_session *s, pid_t tid)
{
	struct hd_buf out = {0};
	IGNORE(event_target_exec(s->events, tid, &out));
	print_text(s, &out, false);
	hd_buf_free(&out);
}

void cmd_events_libs(struct cmd_session *s, pid_t tid)
{
	struct hd_buf out = {0};
	IGNORE(event_libs_changed(s->events, tid, &out));
	print_text(s, &out, false);
	hd_buf_free(&out);
}

bool cmd_events_any_pending(struct cmd_session *s)
{
	return event_stale_count(s->events) > 0;
}

static struct event_token *convert(const struct cmd_tokens *tk)
{
	struct event_token *v = hd_xcalloc((size_t)tk->n + 1, sizeof(*v));
	for (int i = 0; i < tk->n; i++) {
		v[i].type = tk->v[i].type == CMD_TOK_BLOCK    ? EVENT_TOK_BLOCK
			    : tk->v[i].type == CMD_TOK_STRING ? EVENT_TOK_STRING
							      : EVENT_TOK_WORD;
		v[i].text = tk->v[i].text;
	}
	return v;
}

bool cmd_is_event_command(const char *name)
{
	return event_is_command(name);
}

int cmd_event_command(struct cmd_session *s, const struct cmd_tokens *tk)
{
	struct script_env env;
	struct hd_buf out = {0};
	TRY(cmd_need_target(s));
	cmd_script_env(s, &env);
	struct event_token *v = convert(tk);
	int rc = event_command(s->events, v, tk->n, target_thread_current(s->t), &env, &out);
	print_text(s, &out, rc < 0);
	hd_buf_free(&out);
	free(v);
	return rc;
}

int cmd_do_events(struct cmd_session *s, const struct cmd_args *a)
{
	struct hd_buf out = {0};
	struct event_token *v = convert(a->tk);
	int rc = event_events_command(s->events, v, a->tk->n, &out);
	print_text(s, &out, rc < 0);
	hd_buf_free(&out);
	free(v);
	return rc;
}

/* 1: the stop was an event's and the thread runs on; 0: it ends the run
 * (break: printed); -1: not an event's stop. */
int cmd_events_stop(struct cmd_session *s, const struct target_stop *st)
{
	struct event_verdict v;
	memset(&v, 0, sizeof(v));
	int rc = event_handle_stop(s->events, s->t, st, &v);
	if (rc < 0) {
		print_text(s, &v.text, true);
		hd_buf_free(&v.text);
		return rc;
	}
	switch (v.kind) {
	case EVENT_VERDICT_RESUMED:
		print_text(s, &v.text, false);  /* script output, crash reports */
		hd_buf_free(&v.text);
		return 1;
	case EVENT_VERDICT_BREAK:
	case EVENT_VERDICT_INTERRUPTED:
		rc = cmd_stop_here(s, v.tid);
		print_text(s, &v.text, false);
		hd_buf_free(&v.text);
		if (rc < 0)
			return rc;
		cmd_print_current(s);
		return 0;
	default:
		hd_buf_free(&v.text);
		return -1;
	}
}

/* At `g`: finish an occurrence that stopped for a break. 1: resume all;
 * 0: another break of the same occurrence (printed). */
int cmd_events_continue(struct cmd_session *s)
{
	struct event_verdict v;
	if (!event_paused(s->events))
		return 1;
	memset(&v, 0, sizeof(v));
	int rc = event_continue(s->events, &v);
	if (rc < 0) {
		print_text(s, &v.text, true);
		hd_buf_free(&v.text);
		return rc;
	}
	if (v.kind == EVENT_VERDICT_BREAK) {
		print_text(s, &v.text, false);
		hd_buf_free(&v.text);
		cmd_print_current(s);
		return 0;
	}
	print_text(s, &v.text, false);
	hd_buf_free(&v.text);
	return 1;
}

/* The verdict of a stop during a user's step: 1 the caller goes on with
 * `st` (TARGET_STOP_STEP: the step is over, print the location), 0 the
 * step ended at an event's break (printed), <0 an error (printed). */
static int step_verdict(struct cmd_session *s, int rc, struct event_verdict *v,
			struct target_stop *st)
{
	if (rc < 0) {
		print_text(s, &v->text, true);
		hd_buf_free(&v->text);
		return rc;
	}
	switch (v->kind) {
	case EVENT_VERDICT_BREAK:
	case EVENT_VERDICT_INTERRUPTED:
		rc = cmd_stop_here(s, v->tid);
		print_text(s, &v->text, false);
		hd_buf_free(&v->text);
		if (rc < 0)
			return rc;
		cmd_print_current(s);
		return 0;
	case EVENT_VERDICT_STEPPED:
		memset(st, 0, sizeof(*st));
		st->kind = TARGET_STOP_STEP;
		st->tid = v->tid;
		break;
	default:
		break;
	}
	print_text(s, &v->text, false); /* script output, crash reports */
	hd_buf_free(&v->text);
	return 1;
}

int cmd_events_step_stop(struct cmd_session *s, pid_t tid, struct target_stop *st)
{
	struct event_verdict v;
	memset(&v, 0, sizeof(v));
	int rc = event_handle_step_stop(s->events, s->t, tid, st, &v);
	return step_verdict(s, rc, &v, st);
}

int cmd_events_step_paused(struct cmd_session *s, pid_t tid, struct target_stop *st)
{
	struct event_verdict v;
	memset(&v, 0, sizeof(v));
	int rc = event_step_paused(s->events, tid, st, &v);
	return step_verdict(s, rc, &v, st);
}

int cmd_events_pseudo(struct cmd_session *s, int id, uint64_t *val)
{
	return event_pseudo_read(s->events, id, val);
}

int cmd_events_ctl(void *ud, int func, const uint64_t *args, int nargs)
{
	struct cmd_session *s = ud;
	return event_script_ctl(s->events, func, args, nargs);
}
