/* test_bp.c: the target layer on real processes: start, registers, memory,
 * int3 breakpoints with out-of-line execution, stepping, system calls run
 * in the target, scratch memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/syscall.h>

#include "helpers.h"

#define OOL_SRC HD_SOURCE_DIR "/tests/unit/target/ool_prog.c"
#define OOL_BIN HD_BINARY_DIR "/tests/target_ool_prog"

static char *const simple10[] = {A(TGT("simple")), A("10"), NULL};

/* ---- start ---- */

static void test_start_first_instruction(void **state)
{
	(void)state;
	struct target *t;
	int out;
	assert_int_equal(start_captured(&t, simple10, &out), 0);
	pid_t pid = target_pid(t);
	assert_int_equal(target_thread_current(t), pid);
	struct user_regs_struct r;
	assert_int_equal(target_regs_get(t, pid, &r), 0);
	/* At the first instruction: [rsp] is argc, argv[1] is "10", and rip is
	 * in the dynamic loader's mapping. */
	uint64_t argc = 0, argv1 = 0;
	char arg[3] = "";
	assert_int_equal(target_mem_read(t, r.rsp, &argc, 8), 0);
	assert_int_equal(argc, 2);
	assert_int_equal(target_mem_read(t, r.rsp + 16, &argv1, 8), 0);
	assert_int_equal(target_mem_read(t, argv1, arg, 3), 0);
	assert_string_equal(arg, "10");
	char path[64], line[512];
	bool in_ld = false;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && r.rip >= lo && r.rip < hi)
			in_ld = strstr(line, "/ld-linux") != NULL;
	}
	if (f)
		fclose(f);
	assert_true(in_ld);
	struct user_fpregs_struct fp;
	assert_int_equal(target_fpregs_get(t, pid, &fp), 0);
	assert_int_equal(fp.mxcsr & 0xffff, 0x1f80);

	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_EXITED);
	assert_int_equal(s.status, 0);
	assert_true(target_exited(t));
	assert_int_equal(target_wait(t, &s), -HD_E_EXITED);
	char *o = slurp(out);
	assert_string_equal(o, "Hello world ! sum=158 counter=10\n");
	free(o);
	close(out);
	target_free(t);
}

static void test_start_missing_program(void **state)
{
	(void)state;
	struct target *t = (struct target *)1;
	char *const argv[] = {A("/nonexistent/prog"), NULL};
	assert_int_equal(target_start(&t, argv[0], argv), -ENOENT);
	assert_null(t);
}

/* ---- registers and memory ---- */

