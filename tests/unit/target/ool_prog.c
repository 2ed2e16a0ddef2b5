/* ool_prog: debuggee of test_target.c, compiled by the test with `cc`.
 * Every *_site label is an instruction that a breakpoint displaces: the
 * test puts an int3 on each and checks that the program's output and the
 * number of hits equal an undebugged run. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

unsigned long data1 = 0x1122334455667788ul;
unsigned long data2;
unsigned int data3 = 0x1234;

unsigned long f_riprel(void);
unsigned long f_lea(void);
unsigned long f_callrel(void);
unsigned long f_jcc(unsigned long x);
unsigned long f_jmp8(void);
unsigned long f_jmp32(void);
unsigned long f_loop(void);
unsigned long f_jrcxz(unsigned long x);
unsigned long f_callind(void);
unsigned long f_callreg(void);
unsigned long f_store(unsigned long x);
unsigned long f_cmpimm(void);
unsigned long f_ret(void);

__asm__(
	".text\n"
	"helper: mov $41, %eax\n ret\n"
	".globl f_riprel\n f_riprel:\n"
	".globl riprel_site\n riprel_site: mov data1(%rip), %rax\n ret\n"
	".globl f_lea\n f_lea:\n"
	".globl lea_site\n lea_site: lea data1(%rip), %rax\n ret\n"
	".globl f_callrel\n f_callrel:\n"
	".globl callrel_site\n callrel_site: call helper\n add $1, %rax\n ret\n"
	".globl f_jcc\n f_jcc: cmp $0, %rdi\n"
	".globl jcc_site\n jcc_site: jz 1f\n mov $1, %eax\n ret\n 1: mov $2, %eax\n ret\n"
	".globl f_jmp8\n f_jmp8:\n"
	".globl jmp8_site\n jmp8_site: jmp 1f\n mov $5, %eax\n ret\n 1: mov $6, %eax\n ret\n"
	".globl f_jmp32\n f_jmp32:\n"
	".globl jmp32_site\n jmp32_site: .byte 0xe9\n .long 2f - 1f\n 1: mov $9, %eax\n ret\n"
	" 2: mov $10, %eax\n ret\n"
	".globl f_loop\n f_loop: mov $3, %ecx\n xor %eax, %eax\n 1: inc %eax\n"
	".globl loop_site\n loop_site: loop 1b\n ret\n"
	".globl f_jrcxz\n f_jrcxz: mov %rdi, %rcx\n"
	".globl jrcxz_site\n jrcxz_site: jrcxz 1f\n mov $7, %eax\n ret\n 1: mov $8, %eax\n ret\n"
	".globl f_callind\n f_callind:\n"
	".globl callind_site\n callind_site: call *fptr(%rip)\n add $2, %rax\n ret\n"
	".globl f_callreg\n f_callreg: lea helper(%rip), %rdx\n"
	".globl callreg_site\n callreg_site: call *%rdx\n add $3, %rax\n ret\n"
	".globl f_store\n f_store:\n"
	".globl store_site\n store_site: mov %rdi, data2(%rip)\n mov data2(%rip), %rax\n ret\n"
	".globl f_cmpimm\n f_cmpimm: xor %eax, %eax\n"
	".globl cmpimm_site\n cmpimm_site: cmpl $0x1234, data3(%rip)\n sete %al\n ret\n"
	".globl f_ret\n f_ret: mov $77, %eax\n"
	".globl ret_site\n ret_site: ret\n"
	".data\n fptr: .quad helper\n .text\n");

/* `ool_prog seccomp`: trap getppid to the tracer (SECCOMP_RET_TRACE), call
 * it three times, print what it returned. */
static int seccomp_mode(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return 1;
	long a = syscall(SYS_getppid), b = syscall(SYS_getppid), c = syscall(SYS_getppid);
	printf("getppid %ld %ld %ld\n", a, b, c);
	return 0;
}

/* `ool_prog fork`: parent and forked child both run ret_site; then a
 * posix_spawn (vfork-style) of /bin/true. */
static int fork_mode(void)
{
	extern char **environ;
	unsigned long a = f_ret();
	pid_t pid = fork();
	if (pid == 0)
		_exit(f_ret() == 77 ? 0 : 1);
	int st = -1, st2 = -1;
	waitpid(pid, &st, 0);
	char *av[] = {(char *)"true", NULL};
	pid_t sp;
	if (posix_spawn(&sp, "/bin/true", NULL, NULL, av, environ) == 0)
		waitpid(sp, &st2, 0);
	printf("fork a=%lu child=%d spawn=%d\n", a + f_ret(), st, st2);
	return 0;
}

/* `ool_prog mtexec PROG`: a second thread execs PROG 3 while main sleeps. */
static void *exec_thread(void *arg)
{
	char *av[] = {(char *)arg, (char *)"3", NULL};
	execv(av[0], av);
	return NULL;
}

static int mtexec_mode(char *prog)
{
	pthread_t th;
	pthread_create(&th, NULL, exec_thread, prog);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "mtexec") == 0)
		return mtexec_mode(argv[2]);
	if (argc > 1 && strcmp(argv[1], "seccomp") == 0)
		return seccomp_mode();
	if (argc > 1 && strcmp(argv[1], "fork") == 0)
		return fork_mode();
	int n = argc > 1 ? atoi(argv[1]) : 5;
	unsigned long acc = 0;
	for (int i = 0; i < n; i++) {
		acc += f_riprel() == data1;
		acc += f_lea() == (unsigned long)&data1;
		acc += f_callrel() * 3;
		acc += f_jcc((unsigned long)i % 2) * 5;
		acc += f_jmp8() * 7;
		acc += f_jmp32() * 11;
		acc += f_loop() * 13;
		acc += f_jrcxz((unsigned long)i % 2) * 17;
		acc += f_callind() * 19;
		acc += f_callreg() * 23;
		acc += f_store((unsigned long)i + 100) * 29;
		data3 = (unsigned)(i % 2 ? 0x1234 : 0x4321);
		acc += f_cmpimm() * 31;
		acc += f_ret() * 37;
	}
	printf("ool acc=%lu data2=%lu\n", acc, data2);
	return 0;
}
