/*
** trigger.c: what happens on each occurrence (hyperdbg-events.md sections
** 5, 6 and 9): the kind that owns the stop describes it (claim), matching
** events run newest first, each one's condition before its actions, the
** script action before the custom-code action, an event without either
** breaks; the short-circuit flag is reset to each event's default, scripts
** change it with event_sc(), the user with `events sc`, and the last event
** that ran decides. Stages follow the documented behaviour: `pre` events
** run in the pre pass only, `post` in the post pass only, `all` in both;
** a short-circuited occurrence has no post pass.
**
** A break leaves the occurrence pending (which event, which step) so that
** `g` (event_continue) runs the rest: the remaining actions of that event,
** then the older events, then the kind's finish (resume). pause() in a
** script is a break at the call itself: the script's run is suspended in
** heap storage kept with the pending occurrence (pend.susp) and `g`
** resumes it from the next statement before the remaining actions.
** `t`/`p` from a pause() do the same, then complete the instruction as
** the step; from a break action they drop the rest (event_step_paused).
**
** Scripts run in hdbg's copy of the VM against the stopped thread: its
** registers (writes go to the thread when it resumes), the target's
** memory, and the event's pseudo-registers. Conditions and custom code run
** in the target through the agent (seed ABI, agent.h). An !epthook stop
** whose events all run in the target goes to kind_epthook.c's one-stop path
** first (event_epthook_onestop); everything else comes here.
*/
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "asm/asm.h"
#include "event/internal.h"
#include "target/target.h"

/* HyperDbg FUNC ids of the event built-ins (script.h, event_ctl). */
enum { F_ENABLE = 38, F_DISABLE = 39, F_CLEAR = 40, F_SC = 44, F_PAUSE = 47, F_FLUSH = 48 };
/* Pseudo-register ids (hyperdbg-script.md section 13). */
enum { P_PID = 0, P_TID = 1, P_PNAME = 2, P_CORE = 3, P_IP = 8, P_BUFFER = 9, P_CONTEXT = 10,
       P_EVENT_TAG = 11, P_EVENT_ID = 12, P_EVENT_STAGE = 13, P_DATE = 14, P_TIME = 15 };

/* Steps of one event (pend.step). */
enum { STEP_COND, STEP_SCRIPT, STEP_CODE, STEP_BREAK, STEP_DONE };

/* ---- output ---- */

void event_flush_imm(struct event_table *tab)
{
	if (tab->imm_no.len && tab->host.sink.write)
		tab->host.sink.write(tab->host.sink.ud, hd_buf_str(&tab->imm_no));
	hd_buf_reset(&tab->imm_no);
}

/* `imm yes`: delivered at once; `imm no`: gathered into 4 KB chunks. */
void event_output(struct event_table *tab, bool imm, const char *text)
{
	size_t len = strlen(text);
	if (len)
		tab->line_open = text[len - 1] != '\n';
	if (!imm) {
		size_t n = strlen(text);
		if (tab->imm_no.len + n > 4095)
			event_flush_imm(tab);
		hd_buf_append(&tab->imm_no, text, n);
		return;
	}
	event_flush_imm(tab);
	if (tab->host.sink.write)
		tab->host.sink.write(tab->host.sink.ud, text);
}

void event_output_line(struct event_table *tab, const char *text)
{
	if (tab->line_open)
		event_output(tab, true, "\n");
	event_output(tab, true, text);
}

/* ---- the script environment of an occurrence ---- */

struct run {
	struct event_table *tab;
	const struct event_occ *occ;
	struct event *e;
	uint64_t buffer;   /* $buffer of the running action */
};

static const struct {
	const char *name;
	size_t off;
} regmap[] = {
#define R(n, f) {n, offsetof(struct user_regs_struct, f)}
	R("rax", rax), R("rcx", rcx), R("rdx", rdx), R("rbx", rbx), R("rsp", rsp),
	R("rbp", rbp), R("rsi", rsi), R("rdi", rdi), R("r8", r8), R("r9", r9),
	R("r10", r10), R("r11", r11), R("r12", r12), R("r13", r13), R("r14", r14),
	R("r15", r15), R("rip", rip), R("rflags", eflags), R("cs", cs), R("ds", ds),
	R("es", es), R("fs", fs), R("gs", gs), R("ss", ss),
#undef R
};

