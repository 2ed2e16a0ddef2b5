/* helpers.h: shared helpers of the target layer's unit tests: running
 * programs with captured stdout, ELF symbols and bytes of the test
 * targets, load bases. Header-only (static functions). */
#ifndef HD_TEST_TARGET_HELPERS_H
#define HD_TEST_TARGET_HELPERS_H

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "target/target.h"

#define TGT(name) HD_BINARY_DIR "/targets/" name
/* a string literal as an argv element */
#define A(s) ((char *)(s))
#define HD_TEST_UNUSED __attribute__((unused))

/* Read everything from fd until EOF. Caller frees. */
HD_TEST_UNUSED static char *slurp(int fd)
{
	size_t len = 0, cap = 4096;
	char *p = malloc(cap);
	for (;;) {
		if (len + 1024 > cap)
			p = realloc(p, cap *= 2);
		ssize_t n = read(fd, p + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	p[len] = 0;
	return p;
}

/* Run argv[0] without a debugger, capturing stdout. Caller frees. */
HD_TEST_UNUSED static char *run_plain(char *const argv[], int *status)
{
	int p[2];
	if (pipe(p) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	char *out = slurp(p[0]);
	close(p[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (status)
		*status = st;
	return out;
}

/* Start `argv` under the target layer with stdout into a pipe (*outfd) and
 * consume the START stop. */
HD_TEST_UNUSED static int start_captured(struct target **t, char *const argv[], int *outfd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	struct target_start_opts o = {.stdout_fd = p[1]};
	int rc = target_start_opts(t, argv[0], argv, &o);
	close(p[1]);
	if (rc < 0) {
		close(p[0]);
		return rc;
	}
	*outfd = p[0];
	struct target_stop s;
	rc = target_wait(*t, &s);
	if (rc == 0 && s.kind != TARGET_STOP_START)
		rc = -EPROTO;
	return rc;
}

struct elf_file {
	uint8_t *p;
	size_t len;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
};

HD_TEST_UNUSED static bool elf_open(struct elf_file *e, const char *file)
{
	int fd = open(file, O_RDONLY);
	if (fd < 0)
		return false;
	struct stat st;
	fstat(fd, &st);
	e->len = (size_t)st.st_size;
	e->p = mmap(NULL, e->len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (e->p == MAP_FAILED)
		return false;
	e->eh = (const Elf64_Ehdr *)e->p;
	e->sh = (const Elf64_Shdr *)(e->p + e->eh->e_shoff);
	return true;
}

HD_TEST_UNUSED static void elf_close(struct elf_file *e)
{
	munmap(e->p, e->len);
}

/* st_value of symbol `name` (0 if absent). */
HD_TEST_UNUSED static uint64_t elf_sym(const char *file, const char *name)
{
	struct elf_file e;
	uint64_t v = 0;
	if (!elf_open(&e, file))
		return 0;
	for (int i = 0; i < e.eh->e_shnum && !v; i++) {
		if (e.sh[i].sh_type != SHT_SYMTAB)
			continue;
		const Elf64_Sym *sym = (const Elf64_Sym *)(e.p + e.sh[i].sh_offset);
		const char *str = (const char *)(e.p + e.sh[e.sh[i].sh_link].sh_offset);
		size_t n = e.sh[i].sh_size / sizeof(Elf64_Sym);
		for (size_t k = 0; k < n; k++)
			if (strcmp(str + sym[k].st_name, name) == 0 && sym[k].st_value) {
				v = sym[k].st_value;
				break;
			}
	}
	elf_close(&e);
	return v;
}

/* Bytes of the section holding [vaddr, vaddr+len) as in the file. */
HD_TEST_UNUSED static bool elf_bytes(const char *file, uint64_t vaddr, void *buf, size_t len)
{
	struct elf_file e;
	bool ok = false;
	if (!elf_open(&e, file))
		return false;
	for (int i = 0; i < e.eh->e_shnum; i++) {
		const Elf64_Shdr *s = &e.sh[i];
		if (s->sh_type != SHT_PROGBITS || vaddr < s->sh_addr ||
		    vaddr + len > s->sh_addr + s->sh_size)
			continue;
		memcpy(buf, e.p + s->sh_offset + (vaddr - s->sh_addr), len);
		ok = true;
		break;
	}
	elf_close(&e);
	return ok;
}

/* Address and size of section `name`. */
HD_TEST_UNUSED static bool elf_section(const char *file, const char *name, uint64_t *addr, uint64_t *size)
{
	struct elf_file e;
	bool ok = false;
	if (!elf_open(&e, file))
		return false;
	const char *shstr = (const char *)(e.p + e.sh[e.eh->e_shstrndx].sh_offset);
	for (int i = 0; i < e.eh->e_shnum; i++)
		if (strcmp(shstr + e.sh[i].sh_name, name) == 0) {
			*addr = e.sh[i].sh_addr;
			*size = e.sh[i].sh_size;
			ok = true;
		}
	elf_close(&e);
	return ok;
}

/* Load bias of `file` in process `pid` (0 for a non-PIE executable). */
HD_TEST_UNUSED static uint64_t load_bias(pid_t pid, const char *file)
{
	char path[64], line[512], real[PATH_MAX];
	uint64_t bias = 0;
	struct elf_file e;
	if (!elf_open(&e, file))
		return 0;
	bool dyn = e.eh->e_type == ET_DYN;
	elf_close(&e);
	if (!dyn || !realpath(file, real))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, off;
		char name[PATH_MAX] = "";
		if (sscanf(line, "%lx-%*x %*s %lx %*s %*s %4095s", &lo, &off, name) == 3 &&
		    strcmp(name, real) == 0 && off == 0) {
			bias = lo;
			break;
		}
	}
	fclose(f);
	return bias;
}

/* Resume the stopped thread of `s` (ignoring stops that have no thread). */
HD_TEST_UNUSED static int resume_stop(struct target *t, const struct target_stop *s)
{
	if (s->kind == TARGET_STOP_THREAD_EXIT)
		return 0;
	return target_resume(t, s->tid, TARGET_RESUME_CONT, 0);
}

#endif
