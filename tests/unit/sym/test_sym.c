/*
** test_sym.c: the symbols layer against real processes. The targets run
** under a minimal in-test ptrace (fork + TRACEME + exec, PTRACE_SYSCALL to
** a known system call, or an int3 compiled into a small program built here).
** Expected values come from nm, the ELF headers and /proc/PID/maps.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sym/sym.h"

#define TARGETS HD_BINARY_DIR "/targets/"

/* ---- in-test ptrace scaffolding ---- */

/* Start `path` (with at most one argument) stopped after its exec. */
static pid_t spawn_arg(const char *path, const char *arg1, const char *arg2)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 1);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execl(path, path, arg1, arg2, (char *)NULL);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP);
	assert_int_equal(ptrace(PTRACE_SETOPTIONS, pid, NULL,
				(void *)(long)(PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD)), 0);
	return pid;
}

static pid_t spawn(const char *path)
{
	return spawn_arg(path, NULL, NULL);
}

static void finish(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Run to the entry of system call `nr` (libc is loaded by then). */
static void run_to_syscall(pid_t pid, long nr)
{
	for (;;) {
		int st;
		assert_int_equal(ptrace(PTRACE_SYSCALL, pid, NULL, NULL), 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSTOPPED(st));
		struct user_regs_struct r;
		assert_int_equal(ptrace(PTRACE_GETREGS, pid, NULL, &r), 0);
		if (WSTOPSIG(st) == (SIGTRAP | 0x80) && (long)r.orig_rax == nr &&
		    (long)r.rax == -ENOSYS)
			return;
	}
}

/* Continue to the next SIGTRAP (an int3 of the program). */
static void run_to_trap(pid_t pid)
{
	int st;
	assert_int_equal(ptrace(PTRACE_CONT, pid, NULL, NULL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSTOPPED(st));
	assert_int_equal(WSTOPSIG(st), SIGTRAP);
}

static void get_regs(pid_t pid, uint64_t regs[16], uint64_t *rip)
{
	struct user_regs_struct r;
	assert_int_equal(ptrace(PTRACE_GETREGS, pid, NULL, &r), 0);
	uint64_t d[16] = {r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp,
			  r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
	memcpy(regs, d, sizeof(d));
	*rip = r.rip;
}

static int mem_read(void *ud, uint64_t addr, void *buf, size_t len)
{
	pid_t pid = *(pid_t *)ud;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, buf, len, (off_t)addr);
	close(fd);
	return n < 0 ? -errno : (int)n;
}

/* The same with the project's convention (target_mem_read): 0 on success. */
static int mem_read0(void *ud, uint64_t addr, void *buf, size_t len)
{
	int n = mem_read(ud, addr, buf, len);
	return n == (int)len ? 0 : n < 0 ? n : -EIO;
}

/* ---- expected values from /proc/PID/maps, ELF headers and nm ---- */

struct map_file {
	char path[512];
	uint64_t start, end, base; /* base: mapping of file offset 0 */
};

static int read_maps(pid_t pid, struct map_file *out, int max)
{
	char p[64], line[1024];
	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e, off, ino;
		char path[512] = "";
		if (sscanf(line, "%lx-%lx %*s %lx %*s %lu %511s", &s, &e, &off, &ino, path) < 4)
			continue;
		if (path[0] != '/' && strcmp(path, "[vdso]") != 0)
			continue;
		int i;
		for (i = 0; i < n; i++)
			if (strcmp(out[i].path, path) == 0)
				break;
		if (i == n) {
			assert_true(n < max);
			n++;
			snprintf(out[i].path, sizeof(out[i].path), "%s", path);
			out[i].start = s;
			out[i].base = s;
			out[i].end = e;
		}
		if (off == 0 && s < out[i].base)
			out[i].base = s;
		if (e > out[i].end)
			out[i].end = e;
	}
	fclose(f);
	return n;
}

static const struct map_file *maps_find(const struct map_file *m, int n, const char *suffix)
{
	for (int i = 0; i < n; i++) {
		size_t a = strlen(m[i].path), b = strlen(suffix);
		if (a >= b && strcmp(m[i].path + a - b, suffix) == 0)
			return &m[i];
	}
	return NULL;
}

/* Load bias of a mapped file: base of its mapping minus its first PT_LOAD's page. */
static uint64_t file_bias(const struct map_file *m)
{
	elf_version(EV_CURRENT);
	int fd = open(m->path, O_RDONLY);
	assert_true(fd >= 0);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	size_t n;
	uint64_t first = UINT64_MAX;
	assert_int_equal(elf_getphdrnum(e, &n), 0);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < first)
			first = ph.p_vaddr;
	}
	elf_end(e);
	close(fd);
	return m->base - (first & ~(uint64_t)0xfff);
}