static uint64_t *reg_slot(struct user_regs_struct *r, int id)
{
	const char *name = script_reg_name(id);
	if (!name)
		return NULL;
	for (size_t i = 0; i < HD_ARRAY_SIZE(regmap); i++)
		if (!strcmp(regmap[i].name, name))
			return (uint64_t *)((char *)r + regmap[i].off);
	return NULL;
}

static int env_reg_read(void *ud, int reg, uint64_t *val)
{
	struct run *r = ud;
	struct user_regs_struct regs;
	TRY(target_regs_get(r->tab->t, r->occ->tid, &regs));
	uint64_t *p = reg_slot(&regs, reg);
	*val = p ? *p : 0; /* registers a user-mode thread does not have read 0 */
	return 0;
}

static int env_reg_write(void *ud, int reg, uint64_t val)
{
	struct run *r = ud;
	struct user_regs_struct regs;
	TRY(target_regs_get(r->tab->t, r->occ->tid, &regs));
	uint64_t *p = reg_slot(&regs, reg);
	if (!p)
		return 0;
	*p = val;
	return target_regs_set(r->tab->t, r->occ->tid, &regs);
}

static int env_mem_read(void *ud, uint64_t addr, void *buf, size_t len)
{
	struct run *r = ud;
	return target_mem_read(r->tab->t, addr, buf, len);
}

static int env_mem_write(void *ud, uint64_t addr, const void *buf, size_t len)
{
	struct run *r = ud;
	return target_mem_write(r->tab->t, addr, buf, len);
}

/* The CPU a thread last ran on: field 39 of /proc/PID/task/TID/stat. */
int event_thread_cpu(pid_t pid, pid_t tid, uint32_t *cpu)
{
	char path[64], buf[1024];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -HD_E_NOTHREAD;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -HD_E_NOTHREAD;
	p++;
	for (int field = 3; field <= 39 && p; field++) {
		while (*p == ' ')
			p++;
		if (field == 39) {
			*cpu = (uint32_t)strtoul(p, NULL, 10);
			return 0;
		}
		p = strchr(p, ' ');
	}
	return -HD_E_NOTHREAD;
}

int event_pseudo_text(pid_t pid, int id, char *buf, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	char path[64], name[256];
	int n;
	switch (id) {
	case P_PNAME:
		if (!pid) {
			/* hdbg itself: its program name, not cut to 15 bytes */
			ssize_t l = readlink("/proc/self/exe", name, sizeof(name) - 1);
			if (l <= 0)
				return -HD_E_NOTFOUND;
			name[l] = '\0';
			const char *base = strrchr(name, '/');
			snprintf(buf, cap, "%s", base ? base + 1 : name);
			return 0;
		}
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		FILE *f = fopen(path, "r");
		if (!f)
			return -HD_E_NOTFOUND;
		size_t l = fread(name, 1, sizeof(name) - 1, f);
		fclose(f);
		while (l && (name[l - 1] == '\n' || name[l - 1] == '\0'))
			l--;
		name[l] = '\0';
		snprintf(buf, cap, "%s", name);
		return 0;
	case P_DATE:
	case P_TIME:
		clock_gettime(CLOCK_REALTIME, &ts);
		if (!localtime_r(&ts.tv_sec, &tm))
			return -HD_E_NOTFOUND;
		if (id == P_DATE)
			n = snprintf(buf, cap, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
				     tm.tm_mday);
		else
			n = snprintf(buf, cap, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
				     (int)(ts.tv_nsec / 1000000));
		return n < 0 ? -HD_E_NOTFOUND : 0;
	default:
		return -HD_E_NOTFOUND;
	}
}

