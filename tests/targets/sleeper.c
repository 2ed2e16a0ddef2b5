/* sleeper: runs until it has done N rounds (default: forever), calling
 * tick() every millisecond; on SIGUSR1 or at the end it prints its state
 * (the number of ticks), so attach/detach tests can check that the target
 * still runs correctly. Prints "ready <pid>" once started. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t report;
static volatile unsigned long ticks;

__attribute__((noinline)) unsigned long tick(unsigned long x)
{
	return x + 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	report = 1;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 0) : -1;
	struct timespec ms = {0, 1000000};
	signal(SIGUSR1, on_usr1);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (long i = 0; rounds < 0 || i < rounds; i++) {
		ticks = tick(ticks);
		nanosleep(&ms, NULL);
		if (report) {
			report = 0;
			printf("ticks %lu\n", ticks);
			fflush(stdout);
		}
	}
	printf("done ticks=%lu\n", ticks);
	return 0;
}
