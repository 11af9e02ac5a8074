/*
 * acl_file.c - the ACL file (--aclfile, ACL LOAD, ACL SAVE) in Redis's
 * format: one "user <name> <rules ...>" line per user, rules separated by
 * single spaces, blank lines allowed, no comments. Loading is all or
 * nothing, with Redis's error messages; saving writes a temporary file next
 * to the real one, syncs it and renames it over.
 *
 * One difference from Redis: a file without a "default" user gets the
 * default user --requirepass describes (on ~* &* +@all with that password,
 * or nopass without one). Redis gives it nopass, silently dropping
 * requirepass: here the password is not lost by loading a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redis/acl_impl.h"

/* A growing error text. */
struct errs {
	char *p;
	size_t len, cap;
};

static void errs_add(struct errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void errs_add(struct errs *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (e->len + (size_t)n + 1 > e->cap) {
		size_t cap = (e->len + (size_t)n + 1) * 2;
		char *np = realloc(e->p, cap);

		if (!np)
			return;
		e->p = np;
		e->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(e->p + e->len, e->cap - e->len, fmt, ap);
	va_end(ap);
	e->len += (size_t)n;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = (cap ? cap * 2 : 8192));

			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, 4096, f);
		n += got;
		if (got < 4096)
			break;
	}
	if (ferror(f)) {
		int e = errno;

		free(buf);
		fclose(f);
		errno = e ? e : EIO;
		return NULL;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

static bool is_trim(char c, const char *set)
{
	return c && strchr(set, c);
}

/* One line: "user <name> <rules>" into t. */
static void load_line(struct rd_acl *t, const char *path, int linenum, char *line, size_t len,
		      struct errs *e)
{
	const uint8_t **argv;
	size_t *lens, words = 1;
	unsigned argc = 0, bad = 0;
	char **merged = NULL;
	size_t *mlens = NULL;
	struct rd_user *u = NULL;
	bool syntax_error = false;
	int m;

	for (size_t i = 0; i < len; i++)
		words += line[i] == ' ';
	argv = malloc(words * sizeof(*argv));
	lens = malloc(words * sizeof(*lens));
	if (!argv || !lens) {
		errs_add(e, "%s:%d: out of memory. ", path, linenum);
		goto out;
	}
	/* split at every single space, as Redis's sdssplitlen(" ") does */
	for (size_t i = 0, start = 0; i <= len; i++) {
		if (i == len || line[i] == ' ') {
			argv[argc] = (const uint8_t *)line + start;
			lens[argc++] = i - start;
			start = i + 1;
		}
	}
	if (argc < 2 || lens[0] != 4 || memcmp(argv[0], "user", 4) != 0) {
		errs_add(e, "%s:%d should start with user keyword followed by the username. ", path,
			 linenum);
		goto out;
	}
	if (acl_has_spaces(argv[1], lens[1])) {
		errs_add(e, "'%s:%d: username '%.*s' contains invalid characters. ", path, linenum,
			 (int)lens[1], (const char *)argv[1]);
		goto out;
	}
	if (acl_table_find(t, argv[1], lens[1]) >= 0) {
		errs_add(e, "WARNING: Duplicate user '%.*s' found on line %d. ", (int)lens[1],
			 (const char *)argv[1], linenum);
		goto out;
	}
	u = acl_user_new(argv[1], lens[1]);
	if (!u || !acl_table_put(t, u)) {
		acl_user_free(u);
		errs_add(e, "%s:%d: out of memory. ", path, linenum);
		goto out;
	}
	m = acl_args_merge(argc - 2, argv + 2, lens + 2, &merged, &mlens, &bad);
	if (m < 0) {
		errs_add(e, "%s:%d: Unmatched parenthesis in selector definition.", path, linenum);
		goto out;
	}
	for (int j = 0; j < m; j++) {
		char *op = merged[j];
		size_t n = mlens[j];
		enum acl_err r;

		while (n && is_trim(op[0], "\t\r\n")) {
			op++;
			n--;
		}
		while (n && is_trim(op[n - 1], "\t\r\n"))
			n--;
		r = acl_user_op(u, op, n);
		if (r == ACL_E_OK)
			continue;
		if (r == ACL_E_NOENT) {
			errs_add(e, "%s:%d: Error in applying operation '%.*s': %s. ", path, linenum,
				 (int)n, op, acl_err_text(r));
		} else if (!syntax_error) {
			errs_add(e, "%s:%d: %s. ", path, linenum, acl_err_text(r));
			syntax_error = true;
		}
	}
	acl_args_free(merged, mlens, m);
out:
	free(argv);
	free(lens);
}

struct rd_acl *acl_file_load(const struct rd_acl_priv *p, const char *path, char *err,
			     size_t errcap)
{
	struct errs e = { 0 };
	struct rd_acl *t;
	size_t len = 0;
	char *text = read_all(path, &len), *line;
	int linenum = 0;

	if (!text) {
		snprintf(err, errcap, "Error loading ACLs, opening file '%s': %s", path,
			 strerror(errno));
		return NULL;
	}
	t = acl_table_new();
	if (!t) {
		free(text);
		snprintf(err, errcap, "Error loading ACLs: out of memory");
		return NULL;
	}
	line = text;
	while (line <= text + len) {
		char *nl = memchr(line, '\n', (size_t)(text + len - line));
		char *end = nl ? nl : text + len;

		linenum++;
		while (line < end && is_trim(*line, " \t\r\n"))
			line++;
		while (end > line && is_trim(end[-1], " \t\r\n"))
			end--;
		if (end > line)
			load_line(t, path, linenum, line, (size_t)(end - line), &e);
		if (!nl)
			break;
		line = nl + 1;
	}
	free(text);
	if (e.len == 0 && acl_table_find(t, "default", 7) < 0) {
		struct rd_user *def = acl_default_user(p);

		if (!def || !acl_table_put(t, def)) {
			acl_user_free(def);
			errs_add(&e, "out of memory. ");
		}
	}
	if (e.len) {
		errs_add(&e, "WARNING: ACL errors detected, no change to the previously active ACL "
			     "rules was performed");
		snprintf(err, errcap, "%s", e.p ? e.p : "");
		free(e.p);
		acl_table_free(t);
		return NULL;
	}
	free(e.p);
	return t;
}

bool acl_file_save(const struct rd_acl *t, const char *path)
{
	static unsigned seq;
	char tmp[600];
	struct timespec ts;
	int fd, e;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d-%ld-%u", path, (int)getpid(),
		 (long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000),
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "wirecache-dp: Opening temp ACL file for ACL SAVE: %s\n",
			strerror(errno));
		return false;
	}
	for (unsigned i = 0; ok && i < t->nusers; i++) {
		const struct rd_user *u = t->users[i];
		char *d = acl_describe_user(u);
		size_t dl = d ? strlen(d) : 0;

		ok = d && write(fd, "user ", 5) == 5 &&
		     write(fd, u->name, u->nlen) == (ssize_t)u->nlen && write(fd, " ", 1) == 1 &&
		     write(fd, d, dl) == (ssize_t)dl && write(fd, "\n", 1) == 1;
		free(d);
	}
	if (!ok || fsync(fd) != 0) {
		e = errno;
		fprintf(stderr, "wirecache-dp: Writing ACL file for ACL SAVE: %s\n", strerror(e));
		close(fd);
		unlink(tmp);
		errno = e;
		return false;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		e = errno;
		fprintf(stderr, "wirecache-dp: Renaming ACL file for ACL SAVE: %s\n", strerror(e));
		unlink(tmp);
		errno = e;
		return false;
	}
	return true;
}
