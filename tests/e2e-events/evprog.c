/* evprog: the debuggee of the event end-to-end tests. One mode per kind of
 * event, each printing a result that shows what the events did to it.
 *   evprog hooks ROUNDS   "ready PID", then ROUNDS x (f0..f5 once, sleep
 *                         1 ms); "done sum=S" with S = 21 R (R - 1) / 2 + 15 R
 *                         (fN(i) = (N + 1) i + N); attachable, its stack
 *                         grown first (see loop)
 *   evprog sys N          N x getppid, 1 x getpid: "getppid=R" per call
 *   evprog sysloop N      "ready PID", then N x (getppid, sleep 1 ms);
 *                         "done bad=B" (B: getppid calls that failed)
 *   evprog tscloop N      "ready PID", then N x (rdtsc, sleep 1 ms);
 *                         "done zero=Z"
 *   evprog writeloop N    "ready PID", then N x (watched += 1, sleep 1 ms);
 *                         "done watched=N"
 *   evprog signal N       raises SIGUSR1 N times: "handled=K"
 *   evprog segv           a store to address 0 (SIGSEGV), then "survived"
 *   evprog tsc N          N x rdtsc in read_tsc(), 1 x rdtscp in read_tscp():
 *                         "tsc zero=Z tscp zero=Z2" (reads that returned 0)
 *   evprog cpuid          cpuid leaf 0 in read_cpuid0(): "cpuid0 eax=A"
 *   evprog write N        N writes of i to `watched`: "watched=V"
 *   evprog trace          calls tiny() (4 instructions): "tiny=R"
 *   evprog loop N         "ready PID", then N x (f0, getppid, rdtsc,
 *                         watched += 1, cpuid, SIGUSR1 handled, sleep
 *                         1 ms); "done sum=S bad=B zero=Z watched=N
 *                         handled=N" (S = sum of f0(i)); attachable: every
 *                         event kind fires in it, its stack is grown first
 *                         (its maps do not change while it runs)
 *   evprog count N [T]    T threads (default 4) x N calls of counted():
 *                         "count threads=T calls=C hooked=H" (H: `hooked`,
 *                         which only a hook's custom code changes)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HOOK(n)                                                   \
	__attribute__((noinline)) long f##n(long x)                \
	{                                                          \
		__asm__ volatile("" ::: "memory");                 \
		return x * (n + 1) + n;                            \
	}
HOOK(0) HOOK(1) HOOK(2) HOOK(3) HOOK(4) HOOK(5)

volatile long watched;
static volatile sig_atomic_t handled;

__attribute__((noinline)) long tiny(long x)
{
	__asm__ volatile("" ::: "memory");
	return x + 7;
}

volatile unsigned long hooked;
static long count_calls;

__attribute__((noinline)) long counted(long x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

static void *count_worker(void *arg)
{
	long local = 0;
	for (long i = 0; i < count_calls; i++)
		local = counted(local);
	*(long *)arg = local;
	return NULL;
}

static int count(long n, int nthreads)
{
	pthread_t tid[16];
	long calls[16], sum = 0;
	if (nthreads < 1 || nthreads > 16)
		nthreads = 4;
	count_calls = n;
	for (int i = 0; i < nthreads; i++)
		pthread_create(&tid[i], NULL, count_worker, &calls[i]);
	for (int i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		sum += calls[i];
	}
	printf("count threads=%d calls=%ld hooked=%lu\n", nthreads, sum, hooked);
	return 0;
}

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

/* stores to address 0: SIGSEGV at `fault_store` */
__attribute__((noinline)) void fault(void)
{
	__asm__ volatile(".globl fault_store\nfault_store: movl $1, 0" ::: "memory");
}

__attribute__((noinline)) unsigned long long read_tsc(void)
{
	unsigned int lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (unsigned long long)hi << 32 | lo;
}

__attribute__((noinline)) unsigned long long read_tscp(void)
{
	unsigned int lo, hi, aux;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	return (unsigned long long)hi << 32 | lo;
}

__attribute__((noinline)) unsigned int read_cpuid0(void)
{
	unsigned int a = 0, b, c, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	return a;
}

/* touch 256 KiB of stack below us: the stack mapping has its final size
 * before "ready" (signal frames, hdbg's runner frames stay above it) */
