/*
** edit.c: the line editor, libedit's native API (histedit.h) on a terminal.
**
** Design: libedit reads keys through our read function (EL_GETCFN), which
** waits with ppoll() on the terminal and on a wake-up pipe, with SIGINT
** and SIGWINCH unblocked only inside ppoll (no lost wake-ups):
**  - SIGINT (the handler only sets the caller's flag): the read fails
**    with EINTR, el_gets() returns NULL, the typed line is dropped;
**  - SIGWINCH: el_resize();
**  - the pipe: another thread queued output with cli_edit_print(); it is
**    printed where the prompt was and the prompt and typed text are
**    redrawn below it (EL_REFRESH), as linenoise/redis-cli do.
** Tab completes the first word (and the argument of .help) through the
** caller's completion callback.
*/
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#define HISTORY_SIZE 1000

struct cli_edit {
	EditLine *el;
	History *hist;
	char *history_path;
	FILE *fin, *fout;
	int in_fd, out_fd;
	cli_complete_fn complete;
	void *complete_ud;
	volatile sig_atomic_t *intr;
	const char *prompt;
	struct hd_buf line;      /* the last line read, without newline */
	mbstate_t mbs;
	int wake[2];             /* cli_edit_print -> read function */
	pthread_mutex_t lock;    /* editing, pending */
	bool editing;            /* inside cli_edit_gets */
	struct hd_buf pending;   /* output queued while editing */
	struct sigaction old_winch;
	bool winch_saved;
};

/* LeakSanitizer hook: ncurses' tgetent(), called by el_init(), keeps a
 * trimmed copy of the terminal's sgr0 string that it never frees. Only
 * read by sanitizer builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:_nc_trim_sgr0\n";
}

static volatile sig_atomic_t winch;

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

static void write_fd(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static struct cli_edit *edit_of(EditLine *el)
{
	struct cli_edit *ed = NULL;

	el_get(el, EL_CLIENTDATA, &ed);
	return ed;
}

static char *edit_prompt(EditLine *el)
{
	return (char *)edit_of(el)->prompt;
}

/* Terminal width in columns (80 when unknown). */
static int edit_columns(struct cli_edit *ed)
{
	int cols = 0;

	if (el_get(ed->el, EL_GETTC, "co", &cols, NULL) != 0 || cols <= 0)
		cols = 80;
	return cols;
}

/* Print the queued output above the line being edited, then redraw the
 * prompt and the typed text. The cursor may sit on a later row of a
 * wrapped line: go up to the prompt's row first, clear to the end of the
 * screen, print, and let libedit redraw from a clean state. */
static void edit_flush_pending(struct cli_edit *ed)
{
	struct hd_buf text = {0};
	char drain[64], esc[32];
	const LineInfo *li;
	int cols, row;

	while (read(ed->wake[0], drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&ed->lock);
	text = ed->pending;
	ed->pending = (struct hd_buf){0};
	pthread_mutex_unlock(&ed->lock);
	if (!text.len)
		return;
	fflush(ed->fout);
	li = el_line(ed->el);
	cols = edit_columns(ed);
	row = (int)((strlen(ed->prompt) + (size_t)(li->cursor - li->buffer)) / (size_t)cols);
	if (row > 0) {
		snprintf(esc, sizeof(esc), "\033[%dA", row);
		write_fd(ed->out_fd, esc, strlen(esc));
	}
	write_fd(ed->out_fd, "\r\033[J", 4);
	write_fd(ed->out_fd, text.p, text.len);
	hd_buf_free(&text);
	el_set(ed->el, EL_REFRESH);
	fflush(ed->fout);
}

/* libedit's read function: one wide character, 0 at end of input, -1
 * with errno EINTR on Ctrl-C. */
static int edit_getc(EditLine *el, wchar_t *wc)
{
	struct cli_edit *ed = edit_of(el);
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGWINCH);
	for (;;) {
		struct pollfd pfd[2] = {{ed->in_fd, POLLIN, 0}, {ed->wake[0], POLLIN, 0}};
		int n, e;
		char c;
		ssize_t r;
		size_t k;

		pthread_sigmask(SIG_BLOCK, &block, &old);
		if (ed->intr && *ed->intr) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			errno = EINTR;
			return -1;
		}
		if (winch) {
			winch = 0;
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			el_resize(el);
			continue;
		}
		n = ppoll(pfd, 2, NULL, &old);
		e = errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (n < 0) {
			if (e == EINTR)
				continue;  /* the flags are checked above */
			errno = e;
			return -1;
		}
		if (pfd[1].revents)
			edit_flush_pending(ed);
		if (!pfd[0].revents)
			continue;
		r = read(ed->in_fd, &c, 1);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {  /* end of input, or a hung-up terminal (EIO) */
			*wc = L'\0';
			return 0;
		}
		k = mbrtowc(wc, &c, 1, &ed->mbs);
		if (k == (size_t)-2)
			continue;  /* more bytes of a multibyte character */
		if (k == (size_t)-1) {
			memset(&ed->mbs, 0, sizeof(ed->mbs));
			continue;  /* invalid byte: dropped */
		}
		return 1;
	}
}

