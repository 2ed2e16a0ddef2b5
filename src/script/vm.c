/*
** vm.c: the bytecode interpreter. Freestanding: no libc, no allocation,
** no floating-point registers (float arithmetic is softfloat.c's integer
** code). The same object runs in hdbg and inside the target's agent.
**
** Design: a stack machine over one 256-slot array that holds every frame
** (parameters, return address, saved frame pointer, locals) and the
** operand stack. The verifier has proved the operand depth of every
** function, so pushes need no bounds check; ENTER checks the whole frame
** against the 256 slots. The step budget is charged at backward jumps and
** calls (the size of the loop body per iteration), where the interrupt
** flag is also polled. Memory of the VM itself (stack, globals, string
** table, the text of $pname/$date/$time) is served directly; every other
** address goes through the env. printf's host formatter reads `%s` strings
** the same way (struct script_mem).
**
** Suspension (pause() in an event script): the whole state of a run lives
** in `struct vm`, so a run started in caller-provided storage (struct
** script_state) can stop after a call whose event_ctl() answered
** SCRIPT_CTL_SUSPEND: pc, sp, fp, the call depth and the step count are
** saved there and script_resume() reloads them and dispatches on. The
** storage must not move meanwhile: `&local` values on the script's stack
** are real addresses into it. While running, those five stay in locals
** (registers); they are written back only when the run suspends.
*/
#include "script/internal.h"
#include "script/softfloat.h"

#define VM_MAX_CALLS (SCRIPT_STACK_SLOTS / 2)
#define VM_PTEXT_MAX 256   /* $pname (a file name: up to 255 bytes), $date, $time */

struct vm {
	uint64_t st[SCRIPT_STACK_SLOTS];
	/* return addresses and frame pointers live outside the addressable
	 * stack, so a script writing through a pointer cannot redirect a
	 * return; the frame still reserves their two slots (HyperDbg's stack
	 * accounting) */
	struct {
		uint32_t pc, fp;
	} calls[VM_MAX_CALLS];
	const struct script_env *env;
	uint64_t *g;
	const char *strs;
	uint32_t nstr;
	char *err;
	size_t errlen;
	struct script_mem mem;      /* mem_read_cb over this VM */
	/* text of $pname, $date, $time (env->pseudo_text), read-only for the
	 * script: the pseudo-register is the address of its buffer */
	char ptext[3][VM_PTEXT_MAX];
	const struct script_bc *bc;
	/* where a suspended run goes on: instruction index, stack slots of
	 * sp and fp, call depth, steps charged so far */
	uint32_t pc, sp, fp, ncalls;
	uint64_t steps;
	bool can_suspend;           /* started in a struct script_state */
	bool suspended;
};

/* The caller-provided storage of a resumable run (script.h). */
struct script_state {
	struct vm vm;
};

size_t script_state_size(void)
{
	return sizeof(struct script_state);
}

/* Names inline (not pointers), so that the table needs no relocation in
 * position-independent code (the agent) */
static const struct {
	short id;
	char name[36];
} func_names[] = {
	{FN_PRINTF, "FUNC_PRINTF"}, {FN_PRINT, "FUNC_PRINT"}, {FN_FORMATS, "FUNC_FORMATS"},
	{FN_POI, "FUNC_POI"}, {FN_DB, "FUNC_DB"},
	{FN_DD, "FUNC_DD"}, {FN_DW, "FUNC_DW"}, {FN_DQ, "FUNC_DQ"},
	{FN_HI, "FUNC_HI"}, {FN_LOW, "FUNC_LOW"}, {FN_ED, "FUNC_ED"},
	{FN_EB, "FUNC_EB"}, {FN_EQ, "FUNC_EQ"}, {FN_STRLEN, "FUNC_STRLEN"},
	{FN_STRCMP, "FUNC_STRCMP"}, {FN_MEMCMP, "FUNC_MEMCMP"},
	{FN_STRNCMP, "FUNC_STRNCMP"}, {FN_WCSLEN, "FUNC_WCSLEN"},
	{FN_WCSCMP, "FUNC_WCSCMP"}, {FN_WCSNCMP, "FUNC_WCSNCMP"},
	{FN_MEMCPY, "FUNC_MEMCPY"}, {FN_MEMCPY_PA, "FUNC_MEMCPY_PA"},
	{FN_INTERLOCKED_INCREMENT, "FUNC_INTERLOCKED_INCREMENT"},
	{FN_INTERLOCKED_DECREMENT, "FUNC_INTERLOCKED_DECREMENT"},
	{FN_INTERLOCKED_EXCHANGE, "FUNC_INTERLOCKED_EXCHANGE"},
	{FN_INTERLOCKED_EXCHANGE_ADD, "FUNC_INTERLOCKED_EXCHANGE_ADD"},
	{FN_INTERLOCKED_COMPARE_EXCHANGE, "FUNC_INTERLOCKED_COMPARE_EXCHANGE"},
	{FN_SPINLOCK_LOCK, "FUNC_SPINLOCK_LOCK"},
	{FN_SPINLOCK_UNLOCK, "FUNC_SPINLOCK_UNLOCK"},
	{FN_SPINLOCK_LOCK_CUSTOM_WAIT, "FUNC_SPINLOCK_LOCK_CUSTOM_WAIT"},
	{FN_EVENT_ENABLE, "FUNC_EVENT_ENABLE"}, {FN_EVENT_DISABLE, "FUNC_EVENT_DISABLE"},
	{FN_EVENT_CLEAR, "FUNC_EVENT_CLEAR"}, {FN_EVENT_SC, "FUNC_EVENT_SC"},
	{FN_PAUSE, "FUNC_PAUSE"}, {FN_FLUSH, "FUNC_FLUSH"},
	{FN_EVENT_INJECT, "FUNC_EVENT_INJECT"},
	{FN_EVENT_INJECT_ERROR_CODE, "FUNC_EVENT_INJECT_ERROR_CODE"},
	{FN_ADD_TYPED, "FUNC_ADD_TYPED"}, {FN_SUB_TYPED, "FUNC_SUB_TYPED"},
	{FN_MUL_TYPED, "FUNC_MUL_TYPED"}, {FN_DIV_TYPED, "FUNC_DIV_TYPED"},
	{FN_MOD_TYPED, "FUNC_MOD_TYPED"},
	{FN_SHIFT_LEFT_TYPED, "FUNC_SHIFT_LEFT_TYPED"},
	{FN_SHIFT_RIGHT_TYPED, "FUNC_SHIFT_RIGHT_TYPED"},
	{FN_TYPED_LOAD, "FUNC_TYPED_LOAD"}, {FN_TYPED_STORE, "FUNC_TYPED_STORE"},
	{FN_DEREF, "FUNC_DEREFERENCE"}, {FN_MOV, "FUNC_MOV"},
};

