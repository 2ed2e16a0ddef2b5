/*
** floor_tracer: the least a ptrace tracer can do per event, for bench/run's
** ratios. Exactly one stop per event, one GETREGS (and for int3 one
** SETREGS) per stop, nothing else:
**   floor_tracer int3 FUNC SCRATCH [SPARE...] -- PROG ARGS...
**       int3 on FUNC; the displaced first instruction, followed by a jmp
**       back to FUNC+len, is written at SCRATCH; per hit: rip = SCRATCH.
**       Up to four SPARE addresses get hardware execute breakpoints that
**       never fire: armed debug registers make every context switch of the
**       target dearer, and hdbg's int3 path runs with all four taken.
**   floor_tracer hw FUNC -- PROG ARGS...
**       a hardware execute breakpoint (DR0) on FUNC; the kernel sets RF
**       on resume, so the instruction runs without a step.
**   floor_tracer seccomp NR -- PROG ARGS...
**       a seccomp filter that traces only syscall NR (RET_TRACE); per
**       stop: resume.
** FUNC, SCRATCH, NR: numbers (0x.. hex). PROG's output is PROG's; the
** tracer prints "floor_tracer mode=M hits=N" on stderr at the end and
** exits with PROG's exit status.
*/
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Zydis/Zydis.h>

enum mode { MODE_INT3, MODE_HW, MODE_SECCOMP };

static void die(const char *what)
{
	fprintf(stderr, "floor_tracer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void die_msg(const char *msg)
{
	fprintf(stderr, "floor_tracer: %s\n", msg);
	exit(1);
}

static uint64_t parse_num(const char *s)
{
	char *end;
	errno = 0;
	uint64_t v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die_msg("bad number argument");
	return v;
}

static void mem_rw(pid_t pid, uint64_t addr, void *buf, size_t len, int write)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, write ? O_RDWR : O_RDONLY);
	if (fd < 0)
		die("open /proc/PID/mem");
	ssize_t n = write ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
	if (n != (ssize_t)len)
		die(write ? "write target memory" : "read target memory");
	close(fd);
}

/* The displaced instruction at scratch, a jmp back after it, int3 at func. */
static void arm_int3(pid_t pid, uint64_t func, uint64_t scratch)
{
	uint8_t code[ZYDIS_MAX_INSTRUCTION_LENGTH];
	mem_rw(pid, func, code, sizeof(code), 0);
	ZydisDecoder dec;
	ZydisDecodedInstruction insn;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, code, sizeof(code), &insn)))
		die_msg("cannot decode the first instruction of FUNC");
	if (insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE)
		die_msg("the first instruction of FUNC is rip-relative: not displaceable here");
	uint8_t out[ZYDIS_MAX_INSTRUCTION_LENGTH + 5];
	memcpy(out, code, insn.length);
	int64_t rel = (int64_t)(func + insn.length) - (int64_t)(scratch + insn.length + 5);
	if (rel != (int32_t)rel)
		die_msg("SCRATCH is too far from FUNC");
	int32_t rel32 = (int32_t)rel;
	out[insn.length] = 0xe9;
	memcpy(out + insn.length + 1, &rel32, 4);
	mem_rw(pid, scratch, out, insn.length + 5u, 1);
	uint8_t cc = 0xcc;
	mem_rw(pid, func, &cc, 1, 1);
}

static void arm_spares(pid_t pid, char **spare, int n)
{
	unsigned long dr7 = 0;
	for (int i = 0; i < n && i < 4; i++) {
		if (ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[i]),
			   parse_num(spare[i])) < 0)
			die("set a spare debug register");
		dr7 |= 1UL << (2 * i);
	}
	if (n && ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[7]), dr7) < 0)
		die("set DR7");
}

static void arm_hw(pid_t pid, uint64_t func)
{
	/* DR7: L0 enabled, R/W0 = 00 (execute), LEN0 = 00. */
	if (ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[0]), func) < 0)
		die("set DR0");
	if (ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[7]), 1UL) < 0)
		die("set DR7");
}

static pid_t start(char **argv, enum mode mode, uint64_t nr)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			die("PTRACE_TRACEME");
		if (mode == MODE_SECCOMP) {
			scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
			if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_TRACE(0), (int)nr, 0) < 0 ||
			    seccomp_load(ctx) < 0)
				die_msg("cannot load the seccomp filter");
			seccomp_release(ctx);
		}
		execvp(argv[0], argv);
		die("exec");
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP)
		die_msg("the program did not stop at exec");
	long opts = PTRACE_O_EXITKILL | (mode == MODE_SECCOMP ? PTRACE_O_TRACESECCOMP : 0);
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)opts) < 0)
		die("PTRACE_SETOPTIONS");
	return pid;
}

/* One stop per event: recognise it with one GETREGS, resume. */
static int run(pid_t pid, enum mode mode, uint64_t func, uint64_t scratch, unsigned long *hits)
{
	struct user_regs_struct regs;
	int sig = 0, st;
	for (;;) {
		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig) < 0)
			die("PTRACE_CONT");
		sig = 0;
		if (waitpid(pid, &st, 0) < 0)
			die("waitpid");
		if (WIFEXITED(st))
			return WEXITSTATUS(st);
		if (WIFSIGNALED(st))
			return 128 + WTERMSIG(st);
		if (mode == MODE_SECCOMP && st >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
			if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) < 0)
				die("PTRACE_GETREGS");
			(*hits)++;
			continue;
		}
		if (WSTOPSIG(st) != SIGTRAP || mode == MODE_SECCOMP) {
			sig = WSTOPSIG(st);
			continue;
		}
		if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) < 0)
			die("PTRACE_GETREGS");
		if (mode == MODE_INT3 && regs.rip == func + 1) {
			regs.rip = scratch;
			if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) < 0)
				die("PTRACE_SETREGS");
			(*hits)++;
		} else if (mode == MODE_HW && regs.rip == func) {
			(*hits)++;
		} else {
			sig = SIGTRAP;
		}
	}
}

int main(int argc, char **argv)
{
	int sep = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	}
	if (sep < 3 || sep + 1 >= argc)
		goto usage;
	enum mode mode;
	uint64_t func = 0, scratch = 0, nr = 0;
	if (strcmp(argv[1], "int3") == 0 && sep >= 4 && sep <= 8) {
		mode = MODE_INT3;
		func = parse_num(argv[2]);
		scratch = parse_num(argv[3]);
	} else if (strcmp(argv[1], "hw") == 0 && sep == 3) {
		mode = MODE_HW;
		func = parse_num(argv[2]);
	} else if (strcmp(argv[1], "seccomp") == 0 && sep == 3) {
		mode = MODE_SECCOMP;
		nr = parse_num(argv[2]);
	} else {
		goto usage;
	}
	pid_t pid = start(argv + sep + 1, mode, nr);
	if (mode == MODE_INT3) {
		arm_int3(pid, func, scratch);
		arm_spares(pid, argv + 4, sep - 4);
	}
	else if (mode == MODE_HW)
		arm_hw(pid, func);
	unsigned long hits = 0;
	int rc = run(pid, mode, func, scratch, &hits);
	fprintf(stderr, "floor_tracer mode=%s hits=%lu\n", argv[1], hits);
	return rc;
usage:
	fprintf(stderr, "usage: floor_tracer int3 FUNC SCRATCH [SPARE...] -- PROG ARGS...\n"
			"       floor_tracer hw FUNC -- PROG ARGS...\n"
			"       floor_tracer seccomp NR -- PROG ARGS...\n");
	return 2;
}