static void test_regs_and_memory(void **state)
{
	(void)state;
	struct target *t;
	int out;
	const char *exe = TGT("simple");
	uint64_t add = elf_sym(exe, "add"), table = elf_sym(exe, "table");
	uint64_t counter = elf_sym(exe, "counter"), mainf = elf_sym(exe, "main");
	assert_true(add && table && counter && mainf);
	assert_int_equal(start_captured(&t, simple10, &out), 0);
	pid_t pid = target_pid(t);
	assert_int_equal(target_bp_insert(t, add), 0);
	assert_true(target_bp_at(t, add));

	/* Reads show the original byte; the process memory holds the int3. */
	uint8_t file_byte, shown, raw;
	assert_true(elf_bytes(exe, add, &file_byte, 1));
	assert_int_equal(target_mem_read(t, add, &shown, 1), 0);
	assert_int_equal(shown, file_byte);
	char mpath[64];
	snprintf(mpath, sizeof(mpath), "/proc/%d/mem", (int)pid);
	int mfd = open(mpath, O_RDONLY);
	assert_int_equal(pread(mfd, &raw, 1, (off_t)add), 1);
	assert_int_equal(raw, 0xcc);

	uint64_t junk;
	assert_int_equal(target_mem_read(t, 8, &junk, 8), -HD_E_BADADDR);
	assert_int_equal(target_mem_write(t, 8, &junk, 8), -HD_E_BADADDR);

	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_BREAKPOINT);
	assert_int_equal(s.addr, add);
	struct user_regs_struct r;
	assert_int_equal(target_regs_get(t, s.tid, &r), 0);
	assert_int_equal(r.rip, add);
	assert_int_equal(r.rdi, 0);  /* add(sum = 0, table[0]) */
	assert_int_equal(r.rsi, 1);
	uint64_t c = 99;
	assert_int_equal(target_mem_read(t, counter, &c, 8), 0);
	assert_int_equal(c, 0);

	/* a := 1000 and table[0] := 100 (read again at i = 8). */
	r.rdi = 1000;
	assert_int_equal(target_regs_set(t, s.tid, &r), 0);
	uint64_t hundred = 100;
	assert_int_equal(target_mem_write(t, table, &hundred, 8), 0);

	/* A write over the breakpoint keeps it armed with the new byte as
	 * original; writing the old byte back restores things. */
	uint8_t nop = 0x90;
	assert_int_equal(target_mem_write(t, add, &nop, 1), 0);
	assert_int_equal(pread(mfd, &raw, 1, (off_t)add), 1);
	assert_int_equal(raw, 0xcc);
	assert_int_equal(target_mem_read(t, add, &shown, 1), 0);
	assert_int_equal(shown, 0x90);
	assert_int_equal(target_mem_write(t, add, &file_byte, 1), 0);
	/* Read-only code outside breakpoints is writable too. */
	uint8_t m0, m1 = 0xf4;
	assert_int_equal(target_mem_read(t, mainf, &m0, 1), 0);
	assert_int_equal(target_mem_write(t, mainf, &m1, 1), 0);
	assert_int_equal(pread(mfd, &raw, 1, (off_t)mainf), 1);
	assert_int_equal(raw, 0xf4);
	assert_int_equal(target_mem_write(t, mainf, &m0, 1), 0);
	close(mfd);

	assert_int_equal(target_bp_remove(t, add), 0);
	assert_false(target_bp_at(t, add));
	assert_int_equal(target_bp_remove(t, add), -HD_E_NOTFOUND);
	assert_int_equal(target_resume(t, s.tid, TARGET_RESUME_CONT, 0), 0);
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_EXITED);
	char *o = slurp(out);
	/* sum = 1000 + 39 - 1 + 100 = 1138; printed 4*1138+2 */
	assert_string_equal(o, "Hello world ! sum=4554 counter=10\n");
	free(o);
	close(out);
	target_free(t);
}

/* ---- breakpoint hits: exactly one stop per hit ---- */

static void test_bp_loop_exact_hits(void **state)
{
	(void)state;
	struct target *t;
	int out;
	char *const argv[] = {A(TGT("simple")), A("1000"), NULL};
	uint64_t add = elf_sym(TGT("simple"), "add"), leaf = elf_sym(TGT("simple"), "leaf");
	char *expect = run_plain(argv, NULL);
	assert_string_equal(expect, "Hello world ! sum=18002 counter=1000\n");
	assert_int_equal(start_captured(&t, argv, &out), 0);
	assert_int_equal(target_bp_insert(t, add), 0);
	assert_int_equal(target_bp_insert(t, add), 0); /* two references */
	assert_int_equal(target_bp_insert(t, leaf), 0);
	assert_int_equal(target_resume_all(t), 0);
	int hits_add = 0, hits_leaf = 0, other = 0;
	struct target_stop s;
	for (;;) {
		assert_int_equal(target_wait(t, &s), 0);
		if (s.kind == TARGET_STOP_EXITED)
			break;
		if (s.kind == TARGET_STOP_BREAKPOINT && s.addr == add)
			hits_add++;
		else if (s.kind == TARGET_STOP_BREAKPOINT && s.addr == leaf)
			hits_leaf++;
		else
			other++;
		if (hits_add == 500 && s.addr == add) { /* drop one reference */
			assert_int_equal(target_bp_remove(t, add), 0);
			assert_true(target_bp_at(t, add));
		}
		assert_int_equal(resume_stop(t, &s), 0);
	}
	assert_int_equal(hits_add, 1000);
	assert_int_equal(hits_leaf, 1);
	assert_int_equal(other, 0);
	char *o = slurp(out);
	assert_string_equal(o, expect);
	free(o);
	free(expect);
	close(out);
	target_free(t);
}

/* ---- displaced instructions: rip-relative, relative and indirect branches ---- */

static const char *const ool_sites[] = {
	"riprel_site", "lea_site",    "callrel_site", "jcc_site",     "jmp8_site",
	"jmp32_site",  "loop_site",   "jrcxz_site",   "callind_site", "callreg_site",
	"store_site",  "cmpimm_site", "ret_site",
};

