/* onestop_prog: debuggee of test_onestop.c, compiled by the test with `cc`.
 * Each *_site label is a `nop` that an !epthook hooks; the functions show
 * what the custom code did to the registers (rax, rsp), whether every
 * register and the flags survive the runner, and whether the red zone of a
 * leaf function does. `onestop_prog N` calls each function N times and
 * prints the sums; `spare1..4` are never called (hooks that only take
 * debug registers). `onestop_prog threads N ITERS`: N threads call tick()
 * ITERS times each, then main calls done() (a place to read counters while
 * the process still lives) and prints the total. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned long tick(unsigned long x);
void done(void);

long f_rax(void);
long f_rsp(void);
long f_regs(void);
long f_redzone(void);

__asm__(
	".text\n"
	".globl spare1\n spare1: nop\n ret\n"
	".globl spare2\n spare2: nop\n ret\n"
	".globl spare3\n spare3: nop\n ret\n"
	".globl spare4\n spare4: nop\n ret\n"
	".globl tick\n tick: lea 1(%rdi), %rax\n ret\n"
	".globl done\n done: nop\n ret\n"
	/* returns 1, or what the code wrote to GUEST_REGS.rax */
	".globl f_rax\n f_rax: mov $1, %eax\n"
	".globl rax_site\n rax_site: nop\n ret\n"
	/* returns how far rsp moved across the site (0, or the code's change) */
	".globl f_rsp\n f_rsp: mov %rsp, %rcx\n"
	".globl rsp_site\n rsp_site: nop\n mov %rsp, %rax\n sub %rcx, %rax\n mov %rcx, %rsp\n ret\n"
	/* returns 1 when all registers, CF and DF are as before the site */
	".globl f_regs\n f_regs: push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	" mov $0x1010, %rax\n mov $0x1111, %rbx\n mov $0x1212, %rcx\n mov $0x1313, %rdx\n"
	" mov $0x1414, %rsi\n mov $0x1515, %rdi\n mov $0x1616, %rbp\n mov $0x1818, %r8\n"
	" mov $0x1919, %r9\n mov $0x1a1a, %r10\n mov $0x1b1b, %r11\n mov $0x1c1c, %r12\n"
	" mov $0x1d1d, %r13\n mov $0x1e1e, %r14\n mov $0x1f1f, %r15\n stc\n std\n"
	".globl regs_site\n regs_site: nop\n"
	" pushfq\n cld\n"
	" cmp $0x1010, %rax\n jne 1f\n cmp $0x1111, %rbx\n jne 1f\n cmp $0x1212, %rcx\n jne 1f\n"
	" cmp $0x1313, %rdx\n jne 1f\n cmp $0x1414, %rsi\n jne 1f\n cmp $0x1515, %rdi\n jne 1f\n"
	" cmp $0x1616, %rbp\n jne 1f\n cmp $0x1818, %r8\n jne 1f\n cmp $0x1919, %r9\n jne 1f\n"
	" cmp $0x1a1a, %r10\n jne 1f\n cmp $0x1b1b, %r11\n jne 1f\n cmp $0x1c1c, %r12\n jne 1f\n"
	" cmp $0x1d1d, %r13\n jne 1f\n cmp $0x1e1e, %r14\n jne 1f\n cmp $0x1f1f, %r15\n jne 1f\n"
	" pop %rax\n and $0x401, %rax\n cmp $0x401, %rax\n jne 2f\n mov $1, %eax\n jmp 3f\n"
	" 1: popfq\n 2: xor %eax, %eax\n"
	" 3: pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n"
	/* a leaf keeping data in its red zone across the site */
	".globl f_redzone\n f_redzone: movq $0x55, -8(%rsp)\n movq $0x66, -128(%rsp)\n"
	".globl redzone_site\n redzone_site: nop\n"
	" mov -8(%rsp), %rax\n add -128(%rsp), %rax\n ret\n");

static unsigned long iters;

static void *worker(void *arg)
{
	unsigned long n = 0;
	for (unsigned long i = 0; i < iters; i++)
		n = tick(n);
	*(unsigned long *)arg = n;
	return NULL;
}

static int threads_mode(int n)
{
	pthread_t th[64];
	unsigned long got[64], total = 0;
	if (n < 1 || n > 64)
		return 2;
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, worker, &got[i]);
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		total += got[i];
	}
	done();
	printf("threads=%d total=%lu\n", n, total);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 3 && strcmp(argv[1], "threads") == 0) {
		iters = strtoul(argv[3], NULL, 0);
		return threads_mode(atoi(argv[2]));
	}
	int n = argc > 1 ? atoi(argv[1]) : 3;
	long rax = 0, rsp = 0, regs = 0, redzone = 0;
	for (int i = 0; i < n; i++) {
		rax += f_rax();
		rsp += f_rsp();
		regs += f_regs();
		redzone += f_redzone();
	}
	printf("rax=%ld rsp=%ld regs=%ld redzone=%ld\n", rax, rsp, regs, redzone);
	return 0;
}