/* st_value of a defined symbol `name` as nm prints it (-D: dynamic table). */
static uint64_t nm_value(const char *path, const char *name, bool dynamic)
{
	char cmd[1024], line[1024];
	snprintf(cmd, sizeof(cmd), "nm %s '%s'", dynamic ? "-D" : "", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	uint64_t v = 0;
	bool found = false;
	while (fgets(line, sizeof(line), p)) {
		unsigned long a;
		char t, n[512];
		if (sscanf(line, "%lx %c %511s", &a, &t, n) != 3 || strchr("Uuvw", t))
			continue;
		n[strcspn(n, "@")] = 0;
		if (strcmp(n, name) == 0 && !found) {
			v = a;
			found = true;
		}
	}
	pclose(p);
	if (!found)
		fail_msg("nm: %s not in %s", name, path);
	return v;
}

/* Address of `name` expected in the process: nm value + load bias. */
static uint64_t expect_addr(const struct map_file *m, const char *name, bool dynamic)
{
	return nm_value(m->path, name, dynamic) + file_bias(m);
}

/* ---- modules ---- */

struct mod_list {
	struct sym_module m[64];
	int n;
};

static int collect_mod(void *ud, const struct sym_module *m)
{
	struct mod_list *l = ud;
	if (l->n < 64)
		l->m[l->n++] = *m;
	return 0;
}

static const struct sym_module *mod_by_name(const struct mod_list *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->m[i].name, name) == 0)
			return &l->m[i];
	return NULL;
}

static void test_modules(void **state)
{
	(void)state;
	pid_t pid = spawn(TARGETS "pie");
	run_to_syscall(pid, SYS_write);
	struct sym_session *s;
	assert_int_equal(sym_open(&s, pid), 0);
	struct map_file maps[64];
	int nm = read_maps(pid, maps, 64);
	struct mod_list l = {0};
	assert_int_equal(sym_modules(s, collect_mod, &l), 0);

	/* Every mapped file is a module with its exact range, in address order. */
	assert_int_equal(l.n, nm);
	for (int i = 0; i < l.n; i++) {
		if (i)
			assert_true(l.m[i - 1].end <= l.m[i].start);
		const struct map_file *mf = maps_find(maps, nm, l.m[i].path);
		assert_non_null(mf);
		assert_int_equal(l.m[i].start, mf->start);
		assert_int_equal(l.m[i].end, mf->end);
		if (mf->path[0] == '/')
			assert_int_equal(l.m[i].bias, file_bias(mf));
	}
	const char *names[] = {"pie", "libhdlib", "libc", "ld-linux-x86-64", "vdso"};
	for (size_t i = 0; i < HD_ARRAY_SIZE(names); i++)
		if (mod_by_name(&l, names[i]) == NULL)
			fail_msg("module %s missing", names[i]);
	const struct sym_module *pie = mod_by_name(&l, "pie");
	assert_true(pie->bias != 0); /* PIE */
	assert_int_equal(sym_module_main(s)->start, pie->start);
	assert_int_equal(sym_module_at(s, pie->start + 1)->start, pie->start);
	assert_null(sym_module_at(s, 0x1000));
	sym_close(s);
	finish(pid);
}

static int stop_at_two(void *ud, const struct sym_module *m)
{
	(void)m;
	return ++*(int *)ud == 2 ? 42 : 0;
}

static int stop_at_two_syms(void *ud, const char *module, const char *name, uint64_t addr)
{
	(void)module;
	(void)name;
	(void)addr;
	return ++*(int *)ud == 2 ? 42 : 0;
}

