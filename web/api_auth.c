/*
 * api_auth: bearer tokens and who may read or write (api_auth.h).
 */
#include "web/api_auth.h"

#include <sys/stat.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "daemon/log.h"

/* Shortest token, bytes, and most tokens in the file (API_TOKEN_MAX in
 * api_internal.h bounds a token's length). */
#define API_TOKEN_MIN 16
#define API_TOKENS_MAX 1024

static void tok_err(FILE *errs, const char *path, int line, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
static bool token_name_ok(const char *s);
static bool token_ok(const char *s);
static const struct api_token *token_find(const struct api *a, const char *h);
static bool read_guarded(enum route route);

/* A tokens-file problem: to errs as conf.h words it, or to the log. */
static void
tok_err(FILE *errs, const char *path, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (errs != NULL)
		conf_errf(errs, path, line, "%s", msg);
	else if (line > 0)
		log_warnx("http: %s:%d: %s", path, line, msg);
	else
		log_warnx("http: %s: %s", path, msg);
}

/*
 * Reads the tokens file: "NAME TOKEN rw|ro" a line, blank lines and lines
 * starting with '#' skipped.  A file others may read or write is refused
 * (a leaked token is a way in).  Every problem is reported, never a token.
 */
int
api_tokens_load(
    const char *path, FILE *errs, struct api_token **out, size_t *nout)
{
	struct api_token *t = NULL, *grown;
	char line[API_TOKEN_MAX + API_TOKEN_NAME_MAX + 64];
	FILE *f = NULL;
	struct stat sb;
	size_t n = 0;
	int lineno = 0, bad = 0, rc = AQ_ERR_INVAL;

	if ((f = fopen(path, "r")) == NULL || fstat(fileno(f), &sb) != 0) {
		tok_err(errs, path, 0, "tokens_file: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		tok_err(errs, path, 0, "tokens_file: not a regular file");
		goto out;
	}
	if ((sb.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		tok_err(errs, path, 0,
		    "tokens_file: readable or writable by others "
		    "(chmod o-rw it)");
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *name, *tok, *acc, *extra, *save = NULL;
		size_t len = strlen(line);

		lineno++;
		if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
			tok_err(errs, path, lineno, "line too long");
			bad++;
			while (fgets(line, sizeof(line), f) != NULL &&
			    strchr(line, '\n') == NULL)
				;
			continue;
		}
		name = strtok_r(line, " \t\r\n", &save);
		if (name == NULL || name[0] == '#')
			continue;
		tok = strtok_r(NULL, " \t\r\n", &save);
		acc = strtok_r(NULL, " \t\r\n", &save);
		extra = strtok_r(NULL, " \t\r\n", &save);
		if (tok == NULL || acc == NULL || extra != NULL) {
			tok_err(errs, path, lineno,
			    "expected NAME TOKEN rw|ro, three fields");
			bad++;
			continue;
		}
		if (!token_name_ok(name)) {
			tok_err(errs, path, lineno,
			    "bad name: 1 to %d letters, digits, '.', '_', "
			    "'-' or '@'",
			    API_TOKEN_NAME_MAX - 1);
			bad++;
			continue;
		}
		if (!token_ok(tok)) {
			tok_err(errs, path, lineno,
			    "token of %s: %d to %d printable characters, "
			    "no spaces",
			    name, API_TOKEN_MIN, API_TOKEN_MAX - 1);
			bad++;
			continue;
		}
		if (strcmp(acc, "rw") != 0 && strcmp(acc, "ro") != 0) {
			tok_err(errs, path, lineno,
			    "access of %s: expected rw or ro", name);
			bad++;
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			if (strcmp(t[k].name, name) == 0) {
				tok_err(errs, path, lineno,
				    "name %s given twice", name);
				bad++;
				goto next;
			}
			if (strcmp(t[k].token, tok) == 0) {
				tok_err(errs, path, lineno,
				    "the token of %s is also %s's", name,
				    t[k].name);
				bad++;
				goto next;
			}
		}
		if (n == API_TOKENS_MAX) {
			tok_err(errs, path, lineno, "more than %d tokens",
			    API_TOKENS_MAX);
			bad++;
			break;
		}
		if ((grown = realloc(t, (n + 1) * sizeof(*t))) == NULL) {
			rc = AQ_ERR_NOMEM;
			tok_err(errs, path, lineno, "out of memory");
			goto out;
		}
		t = grown;
		memset(&t[n], 0, sizeof(t[n]));
		snprintf(t[n].name, sizeof(t[n].name), "%s", name);
		memcpy(t[n].token, tok, strlen(tok));
		t[n].rw = strcmp(acc, "rw") == 0;
		n++;
	next:
		api_wipe(line, sizeof(line));
	}
	if (ferror(f)) {
		tok_err(errs, path, 0, "tokens_file: cannot read it");
		goto out;
	}
	if (bad > 0)
		goto out;
	*out = t;
	*nout = n;
	t = NULL;
	n = 0;
	rc = AQ_OK;
out:
	api_wipe(line, sizeof(line));
	if (t != NULL)
		api_wipe((char *)t, n * sizeof(*t));
	free(t);
	if (f != NULL)
		fclose(f);
	return rc;
}

static bool
token_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= API_TOKEN_NAME_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || strchr("._-@", *s) != NULL))
			return false;
	return true;
}

