/* simple: single-threaded, non-PIE target. Calls add() in a loop and
 * prints a checksum that tests compare. */
#include <stdio.h>
#include <stdlib.h>

volatile unsigned long counter;
unsigned long table[8] = {1, 2, 3, 4, 5, 6, 7, 8};
const char greeting[] = "Hello world !";

__attribute__((noinline)) unsigned long add(unsigned long a, unsigned long b)
{
	counter++;
	return a + b;
}

__attribute__((noinline)) unsigned long leaf(unsigned long x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) unsigned long middle(unsigned long x)
{
	return leaf(x) + 1;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 10;
	unsigned long sum = 0;
	for (unsigned long i = 0; i < n; i++)
		sum = add(sum, table[i % 8]);
	sum += middle(sum);
	printf("%s sum=%lu counter=%lu\n", greeting, sum, counter);
	return 0;
}
