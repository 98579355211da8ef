/*
 * fuzz_http: libFuzzer harness for api_parse_target(), the HTTP request
 * target parser that stands between a client and the routes and static
 * files.  The input, cut at its first NUL, is parsed as a target.  A target
 * accepted must leave a path that starts with '/', holds no control
 * character, no NUL before its end and no "." or ".." segment; a route in
 * range with a parameter of one segment; query parameters inside the
 * buffer.  Spelt again with every byte escaped, it must parse to the same
 * path, route, parameter and query.  A broken property traps, so that
 * libFuzzer reports it as a crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/api.h"

/* Escaping triples a byte: room for a target of API_TARGET_MAX bytes. */
#define SPELT_MAX (3 * API_TARGET_MAX + 8)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *target, const struct api_target *t);
static size_t escape(char *out, size_t at, const char *s, bool slash);
static bool inside(const struct api_target *t, const char *p);

static struct api_target first, again;
static char input[API_TARGET_MAX + 64];
static char spelt[SPELT_MAX];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size < sizeof(input) - 1 ? size : sizeof(input) - 1;
	int rc;

	memcpy(input, data, n);
	input[n] = '\0';
	rc = api_parse_target(input, &first);
	if (rc != 0) {
		if (rc != 400 && rc != 414)
			__builtin_trap();
		if ((rc == 414) != (strlen(input) >= API_TARGET_MAX))
			__builtin_trap();
		return 0;
	}
	check(input, &first);
	return 0;
}

static void
check(const char *target, const struct api_target *t)
{
	const char *const *pats;
	size_t nroutes = api_routes(&pats), len = strlen(t->path), at;

	(void)target;
	if (t->path[0] != '/' || len >= API_TARGET_MAX)
		__builtin_trap();
	for (const char *p = t->path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			__builtin_trap();
	if (strstr(t->path, "/../") != NULL || strstr(t->path, "/./") != NULL)
		__builtin_trap();
	if ((len >= 2 && strcmp(t->path + len - 2, "/.") == 0) ||
	    (len >= 3 && strcmp(t->path + len - 3, "/..") == 0))
		__builtin_trap();
	if (t->route < -1 || t->route >= (int)nroutes)
		__builtin_trap();
	if (strlen(t->param) >= API_PARAM_MAX ||
	    strchr(t->param, '/') != NULL ||
	    (t->route >= 0 && strchr(pats[t->route], '{') != NULL &&
		t->param[0] == '\0'))
		__builtin_trap();
	if (t->nargs > API_ARGS_MAX)
		__builtin_trap();
	for (size_t k = 0; k < t->nargs; k++)
		if (!inside(t, t->args[k].key) ||
		    (t->args[k].value != NULL && !inside(t, t->args[k].value)))
			__builtin_trap();

	/* The same target with every byte escaped ('/' of the path aside). */
	at = escape(spelt, 0, t->path, false);
	for (size_t k = 0; k < t->nargs && at + 8 < SPELT_MAX; k++) {
		spelt[at++] = k == 0 ? '?' : '&';
		at = escape(spelt, at, t->args[k].key, true);
		if (t->args[k].value != NULL && at + 8 < SPELT_MAX) {
			spelt[at++] = '=';
			at = escape(spelt, at, t->args[k].value, true);
		}
	}
	spelt[at] = '\0';
	if (at >= API_TARGET_MAX) {
		if (api_parse_target(spelt, &again) != 414)
			__builtin_trap();
		return;
	}
	if (api_parse_target(spelt, &again) != 0 ||
	    strcmp(again.path, t->path) != 0 || again.route != t->route ||
	    strcmp(again.param, t->param) != 0 || again.nargs != t->nargs)
		__builtin_trap();
	for (size_t k = 0; k < t->nargs; k++)
		if (strcmp(again.args[k].key, t->args[k].key) != 0 ||
		    (again.args[k].value == NULL) !=
			(t->args[k].value == NULL) ||
		    (t->args[k].value != NULL &&
			strcmp(again.args[k].value, t->args[k].value) != 0))
			__builtin_trap();
}

/* %XX for every byte of s, but '/' when slash is false (a path). */
static size_t
escape(char *out, size_t at, const char *s, bool slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0' && at + 4 < SPELT_MAX; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '/' && !slash) {
			out[at++] = '/';
			continue;
		}
		out[at++] = '%';
		out[at++] = hex[ch >> 4];
		out[at++] = hex[ch & 15];
	}
	return at;
}

static bool
inside(const struct api_target *t, const char *p)
{
	return p >= t->buf && p < t->buf + sizeof(t->buf) &&
	    memchr(p, '\0', (size_t)(t->buf + sizeof(t->buf) - p)) != NULL;
}