const char *script_func_name(int id)
{
	for (unsigned i = 0; i < sizeof(func_names) / sizeof(func_names[0]); i++)
		if (func_names[i].id == id)
			return func_names[i].name;
	return "FUNC_UNDEFINED";
}

/* ---- tiny freestanding helpers ---- */

static void bcopy8(void *d, const void *s, size_t n)
{
	volatile unsigned char *dd = d;
	const unsigned char *ss = s;
	for (size_t i = 0; i < n; i++)
		dd[i] = ss[i];
}

static void set_err(struct vm *vm, const char *a, const char *b)
{
	size_t n = 0;
	if (!vm->err || !vm->errlen)
		return;
	for (; a && *a && n + 1 < vm->errlen; a++)
		vm->err[n++] = *a;
	for (; b && *b && n + 1 < vm->errlen; b++)
		vm->err[n++] = *b;
	vm->err[n] = 0;
}

static int rt_error(struct vm *vm, int func)
{
	set_err(vm, "err, ScriptEngineExecute, function = ", script_func_name(func));
	return -HD_E_RUNTIME;
}

/* HyperDbg's user-mode messages: plain text, shorter than any limit */
static void say(struct vm *vm, const char *msg)
{
	if (vm->env && vm->env->output)
		(void)vm->env->output(vm->env->ud, msg, NULL, 0, &vm->mem);
}

/* ---- memory ---- */

static bool in_range(uint64_t addr, size_t len, const void *base, size_t size)
{
	uint64_t b = (uint64_t)(uintptr_t)base;
	return addr >= b && addr - b <= size && len <= size - (addr - b);
}

static int mem_rw(struct vm *vm, uint64_t addr, void *buf, size_t len, bool wr)
{
	const struct script_env *e = vm->env;
	void *p = (void *)(uintptr_t)addr;

	if (in_range(addr, len, vm->st, sizeof(vm->st)) ||
	    in_range(addr, len, vm->g, SCRIPT_MAX_GLOBALS * 8)) {
		if (wr)
			bcopy8(p, buf, len);
		else
			bcopy8(buf, p, len);
		return 0;
	}
	if (in_range(addr, len, vm->strs, vm->nstr) ||
	    in_range(addr, len, vm->ptext, sizeof(vm->ptext))) {
		if (wr)
			return -1;
		bcopy8(buf, p, len);
		return 0;
	}
	if (!e)
		return -1;
	if (wr)
		return e->mem_write ? e->mem_write(e->ud, addr, buf, len) : -1;
	return e->mem_read ? e->mem_read(e->ud, addr, buf, len) : -1;
}

static int mem_get(struct vm *vm, uint64_t addr, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	int rc = mem_rw(vm, addr, &x, len, false);
	*v = x;
	return rc;
}

static int mem_put(struct vm *vm, uint64_t addr, size_t len, uint64_t v)
{
	return mem_rw(vm, addr, &v, len, true);
}

/* struct script_mem of output(): the host formatter reads `%s` strings
 * as the script sees memory (its own storage first) */
static int mem_read_cb(void *ud, uint64_t addr, void *buf, size_t len)
{
	return mem_rw(ud, addr, buf, len, false);
}

/* ---- pseudo-registers ---- */

/* $pname, $date, $time: the host's text copied into the run's storage;
 * @return 0 with the address in *out, <0 to fall back to pseudo_read */
static int ptext_get(struct vm *vm, int id, uint64_t *out)
{
	const struct script_env *e = vm->env;
	int i = id == 2 ? 0 : id == 14 ? 1 : id == 15 ? 2 : -1;
	char *b;

	if (i < 0 || !e || !e->pseudo_text)
		return -1;
	b = vm->ptext[i];
	if (e->pseudo_text(e->ud, id, b, VM_PTEXT_MAX) < 0)
		return -1;
	b[VM_PTEXT_MAX - 1] = 0;
	*out = (uint64_t)(uintptr_t)b;
	return 0;
}

/* ---- registers ---- */

static void reg_map(int id, int *full, int *shift, int *bits)
{
	static const unsigned char flagbit[] = {0, 2, 4, 6, 7, 8, 9, 10, 11, 12, 14, 16, 17, 18, 19, 20, 21};
	*shift = 0;
	*bits = 64;
	*full = id;
	if (id < 20 || (id >= 36 && id < 76)) {
		int base = id < 20 ? 0 : 36, k = (id - base) % 5;
		*full = id - k;
		switch (k) {
		case 1: *bits = 32; break;
		case 2: *bits = 16; break;
		case 3: *bits = 8; *shift = 8; break;
		case 4: *bits = 8; break;
		}
	} else if (id < 36) {
		int k = (id - 20) % 4;
		*full = id - k;
		*bits = k == 0 ? 64 : k == 1 ? 32 : k == 2 ? 16 : 8;
	} else if (id == 83 || id == 84) {
		*full = 82;
		*bits = id == 83 ? 32 : 16;
	} else if (id >= 85 && id <= 101) {
		*full = 82;
		*shift = flagbit[id - 85];
		*bits = id == 94 ? 2 : 1;
	} else if (id == 103 || id == 104) {
		*full = 102;
		*bits = id == 103 ? 32 : 16;
	}
}