static int build_ool_prog(void)
{
	static int built;
	if (built)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		execlp("cc", "cc", "-O0", "-no-pie", "-o", OOL_BIN, OOL_SRC, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	built = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	return built ? 0 : -1;
}

static void test_ool_displaced_instructions(void **state)
{
	(void)state;
	if (build_ool_prog() < 0)
		fail_msg("cannot compile %s with cc", OOL_SRC);
	char *const argv[] = {A(OOL_BIN), A("6"), NULL};
	char *expect = run_plain(argv, NULL);
	assert_non_null(strstr(expect, "ool acc="));
	struct target *t;
	int out;
	enum { N = HD_ARRAY_SIZE(ool_sites) };
	uint64_t addr[N];
	int hits[N];
	for (int i = 0; i < N; i++) {
		addr[i] = elf_sym(OOL_BIN, ool_sites[i]);
		assert_true(addr[i] != 0);
		hits[i] = 0;
	}
	assert_int_equal(start_captured(&t, argv, &out), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(target_bp_insert(t, addr[i]), 0);
	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	for (;;) {
		assert_int_equal(target_wait(t, &s), 0);
		if (s.kind == TARGET_STOP_EXITED)
			break;
		assert_int_equal(s.kind, TARGET_STOP_BREAKPOINT);
		for (int i = 0; i < N; i++)
			hits[i] += s.addr == addr[i];
		assert_int_equal(resume_stop(t, &s), 0);
	}
	for (int i = 0; i < N; i++) {
		int want = strcmp(ool_sites[i], "loop_site") == 0 ? 18 : 6;
		if (hits[i] != want)
			fail_msg("%s: %d hits, expected %d", ool_sites[i], hits[i], want);
	}
	char *o = slurp(out);
	assert_string_equal(o, expect);
	free(o);
	free(expect);
	close(out);
	target_free(t);
}

/* target_ool_stub(): the continuation of every displaced instruction, for
 * int3 breakpoints and for hardware ones (no int3 at the address; four
 * sites per run, rotated). At each hit the thread is sent to the stub
 * instead of being resumed at the breakpoint: the program's output and the
 * hit counts must equal an undebugged run's. */
static void test_ool_stub_continues_every_instruction(void **state)
{
	(void)state;
	if (build_ool_prog() < 0)
		fail_msg("cannot compile %s with cc", OOL_SRC);
	char *const argv[] = {A(OOL_BIN), A("6"), NULL};
	char *expect = run_plain(argv, NULL);
	enum { N = HD_ARRAY_SIZE(ool_sites) };
	uint64_t addr[N];
	for (int i = 0; i < N; i++)
		assert_true((addr[i] = elf_sym(OOL_BIN, ool_sites[i])) != 0);
	for (int first = 0; first < N; first += 4) {
		struct target *t;
		int out, hits[N] = {0}, nhw = 0;
		bool hw[N] = {false};
		assert_int_equal(start_captured(&t, argv, &out), 0);
		for (int i = 0; i < N; i++) {
			if (i >= first && i < first + 4) {
				assert_true(target_hw_set(t, addr[i], TARGET_HW_EXEC, 1) >= 0);
				hw[i] = true;
				nhw++;
			} else {
				assert_int_equal(target_bp_insert(t, addr[i]), 0);
			}
		}
		assert_int_equal(target_resume_all(t), 0);
		struct target_stop s;
		for (;;) {
			assert_int_equal(target_wait(t, &s), 0);
			if (s.kind == TARGET_STOP_EXITED)
				break;
			assert_true(s.kind == TARGET_STOP_BREAKPOINT || s.kind == TARGET_STOP_HWBP);
			struct user_regs_struct r;
			uint64_t stub = 0, again = 0;
			assert_int_equal(target_regs_get(t, s.tid, &r), 0);
			for (int i = 0; i < N; i++)
				if (s.addr == addr[i]) {
					hits[i]++;
					assert_int_equal(hw[i], s.kind == TARGET_STOP_HWBP);
				}
			assert_int_equal(target_ool_stub(t, s.addr, &stub), 0);
			assert_int_equal(target_ool_stub(t, s.addr, &again), 0);
			assert_int_equal(stub, again); /* made once */
			assert_true(stub != s.addr);
			r.rip = stub;
			assert_int_equal(target_regs_set(t, s.tid, &r), 0);
			assert_int_equal(resume_stop(t, &s), 0);
		}
		for (int i = 0; i < N; i++) {
			int want = strcmp(ool_sites[i], "loop_site") == 0 ? 18 : 6;
			if (hits[i] != want)
				fail_msg("%s (%s): %d hits, expected %d", ool_sites[i],
					 hw[i] ? "hw" : "int3", hits[i], want);
		}
		char *o = slurp(out);
		assert_string_equal(o, expect);
		free(o);
		close(out);
		target_free(t);
		assert_true(nhw > 0);
	}
	free(expect);
}

/* ---- stepping ---- */

static void test_step(void **state)
{
	(void)state;
	if (build_ool_prog() < 0)
		fail_msg("cannot compile %s with cc", OOL_SRC);
	char *const argv[] = {A(OOL_BIN), A("1"), NULL};
	char *expect = run_plain(argv, NULL);
	uint64_t callrel = elf_sym(OOL_BIN, "callrel_site"), helper = elf_sym(OOL_BIN, "helper");
	uint64_t riprel = elf_sym(OOL_BIN, "riprel_site"), data1 = elf_sym(OOL_BIN, "data1");
	struct target *t;
	int out;
	assert_int_equal(start_captured(&t, argv, &out), 0);
	assert_int_equal(target_bp_insert(t, riprel), 0);
	assert_int_equal(target_bp_insert(t, callrel), 0);
	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	struct user_regs_struct r;
	/* riprel_site: mov rax, [rip+data1] run out of line by a step. */
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.addr, riprel);
	assert_int_equal(target_step(t, s.tid, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_STEP);
	assert_int_equal(target_regs_get(t, s.tid, &r), 0);
	assert_int_equal(r.rip, riprel + 7);
	uint64_t d1;
	assert_int_equal(target_mem_read(t, data1, &d1, 8), 0);
	assert_int_equal(r.rax, d1);
	/* A plain step (ret), then continue to callrel_site. */
	uint64_t ret_to;
	assert_int_equal(target_mem_read(t, r.rsp, &ret_to, 8), 0);
	assert_int_equal(target_step(t, s.tid, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_STEP);
	assert_int_equal(target_regs_get(t, s.tid, &r), 0);
	assert_int_equal(r.rip, ret_to);
	assert_int_equal(target_resume(t, s.tid, TARGET_RESUME_CONT, 0), 0);
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_BREAKPOINT);
	assert_int_equal(s.addr, callrel);
	/* call rel32 is emulated: rip = helper, return address pushed. */
	assert_int_equal(target_regs_get(t, s.tid, &r), 0);
	uint64_t sp0 = r.rsp;
	assert_int_equal(target_step(t, s.tid, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_STEP);
	assert_int_equal(target_regs_get(t, s.tid, &r), 0);
	assert_int_equal(r.rip, helper);
	assert_int_equal(r.rsp, sp0 - 8);
	assert_int_equal(target_mem_read(t, r.rsp, &ret_to, 8), 0);
	assert_int_equal(ret_to, callrel + 5);
	assert_int_equal(target_resume(t, s.tid, TARGET_RESUME_CONT, 0), 0);
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_EXITED);
	char *o = slurp(out);
	assert_string_equal(o, expect);
	free(o);
	free(expect);
	close(out);
	target_free(t);
}

/* ---- system calls in the target, scratch memory ---- */

static void test_syscall_and_scratch(void **state)
{
	(void)state;
	struct target *t;
	int out;
	uint64_t add = elf_sym(TGT("simple"), "add");
	assert_int_equal(start_captured(&t, simple10, &out), 0);
	pid_t pid = target_pid(t);
	struct user_regs_struct before, after;
	assert_int_equal(target_regs_get(t, pid, &before), 0);
	uint64_t args[6] = {0}, ret = 0;
	assert_int_equal(target_syscall(t, pid, 39 /* getpid */, args, &ret), 0);
	assert_int_equal(ret, (uint64_t)pid);
	assert_int_equal(target_regs_get(t, pid, &after), 0);
	/* Stopped inside execve, whose result (0) lands in rax only now. */
	assert_int_equal(after.rax, 0);
	after.rax = before.rax;
	assert_memory_equal(&before, &after, sizeof(before));

	/* Scratch memory near `add`: executable, within 2 GiB, distinct. */
	uint64_t a1, a2, a3;
	assert_int_equal(target_scratch_alloc(t, add, 100, &a1), 0);
	assert_int_equal(target_scratch_alloc(t, add, 100, &a2), 0);
	assert_int_equal(target_scratch_alloc(t, 0, 16, &a3), 0);
	assert_true(a2 >= a1 + 100);
	int64_t d = (int64_t)(a1 - add);
	assert_true(d > -0x7fff0000ll && d < 0x7fff0000ll);
	uint8_t code[4] = {0x0f, 0x0b, 0xc3, 0x90}, back[4];
	assert_int_equal(target_mem_write(t, a1, code, 4), 0);
	assert_int_equal(target_mem_read(t, a1, back, 4), 0);
	assert_memory_equal(code, back, 4);
	char path[64], line[512];
	bool found = false;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perm[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) == 3 && a1 >= lo && a1 < hi)
			found = strncmp(perm, "r-x", 3) == 0;
	}
	if (f)
		fclose(f);
	assert_true(found);

	/* At a breakpoint hit too; the program then runs on correctly. */
	assert_int_equal(target_bp_insert(t, add), 0);
	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_BREAKPOINT);
	assert_int_equal(target_regs_get(t, s.tid, &before), 0);
	assert_int_equal(target_syscall(t, s.tid, 186 /* gettid */, args, &ret), 0);
	assert_int_equal(ret, (uint64_t)s.tid);
	assert_int_equal(target_regs_get(t, s.tid, &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(target_bp_remove(t, add), 0);
	assert_int_equal(target_resume_all(t), 0);
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_EXITED);
	char *o = slurp(out);
	assert_string_equal(o, "Hello world ! sum=158 counter=10\n");
	free(o);
	close(out);
	target_free(t);
}