/* ---- completion ---- */

struct matches {
	char **v;
	size_t n;
};

static void add_match(void *actx, const char *name)
{
	struct matches *m = actx;

	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i], name))
			return;
	m->v = hd_xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	m->v[m->n++] = hd_xstrdup(name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Print the candidates in columns below the line. */
static void list_matches(struct cli_edit *ed, const struct matches *m)
{
	struct hd_buf b = {0};
	size_t width = 0, per_row, cols = (size_t)edit_columns(ed);

	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->v[i]) > width)
			width = strlen(m->v[i]);
	width += 2;
	per_row = cols / width ? cols / width : 1;
	hd_buf_append(&b, "\n", 1);
	for (size_t i = 0; i < m->n; i++) {
		bool last = (i + 1) % per_row == 0 || i + 1 == m->n;
		if (last)
			hd_buf_printf(&b, "%s\n", m->v[i]);
		else
			hd_buf_printf(&b, "%-*s", (int)width, m->v[i]);
	}
	fflush(ed->fout);
	write_fd(ed->out_fd, b.p, b.len);
	hd_buf_free(&b);
}

/* Which word the cursor is in, when it is one that names a command: the
 * first word, or the argument of `.help`. Returns its start or NULL. */
static const char *completable_word(const LineInfo *li)
{
	const char *start = li->cursor, *p = li->buffer, *w0, *w0end;

	while (start > li->buffer && start[-1] != ' ' && start[-1] != '\t')
		start--;
	while (p < start && (*p == ' ' || *p == '\t'))
		p++;
	if (p == start)
		return start;  /* the first word */
	w0 = p;
	while (p < start && *p != ' ' && *p != '\t')
		p++;
	w0end = p;
	while (p < start && (*p == ' ' || *p == '\t'))
		p++;
	if (p != start)
		return NULL;  /* third word or later */
	if ((w0end - w0 == 5 && !strncmp(w0, ".help", 5)) ||
	    (w0end - w0 == 4 && !strncmp(w0, "help", 4)))
		return start;
	return NULL;
}

static unsigned char edit_complete(EditLine *el, int ch)
{
	struct cli_edit *ed = edit_of(el);
	const LineInfo *li = el_line(el);
	const char *start = completable_word(li);
	struct matches m = {0};
	unsigned char rc = CC_REFRESH_BEEP;
	size_t plen, common;
	char *prefix;

	(void)ch;
	if (!start || !ed->complete)
		return CC_REFRESH_BEEP;
	plen = (size_t)(li->cursor - start);
	prefix = hd_xmalloc(plen + 1);
	memcpy(prefix, start, plen);
	prefix[plen] = '\0';
	ed->complete(ed->complete_ud, prefix, add_match, &m);
	if (m.n) {
		qsort(m.v, m.n, sizeof(*m.v), cmp_str);
		common = strlen(m.v[0]);
		for (size_t i = 1; i < m.n; i++) {
			size_t j = 0;
			while (j < common && m.v[i][j] == m.v[0][j])
				j++;
			common = j;
		}
		if (m.n == 1) {
			el_insertstr(el, m.v[0] + plen);
			el_insertstr(el, " ");
			rc = CC_REFRESH;
		} else if (common > plen) {
			char save = m.v[0][common];
			m.v[0][common] = '\0';
			el_insertstr(el, m.v[0] + plen);
			m.v[0][common] = save;
			rc = CC_REFRESH;
		} else {
			list_matches(ed, &m);
			rc = CC_REDISPLAY;
		}
	}
	for (size_t i = 0; i < m.n; i++)
		free(m.v[i]);
	free(m.v);
	free(prefix);
	return rc;
}

/* ---- life cycle ---- */