static uint64_t mask_bits(int bits)
{
	return bits >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << bits) - 1);
}

static uint64_t reg_get(struct vm *vm, int id)
{
	int full, shift, bits;
	uint64_t v = 0;

	reg_map(id, &full, &shift, &bits);
	if (vm->env && vm->env->reg_read && vm->env->reg_read(vm->env->ud, full, &v) < 0)
		v = 0;
	return (v >> shift) & mask_bits(bits);
}

static void reg_set(struct vm *vm, int id, uint64_t val)
{
	int full, shift, bits;
	uint64_t v = 0, m;

	if (!vm->env || !vm->env->reg_write)
		return;
	reg_map(id, &full, &shift, &bits);
	if (bits < 64) {
		if (vm->env->reg_read && vm->env->reg_read(vm->env->ud, full, &v) < 0)
			v = 0;
		m = mask_bits(bits) << shift;
		val = (v & ~m) | ((val << shift) & m);
	}
	(void)vm->env->reg_write(vm->env->ud, full, val);
}

/* ---- built-ins ---- */

static int str_len(struct vm *vm, uint64_t a, int unit, uint64_t *out)
{
	uint64_t n = 0, c;
	for (;;) {
		if (mem_get(vm, a + n * (uint64_t)unit, (size_t)unit, &c) < 0)
			return -1;
		if (!c || n > 0x100000)
			break;
		n++;
	}
	*out = n;
	return 0;
}

/* strcmp/strncmp/memcmp/wcs*: -1, 0, 1 */
static int str_cmp(struct vm *vm, uint64_t a, uint64_t b, int unit, uint64_t max,
		   bool stop_nul, uint64_t *out)
{
	for (uint64_t i = 0; i < max && i < 0x100000; i++) {
		uint64_t x, y;
		if (mem_get(vm, a + i * (uint64_t)unit, (size_t)unit, &x) < 0 ||
		    mem_get(vm, b + i * (uint64_t)unit, (size_t)unit, &y) < 0)
			return -1;
		if (x != y) {
			*out = x < y ? (uint64_t)-1 : 1;
			return 0;
		}
		if (stop_nul && !x)
			break;
	}
	*out = 0;
	return 0;
}

static bool vm_owned(struct vm *vm, uint64_t addr, size_t len)
{
	return (in_range(addr, len, vm->st, sizeof(vm->st)) ||
		in_range(addr, len, vm->g, SCRIPT_MAX_GLOBALS * 8)) && !(addr & (len - 1));
}

static int interlocked(struct vm *vm, int f, const uint64_t *a, uint64_t *out)
{
	uint64_t old;

	if (vm_owned(vm, a[0], 8)) {
		uint64_t *p = (uint64_t *)(uintptr_t)a[0];
		switch (f) {
		case FN_INTERLOCKED_INCREMENT: *out = __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST); break;
		case FN_INTERLOCKED_DECREMENT: *out = __atomic_sub_fetch(p, 1, __ATOMIC_SEQ_CST); break;
		case FN_INTERLOCKED_EXCHANGE: *out = __atomic_exchange_n(p, a[1], __ATOMIC_SEQ_CST); break;
		case FN_INTERLOCKED_EXCHANGE_ADD: *out = __atomic_fetch_add(p, a[1], __ATOMIC_SEQ_CST); break;
		default:
			old = a[2];
			__atomic_compare_exchange_n(p, &old, a[1], false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			*out = old;
			break;
		}
		return 0;
	}
	if (mem_get(vm, a[0], 8, &old) < 0)
		return -1;
	switch (f) {
	case FN_INTERLOCKED_INCREMENT: *out = old + 1; return mem_put(vm, a[0], 8, old + 1);
	case FN_INTERLOCKED_DECREMENT: *out = old - 1; return mem_put(vm, a[0], 8, old - 1);
	case FN_INTERLOCKED_EXCHANGE: *out = old; return mem_put(vm, a[0], 8, a[1]);
	case FN_INTERLOCKED_EXCHANGE_ADD: *out = old; return mem_put(vm, a[0], 8, old + a[1]);
	default:
		*out = old;
		return old == a[2] ? mem_put(vm, a[0], 8, a[1]) : 0;
	}
}

static const char *event_msg(int f)
{
	switch (f) {
	case FN_EVENT_ENABLE: return "err, enabling events is not possible in user-mode\n";
	case FN_EVENT_DISABLE:
	case FN_EVENT_CLEAR: return "err, disabling events is not possible in user-mode\n";
	case FN_EVENT_SC: return "err, it's not possible to short-circuit events in user-mode\n";
	case FN_PAUSE: return "err, breaking is not possible in user-mode\n";
	case FN_FLUSH: return "err, it's not possible to flush buffers in user-mode\n";
	case FN_EVENT_INJECT:
	case FN_EVENT_INJECT_ERROR_CODE: return "err, event_inject is not supported in user-mode\n";
	default: return "err, tracing is not possible in user-mode\n";
	}
}

static const char *pa_name(int f)
{
	switch (f) {
	case FN_POI_PA: return "poi_pa";
	case FN_HI_PA: return "hi_pa";
	case FN_LOW_PA: return "low_pa";
	case FN_DB_PA: return "db_pa";
	case FN_DD_PA: return "dd_pa";
	case FN_DW_PA: return "dw_pa";
	case FN_DQ_PA: return "dq_pa";
	case FN_EB_PA: return "eb_pa";
	case FN_ED_PA: return "ed_pa";
	case FN_MEMCPY_PA: return "memcpy_pa";
	default: return "eq_pa";
	}
}

