/* pushf: saves and restores its flags with pushfq/popfq; prints whether the
 * trap flag (TF) was set in the saved flags. The e2e test steps over the
 * pushfq: a debugger that lets its single step's TF into the pushed flags
 * makes the later popfq trap. */
#include <stdio.h>
__attribute__((noinline)) unsigned long flags_roundtrip(void)
{
	unsigned long f;
	__asm__ volatile("pushfq\n\tpopq %0\n\tpushq %0\n\tpopfq" : "=r"(f) :: "memory", "cc");
	return f & 0x100;
}
int main(void) { printf("tf=%lu\n", flags_roundtrip()); return 0; }
