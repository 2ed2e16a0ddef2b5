/*
** test_agent.c: the agent in real traced processes (the target layer):
** injection, the seed's custom code on poolsim, register write-back,
** conditions, buffers, crashing code, the ring written from inside the
** target, four threads counting in a shared buffer, re-injection after exec.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/internal.h"
#include "agent/ring.h"
#include "target/target.h"

#define POOLSIM HD_BINARY_DIR "/targets/poolsim"
#define THREADS HD_BINARY_DIR "/targets/threads"
#define SLEEPER HD_BINARY_DIR "/targets/sleeper"

/* the seed's example, with the `ret` the event layer appends */
static const uint8_t seed_code[] = {0x48, 0x8B, 0x5A, 0x40, 0x48, 0x81, 0xFB, 0x48, 0x44,
				    0x42, 0x47, 0x74, 0x02, 0xEB, 0x08, 0x48, 0xC7, 0x42,
				    0x40, 0x48, 0x44, 0x42, 0x32, 0xC3, 0xC3};

struct proc {
	struct target *t;
	pid_t pid;
	int out; /* read end of the target's stdout */
	struct agent *a;
};

/* Start `argv[0]` with its stdout on a pipe. */
static void proc_start(struct proc *p, char *const argv[])
{
	struct target_start_opts o = {0};
	int fds[2];

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	o.stdout_fd = fds[1];
	assert_int_equal(target_start_opts(&p->t, argv[0], argv, &o), 0);
	close(fds[1]);
	p->out = fds[0];
	p->pid = target_pid(p->t);
	p->a = NULL;
}

/* Everything the target printed (after it exited), NUL-terminated. */
static char *proc_output(struct proc *p)
{
	static char buf[1 << 16];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1 && (r = read(p->out, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(p->out);
	return buf;
}

static void proc_end(struct proc *p)
{
	agent_free(p->a);
	if (target_exited(p->t))
		target_free(p->t);
	else
		assert_int_equal(target_kill(p->t), 0);
}

/* Address of `sym` in the running process of `path` (nm + /proc/PID/maps). */
static uint64_t sym_addr(pid_t pid, const char *path, const char *sym)
{
	char cmd[PATH_MAX + 64], line[PATH_MAX + 256], real[PATH_MAX], name[256];
	unsigned long long v = 0, lo, off;
	uint64_t base = 0;
	FILE *f;
	char type;

	snprintf(cmd, sizeof(cmd), "nm --defined-only '%s'", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &v, &type, name) == 3 && !strcmp(name, sym))
			break;
	pclose(f);
	assert_string_equal(name, sym);
	assert_non_null(realpath(path, real));
	snprintf(cmd, sizeof(cmd), "/proc/%d/maps", (int)pid);
	f = fopen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *slash = strchr(line, '/');
		if (!slash || sscanf(line, "%llx-%*x %*s %llx", &lo, &off) != 2)
			continue;
		slash[strcspn(slash, "\n")] = 0;
		if (!strcmp(slash, real) && off == 0) {
			base = lo;
			break;
		}
	}
	fclose(f);
	assert_true(base != 0);
	return (v < base ? base : 0) + v; /* PIE: relative; non-PIE: absolute */
}

typedef void (*hit_fn)(struct proc *p, pid_t tid, void *ud);

/* Run the target to its end; `hit` is called at every breakpoint stop.
 * @return the exit status. */
static int run_to_exit(struct proc *p, hit_fn hit, void *ud)
{
	struct target_stop st;

	for (;;) {
		assert_int_equal(target_wait(p->t, &st), 0);
		switch (st.kind) {
		case TARGET_STOP_EXITED:
			return st.status;
		case TARGET_STOP_KILLED:
			fail_msg("target killed by signal %d", st.signo);
			return -1;
		case TARGET_STOP_THREAD_EXIT:
			continue;
		case TARGET_STOP_BREAKPOINT:
			hit(p, st.tid, ud);
			assert_int_equal(target_resume(p->t, st.tid, TARGET_RESUME_CONT, 0), 0);
			continue;
		case TARGET_STOP_SIGNAL:
			assert_int_equal(target_resume(p->t, st.tid, TARGET_RESUME_CONT, st.signo), 0);
			continue;
		default:
			assert_int_equal(target_resume(p->t, st.tid, TARGET_RESUME_CONT, 0), 0);
			continue;
		}
	}
}

/* Start poolsim N, inject the agent, break at ExAllocatePoolWithTag. */
static void poolsim_start(struct proc *p, const char *n)
{
	char *argv[] = {(char *)POOLSIM, (char *)n, NULL};

	proc_start(p, argv);
	assert_int_equal(agent_inject(p->t, p->pid, &p->a), 0);
	assert_int_equal(target_bp_insert(p->t, sym_addr(p->pid, POOLSIM, "ExAllocatePoolWithTag")),
			 0);
}

