/*
** ast.c: the compiler's memory (a bump arena over the allocator callback),
** AST node construction and the type objects of v0.23's type system.
*/
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "script/internal.h"

struct arena_blk {
	struct arena_blk *next;
	size_t used, cap;
	max_align_t data[];
};

void *script_default_alloc(void *ud, void *p, size_t oldsz, size_t newsz)
{
	(void)ud;
	(void)oldsz;
	if (newsz == 0) {
		free(p);
		return NULL;
	}
	return realloc(p, newsz);
}

void *script_arena_alloc(struct script_arena *a, size_t n)
{
	struct arena_blk *b = a->blk;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 16384 ? n : 16384;
		b = a->alloc(a->ud, NULL, 0, sizeof(*b) + cap);
		if (!b) {
			if (a->oom) {
				*a->oom_rc = -ENOMEM;
				longjmp(*(jmp_buf *)a->oom, 1);
			}
			abort();
		}
		b->next = a->blk;
		b->used = 0;
		b->cap = cap;
		a->blk = b;
	}
	p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *script_arena_strndup(struct script_arena *a, const char *s, size_t n)
{
	char *p = script_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

void script_arena_free(struct script_arena *a)
{
	struct arena_blk *b = a->blk, *nx;

	for (; b; b = nx) {
		nx = b->next;
		a->alloc(a->ud, b, sizeof(*b) + b->cap, 0);
	}
	a->blk = NULL;
}

struct node *script_node_new(struct script_arena *a, enum nkind k, const struct token *at)
{
	struct node *n = script_arena_alloc(a, sizeof(*n));
	n->k = k;
	if (at) {
		n->line = at->line;
		n->col = at->col;
		n->in = at->in;
	}
	return n;
}

const struct ty script_ty_scalar[TY_F64 + 1] = {
	[TY_VOID] = {TY_VOID, 0, 1, NULL, 0, NULL},
	[TY_BOOL] = {TY_BOOL, 1, 1, NULL, 0, NULL},
	[TY_I8] = {TY_I8, 1, 1, NULL, 0, NULL},
	[TY_I16] = {TY_I16, 2, 2, NULL, 0, NULL},
	[TY_I32] = {TY_I32, 4, 4, NULL, 0, NULL},
	[TY_I64] = {TY_I64, 8, 8, NULL, 0, NULL},
	[TY_U8] = {TY_U8, 1, 1, NULL, 0, NULL},
	[TY_U16] = {TY_U16, 2, 2, NULL, 0, NULL},
	[TY_U32] = {TY_U32, 4, 4, NULL, 0, NULL},
	[TY_U64] = {TY_U64, 8, 8, NULL, 0, NULL},
	[TY_F32] = {TY_F32, 4, 4, NULL, 0, NULL},
	[TY_F64] = {TY_F64, 8, 8, NULL, 0, NULL},
};

const struct ty *script_ty_ptr(struct script_arena *a, const struct ty *base)
{
	struct ty *t = script_arena_alloc(a, sizeof(*t));
	t->k = TY_PTR;
	t->size = t->align = 8;
	t->base = base;
	return t;
}

const struct ty *script_ty_array(struct script_arena *a, const struct ty *el, uint32_t n)
{
	struct ty *t = script_arena_alloc(a, sizeof(*t));
	t->k = TY_ARRAY;
	t->size = el->size * n;
	t->align = el->align;
	t->base = el;
	t->n = n;
	return t;
}

bool script_ty_isint(const struct ty *t)
{
	return t->k >= TY_BOOL && t->k <= TY_U64;
}

bool script_ty_isfloat(const struct ty *t)
{
	return t->k == TY_F32 || t->k == TY_F64;
}

bool script_ty_signed(const struct ty *t)
{
	return t->k >= TY_I8 && t->k <= TY_I64;
}

bool script_ty_scalar_k(const struct ty *t)
{
	return t->k >= TY_BOOL && t->k <= TY_PTR;
}