/* ---- system call stops ---- */

/* Resuming in TARGET_RESUME_SYSCALL mode stops at the next syscall exit. */
static void test_syscall_exit_stops(void **state)
{
	(void)state;
	struct target *t;
	int out;
	assert_int_equal(start_captured(&t, simple10, &out), 0);
	pid_t pid = target_pid(t);
	struct target_stop s;
	struct user_regs_struct r;
	int exits = 0;
	assert_int_equal(target_resume(t, pid, TARGET_RESUME_SYSCALL, 0), 0);
	for (;;) {
		assert_int_equal(target_wait(t, &s), 0);
		assert_int_equal(s.kind, TARGET_STOP_SYSCALL_EXIT);
		exits++;
		assert_int_equal(target_regs_get(t, pid, &r), 0);
		assert_int_equal(s.sysno, (long)r.orig_rax);
		if (s.sysno == 1 /* write */)
			break;
		assert_int_equal(target_resume(t, pid, TARGET_RESUME_SYSCALL, 0), 0);
	}
	assert_true(exits > 3);
	assert_int_equal(r.rax, strlen("Hello world ! sum=158 counter=10\n"));
	assert_int_equal(target_resume(t, pid, TARGET_RESUME_CONT, 0), 0);
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_EXITED);
	char *o = slurp(out);
	assert_string_equal(o, "Hello world ! sum=158 counter=10\n");
	free(o);
	close(out);
	target_free(t);
}

