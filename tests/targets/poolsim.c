/* poolsim: the demo target. A Windows-style pool allocator with the
 * Microsoft x64 ABI, called with the tag 'HDBG'; prints the tag it gets.
 * The seed example rewrites the tag to 'HDB2' with a custom-code action. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((ms_abi, noinline)) void *
ExAllocatePoolWithTag(int PoolType, size_t NumberOfBytes, uint32_t Tag)
{
	char tag[5] = {(char)Tag, (char)(Tag >> 8), (char)(Tag >> 16), (char)(Tag >> 24), 0};
	printf("ExAllocatePoolWithTag(PoolType=%d, NumberOfBytes=0x%zx, Tag='%s')\n",
	       PoolType, NumberOfBytes, tag);
	fflush(stdout);
	return malloc(NumberOfBytes);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	for (int i = 0; i < n; i++)
		free(ExAllocatePoolWithTag(0, 0x40, 0x47424448 /* 'HDBG' */));
	return 0;
}