/* HyperDbg's user-mode answer to every physical-address function */
static void say_pa(struct vm *vm, int f)
{
	char msg[96];
	size_t k = 0;
	const char *p1 = "err, using physical address keywords (", *p2 = pa_name(f),
		   *p3 = ") is not possible in user-mode\n";
	for (; *p1; p1++) msg[k++] = *p1;
	for (; *p2; p2++) msg[k++] = *p2;
	for (; *p3; p3++) msg[k++] = *p3;
	msg[k] = 0;
	say(vm, msg);
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* builtin()'s positive answers: the step budget ran out (spinlock), the
 * host asked to suspend the run after this call */
enum { BI_LIMIT = 1, BI_SUSPEND = 2 };

/* run built-in f with arguments a[0..n-1]; result in *out; <0 = error,
 * or BI_LIMIT / BI_SUSPEND */
static int builtin(struct vm *vm, int f, const uint64_t *a, int n, uint64_t *out, uint64_t *steps)
{
	const struct script_env *e = vm->env;
	uint64_t v;

	*out = 0;
	switch (f) {
	case FN_HI: case FN_LOW:
		if (mem_get(vm, a[0], 4, &v) < 0)
			return rt_error(vm, f);
		*out = f == FN_HI ? (v >> 16) & 0xffff : v & 0xffff;
		return 0;
	case FN_EB: case FN_ED: case FN_EQ:
		*out = mem_put(vm, a[0], f == FN_EB ? 1 : f == FN_ED ? 4 : 8, a[1]) < 0 ? 0 : 1;
		return 0;
	case FN_INTERLOCKED_INCREMENT: case FN_INTERLOCKED_DECREMENT:
	case FN_INTERLOCKED_EXCHANGE: case FN_INTERLOCKED_EXCHANGE_ADD:
	case FN_INTERLOCKED_COMPARE_EXCHANGE:
		return interlocked(vm, f, a, out) < 0 ? rt_error(vm, f) : 0;
	case FN_SPINLOCK_LOCK: case FN_SPINLOCK_LOCK_CUSTOM_WAIT:
		for (;;) {
			if (vm_owned(vm, a[0], 4)) {
				if (!__atomic_exchange_n((uint32_t *)(uintptr_t)a[0], 1, __ATOMIC_ACQUIRE))
					return 0;
			} else {
				if (mem_get(vm, a[0], 4, &v) < 0)
					return rt_error(vm, f);
				if (!v)
					return mem_put(vm, a[0], 4, 1) < 0 ? rt_error(vm, f) : 0;
			}
			if (++*steps > SCRIPT_MAX_STEPS)
				return BI_LIMIT; /* caller reports */
			__asm__ __volatile__("pause");
		}
	case FN_SPINLOCK_UNLOCK:
		if (vm_owned(vm, a[0], 4)) {
			__atomic_store_n((uint32_t *)(uintptr_t)a[0], 0, __ATOMIC_RELEASE);
			return 0;
		}
		return mem_put(vm, a[0], 4, 0) < 0 ? rt_error(vm, f) : 0;
	case FN_STRLEN: case FN_WCSLEN:
		if (str_len(vm, a[0], f == FN_STRLEN ? 1 : 2, out) < 0)
			return rt_error(vm, f);
		*steps += *out / 16;    /* long strings cost budget */
		return 0;
	case FN_STRCMP: case FN_WCSCMP:
		return str_cmp(vm, a[0], a[1], f == FN_STRCMP ? 1 : 2, ~(uint64_t)0, true, out) < 0 ?
		       rt_error(vm, f) : 0;
	case FN_STRNCMP: case FN_WCSNCMP:
		return str_cmp(vm, a[0], a[1], f == FN_STRNCMP ? 1 : 2, a[2], true, out) < 0 ?
		       rt_error(vm, f) : 0;
	case FN_MEMCMP:
		return str_cmp(vm, a[0], a[1], 1, a[2], false, out) < 0 ? rt_error(vm, f) : 0;
	case FN_CHECK_ADDRESS:
		*out = mem_get(vm, a[0], 1, &v) == 0 && a[0] != 0;
		return 0;
	case FN_DISASSEMBLE_LEN: case FN_DISASSEMBLE_LEN32: case FN_DISASSEMBLE_LEN64:
		if (e && e->insn_len &&
		    e->insn_len(e->ud, a[0], f == FN_DISASSEMBLE_LEN32 ? 32 : 64, &v) == 0)
			*out = v;
		return 0;
	case FN_RDTSC: case FN_RDTSCP:
		*out = rdtsc();
		return 0;
	case FN_PHYSICAL_TO_VIRTUAL: case FN_VIRTUAL_TO_PHYSICAL:
		return 0;
	case FN_POI_PA: case FN_HI_PA: case FN_LOW_PA: case FN_DB_PA: case FN_DD_PA:
	case FN_DW_PA: case FN_DQ_PA: case FN_EB_PA: case FN_ED_PA: case FN_EQ_PA:
		say_pa(vm, f);
		return 0;
	case FN_LBR_SAVE: case FN_LBR_DUMP: case FN_LBR_PRINT: case FN_LBR_RESTORE:
	case FN_LBR_CHECK: case FN_LBR_RESTORE_BY_FILTER:
		say(vm, "err, lbr functions are not supported in user-mode\n");
		return 0;
	case FN_MICROSLEEP:
		if (e && e->microsleep)
			e->microsleep(e->ud, a[0]);
		return 0;
	case FN_FORMATS:
		if (e && e->output && e->output(e->ud, "%llx\n", a, 1, &vm->mem) < 0)
			return rt_error(vm, f);
		return 0;
	case FN_EVENT_ENABLE: case FN_EVENT_DISABLE: case FN_EVENT_CLEAR:
	case FN_EVENT_SC: case FN_PAUSE: case FN_FLUSH: case FN_EVENT_INJECT:
	case FN_EVENT_INJECT_ERROR_CODE: case FN_EVENT_TRACE_STEP:
	case FN_EVENT_TRACE_STEP_IN: case FN_EVENT_TRACE_STEP_OUT:
	case FN_EVENT_TRACE_INSTRUMENTATION_STEP:
	case FN_EVENT_TRACE_INSTRUMENTATION_STEP_IN:
		if (e && e->event_ctl) {
			int rc = e->event_ctl(e->ud, f, a, n);
			if (rc < 0)
				return rt_error(vm, f);
			return rc == SCRIPT_CTL_SUSPEND ? BI_SUSPEND : 0;
		}
		say(vm, event_msg(f));
		return 0;
	default:
		return rt_error(vm, f);
	}
}

/* ---- the interpreter ---- */

static inline bool cmp(uint64_t a, uint64_t b, unsigned kind)
{
	switch (kind) {
	case SCMP_EQ: return a == b;
	case SCMP_NE: return a != b;
	case SCMP_LTS: return (int64_t)a < (int64_t)b;
	case SCMP_LTU: return a < b;
	case SCMP_LES: return (int64_t)a <= (int64_t)b;
	case SCMP_LEU: return a <= b;
	case SCMP_GTS: return (int64_t)a > (int64_t)b;
	case SCMP_GTU: return a > b;
	case SCMP_GES: return (int64_t)a >= (int64_t)b;
	default: return a >= b;
	}
}

static int fp_check(struct vm *vm, int op, uint64_t r, bool dbl, uint64_t a, uint64_t b)
{
	/* v0.23: a result that overflows to infinity from finite operands, or
	 * a division by zero, is a run-time error */
	bool inf = dbl ? sf_f64_isinf(r) : sf_f32_isinf((uint32_t)r);
	bool fin = dbl ? (sf_f64_isfinite(a) && sf_f64_isfinite(b)) :
		   (sf_f32_isfinite((uint32_t)a) && sf_f32_isfinite((uint32_t)b));
	if (inf && fin)
		return rt_error(vm, op);
	return 0;
}

/* Run (or go on with) the run in `vm` from its saved pc/sp/fp. */
static int interp(struct vm *vm)
{
	/* Dispatch table of offsets from L_NOP (GCC/clang `&&a - &&b`), not
	 * of label addresses: position-independent, it needs no relocation
	 * (a table of addresses needs one R_X86_64_64 per opcode, which the
	 * agent, linked without a dynamic loader, cannot have). */
	static const int32_t disp[] = {
#define OP(name, extra, pops, pushes, doc) (int32_t)(&&L_##name - &&L_NOP),
#include "script/opcodes.def"
#undef OP
	};
	const struct script_bc *bc = vm->bc;
	const struct script_env *env = vm->env;
	uint64_t *globals = vm->g;
	const char *base = (const char *)bc;
	const uint32_t *code = (const uint32_t *)(const void *)(base + bc->code_off);
	const uint64_t *K = (const uint64_t *)(const void *)(base + bc->k_off);
	const uint32_t *pc = code + vm->pc;
	uint64_t *st = vm->st, *sp = st + vm->sp, *fp = st + vm->fp;
	uint64_t steps = vm->steps, a, b, r;
	uint32_t w;
	int rc, ncalls = (int)vm->ncalls;

	vm->suspended = false;
	if (vm->err && vm->errlen)
		vm->err[0] = 0;

#define NEXT()                                                               \
	do {                                                                 \
		w = *pc++;                                                   \
		goto *(const void *)((const char *)&&L_NOP + disp[w & 0xff]); \
	} while (0)
#define A ((int32_t)w >> 8)
#define BACKJUMP(target)                                                     \
	do {                                                                 \
		const uint32_t *t_ = (target);                               \
		if (t_ <= pc) {                                              \
			steps += ((uint64_t)(pc - t_) + 2) / 2;              \
			if (steps > SCRIPT_MAX_STEPS)                        \
				goto limit;                                  \
			if (env && env->interrupt && *env->interrupt)        \
				goto interrupted;                            \
		}                                                            \
		pc = t_;                                                     \
	} while (0)

	NEXT();
L_NOP:
	NEXT();
L_HALT:
	return 0;
L_PUSHI:
	*sp++ = (uint64_t)(int64_t)A;
	NEXT();
L_PUSHK:
	*sp++ = K[A];
	NEXT();
L_PUSHS:
	*sp++ = (uint64_t)(uintptr_t)(vm->strs + A);
	NEXT();
L_POP:
	sp--;
	NEXT();
L_DUP:
	sp[0] = sp[-1];
	sp++;
	NEXT();
L_LDL:
	*sp++ = fp[A];
	NEXT();
L_STL:
	fp[A] = *--sp;
	NEXT();
L_LEAL:
	*sp++ = (uint64_t)(uintptr_t)&fp[A];
	NEXT();
L_LDG:
	*sp++ = globals[A];
	NEXT();
L_STG:
	globals[A] = *--sp;
	NEXT();
L_LEAG:
	*sp++ = (uint64_t)(uintptr_t)&globals[A];
	NEXT();
L_LDR:
	*sp++ = reg_get(vm, A);
	NEXT();
L_STR:
	reg_set(vm, A, *--sp);
	NEXT();
L_LDP:
	r = 0;
	if (ptext_get(vm, A, &r) < 0 && env && env->pseudo_read &&
	    env->pseudo_read(env->ud, A, &r) < 0)
		r = 0;
	*sp++ = r;
	NEXT();
L_LOAD: {
	int size = A & 15;
	if (mem_get(vm, sp[-1], (size_t)size, &r) < 0)
		return rt_error(vm, A >> 8);
	if ((A >> 4) & 1) {
		int sh = 64 - size * 8;
		if (sh)
			r = (uint64_t)((int64_t)(r << sh) >> sh);
	}
	sp[-1] = r;
	NEXT();
}
L_STORE:
	sp -= 2;
	if (mem_put(vm, sp[0], (size_t)(A & 15), sp[1]) < 0)
		return rt_error(vm, A >> 8);
	NEXT();
L_ADD:
	sp--;
	sp[-1] += sp[0];
	NEXT();
L_SUB:
	sp--;
	sp[-1] -= sp[0];
	NEXT();
L_MUL:
	sp--;
	sp[-1] *= sp[0];
	NEXT();
L_DIVS:
	sp--;
	if (!sp[0])
		return rt_error(vm, FN_DIV_TYPED);
	if (sp[0] == ~(uint64_t)0)
		sp[-1] = 0 - sp[-1];
	else
		sp[-1] = (uint64_t)((int64_t)sp[-1] / (int64_t)sp[0]);
	NEXT();
L_DIVU:
	sp--;
	if (!sp[0])
		return rt_error(vm, FN_DIV_TYPED);
	sp[-1] /= sp[0];
	NEXT();
L_MODS:
	sp--;
	if (!sp[0])
		return rt_error(vm, FN_MOD_TYPED);
	if (sp[0] == ~(uint64_t)0)
		sp[-1] = 0;
	else
		sp[-1] = (uint64_t)((int64_t)sp[-1] % (int64_t)sp[0]);
	NEXT();
L_MODU:
	sp--;
	if (!sp[0])
		return rt_error(vm, FN_MOD_TYPED);
	sp[-1] %= sp[0];
	NEXT();
L_AND:
	sp--;
	sp[-1] &= sp[0];
	NEXT();
L_OR:
	sp--;
	sp[-1] |= sp[0];
	NEXT();
L_XOR:
	sp--;
	sp[-1] ^= sp[0];
	NEXT();
L_SHL:
	sp--;
	if (sp[0] >= (uint64_t)A)
		return rt_error(vm, FN_SHIFT_LEFT_TYPED);
	sp[-1] <<= sp[0];
	NEXT();
L_SHRS:
	sp--;
	if (sp[0] >= (uint64_t)A)
		return rt_error(vm, FN_SHIFT_RIGHT_TYPED);
	sp[-1] = (uint64_t)((int64_t)sp[-1] >> sp[0]);
	NEXT();
L_SHRU:
	sp--;
	if (sp[0] >= (uint64_t)A)
		return rt_error(vm, FN_SHIFT_RIGHT_TYPED);
	sp[-1] = (A == 32 ? (sp[-1] & 0xffffffffu) : sp[-1]) >> sp[0];
	NEXT();
L_NEG:
	sp[-1] = 0 - sp[-1];
	NEXT();
L_BNOT:
	sp[-1] = ~sp[-1];
	NEXT();
L_LNOT:
	sp[-1] = !sp[-1];
	NEXT();
L_SEXT: {
	int sh = 64 - A;
	sp[-1] = (uint64_t)((int64_t)(sp[-1] << sh) >> sh);
	NEXT();
}
L_ZEXT:
	sp[-1] = A == 1 ? sp[-1] != 0 : sp[-1] & mask_bits(A);
	NEXT();
L_EQ:
	sp--;
	sp[-1] = sp[-1] == sp[0];
	NEXT();
L_NE:
	sp--;
	sp[-1] = sp[-1] != sp[0];
	NEXT();
L_LTS:
	sp--;
	sp[-1] = (int64_t)sp[-1] < (int64_t)sp[0];
	NEXT();
L_LTU:
	sp--;
	sp[-1] = sp[-1] < sp[0];
	NEXT();
L_LES:
	sp--;
	sp[-1] = (int64_t)sp[-1] <= (int64_t)sp[0];
	NEXT();
L_LEU:
	sp--;
	sp[-1] = sp[-1] <= sp[0];
	NEXT();
L_GTS:
	sp--;
	sp[-1] = (int64_t)sp[-1] > (int64_t)sp[0];
	NEXT();
L_GTU:
	sp--;
	sp[-1] = sp[-1] > sp[0];
	NEXT();
L_GES:
	sp--;
	sp[-1] = (int64_t)sp[-1] >= (int64_t)sp[0];
	NEXT();
L_GEU:
	sp--;
	sp[-1] = sp[-1] >= sp[0];
	NEXT();
L_FADD:
L_FSUB:
L_FMUL:
L_FDIV: {
	int op = w & 0xff, fn;
	sp--;
	a = sp[-1];
	b = sp[0];
	if (A == 0) {
		switch (op) {
		case SOP_FADD: r = sf_f64_add(a, b); fn = FN_ADD_TYPED; break;
		case SOP_FSUB: r = sf_f64_sub(a, b); fn = FN_SUB_TYPED; break;
		case SOP_FMUL: r = sf_f64_mul(a, b); fn = FN_MUL_TYPED; break;
		default:
			if (sf_f64_iszero(b))
				return rt_error(vm, FN_DIV_TYPED);
			r = sf_f64_div(a, b);
			fn = FN_DIV_TYPED;
			break;
		}
	} else {
		uint32_t x = (uint32_t)a, y = (uint32_t)b;
		switch (op) {
		case SOP_FADD: r = sf_f32_add(x, y); fn = FN_ADD_TYPED; break;
		case SOP_FSUB: r = sf_f32_sub(x, y); fn = FN_SUB_TYPED; break;
		case SOP_FMUL: r = sf_f32_mul(x, y); fn = FN_MUL_TYPED; break;
		default:
			if (sf_f32_iszero(y))
				return rt_error(vm, FN_DIV_TYPED);
			r = sf_f32_div(x, y);
			fn = FN_DIV_TYPED;
			break;
		}
	}
	if ((rc = fp_check(vm, fn, r, A == 0, a, b)) < 0)
		return rc;
	sp[-1] = r;
	NEXT();
}
L_FNEG:
	sp[-1] = A == 0 ? sf_f64_neg(sp[-1]) : sf_f32_neg((uint32_t)sp[-1]);
	NEXT();
L_FEQ:
	sp--;
	sp[-1] = A == 0 ? sf_f64_eq(sp[-1], sp[0]) : sf_f32_eq((uint32_t)sp[-1], (uint32_t)sp[0]);
	NEXT();
L_FLT:
L_FLE: {
	bool le = (w & 0xff) == SOP_FLE;
	sp--;
	a = sp[-1];
	b = sp[0];
	if (A & 2) {
		r = a;
		a = b;
		b = r;
	}
	if (A & 1)
		r = le ? sf_f32_le((uint32_t)a, (uint32_t)b) : sf_f32_lt((uint32_t)a, (uint32_t)b);
	else
		r = le ? sf_f64_le(a, b) : sf_f64_lt(a, b);
	sp[-1] = r;
	NEXT();
}
L_ITOF:
	sp[-1] = A == 0 ? sf_i64_to_f64((int64_t)sp[-1]) : sf_i64_to_f32((int64_t)sp[-1]);
	NEXT();
L_UTOF:
	sp[-1] = A == 0 ? sf_u64_to_f64(sp[-1]) : sf_u64_to_f32(sp[-1]);
	NEXT();
L_FTOI:
	sp[-1] = (uint64_t)(A == 0 ? sf_f64_to_i64(sp[-1]) : sf_f32_to_i64((uint32_t)sp[-1]));
	NEXT();
L_FTOU:
	sp[-1] = A == 0 ? sf_f64_to_u64(sp[-1]) : sf_f32_to_u64((uint32_t)sp[-1]);
	NEXT();
L_FCVT:
	sp[-1] = A == 0 ? sf_f32_to_f64((uint32_t)sp[-1]) : sf_f64_to_f32(sp[-1]);
	NEXT();
L_JMP:
	BACKJUMP(code + A);
	NEXT();
L_JZ:
	if (!*--sp)
		BACKJUMP(code + A);
	NEXT();
L_JNZ:
	if (*--sp)
		BACKJUMP(code + A);
	NEXT();
L_JLTS:
	sp -= 2;
	if ((int64_t)sp[0] < (int64_t)sp[1])
		BACKJUMP(code + A);
	NEXT();
L_JGES:
	sp -= 2;
	if ((int64_t)sp[0] >= (int64_t)sp[1])
		BACKJUMP(code + A);
	NEXT();
L_JLTU:
	sp -= 2;
	if (sp[0] < sp[1])
		BACKJUMP(code + A);
	NEXT();
L_JGEU:
	sp -= 2;
	if (sp[0] >= sp[1])
		BACKJUMP(code + A);
	NEXT();
L_JLES:
	sp -= 2;
	if ((int64_t)sp[0] <= (int64_t)sp[1])
		BACKJUMP(code + A);
	NEXT();
L_JGTS:
	sp -= 2;
	if ((int64_t)sp[0] > (int64_t)sp[1])
		BACKJUMP(code + A);
	NEXT();
L_JLEU:
	sp -= 2;
	if (sp[0] <= sp[1])
		BACKJUMP(code + A);
	NEXT();
L_JGTU:
	sp -= 2;
	if (sp[0] > sp[1])
		BACKJUMP(code + A);
	NEXT();
L_JEQ:
	sp -= 2;
	if (sp[0] == sp[1])
		BACKJUMP(code + A);
	NEXT();
L_JNE:
	sp -= 2;
	if (sp[0] != sp[1])
		BACKJUMP(code + A);
	NEXT();
L_ADDI:
	sp[-1] += (uint64_t)(int64_t)A;
	NEXT();
L_INCL:
	fp[A] += (uint64_t)(int64_t)(int32_t)*pc++;
	NEXT();
L_LDL2:
	sp[0] = fp[A & 255];
	sp[1] = fp[(A >> 8) & 255];
	sp += 2;
	NEXT();
L_ADD3:
	fp[A & 255] = fp[(A >> 8) & 255] + fp[(A >> 16) & 255];
	NEXT();
L_SUB3:
	fp[A & 255] = fp[(A >> 8) & 255] - fp[(A >> 16) & 255];
	NEXT();
L_MUL3:
	fp[A & 255] = fp[(A >> 8) & 255] * fp[(A >> 16) & 255];
	NEXT();
L_AND3:
	fp[A & 255] = fp[(A >> 8) & 255] & fp[(A >> 16) & 255];
	NEXT();
L_OR3:
	fp[A & 255] = fp[(A >> 8) & 255] | fp[(A >> 16) & 255];
	NEXT();
L_XOR3:
	fp[A & 255] = fp[(A >> 8) & 255] ^ fp[(A >> 16) & 255];
	NEXT();
L_JCLI: {
	uint32_t bw = *pc++;
	a = fp[bw & 255];
	b = (uint64_t)(int64_t)((int32_t)bw >> 12);
	if (cmp(a, b, (bw >> 8) & 15))
		BACKJUMP(code + A);
	NEXT();
}
L_JCLL: {
	uint32_t bw = *pc++;
	a = fp[bw & 255];
	b = fp[(bw >> 8) & 255];
	if (cmp(a, b, (bw >> 16) & 15))
		BACKJUMP(code + A);
	NEXT();
}
L_PUSHM: {
	uint64_t addr = *--sp;
	for (int32_t off = 0; off < A; off += 8) {
		int n = A - off < 8 ? A - off : 8;
		if (mem_get(vm, addr + (uint64_t)off, (size_t)n, &r) < 0)
			return rt_error(vm, FN_MOV);
		*sp++ = r;
	}
	NEXT();
}
L_CALL:
	if (sp + 2 > st + SCRIPT_STACK_SLOTS)
		goto overflow;
	if (++steps > SCRIPT_MAX_STEPS)
		goto limit;
	if (env && env->interrupt && *env->interrupt)
		goto interrupted;
	if (ncalls == VM_MAX_CALLS)
		goto overflow;
	vm->calls[ncalls].pc = (uint32_t)(pc - code);
	vm->calls[ncalls].fp = (uint32_t)(fp - st);
	ncalls++;
	sp[0] = sp[1] = 0;
	pc = code + A;
	NEXT();
L_ENTER: {
	uint32_t bw = *pc++, nloc = bw & 0xffff, maxs = bw >> 16;
	int np = A;
	fp = sp - np;
	if ((size_t)(fp - st) + (size_t)np + 2 + nloc + maxs > SCRIPT_STACK_SLOTS)
		goto overflow;
	sp = fp + np + 2;
	for (uint32_t i = 0; i < nloc; i++)
		*sp++ = 0;
	NEXT();
}
L_RET: {
	uint64_t res = sp[-1];
	ncalls--;
	sp = fp;
	*sp++ = res;
	pc = code + vm->calls[ncalls].pc;
	fp = st + vm->calls[ncalls].fp;
	NEXT();
}
L_CALLB: {
	uint32_t n = *pc++;
	sp -= n;
	rc = builtin(vm, A, sp, (int)n, &r, &steps);
	if (rc != 0 || steps > SCRIPT_MAX_STEPS) {
		if (rc < 0)
			return rc;
		if (rc != BI_SUSPEND || steps > SCRIPT_MAX_STEPS)
			goto limit;
		*sp++ = r;
		if (vm->can_suspend)
			goto suspend;
		NEXT();         /* nowhere to keep the run: it goes on */
	}
	*sp++ = r;
	NEXT();
}
L_PRINTF: {
	uint32_t n = *pc++;
	sp -= n;
	if (env && env->output && env->output(env->ud, vm->strs + A, sp, (int)n, &vm->mem) < 0)
		return rt_error(vm, FN_PRINTF);
	NEXT();
}
L_PRINT:
	sp--;
	if (env && env->output && env->output(env->ud, "%llx\n", sp, 1, &vm->mem) < 0)
		return rt_error(vm, FN_PRINT);
	NEXT();
L_TEST:
	sp--;
	if (env && env->test_statement)
		env->test_statement(env->ud, sp[0]);
	NEXT();
L_ERR:
	return rt_error(vm, A);
L_MEMCPY: {
	uint64_t n = sp[-1], src = sp[-2], dst = sp[-3];
	sp -= 3;
	if (A) {                /* memcpy_pa: as the other *_pa functions */
		say_pa(vm, FN_MEMCPY_PA);
		NEXT();
	}
	if (n == 0 || n > 0xffffffffu)
		return rt_error(vm, FN_MEMCPY);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t byte;
		if (mem_get(vm, src + i, 1, &byte) < 0 || mem_put(vm, dst + i, 1, byte) < 0)
			return rt_error(vm, FN_MEMCPY);
		if ((i & 63) == 63 && ++steps > SCRIPT_MAX_STEPS)
			goto limit;
	}
	NEXT();
}
L_COPY: {
	uint64_t src = sp[-1], dst = sp[-2];
	sp -= 2;
	for (int32_t i = 0; i < A; i++) {
		uint64_t byte;
		if (mem_get(vm, src + (uint64_t)i, 1, &byte) < 0 ||
		    mem_put(vm, dst + (uint64_t)i, 1, byte) < 0)
			return rt_error(vm, FN_MOV);
	}
	NEXT();
}
suspend:
	vm->pc = (uint32_t)(pc - code);
	vm->sp = (uint32_t)(sp - st);
	vm->fp = (uint32_t)(fp - st);
	vm->ncalls = (uint32_t)ncalls;
	vm->steps = steps;
	vm->suspended = true;
	return SCRIPT_SUSPENDED;
limit:
	set_err(vm, "err, exceeding the max execution count", NULL);
	return -HD_E_LIMIT;
overflow:
	set_err(vm, "err, stack buffer overflow", NULL);
	return -HD_E_LIMIT;
interrupted:
	set_err(vm, "err, interrupted", NULL);
	return -HD_E_INTERRUPTED;
#undef NEXT
#undef A
#undef BACKJUMP
}