/* seccomp RET_TRACE stops: run, skipped with a result, changed at exit. */
static void test_seccomp_stops(void **state)
{
	(void)state;
	if (build_ool_prog() < 0)
		fail_msg("cannot compile %s with cc", OOL_SRC);
	char *const argv[] = {A(OOL_BIN), A("seccomp"), NULL};
	struct target *t;
	int out;
	assert_int_equal(start_captured(&t, argv, &out), 0);
	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	struct user_regs_struct r;
	uint64_t args[6] = {0}, ret;
	/* 1: runs normally; no syscall injection inside a syscall entry. */
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_SYSCALL);
	assert_int_equal(s.sysno, SYS_getppid);
	assert_int_equal(target_syscall(t, s.tid, 39, args, &ret), -HD_E_UNSUPPORTED);
	assert_int_equal(target_resume(t, s.tid, TARGET_RESUME_CONT, 0), 0);
	/* 2: skipped, result 4242. */
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_SYSCALL);
	assert_int_equal(target_regs_get(t, s.tid, &r), 0);
	r.orig_rax = ~0ull;
	r.rax = 4242;
	assert_int_equal(target_regs_set(t, s.tid, &r), 0);
	assert_int_equal(target_resume(t, s.tid, TARGET_RESUME_CONT, 0), 0);
	/* 3: runs; at its exit the result becomes 77. */
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_SYSCALL);
	assert_int_equal(target_resume(t, s.tid, TARGET_RESUME_SYSCALL, 0), 0);
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_SYSCALL_EXIT);
	assert_int_equal(s.sysno, SYS_getppid);
	assert_int_equal(target_regs_get(t, s.tid, &r), 0);
	assert_int_equal(r.rax, (uint64_t)getpid());
	r.rax = 77;
	assert_int_equal(target_regs_set(t, s.tid, &r), 0);
	assert_int_equal(target_resume(t, s.tid, TARGET_RESUME_CONT, 0), 0);
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_EXITED);
	char *o = slurp(out), want[64];
	snprintf(want, sizeof(want), "getppid %d 4242 77\n", (int)getpid());
	assert_string_equal(o, want);
	free(o);
	close(out);
	target_free(t);
}