int cli_edit_new(struct cli_edit **out, const struct cli_edit_opts *opts)
{
	struct cli_edit *ed = hd_xcalloc(1, sizeof(*ed));
	struct sigaction sa = {0};
	HistEvent ev;
	int rc = 0, fd;

	ed->in_fd = opts->in_fd;
	ed->out_fd = opts->out_fd;
	ed->complete = opts->complete;
	ed->complete_ud = opts->complete_ud;
	ed->intr = opts->interrupt_flag;
	ed->prompt = "";
	ed->wake[0] = ed->wake[1] = -1;
	pthread_mutex_init(&ed->lock, NULL);
	if (pipe2(ed->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		CHECK(-errno);
	if ((fd = fcntl(opts->in_fd, F_DUPFD_CLOEXEC, 3)) < 0 || !(ed->fin = fdopen(fd, "r")))
		CHECK(-errno);
	if ((fd = fcntl(opts->out_fd, F_DUPFD_CLOEXEC, 3)) < 0 || !(ed->fout = fdopen(fd, "w")))
		CHECK(-errno);
	ed->el = el_init("hdbg", ed->fin, ed->fout, ed->fout);
	ed->hist = history_init();
	if (!ed->el || !ed->hist)
		CHECK(-ENOMEM);
	history(ed->hist, &ev, H_SETSIZE, HISTORY_SIZE);
	history(ed->hist, &ev, H_SETUNIQUE, 1);
	if (opts->history_path) {
		ed->history_path = hd_xstrdup(opts->history_path);
		history(ed->hist, &ev, H_LOAD, ed->history_path);  /* may not exist yet */
	}
	el_set(ed->el, EL_CLIENTDATA, ed);
	el_set(ed->el, EL_EDITOR, "emacs");
	el_set(ed->el, EL_HIST, history, ed->hist);
	el_set(ed->el, EL_PROMPT, edit_prompt);
	el_set(ed->el, EL_GETCFN, edit_getc);
	el_source(ed->el, NULL);  /* the user's ~/.editrc */
	/* the wide forms: libedit's narrow EL_ADDFN leaks its converted copies */
	el_wset(ed->el, EL_ADDFN, L"hdbg-complete", L"complete a command name", edit_complete);
	el_wset(ed->el, EL_BIND, L"^I", L"hdbg-complete", NULL);
	sa.sa_handler = on_winch;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	ed->winch_saved = sigaction(SIGWINCH, &sa, &ed->old_winch) == 0;
	*out = ed;
	return 0;
out:
	cli_edit_free(ed);
	return rc;
}

void cli_edit_free(struct cli_edit *ed)
{
	if (!ed)
		return;
	if (ed->winch_saved)
		sigaction(SIGWINCH, &ed->old_winch, NULL);
	if (ed->el)
		el_end(ed->el);
	if (ed->hist)
		history_end(ed->hist);
	if (ed->fin)
		fclose(ed->fin);
	if (ed->fout)
		fclose(ed->fout);
	for (int i = 0; i < 2; i++)
		if (ed->wake[i] >= 0)
			close(ed->wake[i]);
	pthread_mutex_destroy(&ed->lock);
	hd_buf_free(&ed->pending);
	hd_buf_free(&ed->line);
	free(ed->history_path);
	free(ed);
}

/* Leave the editing state; print what was queued meanwhile (the cursor is
 * at the start of a fresh row now). */
static void edit_leave(struct cli_edit *ed)
{
	struct hd_buf text;

	pthread_mutex_lock(&ed->lock);
	ed->editing = false;
	text = ed->pending;
	ed->pending = (struct hd_buf){0};
	pthread_mutex_unlock(&ed->lock);
	if (text.len)
		write_fd(ed->out_fd, text.p, text.len);
	hd_buf_free(&text);
}

enum cli_edit_status cli_edit_gets(struct cli_edit *ed, const char *prompt, const char **line)
{
	const char *s;
	int count = 0;
	size_t n;

	ed->prompt = prompt;
	if (ed->intr)
		*ed->intr = 0;  /* a Ctrl-C of the last command is handled */
	pthread_mutex_lock(&ed->lock);
	ed->editing = true;
	pthread_mutex_unlock(&ed->lock);
	s = el_gets(ed->el, &count);
	if (!s) {
		bool intr = count < 0 && ed->intr && *ed->intr;
		fflush(ed->fout);
		write_fd(ed->out_fd, intr ? "^C\n" : "\n", intr ? 3 : 1);
		edit_leave(ed);
		if (intr) {
			el_reset(ed->el);  /* libedit keeps the dropped text otherwise */
			*ed->intr = 0;
			return CLI_EDIT_INTERRUPTED;
		}
		return CLI_EDIT_EOF;
	}
	edit_leave(ed);
	n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	hd_buf_reset(&ed->line);
	hd_buf_append(&ed->line, s, n);
	*line = hd_buf_str(&ed->line);
	return CLI_EDIT_LINE;
}

bool cli_edit_print(struct cli_edit *ed, const char *text)
{
	bool taken;

	pthread_mutex_lock(&ed->lock);
	taken = ed->editing;
	if (taken) {
		hd_buf_append(&ed->pending, text, strlen(text));
		if (write(ed->wake[1], "", 1) < 0) {
			/* the pipe is full: a wake-up is pending already */
		}
	}
	pthread_mutex_unlock(&ed->lock);
	return taken;
}

int cli_edit_history_add(struct cli_edit *ed, const char *entry)
{
	HistEvent ev;

	if (!*entry)
		return 0;
	history(ed->hist, &ev, H_ENTER, entry);
	if (ed->history_path && history(ed->hist, &ev, H_SAVE, ed->history_path) < 0)
		return -(errno ? errno : EIO);
	return 0;
}