static void test_inject_writes_blob_and_shares_ring(void **state)
{
	struct proc p;
	uint8_t copy[4096];
	struct agent_ring_hdr hdr;
	(void)state;

	poolsim_start(&p, "1");
	assert_true(agent_blob_size <= sizeof(copy));
	assert_int_equal(target_mem_read(p.t, agent_runner_addr(p.a) - agent_runner_off, copy,
					 agent_blob_size), 0);
	assert_memory_equal(copy, agent_blob_bytes, agent_blob_size);
	/* the ring is one memory seen from both sides */
	assert_int_equal(target_mem_read(p.t, agent_ring_target_addr(p.a), &hdr, sizeof(hdr)), 0);
	assert_int_equal(hdr.magic, AGENT_RING_MAGIC);
	agent_ring(p.a)->reserved = 0xfeedbeef;
	assert_int_equal(target_mem_read(p.t, agent_ring_target_addr(p.a), &hdr, sizeof(hdr)), 0);
	assert_int_equal(hdr.reserved, 0xfeedbeef);
	proc_end(&p);
	close(p.out);
}

static void test_buffers_are_zeroed_on_reuse(void **state)
{
	struct proc p;
	uint64_t b1, b2, code, code2;
	uint8_t got[256], zero[256] = {0}, ones[256];
	(void)state;

	poolsim_start(&p, "1");
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(agent_buffer_alloc(p.a, 200, &b1), 0);
	assert_int_equal(target_mem_write(p.t, b1, ones, 200), 0);
	assert_int_equal(agent_buffer_free(p.a, b1), 0);
	assert_int_equal(agent_buffer_free(p.a, b1), -HD_E_NOTFOUND);
	assert_int_equal(agent_buffer_alloc(p.a, 256, &b2), 0);
	assert_int_equal(b2, b1); /* the same space, zero-filled again */
	assert_int_equal(target_mem_read(p.t, b2, got, sizeof(got)), 0);
	assert_memory_equal(got, zero, sizeof(zero));
	/* blocks: freed space is reused, and the bytes are the new block's */
	assert_int_equal(agent_code_load(p.a, seed_code, sizeof(seed_code), &code), 0);
	assert_int_equal(agent_code_free(p.a, code), 0);
	assert_int_equal(agent_code_load(p.a, ones, 16, &code2), 0);
	assert_int_equal(code2, code);
	assert_int_equal(target_mem_read(p.t, code2, got, 16), 0);
	assert_memory_equal(got, ones, 16);
	assert_int_equal(agent_code_load(p.a, ones, 0, &code2), -EINVAL);
	assert_int_equal(agent_buffer_alloc(p.a, AGENT_ARENA_SIZE, &b1), -HD_E_LIMIT);
	proc_end(&p);
	close(p.out);
}

struct seed_ctx {
	uint64_t code;
	int hits;
};

static void seed_hit(struct proc *p, pid_t tid, void *ud)
{
	struct seed_ctx *c = ud;
	struct user_regs_struct before, after;
	uint64_t res = 99;

	assert_int_equal(target_regs_get(p->t, tid, &before), 0);
	assert_int_equal(before.r8, 0x47424448);
	assert_int_equal(agent_run_code(p->a, tid, c->code, 0, before.rip, AGENT_CODE, &res), 0);
	assert_int_equal(res, 0);
	assert_int_equal(target_regs_get(p->t, tid, &after), 0);
	assert_int_equal(after.r8, 0x32424448);
	/* rbx was clobbered by the code and is restored; rip stays */
	assert_int_equal(after.rbx, before.rbx);
	assert_int_equal(after.rip, before.rip);
	assert_int_equal(after.rsp, before.rsp);
	c->hits++;
}