/* A forked child gets the original bytes and runs free; vfork is fine. */
static void test_fork_child_released(void **state)
{
	(void)state;
	if (build_ool_prog() < 0)
		fail_msg("cannot compile %s with cc", OOL_SRC);
	char *const argv[] = {A(OOL_BIN), A("fork"), NULL};
	uint64_t ret_site = elf_sym(OOL_BIN, "ret_site");
	struct target *t;
	int out;
	assert_int_equal(start_captured(&t, argv, &out), 0);
	assert_int_equal(target_bp_insert(t, ret_site), 0);
	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	int hits = 0;
	for (;;) {
		assert_int_equal(target_wait(t, &s), 0);
		if (s.kind == TARGET_STOP_EXITED)
			break;
		if (s.kind == TARGET_STOP_SIGNAL) /* SIGCHLD of the children */
			assert_int_equal(s.signo, SIGCHLD);
		else
			assert_int_equal(s.kind, TARGET_STOP_BREAKPOINT);
		hits += s.kind == TARGET_STOP_BREAKPOINT;
		assert_int_equal(target_resume_all(t), 0);
	}
	assert_int_equal(hits, 2);
	char *o = slurp(out);
	assert_string_equal(o, "fork a=154 child=0 spawn=0\n");
	free(o);
	close(out);
	target_free(t);
}

/* A non-leader thread execs: one thread remains, with the leader's tid. */
static void test_exec_from_thread(void **state)
{
	(void)state;
	if (build_ool_prog() < 0)
		fail_msg("cannot compile %s with cc", OOL_SRC);
	char *const argv[] = {A(OOL_BIN), A("mtexec"), A(TGT("simple")), NULL};
	struct target *t;
	int out;
	assert_int_equal(start_captured(&t, argv, &out), 0);
	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	do {
		assert_int_equal(target_wait(t, &s), 0);
		if (s.kind != TARGET_STOP_EXEC)
			assert_int_equal(resume_stop(t, &s), 0);
	} while (s.kind != TARGET_STOP_EXEC);
	assert_int_equal(s.tid, target_pid(t));
	pid_t tids[4];
	assert_int_equal(target_threads(t, tids, 4), 1);
	assert_int_equal(tids[0], target_pid(t));
	uint64_t add = elf_sym(TGT("simple"), "add");
	assert_int_equal(target_bp_insert(t, add), 0);
	assert_int_equal(target_resume_all(t), 0);
	int hits = 0;
	for (;;) {
		assert_int_equal(target_wait(t, &s), 0);
		if (s.kind == TARGET_STOP_EXITED)
			break;
		assert_int_equal(s.kind, TARGET_STOP_BREAKPOINT);
		hits++;
		assert_int_equal(resume_stop(t, &s), 0);
	}
	assert_int_equal(hits, 3);
	char *o = slurp(out);
	assert_string_equal(o, "Hello world ! sum=26 counter=3\n");
	free(o);
	close(out);
	target_free(t);
}

/* Code run on a thread stopped at a breakpoint (as the agent does): the
 * thread goes to a trap elsewhere, comes back, and its next resume steps
 * over the breakpoint instead of hitting it again. */