static void test_modules_stop_and_refresh(void **state)
{
	(void)state;
	pid_t pid = spawn(TARGETS "pie");
	struct sym_session *s;
	assert_int_equal(sym_open(&s, pid), 0);
	int count = 0;
	assert_int_equal(sym_modules(s, stop_at_two, &count), 42);
	assert_int_equal(count, 2);

	/* At the first instruction only the program, ld.so and the vDSO exist. */
	uint64_t a;
	assert_int_equal(sym_lookup(s, "libc!malloc", &a), -HD_E_NOSYM);
	assert_int_equal(sym_lookup(s, "hdlib_mul", &a), -HD_E_NOSYM);
	assert_int_equal(sym_lookup(s, "pie_compute", &a), 0);

	run_to_syscall(pid, SYS_write);
	assert_int_equal(sym_refresh(s), 0);
	struct map_file maps[64];
	int nm = read_maps(pid, maps, 64);
	const struct map_file *libc = maps_find(maps, nm, "/libc.so.6");
	assert_non_null(libc);
	assert_int_equal(sym_lookup(s, "libc!malloc", &a), 0);
	assert_int_equal(a, expect_addr(libc, "malloc", true));
	assert_int_equal(sym_lookup(s, "hdlib_mul", &a), 0);
	sym_close(s);
	finish(pid);

	/* exec replaces every module. */
	pid = spawn_arg("/bin/sh", "-c", "exec " TARGETS "simple");
	assert_int_equal(sym_open(&s, pid), 0);
	assert_int_equal(sym_lookup(s, "simple!add", &a), -HD_E_NOSYM);
	const char *sh = sym_module_main(s)->name;
	assert_string_not_equal(sh, "simple");
	char shq[64];
	snprintf(shq, sizeof(shq), "%s!*", sh);
	run_to_trap(pid); /* the SIGTRAP after the second exec */
	assert_int_equal(sym_refresh(s), 0);
	assert_string_equal(sym_module_main(s)->name, "simple");
	assert_int_equal(sym_lookup(s, "add", &a), 0);
	struct map_file maps2[64];
	nm = read_maps(pid, maps2, 64);
	assert_int_equal(a, expect_addr(maps_find(maps2, nm, "/targets/simple"), "add", false));
	int hits = 0;
	assert_int_equal(sym_search(s, shq, stop_at_two_syms, &hits), 0);
	assert_int_equal(hits, 0);
	sym_close(s);
	finish(pid);

	/* A process that does not exist. */
	assert_true(sym_open(&s, 0x7ffffff0) < 0);
	assert_null(s);
}

/* ---- lookup ---- */

static void test_lookup_simple(void **state)
{
	(void)state;
	pid_t pid = spawn(TARGETS "simple");
	run_to_syscall(pid, SYS_write);
	struct sym_session *s;
	assert_int_equal(sym_open(&s, pid), 0);
	struct map_file maps[64];
	int nm = read_maps(pid, maps, 64);
	const struct map_file *exe = maps_find(maps, nm, "/targets/simple");
	const struct map_file *libc = maps_find(maps, nm, "/libc.so.6");
	assert_non_null(exe);
	assert_non_null(libc);
	assert_int_equal(file_bias(exe), 0); /* non-PIE */

	uint64_t a;
	const char *prog[] = {"main", "add", "leaf", "middle", "counter", "table", "greeting"};
	for (size_t i = 0; i < HD_ARRAY_SIZE(prog); i++) {
		char q[64];
		assert_int_equal(sym_lookup(s, prog[i], &a), 0);
		assert_int_equal(a, expect_addr(exe, prog[i], false));
		snprintf(q, sizeof(q), "simple!%s", prog[i]);
		assert_int_equal(sym_lookup(s, q, &a), 0);
		assert_int_equal(a, expect_addr(exe, prog[i], false));
	}
	assert_int_equal(sym_lookup(s, "libc!malloc", &a), 0);
	assert_int_equal(a, expect_addr(libc, "malloc", true));
	assert_int_equal(sym_lookup(s, "malloc", &a), 0); /* not in the program: libc's */
	assert_int_equal(a, expect_addr(libc, "malloc", true));
	assert_int_equal(sym_lookup(s, "c!malloc", &a), 0); /* "lib" prefix optional */
	assert_int_equal(a, expect_addr(libc, "malloc", true));

	const char *bad[] = {"no_such_symbol", "nosuchmod!main", "simple!malloc", "", "!",
			     "simple!", "libc!add"};
	for (size_t i = 0; i < HD_ARRAY_SIZE(bad); i++) {
		a = 0x1234;
		assert_int_equal(sym_lookup(s, bad[i], &a), -HD_E_NOSYM);
		assert_int_equal(a, 0x1234);
	}
	sym_close(s);
	finish(pid);
}