static int env_pseudo_text(void *ud, int id, char *buf, size_t cap)
{
	struct run *r = ud;
	return event_pseudo_text(target_pid(r->tab->t), id, buf, cap);
}

static int env_pseudo_read(void *ud, int id, uint64_t *val)
{
	struct run *r = ud;
	struct user_regs_struct regs;
	uint32_t cpu = 0;
	*val = 0;
	switch (id) {
	case P_PID: *val = (uint64_t)target_pid(r->tab->t); break;
	case P_TID: *val = (uint64_t)r->occ->tid; break;
	case P_CORE:
		if (event_thread_cpu(target_pid(r->tab->t), r->occ->tid, &cpu) == 0)
			*val = cpu;
		break;
	case P_IP:
		TRY(target_regs_get(r->tab->t, r->occ->tid, &regs));
		*val = regs.rip;
		break;
	case P_BUFFER: *val = r->buffer; break;
	case P_CONTEXT: *val = r->occ->context; break;
	case P_EVENT_TAG: *val = (uint64_t)r->e->id + EVENT_TAG_SEED; break;
	case P_EVENT_ID: *val = r->e->id; break;
	case P_EVENT_STAGE: *val = r->occ->stage == EVENT_STAGE_POST; break;
	default: break;
	}
	return 0;
}

static int env_output(void *ud, const char *fmt, const uint64_t *args, int nargs,
		      const struct script_mem *mem);

static int env_insn_len(void *ud, uint64_t addr, int bits, uint64_t *len)
{
	struct run *r = ud;
	uint8_t code[16];
	size_t n = sizeof(code);
	*len = 0;
	if (bits != 64)
		return 0;
	while (n && target_mem_read(r->tab->t, addr, code, n) < 0)
		n--;
	int l = n ? asm_insn_length(code, n) : -1;
	*len = l > 0 ? (uint64_t)l : 0;
	return 0;
}

static int env_event_ctl(void *ud, int func, const uint64_t *args, int nargs);

static void make_env(struct run *r, struct script_env *env)
{
	memset(env, 0, sizeof(*env));
	env->ud = r;
	env->reg_read = env_reg_read;
	env->reg_write = env_reg_write;
	env->mem_read = env_mem_read;
	env->mem_write = env_mem_write;
	env->pseudo_read = env_pseudo_read;
	env->pseudo_text = env_pseudo_text;
	env->output = env_output;
	env->event_ctl = env_event_ctl;
	env->insn_len = env_insn_len;
	env->interrupt = r->tab->host.interrupt;
}

/* A text longer than 4096 bytes or an unreadable `%s` fails the run
 * (script_format). */
static int env_output(void *ud, const char *fmt, const uint64_t *args, int nargs,
		      const struct script_mem *mem)
{
	struct run *r = ud;
	char text[4096];
	int rc = script_format(fmt, args, nargs, mem, text, sizeof(text));
	if (rc < 0)
		return rc;
	event_output(r->tab, r->e->imm, text);
	return 0;
}

/* event_enable/disable/clear(id), event_sc, pause, flush; `r` may be NULL
 * (a script run at the prompt). */