static void test_detour_and_back(void **state)
{
	(void)state;
	struct target *t;
	int out;
	uint64_t add = elf_sym(TGT("simple"), "add");
	assert_int_equal(start_captured(&t, simple10, &out), 0);
	uint64_t pad;
	uint8_t nop = 0x90;
	assert_int_equal(target_scratch_alloc(t, 0, 16, &pad), 0);
	assert_int_equal(target_mem_write(t, pad, &nop, 1), 0);
	assert_int_equal(target_bp_insert(t, pad), 0);
	assert_int_equal(target_bp_insert(t, add), 0);
	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	int hits = 0;
	for (;;) {
		assert_int_equal(target_wait(t, &s), 0);
		if (s.kind == TARGET_STOP_EXITED)
			break;
		assert_int_equal(s.kind, TARGET_STOP_BREAKPOINT);
		assert_int_equal(s.addr, add);
		hits++;
		pid_t tid = s.tid;
		assert_int_equal(target_bp_hit(t, tid), add);
		struct user_regs_struct saved, r;
		assert_int_equal(target_regs_get(t, tid, &saved), 0);
		r = saved;
		r.rip = pad;
		assert_int_equal(target_regs_set(t, tid, &r), 0);
		assert_int_equal(target_resume(t, tid, TARGET_RESUME_CONT, 0), 0);
		assert_int_equal(target_wait_thread(t, tid, &s), 0);
		assert_int_equal(s.kind, TARGET_STOP_BREAKPOINT);
		assert_int_equal(s.addr, pad);
		assert_int_equal(target_regs_set(t, tid, &saved), 0);
		assert_int_equal(target_bp_hit_set(t, tid, add), 0);
		assert_int_equal(target_resume(t, tid, TARGET_RESUME_CONT, 0), 0);
	}
	assert_int_equal(hits, 10);
	char *o = slurp(out);
	assert_string_equal(o, "Hello world ! sum=158 counter=10\n");
	free(o);
	close(out);
	target_free(t);
}

/* Syscall-stop tracing: entries reported as SYSCALL, exits on request. */
static void test_syscall_trace(void **state)
{
	(void)state;
	struct target *t;
	int out;
	assert_int_equal(start_captured(&t, simple10, &out), 0);
	assert_int_equal(target_syscall_trace(t, true), 0);
	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	struct user_regs_struct r;
	int entries = 0;
	for (;;) {
		assert_int_equal(target_wait(t, &s), 0);
		assert_int_equal(s.kind, TARGET_STOP_SYSCALL);
		assert_true(target_at_syscall(t, s.tid));
		assert_int_equal(target_regs_get(t, s.tid, &r), 0);
		assert_int_equal(s.sysno, (long)r.orig_rax);
		entries++;
		if (s.sysno == 1)
			break;
		assert_int_equal(target_resume(t, s.tid, TARGET_RESUME_CONT, 0), 0);
	}
	assert_true(entries > 3);
	assert_int_equal(target_resume(t, s.tid, TARGET_RESUME_SYSCALL, 0), 0);
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_SYSCALL_EXIT);
	assert_int_equal(s.sysno, 1);
	assert_int_equal(target_regs_get(t, s.tid, &r), 0);
	assert_int_equal(r.rax, strlen("Hello world ! sum=158 counter=10\n"));
	assert_int_equal(target_syscall_trace(t, false), 0);
	assert_int_equal(target_resume(t, s.tid, TARGET_RESUME_CONT, 0), 0);
	assert_int_equal(target_wait(t, &s), 0);
	assert_int_equal(s.kind, TARGET_STOP_EXITED);
	char *o = slurp(out);
	assert_string_equal(o, "Hello world ! sum=158 counter=10\n");
	free(o);
	close(out);
	target_free(t);
}

/* Executable anonymous mappings of the process, as "lo-hi" strings. */
static int exec_maps(pid_t pid, uint64_t *lo, int max)
{
	char path[64], line[512];
	int n = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f) && n < max) {
		unsigned long a, b, ino;
		char perm[5];
		if (sscanf(line, "%lx-%lx %4s %*s %*s %lu", &a, &b, perm, &ino) == 4 &&
		    perm[2] == 'x' && ino == 0 && !strchr(line, '['))
			lo[n++] = a;
	}
	if (f)
		fclose(f);
	return n;
}

/* A thread caught at the first byte of an out-of-line copy (here by a
 * hardware breakpoint on it) is shown at the breakpoint address and still
 * executes the displaced instruction exactly once. */