__attribute__((noinline)) static void grow_stack(void)
{
	volatile char pad[256 * 1024];
	for (size_t i = 0; i < sizeof(pad); i += 4096)
		pad[i] = 0;
}

static int loop(long n)
{
	struct timespec ms = {0, 1000000};
	long sum = 0;
	int bad = 0, zero = 0;
	grow_stack();
	signal(SIGUSR1, on_usr1);
	printf("ready %d\n", (int)getpid());
	for (long i = 0; i < n; i++) {
		sum += f0(i);
		bad += syscall(SYS_getppid) <= 0;
		zero += read_tsc() == 0;
		watched = watched + 1;
		(void)read_cpuid0();
		raise(SIGUSR1);
		nanosleep(&ms, NULL);
	}
	printf("done sum=%ld bad=%d zero=%d watched=%ld handled=%d\n", sum, bad, zero, watched,
	       (int)handled);
	return 0;
}

static int hooks(long rounds)
{
	struct timespec ms = {0, 1000000};
	long sum = 0;
	grow_stack();
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (long i = 0; i < rounds; i++) {
		sum += f0(i) + f1(i) + f2(i) + f3(i) + f4(i) + f5(i);
		nanosleep(&ms, NULL);
	}
	printf("done sum=%ld\n", sum);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long n = argc > 2 ? strtol(argv[2], NULL, 0) : 1;
	setvbuf(stdout, NULL, _IOLBF, 0); /* in order with hdbg's output */
	/* attachable by hdbg under Yama ptrace_scope 1 (fails harmlessly
	 * without Yama) */
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	if (!strcmp(mode, "hooks"))
		return hooks(n);
	if (!strcmp(mode, "loop"))
		return loop(n);
	if (!strcmp(mode, "count"))
		return count(n, argc > 3 ? atoi(argv[3]) : 4);
	if (!strcmp(mode, "sys")) {
		for (long i = 0; i < n; i++)
			printf("getppid=%ld\n", syscall(SYS_getppid));
		printf("getpid_ok=%d\n", syscall(SYS_getpid) == getpid());
		return 0;
	}
	if (!strcmp(mode, "sysloop")) {
		struct timespec ms = {0, 1000000};
		int bad = 0;
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		for (long i = 0; i < n; i++) {
			bad += syscall(SYS_getppid) <= 0;
			nanosleep(&ms, NULL);
		}
		printf("done bad=%d\n", bad);
		return 0;
	}
	if (!strcmp(mode, "tscloop")) {
		struct timespec ms = {0, 1000000};
		int zero = 0;
		printf("ready %d\n", (int)getpid());
		for (long i = 0; i < n; i++) {
			zero += read_tsc() == 0;
			nanosleep(&ms, NULL);
		}
		printf("done zero=%d\n", zero);
		return 0;
	}
	if (!strcmp(mode, "writeloop")) {
		struct timespec ms = {0, 1000000};
		printf("ready %d\n", (int)getpid());
		for (long i = 0; i < n; i++) {
			watched = watched + 1;
			nanosleep(&ms, NULL);
		}
		printf("done watched=%ld\n", watched);
		return 0;
	}
	if (!strcmp(mode, "signal")) {
		signal(SIGUSR1, on_usr1);
		for (long i = 0; i < n; i++)
			raise(SIGUSR1);
		printf("handled=%d\n", (int)handled);
		return 0;
	}
	if (!strcmp(mode, "segv")) {
		fault();
		printf("survived\n");
		return 0;
	}
	if (!strcmp(mode, "tsc")) {
		int zero = 0;
		for (long i = 0; i < n; i++)
			zero += read_tsc() == 0;
		printf("tsc zero=%d tscp zero=%d\n", zero, read_tscp() == 0);
		return 0;
	}
	if (!strcmp(mode, "cpuid")) {
		printf("cpuid0 eax=%x\n", read_cpuid0());
		return 0;
	}
	if (!strcmp(mode, "write")) {
		for (long i = 1; i <= n; i++)
			watched = i;
		printf("watched=%ld\n", watched);
		return 0;
	}
	if (!strcmp(mode, "trace")) {
		printf("tiny=%ld\n", tiny(n));
		return 0;
	}
	fprintf(stderr, "usage: evprog hooks|loop|count|sys|sysloop|tscloop|writeloop|signal|segv|tsc|cpuid|write|trace [N]\n");
	return 2;
}