static int event_ctl(struct event_table *tab, struct run *r, int func, const uint64_t *args,
		     int nargs)
{
	char msg[256];
	uint64_t a = nargs > 0 ? args[0] : 0;
	int rc = 0;
	msg[0] = '\0';
	switch (func) {
	case F_ENABLE:
	case F_DISABLE:
		if (a > UINT32_MAX || event_enable(tab, (uint32_t)a, func == F_ENABLE) < 0)
			snprintf(msg, sizeof(msg), "Invalid tag id (%llx)\n", (unsigned long long)a);
		break;
	case F_CLEAR:
		if (a > UINT32_MAX || event_clear(tab, (uint32_t)a) < 0)
			snprintf(msg, sizeof(msg), "Invalid tag id (%llx)\n", (unsigned long long)a);
		break;
	case F_SC:
		if (r && r->occ->stage == EVENT_STAGE_POST)
			snprintf(msg, sizeof(msg), "Warning, calling the 'event_sc' function in the "
				 "'post' calling stage doesn't make sense as the emulation is already "
				 "performed!\nYou can use this function in the 'pre' calling stage\n");
		else if (tab->pend.active)
			tab->pend.sc = a != 0;
		else
			snprintf(msg, sizeof(msg), "err, it's not possible to short-circuit events "
				 "when the target is not paused by an event\n");
		break;
	case F_PAUSE:
		if (r)
			rc = SCRIPT_CTL_SUSPEND; /* the VM stops after the call */
		else
			snprintf(msg, sizeof(msg), "err, pause() works only inside events\n");
		break;
	case F_FLUSH:
		hd_buf_reset(&tab->imm_no);
		break;
	default:
		snprintf(msg, sizeof(msg), "err, %s is not supported for a user-mode target\n",
			 func == 62 ? "event_inject" : func == 103 ? "event_inject_error_code"
			 : func >= 49 && func <= 53 ? "event_trace_*" : "this function");
		break;
	}
	if (msg[0])
		event_output(tab, true, msg);
	return rc;
}

static int env_event_ctl(void *ud, int func, const uint64_t *args, int nargs)
{
	struct run *r = ud;
	return event_ctl(r->tab, r, func, args, nargs);
}

int event_script_ctl(struct event_table *tab, int func, const uint64_t *args, int nargs)
{
	return event_ctl(tab, NULL, func, args, nargs);
}

int event_pseudo_read(const struct event_table *tab, int id, uint64_t *val)
{
	const struct event_pending *p = &tab->pend;
	*val = 0;
	if (id < P_BUFFER || id > P_EVENT_STAGE)
		return -HD_E_NOTFOUND;
	if (!p->active)
		return 0;
	switch (id) {
	case P_BUFFER: *val = p->buffer; break;
	case P_CONTEXT: *val = p->occ.context; break;
	case P_EVENT_TAG: *val = (uint64_t)p->cur + EVENT_TAG_SEED; break;
	case P_EVENT_ID: *val = p->cur; break;
	case P_EVENT_STAGE: *val = p->occ.stage == EVENT_STAGE_POST; break;
	default: break;
	}
	return 0;
}

/* ---- actions ---- */

void event_crash_text(struct hd_buf *out, uint32_t id, const char *what,
		      const struct agent_crash *c)
{
	hd_buf_printf(out, "err, the %s of event 0x%x crashed", what, id);
	if (c)
		hd_buf_printf(out, " (signal %d at %016llx, address %016llx%s)", c->signo,
			      (unsigned long long)c->rip, (unsigned long long)c->addr,
			      c->in_block ? "" : ", outside the block");
	hd_buf_printf(out, "; the thread's registers were restored\n");
}

static void crash_report(struct event_table *tab, const struct event *e, const char *what,
			 struct event_verdict *v)
{
	event_crash_text(&v->text, e->id, what, tab->agent ? agent_last_crash(tab->agent) : NULL);
}

/* @return 1 true, 0 false, <0 the run failed (interrupted, exited). */
static int run_condition(struct event_table *tab, struct event *e, const struct event_occ *occ,
			 struct event_verdict *v)
{
	uint64_t res = 0;
	if (!tab->agent || !e->cond.addr) {
		hd_buf_printf(&v->text, "err, the condition of event 0x%x is not loaded\n", e->id);
		return 0;
	}
	int rc = agent_run_code(tab->agent, occ->tid, e->cond.addr, 0, occ->context,
				AGENT_CONDITION, &res);
	if (rc == -HD_E_CODECRASH) {
		crash_report(tab, e, "condition", v);
		return 0;
	}
	if (rc < 0)
		return rc;
	return res != 0;
}