static void test_ool_copy_mapped_back(void **state)
{
	(void)state;
	struct target *t;
	int out;
	char *const argv[] = {A(TGT("simple")), A("3"), NULL};
	uint64_t add = elf_sym(TGT("simple"), "add");
	assert_int_equal(start_captured(&t, argv, &out), 0);
	uint64_t before[16], after[16], slot = 0;
	int nb = exec_maps(target_pid(t), before, 16);
	assert_int_equal(target_bp_insert(t, add), 0); /* prepares the copy */
	int na = exec_maps(target_pid(t), after, 16);
	for (int i = 0; i < na; i++) {
		bool old = false;
		for (int k = 0; k < nb; k++)
			old |= before[k] == after[i];
		if (!old)
			slot = after[i]; /* first copy: start of the new chunk */
	}
	assert_true(slot != 0);
	int hw = target_hw_set(t, slot, TARGET_HW_EXEC, 1);
	assert_true(hw >= 0);
	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	struct user_regs_struct r;
	int hits = 0, caught = 0;
	for (;;) {
		assert_int_equal(target_wait(t, &s), 0);
		if (s.kind == TARGET_STOP_EXITED)
			break;
		assert_int_equal(target_regs_get(t, s.tid, &r), 0);
		if (s.kind == TARGET_STOP_HWBP) {
			assert_int_equal(s.addr, slot);
			assert_int_equal(r.rip, add); /* not the copy's address */
			assert_int_equal(target_bp_hit(t, s.tid), add);
			caught++;
		} else {
			assert_int_equal(s.kind, TARGET_STOP_BREAKPOINT);
			hits++;
		}
		assert_int_equal(resume_stop(t, &s), 0);
	}
	assert_int_equal(hits, 3);
	assert_int_equal(caught, 3);
	char *o = slurp(out);
	assert_string_equal(o, "Hello world ! sum=26 counter=3\n");
	free(o);
	close(out);
	target_free(t);
}

/* PIE program and a breakpoint in its shared library. */
static void test_pie_and_library(void **state)
{
	(void)state;
	struct target *t;
	int out;
	char *const argv[] = {A(TGT("pie")), NULL};
	assert_int_equal(start_captured(&t, argv, &out), 0);
	pid_t pid = target_pid(t);
	uint64_t compute = elf_sym(TGT("pie"), "pie_compute") + load_bias(pid, TGT("pie"));
	assert_true(compute > 0x10000);
	assert_int_equal(target_bp_insert(t, compute), 0);
	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	uint64_t mul = 0;
	int hits_c = 0, hits_m = 0;
	for (;;) {
		assert_int_equal(target_wait(t, &s), 0);
		if (s.kind == TARGET_STOP_EXITED)
			break;
		assert_int_equal(s.kind, TARGET_STOP_BREAKPOINT);
		if (s.addr == compute && !mul) { /* the library is loaded now */
			mul = elf_sym(TGT("libhdlib.so"), "hdlib_mul") + load_bias(pid, TGT("libhdlib.so"));
			assert_int_equal(target_bp_insert(t, mul), 0);
		}
		hits_c += s.addr == compute;
		hits_m += s.addr == mul;
		assert_int_equal(resume_stop(t, &s), 0);
	}
	assert_int_equal(hits_c, 5);
	assert_int_equal(hits_m, 5);
	char *o = slurp(out);
	assert_string_equal(o, "pie result=23335\n");
	free(o);
	close(out);
	target_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_first_instruction),
		cmocka_unit_test(test_start_missing_program),
		cmocka_unit_test(test_regs_and_memory),
		cmocka_unit_test(test_bp_loop_exact_hits),
		cmocka_unit_test(test_ool_displaced_instructions),
		cmocka_unit_test(test_ool_stub_continues_every_instruction),
		cmocka_unit_test(test_pie_and_library),
		cmocka_unit_test(test_step),
		cmocka_unit_test(test_ool_copy_mapped_back),
		cmocka_unit_test(test_syscall_and_scratch),
		cmocka_unit_test(test_syscall_exit_stops),
		cmocka_unit_test(test_seccomp_stops),
		cmocka_unit_test(test_fork_child_released),
		cmocka_unit_test(test_exec_from_thread),
		cmocka_unit_test(test_detour_and_back),
		cmocka_unit_test(test_syscall_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
