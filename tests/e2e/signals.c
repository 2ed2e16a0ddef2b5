/* signals: a target for the signal tests of the end-to-end suite.
 *   signals segv   writes through a null pointer (SIGSEGV)
 *   signals usr1   raises SIGUSR1, handled by the program itself
 *   signals abort  calls abort() (SIGABRT) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
	got = sig;
}

__attribute__((noinline)) void crash(volatile int *p)
{
	*p = 42;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "usr1";
	if (!strcmp(mode, "segv")) {
		crash(NULL);
	} else if (!strcmp(mode, "abort")) {
		abort();
	} else {
		signal(SIGUSR1, on_usr1);
		raise(SIGUSR1);
		printf("usr1 handled: %d\n", (int)got);
	}
	return 0;
}
