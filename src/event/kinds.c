/*
** kinds.c: the table of event kinds generated from kinds.def: command
** names, sc/stage support, kernel-only reasons and the ops of each
** implemented kind.
*/
#include <strings.h>

#include "event/internal.h"

#define OPS_DECL_1(id) extern const struct event_kind_ops event_ops_##id;
#define OPS_DECL_0(id)
#define OPS_PTR_1(id) &event_ops_##id
#define OPS_PTR_0(id) NULL

#define EVENT_KIND(ID, id, cmd, sc, stages, impl, why) OPS_DECL_##impl(id)
#include "event/kinds.def"
#undef EVENT_KIND

static const struct event_kind_info kinds[EVENT_KIND_COUNT] = {
#define EVENT_KIND(ID, id, cmd, sc, stages, impl, why) \
	[EVENT_KIND_##ID] = {cmd, sc, stages, impl, why, OPS_PTR_##impl(id)},
#include "event/kinds.def"
#undef EVENT_KIND
};

const struct event_kind_info *event_kind_info(enum event_kind k)
{
	return &kinds[k];
}

int event_kind_find(const char *name)
{
	for (int k = 0; k < EVENT_KIND_COUNT; k++)
		if (!strcasecmp(kinds[k].command, name))
			return k;
	return -1;
}

bool event_is_command(const char *name)
{
	return name && event_kind_find(name) >= 0;
}