static void test_lookup_pie(void **state)
{
	(void)state;
	pid_t pid = spawn(TARGETS "pie");
	run_to_syscall(pid, SYS_write);
	struct sym_session *s;
	assert_int_equal(sym_open(&s, pid), 0);
	struct map_file maps[64];
	int nm = read_maps(pid, maps, 64);
	const struct map_file *exe = maps_find(maps, nm, "/targets/pie");
	const struct map_file *lib = maps_find(maps, nm, "/libhdlib.so");
	assert_non_null(exe);
	assert_non_null(lib);
	assert_true(file_bias(exe) != 0);

	uint64_t a;
	assert_int_equal(sym_lookup(s, "main", &a), 0);
	assert_int_equal(a, expect_addr(exe, "main", false));
	assert_int_equal(sym_lookup(s, "pie!pie_compute", &a), 0);
	assert_int_equal(a, expect_addr(exe, "pie_compute", false));
	const char *q[] = {"hdlib!hdlib_mul", "libhdlib!hdlib_mul", "hdlib_mul"};
	for (size_t i = 0; i < HD_ARRAY_SIZE(q); i++) {
		assert_int_equal(sym_lookup(s, q[i], &a), 0);
		assert_int_equal(a, expect_addr(lib, "hdlib_mul", true));
	}
	assert_int_equal(sym_lookup(s, "hdlib!hdlib_value", &a), 0);
	assert_int_equal(a, expect_addr(lib, "hdlib_value", true));
	sym_close(s);
	finish(pid);
}

/* ---- address -> name, line ---- */

