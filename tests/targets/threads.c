/* threads: NTHREADS threads each call step() ITER times; prints the total.
 * Usage: threads [nthreads] [iterations] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long iterations = 1000;
static unsigned long total;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) unsigned long step(unsigned long x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

static void *worker(void *arg)
{
	unsigned long local = 0;
	(void)arg;
	for (unsigned long i = 0; i < iterations; i++)
		local = step(local);
	pthread_mutex_lock(&lock);
	total += local;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	pthread_t tids[64];
	if (n < 1 || n > 64)
		n = 4;
	if (argc > 2)
		iterations = strtoul(argv[2], NULL, 0);
	for (int i = 0; i < n; i++)
		pthread_create(&tids[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	printf("threads=%d total=%lu\n", n, total);
	return 0;
}