static int run_code(struct event_table *tab, struct event *e, const struct event_occ *occ,
		    struct event_verdict *v)
{
	if (!tab->agent || !e->code.addr) {
		hd_buf_printf(&v->text, "err, the custom code of event 0x%x is not loaded\n", e->id);
		return 0;
	}
	int rc = agent_run_code(tab->agent, occ->tid, e->code.addr, e->code_buf, occ->context,
				AGENT_CODE, NULL);
	if (rc == -HD_E_CODECRASH) {
		crash_report(tab, e, "custom code", v);
		return 0;
	}
	return rc;
}

/* Run the script of `e`, or go on with its run that pause() suspended.
 * @return 1 when it is suspended (again) at a pause(). */
static int run_script(struct event_table *tab, struct event *e)
{
	struct event_pending *p = &tab->pend;
	struct run r = {tab, &p->occ, e, e->script_buf};
	struct script_env env;
	char msg[256] = "";
	int rc;
	make_env(&r, &env);
	if (p->susp) {
		rc = script_resume(p->susp, &env, msg, sizeof(msg));
	} else {
		/* in the heap from the start: a pause() keeps it where it is;
		 * the storage is reused from one run to the next */
		p->susp = tab->susp_spare ? tab->susp_spare : hd_xmalloc(script_state_size());
		tab->susp_spare = NULL;
		rc = script_run_in(e->script, &env, tab->host.globals, p->susp, msg, sizeof(msg));
	}
	if (rc == SCRIPT_SUSPENDED)
		return 1;
	event_susp_drop(tab);
	if (rc < 0) {
		char line[300];
		snprintf(line, sizeof(line), "%s\n", msg[0] ? msg : hd_strerror(rc));
		event_output_line(tab, line);
	}
	return 0;
}

void event_susp_drop(struct event_table *tab)
{
	if (!tab->susp_spare)
		tab->susp_spare = tab->pend.susp;
	else
		free(tab->pend.susp);
	tab->pend.susp = NULL;
}

bool event_susp_holds(const struct event_table *tab, const struct event *e)
{
	return tab->pend.susp && tab->pend.active && tab->pend.cur == e->id;
}

/* The steps of the current event from pend.step on. @return 0 done,
 * 1 break (pend.step says where to go on), <0 abort. */
static int run_steps(struct event_table *tab, struct event *e, struct event_verdict *v)
{
	struct event_pending *p = &tab->pend;
	int rc;
	for (;;) {
		switch (p->step) {
		case STEP_COND:
			p->step = STEP_SCRIPT;
			if (e->cond.present) {
				rc = run_condition(tab, e, &p->occ, v);
				if (rc <= 0)
					return rc < 0 ? rc : 0;
			}
			p->sc = e->sc;
			break;
		case STEP_SCRIPT:
			/* a pause() stays in this step: `g` resumes the run */
			if (e->script && run_script(tab, e)) {
				p->buffer = e->script_buf;
				return 1;
			}
			p->step = STEP_CODE;
			break;
		case STEP_CODE:
			p->step = STEP_BREAK;
			if (e->code.present) {
				rc = run_code(tab, e, &p->occ, v);
				if (rc < 0)
					return rc;
			}
			break;
		case STEP_BREAK:
			p->step = STEP_DONE;
			if (!e->script && !e->code.present) {
				p->buffer = 0;
				return 1;
			}
			break;
		default:
			return 0;
		}
	}
}

/* Filters of section 9: enabled, kind, core, pid, the kind's own, stage. */
static bool selects(struct event_table *tab, struct event *e, struct event_pending *p)
{
	const struct event_kind_info *ki = event_kind_info(e->kind);
	uint32_t cpu;
	if (!e->enabled || e->cleared || e->kind != p->occ.kind)
		return false;
	if (e->core != EVENT_ALL &&
	    (event_thread_cpu(target_pid(tab->t), p->occ.tid, &cpu) < 0 || cpu != e->core))
		return false;
	if (e->pid != EVENT_ALL && e->pid != (uint32_t)target_pid(tab->t))
		return false;
	if (ki->ops && ki->ops->match && !ki->ops->match(e, &p->occ))
		return false;
	if (p->occ.stage == EVENT_STAGE_PRE) {
		if (e->stage != EVENT_STAGE_PRE)
			p->post_required = true;
		return e->stage != EVENT_STAGE_POST;
	}
	return e->stage != EVENT_STAGE_PRE;
}