static void test_seed_example_on_poolsim(void **state)
{
	struct proc p;
	struct seed_ctx c = {0};
	(void)state;

	poolsim_start(&p, "2");
	assert_int_equal(agent_code_load(p.a, seed_code, sizeof(seed_code), &c.code), 0);
	assert_int_equal(run_to_exit(&p, seed_hit, &c), 0);
	assert_int_equal(c.hits, 2);
	assert_string_equal(proc_output(&p),
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDB2')\n"
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDB2')\n");
	proc_end(&p);
}

struct regs_ctx {
	uint64_t setregs, setrcx;
};

static void regs_hit(struct proc *p, pid_t tid, void *ud)
{
	struct regs_ctx *c = ud;
	struct user_regs_struct before, after, want;

	assert_int_equal(target_regs_get(p->t, tid, &before), 0);
	/* rax and rsp written in GUEST_REGS come back... */
	assert_int_equal(agent_run_code(p->a, tid, c->setregs, 0, 0, AGENT_CODE, NULL), 0);
	assert_int_equal(target_regs_get(p->t, tid, &after), 0);
	want = before;
	want.rax = 0x1234;
	want.rsp = before.rsp + 8;
	assert_memory_equal(&after, &want, sizeof(want));
	/* ...and a register write reaches the program: PoolType (rcx) = 7 */
	assert_int_equal(target_regs_set(p->t, tid, &before), 0);
	assert_int_equal(agent_run_code(p->a, tid, c->setrcx, 0, 0, AGENT_CODE, NULL), 0);
}

static void test_register_writes_are_applied(void **state)
{
	static const uint8_t setregs[] = {0x48, 0xc7, 0x02, 0x34, 0x12, 0x00, 0x00, /* rax=0x1234 */
					  0x48, 0x83, 0x42, 0x20, 0x08, /* rsp += 8 */
					  0xc3, 0xc3};
	static const uint8_t setrcx[] = {0x48, 0xc7, 0x42, 0x08, 0x07, 0x00, 0x00, 0x00, /* rcx=7 */
					 0xc3, 0xc3};
	struct proc p;
	struct regs_ctx c;
	(void)state;

	poolsim_start(&p, "1");
	assert_int_equal(agent_code_load(p.a, setregs, sizeof(setregs), &c.setregs), 0);
	assert_int_equal(agent_code_load(p.a, setrcx, sizeof(setrcx), &c.setrcx), 0);
	assert_int_equal(run_to_exit(&p, regs_hit, &c), 0);
	assert_string_equal(proc_output(&p),
			    "ExAllocatePoolWithTag(PoolType=7, NumberOfBytes=0x40, Tag='HDBG')\n");
	proc_end(&p);
}

struct cond_ctx {
	uint64_t is_hdbg, ctx;
	int hits;
};

static void cond_hit(struct proc *p, pid_t tid, void *ud)
{
	struct cond_ctx *c = ud;
	struct user_regs_struct before, after;
	uint64_t res;

	assert_int_equal(target_regs_get(p->t, tid, &before), 0);
	/* (r8 == 'HDBG') computed in the target: 1 */
	assert_int_equal(agent_run_code(p->a, tid, c->is_hdbg, 0, 0, AGENT_CONDITION, &res), 0);
	assert_int_equal(res, 1);
	/* returns its context: 0 and 1 */
	assert_int_equal(agent_run_code(p->a, tid, c->ctx, 0, 0, AGENT_CONDITION, &res), 0);
	assert_int_equal(res, 0);
	assert_int_equal(agent_run_code(p->a, tid, c->ctx, 0, 1, AGENT_CONDITION, &res), 0);
	assert_int_equal(res, 1);
	assert_int_equal(target_regs_get(p->t, tid, &after), 0);
	assert_memory_equal(&after, &before, sizeof(before));
	c->hits++;
}

static void test_conditions(void **state)
{
	static const uint8_t is_hdbg[] = {
		0x31, 0xc0,                                     /* xor eax, eax */
		0x48, 0x81, 0x79, 0x40, 0x48, 0x44, 0x42, 0x47, /* cmp qword [rcx+0x40], 'HDBG' */
		0x0f, 0x94, 0xc0,                               /* sete al */
		0xc3, 0xc3};
	static const uint8_t ctx[] = {0x48, 0x89, 0xd0, 0xc3, 0xc3}; /* mov rax, rdx */
	struct proc p;
	struct cond_ctx c = {0};
	(void)state;

	poolsim_start(&p, "1");
	assert_int_equal(agent_code_load(p.a, is_hdbg, sizeof(is_hdbg), &c.is_hdbg), 0);
	assert_int_equal(agent_code_load(p.a, ctx, sizeof(ctx), &c.ctx), 0);
	assert_int_equal(run_to_exit(&p, cond_hit, &c), 0);
	assert_int_equal(c.hits, 1);
	assert_string_equal(proc_output(&p),
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDBG')\n");
	proc_end(&p);
}

struct crash_ctx {
	uint64_t crash, seed;
	int hits;
};

static void crash_hit(struct proc *p, pid_t tid, void *ud)
{
	struct crash_ctx *c = ud;
	struct user_regs_struct before, after;
	const struct agent_crash *cr;

	assert_int_equal(target_regs_get(p->t, tid, &before), 0);
	if (c->hits++ == 0) {
		assert_int_equal(agent_run_code(p->a, tid, c->crash, 0, 0, AGENT_CODE, NULL),
				 -HD_E_CODECRASH);
		cr = agent_last_crash(p->a);
		assert_int_equal(cr->signo, SIGSEGV);
		assert_int_equal(cr->addr, 0);
		assert_int_equal(cr->rip, c->crash);
		assert_true(cr->in_block);
		assert_int_equal(target_regs_get(p->t, tid, &after), 0);
		assert_memory_equal(&after, &before, sizeof(before));
	} else {
		/* the agent still works after a crash */
		assert_int_equal(agent_run_code(p->a, tid, c->seed, 0, 0, AGENT_CODE, NULL), 0);
	}
}

static void test_crashing_code_is_reported_and_undone(void **state)
{
	static const uint8_t crash[] = {0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, /* mov rax, [0] */
					0xc3, 0xc3};
	struct proc p;
	struct crash_ctx c = {0};
	(void)state;

	poolsim_start(&p, "2");
	assert_int_equal(agent_code_load(p.a, crash, sizeof(crash), &c.crash), 0);
	assert_int_equal(agent_code_load(p.a, seed_code, sizeof(seed_code), &c.seed), 0);
	assert_int_equal(run_to_exit(&p, crash_hit, &c), 0);
	assert_int_equal(c.hits, 2);
	assert_string_equal(proc_output(&p),
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDBG')\n"
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDB2')\n");
	proc_end(&p);
}

struct buf_ctx {
	uint64_t code, buf, ringcode;
	int hits;
};

static void buf_hit(struct proc *p, pid_t tid, void *ud)
{
	struct buf_ctx *c = ud;
	uint64_t v[2];

	assert_int_equal(agent_run_code(p->a, tid, c->code, c->buf, 0x5150, AGENT_CODE, NULL), 0);
	assert_int_equal(target_mem_read(p->t, c->buf, v, sizeof(v)), 0);
	assert_int_equal(v[0], c->buf); /* rcx = the buffer */
	assert_int_equal(v[1], 0x5150); /* r8 = the context */
	/* the blob's ring writer, called by code in the target */
	assert_int_equal(target_mem_write(p->t, c->buf, "hello ring", 11), 0);
	assert_int_equal(agent_run_code(p->a, tid, c->ringcode, c->buf, 0, AGENT_CODE, NULL), 0);
	c->hits++;
}

static void test_buffer_and_ring_from_target(void **state)
{
	struct proc p;
	struct buf_ctx c = {0};
	uint8_t store[] = {0x48, 0x89, 0x09,       /* mov [rcx], rcx */
			   0x4c, 0x89, 0x41, 0x08, /* mov [rcx+8], r8 */
			   0xc3, 0xc3};
	uint8_t ring[64], *q = ring, zero[4096] = {0}, got[4096];
	uint64_t imm;
	uint32_t fmt, len;
	char text[32];
	(void)state;

	poolsim_start(&p, "1");
	assert_int_equal(agent_buffer_alloc(p.a, 4096, &c.buf), 0);
	assert_int_equal(c.buf % 64, 0);
	assert_int_equal(target_mem_read(p.t, c.buf, got, sizeof(got)), 0);
	assert_memory_equal(got, zero, sizeof(zero));
	assert_int_equal(agent_code_load(p.a, store, sizeof(store), &c.code), 0);
	/* mov rdx, rcx; movabs rdi, ring; mov esi, 42; mov ecx, 11;
	 * movabs rax, writer; sub rsp, 8; call rax; add rsp, 8; ret */
	*q++ = 0x48; *q++ = 0x89; *q++ = 0xca;
	*q++ = 0x48; *q++ = 0xbf;
	imm = agent_ring_target_addr(p.a);
	memcpy(q, &imm, 8); q += 8;
	*q++ = 0xbe; *q++ = 42; *q++ = 0; *q++ = 0; *q++ = 0;
	*q++ = 0xb9; *q++ = 11; *q++ = 0; *q++ = 0; *q++ = 0;
	*q++ = 0x48; *q++ = 0xb8;
	imm = agent_ring_write_addr(p.a);
	memcpy(q, &imm, 8); q += 8;
	*q++ = 0x48; *q++ = 0x83; *q++ = 0xec; *q++ = 0x08;
	*q++ = 0xff; *q++ = 0xd0;
	*q++ = 0x48; *q++ = 0x83; *q++ = 0xc4; *q++ = 0x08;
	*q++ = 0xc3; *q++ = 0xc3;
	assert_int_equal(agent_code_load(p.a, ring, (size_t)(q - ring), &c.ringcode), 0);
	assert_int_equal(run_to_exit(&p, buf_hit, &c), 0);
	assert_int_equal(c.hits, 1);
	assert_int_equal(agent_ring_read(agent_ring(p.a), &fmt, text, sizeof(text), &len), 1);
	assert_int_equal(fmt, 42);
	assert_int_equal(len, 11);
	assert_string_equal(text, "hello ring");
	assert_int_equal(agent_ring_read(agent_ring(p.a), &fmt, text, sizeof(text), &len), 0);
	proc_end(&p);
	close(p.out);
}

#define NTHREADS "4"
#define ITERS    "2500"

struct count_ctx {
	uint64_t code, buf;
	int hits;
};

static void count_hit(struct proc *p, pid_t tid, void *ud)
{
	struct count_ctx *c = ud;

	assert_int_equal(agent_run_code(p->a, tid, c->code, c->buf, 0, AGENT_CODE, NULL), 0);
	c->hits++;
}

static void test_four_threads_count_exactly(void **state)
{
	static const uint8_t inc[] = {0xf0, 0x48, 0xff, 0x01, 0xc3, 0xc3}; /* lock inc [rcx] */
	char *argv[] = {(char *)THREADS, (char *)NTHREADS, (char *)ITERS, NULL};
	struct count_ctx c = {0};
	struct proc p;
	uint64_t count;
	(void)state;

	proc_start(&p, argv);
	assert_int_equal(agent_inject(p.t, p.pid, &p.a), 0);
	assert_int_equal(target_bp_insert(p.t, sym_addr(p.pid, THREADS, "step")), 0);
	assert_int_equal(agent_buffer_alloc(p.a, 8, &c.buf), 0);
	assert_int_equal(agent_code_load(p.a, inc, sizeof(inc), &c.code), 0);
	{
		struct target_stop st;
		/* run until the last hit, then read the counter in the target */
		while (c.hits < 10000) {
			assert_int_equal(target_wait(p.t, &st), 0);
			assert_true(st.kind != TARGET_STOP_EXITED && st.kind != TARGET_STOP_KILLED);
			if (st.kind == TARGET_STOP_THREAD_EXIT)
				continue;
			if (st.kind == TARGET_STOP_BREAKPOINT)
				count_hit(&p, st.tid, &c);
			assert_int_equal(target_resume(p.t, st.tid, TARGET_RESUME_CONT,
						       st.kind == TARGET_STOP_SIGNAL ? st.signo : 0),
					 0);
		}
		assert_int_equal(target_mem_read(p.t, c.buf, &count, sizeof(count)), 0);
		assert_int_equal(count, 10000);
	}
	assert_int_equal(run_to_exit(&p, count_hit, &c), 0);
	assert_int_equal(c.hits, 10000);
	assert_string_equal(proc_output(&p), "threads=4 total=10000\n");
	proc_end(&p);
}

static void test_reinject_after_exec(void **state)
{
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)"exec " POOLSIM " 1", NULL};
	struct target_stop st;
	struct seed_ctx c = {0};
	struct proc p;
	(void)state;

	proc_start(&p, argv);
	assert_int_equal(agent_inject(p.t, p.pid, &p.a), 0);
	for (;;) {
		assert_int_equal(target_wait(p.t, &st), 0);
		assert_true(st.kind != TARGET_STOP_EXITED && st.kind != TARGET_STOP_KILLED);
		if (st.kind == TARGET_STOP_EXEC)
			break;
		assert_int_equal(target_resume(p.t, st.tid, TARGET_RESUME_CONT, 0), 0);
	}
	assert_int_equal(agent_reset(p.a, st.tid), 0);
	assert_int_equal(target_bp_insert(p.t, sym_addr(p.pid, POOLSIM, "ExAllocatePoolWithTag")),
			 0);
	assert_int_equal(agent_code_load(p.a, seed_code, sizeof(seed_code), &c.code), 0);
	assert_int_equal(target_resume(p.t, st.tid, TARGET_RESUME_CONT, 0), 0);
	assert_int_equal(run_to_exit(&p, seed_hit, &c), 0);
	assert_int_equal(c.hits, 1);
	assert_string_equal(proc_output(&p),
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDB2')\n");
	proc_end(&p);
}

/* ---- signals and Ctrl-C while a block runs ---- */

/* wait until the test sets the buffer's first qword:
 * 1: cmp qword [rcx], 0; je 1b; ret */
static const uint8_t spin[] = {0x48, 0x83, 0x39, 0x00, 0x74, 0xfa, 0xc3, 0xc3};
static const uint8_t forever[] = {0xeb, 0xfe, 0xc3, 0xc3}; /* jmp $ */

struct sig_ctx {
	uint64_t code, buf;
	int hits;
	pid_t pid;
	pid_t tid;
	volatile int sent;
	struct target *t;
	pthread_t main;
};

static void *send_usr1(void *p)
{
	struct sig_ctx *c = p;
	struct timespec ms = {0, 20 * 1000000};
	uint64_t one = 1;
	struct iovec local = {&one, sizeof(one)}, remote = {(void *)(uintptr_t)c->buf, sizeof(one)};
	nanosleep(&ms, NULL);
	syscall(SYS_tgkill, c->pid, c->tid, SIGUSR1);
	c->sent = 1;
	nanosleep(&ms, NULL);
	/* now let the block return */
	if (process_vm_writev(c->pid, &local, 1, &remote, 1, 0) != sizeof(one))
		c->sent = -1;
	return NULL;
}

static void usr1_hit(struct proc *p, pid_t tid, void *ud)
{
	struct sig_ctx *c = ud;
	struct user_regs_struct before, after;
	pthread_t th;

	if (c->hits++)
		return;
	assert_int_equal(target_regs_get(p->t, tid, &before), 0);
	c->pid = p->pid;
	c->tid = tid;
	assert_int_equal(pthread_create(&th, NULL, send_usr1, c), 0);
	assert_int_equal(agent_run_code(p->a, tid, c->code, c->buf, 0, AGENT_CODE, NULL), 0);
	/* the signal came while the block ran (and was not lost: see the output) */
	assert_int_equal(c->sent, 1);
	pthread_join(th, NULL);
	assert_int_equal(target_regs_get(p->t, tid, &after), 0);
	assert_memory_equal(&after, &before, sizeof(before));
}

static void test_signal_during_run_is_delivered_after(void **state)
{
	char *argv[] = {(char *)SLEEPER, (char *)"5", NULL};
	struct sig_ctx c = {0};
	struct proc p;
	char want[64];
	(void)state;

	proc_start(&p, argv);
	assert_int_equal(agent_inject(p.t, p.pid, &p.a), 0);
	assert_int_equal(target_bp_insert(p.t, sym_addr(p.pid, SLEEPER, "tick")), 0);
	assert_int_equal(agent_code_load(p.a, spin, sizeof(spin), &c.code), 0);
	assert_int_equal(agent_buffer_alloc(p.a, 8, &c.buf), 0);
	assert_int_equal(run_to_exit(&p, usr1_hit, &c), 0);
	assert_int_equal(c.hits, 5);
	snprintf(want, sizeof(want), "ready %d\nticks 1\ndone ticks=5\n", (int)p.pid);
	assert_string_equal(proc_output(&p), want);
	proc_end(&p);
}

static struct target *intr_target;

static void on_usr2(int sig)
{
	(void)sig;
	target_interrupt(intr_target);
}

static void *send_usr2(void *p)
{
	struct sig_ctx *c = p;
	struct timespec ms = {0, 20 * 1000000};
	nanosleep(&ms, NULL);
	pthread_kill(c->main, SIGUSR2);
	return NULL;
}

static void test_interrupt_stops_a_block_that_never_returns(void **state)
{
	struct sigaction sa = {.sa_handler = on_usr2}; /* no SA_RESTART */
	struct user_regs_struct before, after;
	struct target_stop st;
	struct seed_ctx s = {0};
	struct sig_ctx c = {0};
	struct proc p;
	pthread_t th;
	(void)state;

	poolsim_start(&p, "2");
	assert_int_equal(agent_code_load(p.a, forever, sizeof(forever), &c.code), 0);
	assert_int_equal(agent_code_load(p.a, seed_code, sizeof(seed_code), &s.code), 0);
	do {
		assert_int_equal(target_wait(p.t, &st), 0);
		if (st.kind != TARGET_STOP_BREAKPOINT)
			assert_int_equal(target_resume(p.t, st.tid, TARGET_RESUME_CONT, 0), 0);
	} while (st.kind != TARGET_STOP_BREAKPOINT);
	assert_int_equal(target_regs_get(p.t, st.tid, &before), 0);
	intr_target = p.t;
	sigaction(SIGUSR2, &sa, NULL);
	c.main = pthread_self();
	assert_int_equal(pthread_create(&th, NULL, send_usr2, &c), 0);
	assert_int_equal(agent_run_code(p.a, st.tid, c.code, 0, 0, AGENT_CODE, NULL),
			 -HD_E_INTERRUPTED);
	pthread_join(th, NULL);
	signal(SIGUSR2, SIG_DFL);
	assert_int_equal(target_regs_get(p.t, st.tid, &after), 0);
	assert_memory_equal(&after, &before, sizeof(before));
	/* all-stop now; the target goes on normally, the second hit runs the seed */
	assert_int_equal(target_resume_all(p.t), 0);
	assert_int_equal(run_to_exit(&p, seed_hit, &s), 0);
	assert_int_equal(s.hits, 1);
	assert_string_equal(proc_output(&p),
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDBG')\n"
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDB2')\n");
	proc_end(&p);
}

/* ---- fault fixups: the probe stub on good and bad addresses ---- */

struct probe_ctx {
	uint64_t code_bad, code_good, buf;
	int hits;
};

static void probe_hit(struct proc *p, pid_t tid, void *ud)
{
	struct probe_ctx *c = ud;
	struct user_regs_struct before, after;
	uint64_t v[2];

	assert_int_equal(target_regs_get(p->t, tid, &before), 0);
	/* src = NULL: the fault is fixed up, the stub returns -1, no crash */
	assert_int_equal(agent_run_code(p->a, tid, c->code_bad, c->buf, 0, AGENT_CODE, NULL), 0);
	assert_int_equal(target_mem_read(p->t, c->buf, v, sizeof(v)), 0);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], (uint64_t)-1);
	/* src = &GUEST_REGS: copies GUEST_REGS.rax, returns 0 */
	assert_int_equal(agent_run_code(p->a, tid, c->code_good, c->buf, 0, AGENT_CODE, NULL), 0);
	assert_int_equal(target_mem_read(p->t, c->buf, v, sizeof(v)), 0);
	assert_int_equal(v[0], before.rax);
	assert_int_equal(v[1], 0);
	assert_int_equal(target_regs_get(p->t, tid, &after), 0);
	assert_memory_equal(&after, &before, sizeof(before));
	c->hits++;
}

/* mov rbx, rcx; mov rdi, rcx; <src>; mov edx, 8; movabs rax, probe;
 * sub rsp, 8; call rax; add rsp, 8; mov [rbx+8], rax; ret */
static size_t probe_code(uint8_t *q0, uint64_t probe, bool good)
{
	uint8_t *q = q0;
	static const uint8_t head[] = {0x48, 0x89, 0xcb, 0x48, 0x89, 0xcf};
	static const uint8_t tail[] = {0x48, 0x83, 0xec, 0x08, 0xff, 0xd0, 0x48, 0x83, 0xc4,
				       0x08, 0x48, 0x89, 0x43, 0x08, 0xc3, 0xc3};
	memcpy(q, head, sizeof(head)); q += sizeof(head);
	if (good) {
		*q++ = 0x48; *q++ = 0x89; *q++ = 0xd6; /* mov rsi, rdx */
	} else {
		*q++ = 0x31; *q++ = 0xf6;              /* xor esi, esi */
	}
	*q++ = 0xba; *q++ = 8; *q++ = 0; *q++ = 0; *q++ = 0;
	*q++ = 0x48; *q++ = 0xb8;
	memcpy(q, &probe, 8); q += 8;
	memcpy(q, tail, sizeof(tail)); q += sizeof(tail);
	return (size_t)(q - q0);
}

static void test_probe_faults_are_fixed_up(void **state)
{
	struct probe_ctx c = {0};
	struct proc p;
	uint8_t code[64];
	size_t n;
	(void)state;

	poolsim_start(&p, "1");
	assert_int_equal(agent_buffer_alloc(p.a, 64, &c.buf), 0);
	n = probe_code(code, agent_probe_copy_addr(p.a), false);
	assert_int_equal(agent_code_load(p.a, code, n, &c.code_bad), 0);
	n = probe_code(code, agent_probe_copy_addr(p.a), true);
	assert_int_equal(agent_code_load(p.a, code, n, &c.code_good), 0);
	assert_int_equal(run_to_exit(&p, probe_hit, &c), 0);
	assert_int_equal(c.hits, 1);
	assert_string_equal(proc_output(&p),
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDBG')\n");
	proc_end(&p);
}

/* ---- at a syscall-entry (seccomp) stop: the stop is consumed; the
 * caller re-issues the syscall as docs/agent.md describes ---- */

static void test_run_at_syscall_entry_stop(void **state)
{
	/* GUEST_REGS.rdx (write's count) = 5 */
	static const uint8_t count5[] = {0x48, 0xc7, 0x42, 0x10, 0x05, 0x00, 0x00, 0x00, 0xc3, 0xc3};
	const long nrs[] = {SYS_write};
	struct user_regs_struct before, after;
	struct target_stop st;
	struct proc p;
	uint64_t code;
	int writes = 0;
	(void)state;

	poolsim_start(&p, "1");
	assert_int_equal(agent_code_load(p.a, count5, sizeof(count5), &code), 0);
	assert_int_equal(target_seccomp_trace(p.t, p.pid, nrs, 1), 0);
	for (;;) {
		assert_int_equal(target_wait(p.t, &st), 0);
		if (st.kind == TARGET_STOP_EXITED)
			break;
		assert_true(st.kind != TARGET_STOP_KILLED);
		if (st.kind == TARGET_STOP_SYSCALL && st.sysno == SYS_write) {
			assert_int_equal(target_regs_get(p.t, st.tid, &before), 0);
			if (writes == 0) {
				assert_true(target_at_syscall(p.t, st.tid));
				assert_int_equal(agent_run_code(p.a, st.tid, code, 0, 0, AGENT_CODE,
								NULL), 0);
				assert_int_equal(target_regs_get(p.t, st.tid, &after), 0);
				assert_int_equal(after.rdx, 5);
				assert_int_equal(after.rip, before.rip);
				assert_int_equal(after.orig_rax, before.orig_rax);
				assert_int_equal(after.rax, before.rax);
				/* re-issue the consumed syscall with the new registers */
				after.rip -= 2;
				after.rax = after.orig_rax;
				assert_int_equal(target_regs_set(p.t, st.tid, &after), 0);
			} else if (writes == 1) {
				assert_int_equal(before.rdx, 5); /* the re-issued write */
			}
			writes++;
		}
		assert_int_equal(target_resume(p.t, st.tid, TARGET_RESUME_CONT,
					       st.kind == TARGET_STOP_SIGNAL ? st.signo : 0),
				 0);
	}
	/* 5 bytes, then stdio writes the rest: the whole line arrives */
	assert_int_equal(writes, 3);
	assert_string_equal(proc_output(&p),
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDBG')\n");
	proc_end(&p);
}

/* ---- a run at a signal-delivery stop (!exception): the signal can still
 * be delivered afterwards ---- */

static void test_run_at_signal_stop_then_deliver(void **state)
{
	static const uint8_t ctx[] = {0x48, 0x89, 0xd0, 0xc3, 0xc3}; /* mov rax, rdx */
	char *argv[] = {(char *)SLEEPER, (char *)"40", NULL};
	struct user_regs_struct before, after;
	struct target_stop st;
	struct proc p;
	uint64_t code, res = 0, tick;
	int seen = 0;
	char *out, tail[64];
	(void)state;

	proc_start(&p, argv);
	assert_int_equal(agent_inject(p.t, p.pid, &p.a), 0);
	assert_int_equal(agent_code_load(p.a, ctx, sizeof(ctx), &code), 0);
	tick = sym_addr(p.pid, SLEEPER, "tick");
	assert_int_equal(target_bp_insert(p.t, tick), 0);
	for (;;) {
		assert_int_equal(target_wait(p.t, &st), 0);
		if (st.kind == TARGET_STOP_EXITED)
			break;
		assert_true(st.kind != TARGET_STOP_KILLED);
		if (st.kind == TARGET_STOP_BREAKPOINT) {
			/* tick(): the handler is installed; signal once */
			assert_int_equal(target_bp_remove(p.t, tick), 0);
			syscall(SYS_tgkill, p.pid, p.pid, SIGUSR1);
		}
		if (st.kind == TARGET_STOP_SIGNAL && st.signo == SIGUSR1) {
			assert_int_equal(target_regs_get(p.t, st.tid, &before), 0);
			assert_int_equal(agent_run_code(p.a, st.tid, code, 0, SIGUSR1, AGENT_CONDITION,
							&res), 0);
			assert_int_equal(res, 1);
			assert_int_equal(target_regs_get(p.t, st.tid, &after), 0);
			assert_memory_equal(&after, &before, sizeof(before));
			seen++;
		}
		assert_int_equal(target_resume(p.t, st.tid, TARGET_RESUME_CONT,
					       st.kind == TARGET_STOP_SIGNAL ? st.signo : 0),
				 0);
	}
	assert_int_equal(seen, 1);
	/* the handler ran: SIGUSR1 was delivered after the run */
	out = proc_output(&p);
	snprintf(tail, sizeof(tail), "done ticks=40\n");
	assert_non_null(strstr(out, "\nticks "));
	assert_non_null(strstr(out, tail));
	proc_end(&p);
}

/* ---- one stop per event: agent_onestop_load ---- */

struct onestop_ctx {
	uint64_t cond0, code0, code1;
	uint64_t entry;
	int hits;
};

/* At the breakpoint: rip = the hook's entry, nothing else; the runner
 * continues at the displaced instruction by itself. */
static void onestop_hit(struct proc *p, pid_t tid, void *ud)
{
	struct onestop_ctx *c = ud;
	struct user_regs_struct r, again;

	assert_int_equal(target_regs_get(p->t, tid, &r), 0);
	if (!c->entry) {
		uint64_t cont;
		/* newest first: a false condition skips its code ('AAAA'), then the seed */
		struct agent_onestop_op ops[2] = {{c->cond0, c->code0, 0, r.rip},
						  {0, c->code1, 0, r.rip}};
		assert_int_equal(target_ool_stub(p->t, r.rip, &cont), 0);
		assert_int_equal(agent_onestop_load(p->a, ops, 2, cont, &c->entry), 0);
		assert_true(agent_in_arena(p->a, c->entry));
		uint64_t start = 0;
		assert_int_equal(agent_block_find(p->a, c->entry + 0x40, &start), 0);
		assert_int_equal(start, c->entry);
	}
	r.rip = c->entry;
	assert_int_equal(target_regs_set(p->t, tid, &r), 0);
	assert_int_equal(target_regs_get(p->t, tid, &again), 0);
	assert_int_equal(again.rip, c->entry);
	c->hits++;
}

static void test_onestop_entry_runs_ops_in_one_stop(void **state)
{
	static const uint8_t ret0[] = {0x31, 0xc0, 0xc3}; /* xor eax, eax */
	static const uint8_t tag_a[] = {0x48, 0xc7, 0x42, 0x40, 0x41, 0x41, 0x41, 0x41, 0xc3};
	struct proc p;
	struct onestop_ctx c = {0};
	(void)state;

	poolsim_start(&p, "3");
	assert_int_equal(agent_code_load(p.a, ret0, sizeof(ret0), &c.cond0), 0);
	assert_int_equal(agent_code_load(p.a, tag_a, sizeof(tag_a), &c.code0), 0);
	assert_int_equal(agent_code_load(p.a, seed_code, sizeof(seed_code), &c.code1), 0);
	assert_int_equal(run_to_exit(&p, onestop_hit, &c), 0);
	assert_int_equal(c.hits, 3);
	assert_int_equal(agent_runs(p.a), 0);
	assert_string_equal(proc_output(&p),
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDB2')\n"
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDB2')\n"
			    "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDB2')\n");
	assert_int_equal(agent_onestop_free(p.a, c.entry), 0);
	assert_int_equal(agent_onestop_free(p.a, c.entry), -HD_E_NOTFOUND);
	proc_end(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inject_writes_blob_and_shares_ring),
		cmocka_unit_test(test_buffers_are_zeroed_on_reuse),
		cmocka_unit_test(test_seed_example_on_poolsim),
		cmocka_unit_test(test_register_writes_are_applied),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_crashing_code_is_reported_and_undone),
		cmocka_unit_test(test_buffer_and_ring_from_target),
		cmocka_unit_test(test_four_threads_count_exactly),
		cmocka_unit_test(test_reinject_after_exec),
		cmocka_unit_test(test_signal_during_run_is_delivered_after),
		cmocka_unit_test(test_interrupt_stops_a_block_that_never_returns),
		cmocka_unit_test(test_probe_faults_are_fixed_up),
		cmocka_unit_test(test_run_at_syscall_entry_stop),
		cmocka_unit_test(test_run_at_signal_stop_then_deliver),
		cmocka_unit_test(test_onestop_entry_runs_ops_in_one_stop),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
