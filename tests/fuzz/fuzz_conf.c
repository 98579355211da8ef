/*
 * fuzz_conf: libFuzzer harness for the configuration parser.  conf_load()
 * reads a path, so each input is written to in.conf in a directory of the
 * harness's own (made once, removed at exit), beside inc.conf, a fragment
 * for relative includes to find.  Inputs whose include lines hold a '/'
 * are skipped: they could name any file of the machine (a FIFO, /dev/zero)
 * and hang the run.  So are those with more than two include lines: a file
 * that includes itself k times is read k^8 times before the depth limit
 * stops it, which only its author can do to the daemon.
 *
 * Properties: the parse must not crash or leak (libFuzzer's leak check
 * follows every input); a configuration it accepts has subscriptions
 * within bounds and known decoders, at least one cell, areas whose cells
 * exist, registered sensors whose cells exist, grid cells that are found
 * by their own ids and at their own centres, and backoffs in order.  A
 * broken property traps, so that libFuzzer reports it as a crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/conf.h"
#include "sensors/decode.h"

#define CHECK_CELLS_MAX 2000 /* cells looked up per configuration */
#define INCLUDES_MAX 2

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cleanup(void);
static bool includes_safe(const uint8_t *data, size_t size);
static void check_conf(const struct conf *c);

static char dir[64], path[128], inc[128];
static FILE *devnull;
static const struct conf_hooks hooks = {decoder_from_name};

static const char fragment[] = "[ingest]\nlateness = 7200\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *f;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/fuzz_conf.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/in.conf", dir);
	snprintf(inc, sizeof(inc), "%s/inc.conf", dir);
	if ((f = fopen(inc, "w")) == NULL)
		abort();
	fputs(fragment, f);
	if (fclose(f) != 0 || (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	atexit(cleanup);
	return 0;
}

static void
cleanup(void)
{
	unlink(path);
	unlink(inc);
	rmdir(dir);
	if (devnull != NULL)
		fclose(devnull);
}

/* No include line with a '/', and at most INCLUDES_MAX of them.  Lines
 * are cut where conf's reader cuts them (line feeds); a line holding
 * "include" anywhere counts, which is more than the parser would take. */
static bool
includes_safe(const uint8_t *data, size_t size)
{
	static const char word[] = "include";
	const size_t wl = sizeof(word) - 1;
	int n = 0;

	for (size_t i = 0; i < size;) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		bool has = false, slash = false;

		for (size_t k = i; k < end; k++) {
			slash |= data[k] == '/';
			has |= end - k >= wl && memcmp(data + k, word, wl) == 0;
		}
		if (has && (slash || ++n > INCLUDES_MAX))
			return false;
		i = end + 1;
	}
	return true;
}

static void
check_conf(const struct conf *c)
{
	if (c->nsubs < 1 || c->nsubs > CONF_SUBS_MAX || c->ncells < 1 ||
	    c->mqtt_backoff_max < c->mqtt_backoff_min)
		__builtin_trap();
	for (int k = 0; k < c->nsubs; k++)
		if (c->subs[k].decoder < 0 ||
		    c->subs[k].decoder >= DECODER_COUNT ||
		    strnlen(c->subs[k].filter, sizeof(c->subs[k].filter)) ==
			sizeof(c->subs[k].filter))
			__builtin_trap();
	for (uint32_t a = 0; a < c->nareas; a++)
		for (uint32_t k = 0; k < c->areas[a].ncells; k++)
			if (c->areas[a].cells[k] >= c->ncells)
				__builtin_trap();
	for (uint32_t s = 0; s < c->nsensors; s++)
		if (strnlen(c->sensors[s].id, sizeof(c->sensors[s].id)) == 0 ||
		    (c->sensors[s].cell[0] != '\0' &&
			conf_cell_find(c, c->sensors[s].cell) < 0))
			__builtin_trap();
	for (uint32_t i = 0; i < c->ncells && i < CHECK_CELLS_MAX; i++) {
		const struct conf_cell *cell = &c->cells[i];

		if (conf_cell_find(c, cell->id) < 0)
			__builtin_trap();
		if (cell->row < 0)
			continue;
		if (conf_cell_find(c, cell->id) != (int64_t)i ||
		    conf_cell_at(c, cell->lat, cell->lon) != (int64_t)i)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL;
	FILE *f;

	if (!includes_safe(data, size))
		return 0;
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	if (conf_load(path, &hooks, &c, devnull) == AQ_OK) {
		if (c == NULL)
			__builtin_trap();
		check_conf(c);
		conf_free(c);
	} else if (c != NULL) {
		__builtin_trap(); /* written only on success */
	}
	return 0;
}