/* Newest first: the highest id below pend.below that is selected. */
static struct event *next_event(struct event_table *tab, struct event_pending *p)
{
	for (int i = tab->n - 1; i >= 0; i--) {
		struct event *e = tab->v[i];
		if (e->id >= p->below)
			continue;
		p->below = e->id;
		if (selects(tab, e, p))
			return e;
	}
	p->below = 0;
	return NULL;
}

/* The raw lookup (a cleared event finishes the actions it started). */
static struct event *find_any(struct event_table *tab, uint32_t id)
{
	for (int i = 0; i < tab->n; i++)
		if (tab->v[i]->id == id)
			return tab->v[i];
	return NULL;
}

static int run_pass(struct event_table *tab, struct event_verdict *v)
{
	struct event_pending *p = &tab->pend;
	for (;;) {
		if (!p->cur_open) {
			struct event *e = next_event(tab, p);
			if (!e)
				return 0;
			p->cur = e->id;
			p->cur_open = true;
			p->step = STEP_COND;
		}
		struct event *e = find_any(tab, p->cur);
		if (!e)
			event_susp_drop(tab); /* cleared while paused (table.c drops it) */
		int rc = e ? run_steps(tab, e, v) : 0;
		if (rc != 0)
			return rc;
		p->cur_open = false;
	}
}

/* Run the pending occurrence on; fill the verdict. */
static int proceed(struct event_table *tab, struct event_verdict *v)
{
	struct event_pending *p = &tab->pend;
	const struct event_kind_info *ki = event_kind_info(p->occ.kind);

	tab->running++;
	int rc = run_pass(tab, v);
	tab->running--;
	event_sweep(tab);
	v->tid = p->occ.tid;
	if (rc == 1) {
		event_flush_imm(tab);
		v->kind = EVENT_VERDICT_BREAK;
		v->id = p->cur;
		hd_buf_printf(&v->text, "event 0x%x triggered (%s)\n", p->cur,
			      p->occ.stage == EVENT_STAGE_POST ? "post" : "pre");
		return 0;
	}
	if (rc == -HD_E_INTERRUPTED) {
		/* all threads are stopped; `g` finishes the occurrence */
		event_flush_imm(tab);
		event_susp_drop(tab);
		p->cur_open = false;
		p->below = 0;
		v->kind = EVENT_VERDICT_INTERRUPTED;
		hd_buf_printf(&v->text, "interrupted\n");
		return 0;
	}
	p->active = false;
	if (rc == -HD_E_EXITED) {
		/* the thread or the process died in custom code: the caller's
		 * next target_wait() reports it */
		v->kind = EVENT_VERDICT_RESUMED;
		return 0;
	}
	bool pre = p->occ.stage == EVENT_STAGE_PRE;
	bool sc = ki->sc && pre && p->sc;
	bool post = pre && p->post_required && !sc;
	v->kind = EVENT_VERDICT_RESUMED;
	tab->last_sc = sc;
	tab->last_post = post;
	if (rc < 0)
		hd_buf_printf(&v->text, "err, running the actions failed: %s\n", hd_strerror(rc));
	/* finish() lets the thread run on: what this occurrence has to say
	 * (crash reports) goes out now, before the program's next output. */
	if (v->text.len && tab->host.sink.write) {
		tab->host.sink.write(tab->host.sink.ud, hd_buf_str(&v->text));
		hd_buf_reset(&v->text);
	}
	if (ki->ops && ki->ops->finish) {
		int frc = ki->ops->finish(tab, &p->occ, sc, post);
		if (frc < 0) {
			hd_buf_printf(&v->text, "err, cannot resume thread %d: %s\n", (int)p->occ.tid,
				      hd_strerror(frc));
			return frc;
		}
	}
	return 0;
}