static void test_addr_name(void **state)
{
	(void)state;
	pid_t pid = spawn(TARGETS "simple");
	run_to_syscall(pid, SYS_write);
	struct sym_session *s;
	assert_int_equal(sym_open(&s, pid), 0);
	char buf[256];
	uint64_t add, malloc_a, counter;
	assert_int_equal(sym_lookup(s, "add", &add), 0);
	assert_int_equal(sym_lookup(s, "libc!malloc", &malloc_a), 0);
	assert_int_equal(sym_lookup(s, "counter", &counter), 0);

	assert_int_equal(sym_addr_name(s, add, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "simple!add");
	assert_int_equal(sym_addr_name(s, add + 3, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "simple!add+0x3");
	assert_int_equal(sym_addr_name(s, malloc_a + 0x10, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "libc!malloc+0x10");
	assert_int_equal(sym_addr_name(s, counter, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "simple!counter");
	/* Of the aliases write/__write (WEAK/GLOBAL), the plain name is shown. */
	struct map_file maps[64];
	int nm = read_maps(pid, maps, 64);
	uint64_t write_a = expect_addr(maps_find(maps, nm, "/libc.so.6"), "write", true);
	assert_int_equal(sym_addr_name(s, write_a + 2, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "libc!write+0x2");

	/* libc's last .bss variable lies beyond its file mappings (in the
	 * anonymous mapping that follows): still libc's. */
	const struct map_file *libc = maps_find(maps, nm, "/libc.so.6");
	char cmd[600], line[512], last[256] = "";
	uint64_t last_v = 0, back_bss;
	snprintf(cmd, sizeof(cmd), "nm -D '%s'", libc->path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		unsigned long v;
		char ty, name[256];
		if (sscanf(line, "%lx %c %255s", &v, &ty, name) == 3 && ty == 'B' && v > last_v) {
			last_v = v;
			snprintf(last, sizeof(last), "libc!%.*s", (int)strcspn(name, "@"), name);
		}
	}
	pclose(p);
	uint64_t bss = last_v + file_bias(libc);
	if (bss < libc->end)
		fail_msg("%s at %#" PRIx64 " (%#" PRIx64 ") not beyond %#" PRIx64, last, bss, last_v, libc->end);
	assert_non_null(sym_module_at(s, bss));
	assert_int_equal(sym_module_at(s, bss)->start, libc->start);
	assert_int_equal(sym_addr_name(s, bss, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, "libc!", 5); /* `last` or an alias of it */
	assert_int_equal(sym_lookup(s, buf, &back_bss), 0);
	assert_int_equal(back_bss, bss);
	assert_int_equal(sym_lookup(s, last, &back_bss), 0);
	assert_int_equal(back_bss, bss);

	/* Round trip: every name printed resolves back to the address. */
	uint64_t addrs[] = {add, add + 5, malloc_a, malloc_a + 0x21};
	for (size_t i = 0; i < HD_ARRAY_SIZE(addrs); i++) {
		uint64_t back, off = 0;
		assert_int_equal(sym_addr_name(s, addrs[i], buf, sizeof(buf)), 0);
		char *plus = strchr(buf, '+');
		if (plus) {
			off = strtoull(plus + 1, NULL, 16);
			*plus = 0;
		}
		assert_int_equal(sym_lookup(s, buf, &back), 0);
		assert_int_equal(back + off, addrs[i]);
	}

	/* The ELF header precedes every symbol: "module+0xoff". */
	const struct sym_module *m = sym_module_main(s);
	assert_non_null(m);
	assert_int_equal(sym_addr_name(s, m->start + 0x10, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "simple+0x10");
	const char *mod, *name;
	size_t nlen;
	uint64_t off;
	assert_int_equal(sym_addr_symbol(s, add + 7, &mod, &name, &nlen, &off), 0);
	assert_string_equal(mod, "simple");
	assert_int_equal(nlen, 3);
	assert_memory_equal(name, "add", 3);
	assert_int_equal(off, 7);

	/* Outside every module. */
	assert_int_equal(sym_addr_name(s, 0x10, buf, sizeof(buf)), -HD_E_NOSYM);
	assert_int_equal(sym_addr_symbol(s, 0x10, &mod, &name, &nlen, &off), -HD_E_NOSYM);

	/* Small buffers are truncated, not overrun. */
	char small[8];
	assert_int_equal(sym_addr_name(s, add + 3, small, sizeof(small)), 0);
	assert_string_equal(small, "simple!");
	sym_close(s);
	finish(pid);
}

/* Line of the first source line of simple.c containing `text`. */
static int source_line(const char *text)
{
	FILE *f = fopen(HD_SOURCE_DIR "/tests/targets/simple.c", "r");
	assert_non_null(f);
	char line[512];
	int n = 0, found = 0;
	while (!found && fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, text))
			found = n;
	}
	fclose(f);
	assert_true(found > 0);
	return found;
}

static void test_addr_line(void **state)
{
	(void)state;
	pid_t pid = spawn(TARGETS "simple");
	run_to_syscall(pid, SYS_write);
	struct sym_session *s;
	assert_int_equal(sym_open(&s, pid), 0);
	uint64_t add, main_a;
	const char *file;
	int line;
	assert_int_equal(sym_lookup(s, "add", &add), 0);
	assert_int_equal(sym_lookup(s, "main", &main_a), 0);
	/* add's first instruction is its first statement (-O1, no prologue). */
	assert_int_equal(sym_addr_line(s, add, &file, &line), 0);
	assert_string_equal(strrchr(file, '/') + 1, "simple.c");
	assert_int_equal(line, source_line("counter++"));

	/* Every address from add to main agrees with binutils' addr2line. */
	char cmd[8192];
	int k = snprintf(cmd, sizeof(cmd), "addr2line -e %s", TARGETS "simple");
	for (uint64_t a = add; a < main_a; a++)
		k += snprintf(cmd + k, sizeof(cmd) - (size_t)k, " %#" PRIx64, a);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char out[1024];
	for (uint64_t a = add; a < main_a; a++) {
		assert_non_null(fgets(out, sizeof(out), p));
		char *colon = strrchr(out, ':');
		assert_non_null(colon);
		assert_int_equal(sym_addr_line(s, a, &file, &line), 0);
		assert_int_equal(line, atoi(colon + 1));
		*colon = 0;
		assert_string_equal(file, out);
	}
	pclose(p);
	/* Outside every module: not found. */
	assert_int_equal(sym_addr_line(s, 0x10, &file, &line), -HD_E_NOTFOUND);
	sym_close(s);
	finish(pid);
}

/* ---- search ---- */

struct hits {
	char names[512][64];
	char mods[512][32];
	uint64_t addrs[512];
	int n;
	const char *pattern;
};

static int collect_hit(void *ud, const char *module, const char *name, uint64_t addr)
{
	struct hits *h = ud;
	if (h->n < 512) {
		snprintf(h->names[h->n], 64, "%s", name);
		snprintf(h->mods[h->n], 32, "%s", module);
		h->addrs[h->n] = addr;
		h->n++;
	}
	return 0;
}

static int hit_index(const struct hits *h, const char *mod, const char *name)
{
	for (int i = 0; i < h->n; i++)
		if (strcmp(h->names[i], name) == 0 && strcmp(h->mods[i], mod) == 0)
			return i;
	return -1;
}

static int stop_first(void *ud, const char *module, const char *name, uint64_t addr)
{
	(void)module;
	(void)name;
	(void)addr;
	++*(int *)ud;
	return 7;
}

static void test_search(void **state)
{
	(void)state;
	pid_t pid = spawn(TARGETS "pie");
	run_to_syscall(pid, SYS_write);
	struct sym_session *s;
	assert_int_equal(sym_open(&s, pid), 0);
	struct hits *h = calloc(1, sizeof(*h));

	assert_int_equal(sym_search(s, "libc!mem*", collect_hit, h), 0);
	const char *want[] = {"memcpy", "memset", "memmove", "memchr"};
	for (size_t i = 0; i < HD_ARRAY_SIZE(want); i++) {
		int k = hit_index(h, "libc", want[i]);
		if (k < 0)
			fail_msg("%s not found by libc!mem*", want[i]);
		char q[64];
		uint64_t a;
		snprintf(q, sizeof(q), "libc!%s", want[i]);
		assert_int_equal(sym_lookup(s, q, &a), 0);
		bool same = false; /* a name may exist at several addresses (versions) */
		for (int j = 0; j < h->n; j++)
			same |= strcmp(h->names[j], want[i]) == 0 && h->addrs[j] == a;
		assert_true(same);
	}
	for (int i = 0; i < h->n; i++) {
		assert_string_equal(h->mods[i], "libc");
		assert_int_equal(fnmatch("mem*", h->names[i], 0), 0);
		if (i)
			assert_true(strcmp(h->names[i - 1], h->names[i]) <= 0);
	}

	/* Unqualified: every module; '?' matches one character. */
	memset(h, 0, sizeof(*h));
	assert_int_equal(sym_search(s, "hdlib_m?l", collect_hit, h), 0);
	assert_int_equal(h->n, 1);
	assert_string_equal(h->mods[0], "libhdlib");
	uint64_t a;
	assert_int_equal(sym_lookup(s, "hdlib!hdlib_mul", &a), 0);
	assert_int_equal(h->addrs[0], a);

	memset(h, 0, sizeof(*h));
	assert_int_equal(sym_search(s, "*!pie_*", collect_hit, h), 0);
	assert_int_equal(h->n, 1);
	assert_string_equal(h->names[0], "pie_compute");
	assert_string_equal(h->mods[0], "pie");

	memset(h, 0, sizeof(*h));
	assert_int_equal(sym_search(s, "nosuchmod!*", collect_hit, h), 0);
	assert_int_equal(h->n, 0);
	assert_int_equal(sym_search(s, "libc!no_such_thing_*", collect_hit, h), 0);
	assert_int_equal(h->n, 0);

	int calls = 0;
	assert_int_equal(sym_search(s, "libc!mem*", stop_first, &calls), 7);
	assert_int_equal(calls, 1);
	free(h);
	sym_close(s);
	finish(pid);
}

/* ---- unwinding ---- */

static const char unwind_src[] =
	"__attribute__((noinline)) int leaf(int x)\n"
	"{ __asm__ volatile(\"int3\"); return x * 3 + 1; }\n"
	"__attribute__((noinline)) int middle(int x) { return leaf(x) + 1; }\n"
	"int main(int argc, char **argv) { (void)argv; return middle(argc) == 0; }\n";

/* Build the unwinding test program with `flags` into `dir`; path in `exe`. */
static void build_prog(char *dir, const char *flags, char *exe, size_t len)
{
	char src[512], cmd[2048];
	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/uw.c", dir);
	snprintf(exe, len, "%s/uw", dir);
	FILE *f = fopen(src, "w");
	assert_non_null(f);
	fputs(unwind_src, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cc %s -o '%s' '%s'", flags, exe, src);
	if (system(cmd) != 0)
		fail_msg("cannot build the test program: %s", cmd);
}

static void remove_prog(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Symbol name of a frame's pc (the call's address for return addresses). */
static void frame_name(struct sym_session *s, const struct sym_frame *f, int i, char *buf,
		       size_t len)
{
	assert_int_equal(sym_addr_name(s, i ? f->pc - 1 : f->pc, buf, len), 0);
	buf[strcspn(buf, "+")] = 0;
}

/* Short name of the module of a frame's pc. */
static const char *frame_module(struct sym_session *s, const struct sym_frame *f, int i)
{
	const struct sym_module *m = sym_module_at(s, i ? f->pc - 1 : f->pc);
	assert_non_null(m);
	return m->name;
}

/* The first frames must be uw!leaf, uw!middle, uw!main, then libc. */
static void check_chain(struct sym_session *s, const struct sym_frame *fr, int n)
{
	const char *want[] = {"uw!leaf", "uw!middle", "uw!main"};
	char buf[256];
	assert_true(n >= 4);
	for (int i = 0; i < 3; i++) {
		frame_name(s, &fr[i], i, buf, sizeof(buf));
		assert_string_equal(buf, want[i]);
	}
	assert_string_equal(frame_module(s, &fr[3], 3), "libc");
	for (int i = 0; i + 1 < n; i++) {
		assert_true(fr[i + 1].sp > fr[i].sp);
		assert_int_equal(fr[i].cfa, fr[i + 1].sp);
	}
}

static void unwind_prog(const char *flags, bool fp_too)
{
	char dir[] = "/tmp/hd-sym-XXXXXX", exe[600];
	build_prog(dir, flags, exe, sizeof(exe));
	pid_t pid = spawn(exe);
	run_to_trap(pid);
	struct sym_session *s;
	assert_int_equal(sym_open(&s, pid), 0);
	uint64_t regs[16], rip;
	get_regs(pid, regs, &rip);
	struct sym_frame fr[32];

	int n = sym_unwind(s, regs, rip, mem_read, &pid, fr, 32);
	assert_int_equal(fr[0].pc, rip);
	assert_int_equal(fr[0].sp, regs[7]);
	check_chain(s, fr, n);
	struct sym_frame fr0[32];
	assert_int_equal(sym_unwind(s, regs, rip, mem_read0, &pid, fr0, 32), n);
	assert_memory_equal(fr0, fr, (size_t)n * sizeof(*fr));
	/* max bounds the frames; the last one still knows its CFA. */
	struct sym_frame two[2];
	assert_int_equal(sym_unwind(s, regs, rip, mem_read, &pid, two, 2), 2);
	assert_int_equal(two[1].pc, fr[1].pc);
	assert_int_equal(two[1].cfa, fr[2].sp);
	assert_int_equal(sym_unwind(s, regs, rip, mem_read, &pid, two, 0), 0);
	if (fp_too) {
		n = sym_unwind_fp(s, regs, rip, mem_read, &pid, fr, 32);
		check_chain(s, fr, n);
	}
	/* Without memory, only the first frame is known. */
	assert_int_equal(sym_unwind(s, regs, rip, NULL, NULL, fr, 32), 1);
	sym_close(s);
	finish(pid);
	remove_prog(dir);
}

static void test_unwind_cfi(void **state)
{
	(void)state;
	/* No frame pointers: only the CFI can find the callers. */
	unwind_prog("-O1 -g -fomit-frame-pointer -fno-inline", false);
}

static void test_unwind_frame_pointers(void **state)
{
	(void)state;
	/* No CFI at all for the program (no .eh_frame, no .debug_frame). */
	unwind_prog("-O0 -fno-asynchronous-unwind-tables -fno-unwind-tables "
		    "-fno-omit-frame-pointer", true);
}

static void test_unwind_through_libc(void **state)
{
	(void)state;
	pid_t pid = spawn(TARGETS "sleeper");
	run_to_syscall(pid, SYS_clock_nanosleep); /* main -> nanosleep -> libc */
	struct sym_session *s;
	assert_int_equal(sym_open(&s, pid), 0);
	uint64_t regs[16], rip;
	get_regs(pid, regs, &rip);
	struct sym_frame fr[64];
	int n = sym_unwind(s, regs, rip, mem_read, &pid, fr, 64);
	char buf[256];
	assert_string_equal(frame_module(s, &fr[0], 0), "libc");
	int at = -1;
	for (int i = 1; i < n && at < 0; i++) {
		frame_name(s, &fr[i], i, buf, sizeof(buf));
		if (strcmp(buf, "sleeper!main") == 0)
			at = i;
	}
	if (at < 0) {
		for (int i = 0; i < n; i++) {
			sym_addr_name(s, fr[i].pc, buf, sizeof(buf));
			printf("#%d %#" PRIx64 " sp=%#" PRIx64 " %s\n", i, fr[i].pc, fr[i].sp, buf);
		}
		fail_msg("main not on the stack (%d frames)", n);
	}
	/* ... and on through libc's start code to _start, the outermost. */
	frame_name(s, &fr[n - 1], n - 1, buf, sizeof(buf));
	assert_string_equal(buf, "sleeper!_start");
	assert_true(n - at >= 3);
	for (int i = at + 1; i < n - 1; i++)
		assert_string_equal(frame_module(s, &fr[i], i), "libc");
	sym_close(s);
	finish(pid);
}

/* ---- performance: the disassembler names every branch target ---- */

static void test_lookup_speed(void **state)
{
	(void)state;
	pid_t pid = spawn(TARGETS "simple");
	run_to_syscall(pid, SYS_write);
	struct sym_session *s;
	assert_int_equal(sym_open(&s, pid), 0);
	uint64_t a;
	assert_int_equal(sym_lookup(s, "libc!malloc", &a), 0);
	struct timespec t0, t1;
	char buf[256];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 20000; i++) {
		assert_int_equal(sym_addr_name(s, a + (uint64_t)(i % 64), buf, sizeof(buf)), 0);
		assert_int_equal(sym_lookup(s, "libc!free", &a) == 0 ? 0 : 1, 0);
		assert_int_equal(sym_lookup(s, "libc!malloc", &a), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
		    1e3 / 20000;
	printf("sym: addr_name + 2 lookups: %.2f us\n", us);
	assert_true(us < 200.0);

	/* cmd refreshes at stops: a refresh without change keeps the caches
	 * (and what they point into) valid. */
	assert_int_equal(sym_lookup(s, "libc!malloc", &a), 0);
	uint64_t add;
	assert_int_equal(sym_lookup(s, "add", &add), 0);
	const char *libc_name = sym_module_at(s, a)->name, *file;
	int line;
	assert_int_equal(sym_addr_line(s, add, &file, &line), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(sym_refresh(s), 0);
		assert_int_equal(sym_addr_name(s, a + 1, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "libc!malloc+0x1");
	}
	assert_string_equal(libc_name, "libc");
	assert_true(strstr(file, "simple.c") != NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 / 100;
	printf("sym: refresh + addr_name: %.1f us\n", us);
	sym_close(s);
	finish(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_modules_stop_and_refresh),
		cmocka_unit_test(test_lookup_simple),
		cmocka_unit_test(test_lookup_pie),
		cmocka_unit_test(test_addr_name),
		cmocka_unit_test(test_addr_line),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_unwind_cfi),
		cmocka_unit_test(test_unwind_frame_pointers),
		cmocka_unit_test(test_unwind_through_libc),
		cmocka_unit_test(test_lookup_speed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
