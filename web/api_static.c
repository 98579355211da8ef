/*
 * api_static: the dashboard's files (api_static.h).
 */
#include "web/api_static.h"

#include <sys/stat.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#define API_FILE_NAME_MAX 64

static const char *content_type(const char *name);
static bool file_name_ok(const char *name);

static const struct {
	const char *ext, *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".json", "application/json"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

int
api_static(struct req *r)
{
	const char *name = r->route == R_STATIC ? r->param : "index.html";
	char path[CONF_PATH_MAX + API_FILE_NAME_MAX + 16];
	struct stat sb;
	int fd = -1, n, rc;

	/*
	 * One segment of plain characters, under static/: nothing can name a
	 * path outside it.  The file must not be a link, and O_NONBLOCK keeps
	 * a FIFO from hanging the thread.
	 */
	if (r->escaped) {
		rc = api_fail(r, MHD_HTTP_BAD_REQUEST, "bad path");
		goto out;
	}
	n = snprintf(
	    path, sizeof(path), "%s/static/%s", r->conf->web_root, name);
	if (!file_name_ok(name) || n < 0 || (size_t)n >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) <
		0 ||
	    fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = api_fail(r, MHD_HTTP_NOT_FOUND, "not found");
		goto out;
	}
	r->code = MHD_HTTP_OK;
	r->fd = fd;
	r->size = (uint64_t)sb.st_size;
	r->ctype = content_type(name);
	fd = -1;
	rc = AQ_OK;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static bool
file_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > API_FILE_NAME_MAX || name[0] == '.' ||
	    strstr(name, "..") != NULL)
		return false;
	for (size_t k = 0; k < n; k++) {
		char ch = name[k];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
			ch == '-'))
			return false;
	}
	return true;
}

static const char *
content_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	for (size_t k = 0; dot != NULL &&
	     k < sizeof(content_types) / sizeof(content_types[0]);
	     k++)
		if (strcmp(dot, content_types[k].ext) == 0)
			return content_types[k].type;
	return "application/octet-stream";
}