int event_occ_continue(struct event_table *tab, const struct event_occ *occ, uint32_t below,
		       struct event_verdict *v)
{
	/* an earlier occurrence left pending was resumed by the caller */
	event_pending_drop(tab);
	struct event_pending *p = &tab->pend;
	p->active = true;
	p->occ = *occ;
	p->below = below;
	v->tid = occ->tid;
	return proceed(tab, v);
}

int event_occ_break_at(struct event_table *tab, const struct event_occ *occ, uint32_t id,
		       struct event_verdict *v)
{
	event_pending_drop(tab);
	struct event_pending *p = &tab->pend;
	struct event *e = find_any(tab, id);
	p->active = true;
	p->occ = *occ;
	p->below = id;
	p->cur = id;
	p->cur_open = e != NULL;
	p->step = STEP_BREAK;
	p->sc = e && e->sc;
	v->tid = occ->tid;
	return proceed(tab, v);
}

int event_occ_start(struct event_table *tab, const struct event_occ *occ,
		    struct event_verdict *v)
{
	return event_occ_continue(tab, occ, UINT32_MAX, v);
}

/* The kind that claims `st` starts its occurrence; v->kind NONE if none. */
static int claim_start(struct event_table *tab, const struct target_stop *st,
		       struct event_verdict *v)
{
	struct event_occ occ;
	for (int k = 0; k < EVENT_KIND_COUNT; k++) {
		const struct event_kind_info *ki = event_kind_info((enum event_kind)k);
		memset(&occ, 0, sizeof(occ));
		occ.kind = (enum event_kind)k;
		occ.tid = st->tid;
		occ.stage = EVENT_STAGE_PRE;
		if (ki->ops && ki->ops->claim && ki->ops->claim(tab, st, &occ))
			return event_occ_start(tab, &occ, v);
	}
	return 0;
}

int event_handle_stop(struct event_table *tab, struct target *t, const struct target_stop *st,
		      struct event_verdict *v)
{
	v->kind = EVENT_VERDICT_NONE;
	v->tid = st->tid;
	if (!tab->t || t != tab->t)
		return 0;
	/* !epthook events that run only in the target: one stop per event */
	int rc = event_epthook_onestop(tab, st, v);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	return claim_start(tab, st, v);
}

/* ---- a user's single step ---- */

bool event_stepping(const struct event_table *tab, pid_t tid)
{
	return tab->step_tid && tab->step_tid == tid;
}

bool event_others_stopped(const struct event_table *tab)
{
	return tab->step_tid || tab->continuing;
}

int event_resume(struct event_table *tab, pid_t tid, enum event_resume_how how, int signo)
{
	if (!event_stepping(tab, tid))
		return target_resume(tab->t, tid, TARGET_RESUME_CONT, signo);
	if (how == EVENT_RESUME_DONE) {
		/* stays stopped: the step ends here; the signal of its stop
		 * (a fault hdbg handled, a suppressed one) is not delivered by
		 * the next resume */
		IGNORE_RC(target_signal_set(tab->t, tid, 0));
		tab->step_done = true;
		return 0;
	}
	return target_resume_step(tab->t, tid, signo);
}

/* Bound on the passes of one step (a kind's step that faults again...). */
#define STEP_PASSES 64

/* The step of tab->step_tid after a finish (`wait`: the thread was let go
 * on) or from stop `st`: offer each stop of the thread to the kinds until
 * one completes the instruction, an event breaks, or a stop is nobody's. */