static void vm_init(struct vm *vm, const struct script_bc *bc, const struct script_env *env,
		    uint64_t *globals, char *err, size_t errlen, bool can_suspend)
{
	vm->env = env;
	vm->g = globals;
	vm->bc = bc;
	vm->strs = (const char *)bc + bc->str_off;
	vm->nstr = bc->nstr;
	vm->err = err;
	vm->errlen = errlen;
	vm->mem.ud = vm;
	vm->mem.read = mem_read_cb;
	vm->pc = vm->sp = vm->fp = vm->ncalls = 0;
	vm->steps = 0;
	vm->can_suspend = can_suspend;
	vm->suspended = false;
	vm->st[0] = vm->st[1] = 0;
}

int script_vm_run(const struct script_bc *bc, const struct script_env *env,
		  uint64_t *globals, char *err, size_t errlen)
{
	struct vm vmv;

	vm_init(&vmv, bc, env, globals, err, errlen, false);
	return interp(&vmv);
}

int script_vm_start(struct script_state *s, const struct script_bc *bc,
		    const struct script_env *env, uint64_t *globals, char *err, size_t errlen)
{
	vm_init(&s->vm, bc, env, globals, err, errlen, true);
	return interp(&s->vm);
}

int script_resume(struct script_state *s, const struct script_env *env, char *err, size_t errlen)
{
	struct vm *vm = &s->vm;

	vm->err = err;
	vm->errlen = errlen;
	if (!vm->suspended) {
		set_err(vm, "err, the script is not suspended", NULL);
		return -HD_E_RUNTIME;
	}
	vm->env = env;
	return interp(vm);
}

int script_exec_bytecode(const void *bc, const struct script_env *env,
			 uint64_t *globals, char *err, size_t errlen)
{
	return script_vm_run(bc, env, globals, err, errlen);
}
