/*
** hd.h: project-wide utilities (the `util` layer): error codes, the
** TRY/CHECK macros, logging through one sink, and a growable string buffer.
** Every layer may include this header; it includes nothing of the project.
*/
#ifndef HD_UTIL_HD_H
#define HD_UTIL_HD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define HD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define HD_MUST_CHECK   __attribute__((warn_unused_result))
#define HD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/** hdbg's error codes. Functions return 0 on success and a negative value
 *  on failure: -errno for OS failures, -HD_E_* for hdbg's own. */
enum hd_err {
	HD_E_START = 4000,
#define X(name, msg) HD_E_##name,
#include "util/errors.def"
#undef X
	HD_E_END
};

/** @brief Message for an error code (negative or positive; errno or HD_E_*).
 *  @return a static string, never NULL. */
const char *hd_strerror(int err);

/** Propagate a negative return value. */
#define TRY(expr)                                                    \
	do {                                                         \
		int try_rc_ = (expr);                                \
		if (try_rc_ < 0)                                     \
			return try_rc_;                              \
	} while (0)

/** In a function with `int rc` and an `out:` label: set rc and jump. */
#define CHECK(expr)                                                  \
	do {                                                         \
		rc = (expr);                                         \
		if (rc < 0)                                          \
			goto out;                                    \
	} while (0)

/* ---- logging: one sink, set by the front end ---- */

enum hd_log_level { HD_LOG_WARN, HD_LOG_INFO, HD_LOG_DEBUG };

/** Sink signature: receives a fully formatted message without a newline. */
typedef void (*hd_log_sink)(enum hd_log_level level, const char *msg, void *ud);

/** @brief Set the sink (NULL restores the default: stderr, warnings only).
 *  @param max the most verbose level passed to the sink. */
void hd_log_set_sink(hd_log_sink sink, void *ud, enum hd_log_level max);

/** @brief Log a message through the sink. Library layers never print directly. */
void hd_log(enum hd_log_level level, const char *fmt, ...) HD_PRINTF(2, 3);

#define pr_warn(...)  hd_log(HD_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  hd_log(HD_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) hd_log(HD_LOG_DEBUG, __VA_ARGS__)

/* ---- growable string buffer ---- */

/** A NUL-terminated growable string. Zero-initialise before use; `p` is
 *  NULL until the first append. Allocation failure aborts (hdbg side only;
 *  never used in the agent or on an event's hot path). */
struct hd_buf {
	char *p;
	size_t len, cap;
};

/** @brief Append formatted text. */
void hd_buf_printf(struct hd_buf *b, const char *fmt, ...) HD_PRINTF(2, 3);
/** @brief Append formatted text (va_list form). */
void hd_buf_vprintf(struct hd_buf *b, const char *fmt, va_list ap) HD_PRINTF(2, 0);
/** @brief Append `n` bytes. */
void hd_buf_append(struct hd_buf *b, const char *s, size_t n);
/** @brief Empty the buffer, keeping its storage. */
void hd_buf_reset(struct hd_buf *b);
/** @brief The contents ("" when empty); valid until the next append. */
const char *hd_buf_str(const struct hd_buf *b);
/** @brief Release the storage. */
void hd_buf_free(struct hd_buf *b);

/** @brief malloc/realloc/strdup that abort on failure (hdbg side only). */
void *hd_xmalloc(size_t n);
void *hd_xcalloc(size_t n, size_t size);
void *hd_xrealloc(void *p, size_t n);
char *hd_xstrdup(const char *s);

#endif