static int step_loop(struct event_table *tab, struct target_stop *st, bool wait,
		     struct event_verdict *v)
{
	pid_t tid = tab->step_tid;
	int rc = 0;
	for (int pass = 0; pass < STEP_PASSES; pass++) {
		if (wait) {
			rc = target_wait_thread(tab->t, tid, st);
			if (rc < 0) {
				hd_buf_printf(&v->text, "err, waiting for thread %d failed: %s\n",
					      (int)tid, hd_strerror(rc));
				return rc;
			}
		}
		tab->step_done = false;
		v->kind = EVENT_VERDICT_NONE;
		rc = st->tid == tid ? claim_start(tab, st, v) : 0;
		if (rc < 0)
			return rc;
		if (v->kind == EVENT_VERDICT_NONE) {
			/* nobody's: a step that ended normally is the end */
			if (st->kind == TARGET_STOP_STEP && st->tid == tid)
				v->kind = EVENT_VERDICT_STEPPED;
			return 0;
		}
		if (v->kind != EVENT_VERDICT_RESUMED)
			return 0;
		if (tab->step_done) {
			v->kind = EVENT_VERDICT_STEPPED;
			return 0;
		}
		wait = true; /* let go on: its next stop comes back here */
	}
	v->kind = EVENT_VERDICT_NONE;
	return 0;
}

int event_handle_step_stop(struct event_table *tab, struct target *t, pid_t tid,
			   struct target_stop *st, struct event_verdict *v)
{
	v->kind = EVENT_VERDICT_NONE;
	v->tid = tid;
	if (!tab->t || t != tab->t)
		return 0;
	tab->step_tid = tid;
	int rc = step_loop(tab, st, false, v);
	tab->step_tid = 0;
	tab->step_done = false;
	return rc;
}

/* `t`/`p` from a pause(): the rest of the occurrence runs as at `g` (the
 * script from the statement after pause(), the remaining actions, the
 * older events), then its instruction completes as the step; a break or
 * pause() on the way ends the step before the instruction. */
static int step_from_pause(struct event_table *tab, struct target_stop *st,
			   struct event_verdict *v)
{
	pid_t tid = tab->pend.occ.tid;
	tab->step_tid = tid;
	tab->step_done = false;
	int rc = proceed(tab, v);
	if (rc >= 0 && v->kind == EVENT_VERDICT_RESUMED) {
		if (tab->step_done)
			v->kind = EVENT_VERDICT_STEPPED;
		else
			rc = step_loop(tab, st, true, v);
	}
	tab->step_tid = 0;
	tab->step_done = false;
	return rc;
}

int event_step_paused(struct event_table *tab, pid_t tid, struct target_stop *st,
		      struct event_verdict *v)
{
	struct event_pending *p = &tab->pend;
	v->kind = EVENT_VERDICT_NONE;
	v->tid = tid;
	memset(st, 0, sizeof(*st));
	if (!tab->t || !p->active || p->occ.tid != tid)
		return 0;
	if (p->susp)
		return step_from_pause(tab, st, v);
	/* the rest of the occurrence is dropped; its instruction completes */
	struct event_occ occ = p->occ;
	const struct event_kind_info *ki = event_kind_info(occ.kind);
	bool sc = ki->sc && occ.stage == EVENT_STAGE_PRE && p->sc;
	event_pending_drop(tab);
	tab->step_tid = tid;
	tab->step_done = false;
	int rc = 0;
	if (ki->ops && ki->ops->finish)
		rc = ki->ops->finish(tab, &occ, sc, false);
	else
		rc = event_resume(tab, tid, EVENT_RESUME_INSN, 0);
	if (rc < 0) {
		hd_buf_printf(&v->text, "err, cannot step thread %d: %s\n", (int)tid,
			      hd_strerror(rc));
	} else if (tab->step_done) {
		v->kind = EVENT_VERDICT_STEPPED;
	} else {
		v->kind = EVENT_VERDICT_RESUMED;
		rc = step_loop(tab, st, true, v);
	}
	tab->step_tid = 0;
	tab->step_done = false;
	return rc;
}

bool event_paused(const struct event_table *tab)
{
	return tab->pend.active;
}

int event_continue(struct event_table *tab, struct event_verdict *v)
{
	v->kind = EVENT_VERDICT_NONE;
	if (!tab->pend.active || !tab->t)
		return 0;
	tab->continuing = true;
	int rc = proceed(tab, v);
	tab->continuing = false;
	return rc;
}

void event_pending_drop(struct event_table *tab)
{
	event_susp_drop(tab);
	memset(&tab->pend, 0, sizeof(tab->pend));
}
