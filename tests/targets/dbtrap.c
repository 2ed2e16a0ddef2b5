/* dbtrap: SIGTRAPs shaped like debug-register hits, for the target layer's
 * classification of a hit whose DR6 status the CPU lost (docs/target.md).
 *   dbtrap lost N    N times, the thread sends itself a SIGTRAP with
 *                    si_code TRAP_BRKPT and si_addr = dbtrap_at from the
 *                    syscall just before dbtrap_at: a tracer sees exactly
 *                    the stop of an execute hit at dbtrap_at whose DR6
 *                    status was lost (the kernel takes it for an int1)
 *   dbtrap icebp N   N times an int1 (f1) just before dbtrap_after_int1:
 *                    the program's own SIGTRAP at the same kind of stop
 * Prints "traps=T calls=N hooked=H": T SIGTRAPs reached the program's
 * handler; H is `hooked`, which only a debugger's custom code changes.
 * Non-PIE, so that the symbols' file addresses are the run-time ones. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* lost_once(tgid, tid, sig, info): rt_tgsigqueueinfo, then dbtrap_at */
__asm__(".text\n"
	".globl lost_once\n"
	".type lost_once, @function\n"
	"lost_once:\n"
	"	mov %rcx, %r10\n"
	"	mov $297, %eax\n" /* SYS_rt_tgsigqueueinfo */
	"	syscall\n"
	".globl dbtrap_at\n"
	"dbtrap_at:\n"
	"	nop\n"
	"	ret\n"
	".size lost_once, . - lost_once\n"
	".globl icebp_once\n"
	".type icebp_once, @function\n"
	"icebp_once:\n"
	"	.byte 0xf1\n"
	".globl dbtrap_after_int1\n"
	"dbtrap_after_int1:\n"
	"	nop\n"
	"	ret\n"
	".size icebp_once, . - icebp_once\n");

long lost_once(long tgid, long tid, long sig, siginfo_t *info);
void icebp_once(void);
extern char dbtrap_at[];

volatile sig_atomic_t traps; /* global: the tests watch it */
volatile unsigned long hooked;

static void on_trap(int sig)
{
	(void)sig;
	traps++;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "lost") && strcmp(argv[1], "icebp"))) {
		fprintf(stderr, "usage: dbtrap lost|icebp N\n");
		return 2;
	}
	_Static_assert(SYS_rt_tgsigqueueinfo == 297, "x86-64 syscall number");
	long n = strtol(argv[2], NULL, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_trap;
	/* a trap while SIGTRAP is blocked (a watchpoint on `traps` in the
	 * handler) would make the kernel reset the handler to SIG_DFL */
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGTRAP, &sa, NULL);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGTRAP;
	si.si_code = TRAP_BRKPT;
	si.si_addr = dbtrap_at;
	for (long i = 0; i < n; i++) {
		if (argv[1][0] == 'l') {
			if (lost_once(getpid(), gettid(), SIGTRAP, &si) < 0) {
				perror("rt_tgsigqueueinfo");
				return 1;
			}
		} else {
			icebp_once();
		}
	}
	printf("traps=%d calls=%ld hooked=%lu\n", (int)traps, n, hooked);
	return 0;
}