static bool
token_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < API_TOKEN_MIN || n >= API_TOKEN_MAX)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int
api_check(const struct conf *c, FILE *errs)
{
	struct api_token *t = NULL;
	size_t n = 0;
	int rc = AQ_OK;

	if (c->http_read_auth && c->http_tokens_file[0] == '\0') {
		conf_errf(errs, c->path, 0,
		    "[http] read_auth = yes needs tokens_file");
		rc = AQ_ERR_INVAL;
	}
	if (c->http_tokens_file[0] != '\0' &&
	    api_tokens_load(c->http_tokens_file, errs, &t, &n) != AQ_OK)
		rc = AQ_ERR_INVAL;
	if (t != NULL)
		api_wipe((char *)t, n * sizeof(*t));
	free(t);
	return rc;
}

/*
 * The token an "Authorization: Bearer TOKEN" header names, or NULL.  Every
 * token is compared whole, and the match picked without a branch, so the
 * time taken says nothing of how much of a token was right.
 */
static const struct api_token *
token_find(const struct api *a, const char *h)
{
	char given[API_TOKEN_MAX];
	size_t len, hit = SIZE_MAX;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	for (h += 7; *h == ' '; h++)
		;
	len = strlen(h);
	while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(given))
		return NULL;
	memset(given, 0, sizeof(given));
	memcpy(given, h, len);
	for (size_t k = 0; k < a->ntokens; k++) {
		const volatile char *p = a->tokens[k].token;
		unsigned int d = 0;
		size_t m;

		for (size_t i = 0; i < API_TOKEN_MAX; i++)
			d |= (unsigned char)(given[i] ^ p[i]);
		m = (size_t)0 - (size_t)(d == 0);
		hit = (hit & ~m) | (k & m);
	}
	api_wipe(given, sizeof(given));
	return hit == SIZE_MAX ? NULL : &a->tokens[hit];
}

/* Reads of /api/v1 (but its OpenAPI document) when read_auth is on. */
static bool
read_guarded(enum route route)
{
	const char *const *pat;

	(void)api_routes(&pat);
	return route != R_OPENAPI && strncmp(pat[route], "/api/v1/", 8) == 0;
}

/*
 * Lets the request through (r->who set when a token came), or sets the
 * 401 or 403 answer.  Writes always need an rw token.
 */
int
api_authorize(struct req *r, bool write)
{
	const struct api_token *t;

	if (!write && !(r->conf->http_read_auth && read_guarded(r->route)))
		return AQ_OK;
	t = token_find(r->a,
	    MHD_lookup_connection_value(
		r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
	if (t == NULL)
		return r->a->ntokens == 0
		    ? api_fail(r, MHD_HTTP_UNAUTHORIZED,
			  "no tokens are configured ([http] tokens_file)")
		    : api_fail(r, MHD_HTTP_UNAUTHORIZED,
			  "a known bearer token is needed "
			  "(Authorization: Bearer TOKEN)");
	if (write && !t->rw)
		return api_fail(
		    r, MHD_HTTP_FORBIDDEN, "token %s is read-only", t->name);
	r->who = t->name;
	return AQ_OK;
}
