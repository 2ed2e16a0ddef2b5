/* util.h: the util layer's public header (see hd.h). */
#ifndef HD_UTIL_UTIL_H
#define HD_UTIL_UTIL_H
#include "util/hd.h"
#endif
