/*
** event_target: the program that bench/run hooks. It runs one loop N times
** and prints the time per iteration measured around the loop itself, so
** that start-up, symbol loading and hook arming are not counted:
**   event_target call N      calls bench_fn() N times (the !epthook site)
**   event_target getppid N   calls getppid() N times (the !syscall site)
** Output (one line on stdout, after the loop):
**   event_target mode=call n=N ns_per_iter=X result=R expect=E expect_rdi1=E1
** E is the result of an untouched run, E1 the result when every call of
** bench_fn gets its argument (rdi) incremented by a hook: bench/run checks
** that hooks leave the result alone, or change it exactly so.
** bench_scratch is 64 bytes of int3 in .text: floor_tracer writes its
** displaced instruction there (the target has no other executable room).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

__asm__(".text\n"
	".globl bench_scratch\n"
	".type bench_scratch, @function\n"
	"bench_scratch:\n"
	".fill 64, 1, 0xcc\n"
	".size bench_scratch, 64\n");

/* The hooked function: small, never inlined nor cloned. */
unsigned long bench_fn(unsigned long x);
__attribute__((noipa)) unsigned long bench_fn(unsigned long x)
{
	return x * 3 + 1;
}

/* Never called: bench/run hooks them first so that the four debug
 * registers are taken and the hook on bench_fn is an int3. */
void bench_spare0(void);
void bench_spare1(void);
void bench_spare2(void);
void bench_spare3(void);
__attribute__((noipa, used)) void bench_spare0(void) { __asm__ volatile("nop"); }
__attribute__((noipa, used)) void bench_spare1(void) { __asm__ volatile("nop; nop"); }
__attribute__((noipa, used)) void bench_spare2(void) { __asm__ volatile("nop; nop; nop"); }
__attribute__((noipa, used)) void bench_spare3(void) { __asm__ volatile("nop; nop; nop; nop"); }

/* bench_fn's arithmetic, without calling it, for the expected results. */
static unsigned long model(unsigned long n, unsigned long inc)
{
	unsigned long r = 0;
	for (unsigned long i = 0; i < n; i++)
		r = (r + inc) * 3 + 1;
	return r;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "call") != 0 && strcmp(argv[1], "getppid") != 0)) {
		fprintf(stderr, "usage: event_target call|getppid N\n");
		return 2;
	}
	unsigned long n = strtoul(argv[2], NULL, 0);
	unsigned long r = 0;
	double t0, t1;
	if (strcmp(argv[1], "call") == 0) {
		t0 = now_ns();
		for (unsigned long i = 0; i < n; i++)
			r = bench_fn(r);
		t1 = now_ns();
	} else {
		t0 = now_ns();
		for (unsigned long i = 0; i < n; i++)
			r += (unsigned long)getppid();
		t1 = now_ns();
	}
	printf("event_target mode=%s n=%lu ns_per_iter=%.1f result=%lu", argv[1], n,
	       n ? (t1 - t0) / (double)n : 0.0, r);
	if (strcmp(argv[1], "call") == 0)
		printf(" expect=%lu expect_rdi1=%lu", model(n, 0), model(n, 1));
	printf("\n");
	return 0;
}
