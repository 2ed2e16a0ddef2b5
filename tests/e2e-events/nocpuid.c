/* nocpuid: run a program as on a CPU without CPUID faulting: a seccomp
 * filter makes arch_prctl(ARCH_SET_CPUID, ...) fail with ENODEV, which is
 * what the kernel answers there. Usage: nocpuid PROGRAM ARGS... */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#define ARCH_SET_CPUID 0x1012

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: nocpuid PROGRAM ARGS...\n");
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENODEV), SCMP_SYS(arch_prctl), 1,
				     SCMP_A0(SCMP_CMP_EQ, ARCH_SET_CPUID)) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0) {
		perror("nocpuid: seccomp");
		return 1;
	}
	seccomp_release(ctx);
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
