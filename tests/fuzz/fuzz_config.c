/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz target "config": the daemon's two ways to be configured.
 *
 * Input starting with a NUL byte: the rest is an rbldnsd command line,
 * split at NUL bytes into argv (argv[0] is "rbldnsd"), fed to
 * compat_detect(), compat_parse() and, when it parses, compat_statedir()
 * (resolverd/compat.c, drop-in mode).  Any other input is an INI file
 * for conf_load() (resolverd/conf.c), written to a temporary file first.
 *
 * Checked: a failure returns a negative errno and a message (for
 * conf_load one that starts with the file name, as every config message
 * must name file:line); a success returns a complete config (at least
 * one listening address unless it only dumps the zones, a database
 * directory, one interval per dataset) that conf_free() releases
 * (LeakSanitizer checks the rest).
 *
 * getaddrinfo() is wrapped (-Wl,--wrap=getaddrinfo) to numeric hosts
 * only, so a fuzzed "listen = some.name" never queries DNS: the run stays
 * fast, offline and deterministic.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "conf.h"
#include "fuzz.h"

#define ARGV_MAX 256

int __real_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res);

int
__wrap_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo h;

	if (hints != NULL)
		h = *hints;
	else
		memset(&h, 0, sizeof(h));
	h.ai_flags |= AI_NUMERICHOST;
	return __real_getaddrinfo(node, service, &h, res);
}

static char tmpdir[] = "/tmp/fuzz-config.XXXXXX";
static char confpath[sizeof(tmpdir) + 16];
static FILE *devnull;

static void
cleanup(void)
{
	unlink(confpath);
	rmdir(tmpdir);
}

static void
setup(void)
{
	FUZZ_SETUP(mkdtemp(tmpdir) != NULL, strerror(errno));
	snprintf(confpath, sizeof(confpath), "%s/fuzz.conf", tmpdir);
	atexit(cleanup);
	FUZZ_SETUP((devnull = fopen("/dev/null", "w")) != NULL, "/dev/null");
}

static void
check_config(const struct config *c)
{
	size_t i;

	/*
	 * Not "nlisten >= 1" alone: rbldnsd -d (c->dump) only prints the
	 * zones and exits, binding nothing (main.c dump_zones), so
	 * compat_parse rightly accepts it without -b.
	 */
	FUZZ_CHECK(c->nlisten >= 1 || c->dump);
	FUZZ_CHECK(c->nlisten <= CFG_LISTEN_MAX);
	for (i = 0; i < c->nlisten; i++) {
		FUZZ_CHECK(c->listen[i].len > 0 &&
		    c->listen[i].len <= sizeof(c->listen[i].ss));
		FUZZ_CHECK(memchr(c->listen[i].text, '\0',
		               sizeof(c->listen[i].text)) != NULL);
	}
	FUZZ_CHECK(c->threads >= 1 && c->threads <= CFG_THREADS_MAX);
	FUZZ_CHECK(c->edns_size >= 512 && c->edns_size <= CFG_EDNS_MAX);
	FUZZ_CHECK(
	    c->ttl_min == 0 || c->ttl_max == 0 || c->ttl_min <= c->ttl_max);
	FUZZ_CHECK(
	    c->nspecs == 0 || (c->specs != NULL && c->intervals != NULL));
	for (i = 0; i < c->nspecs; i++) {
		FUZZ_CHECK(c->specs[i].zone != NULL);
		FUZZ_CHECK(c->specs[i].type < ZN_NTYPES);
		FUZZ_CHECK(c->specs[i].nfiles >= 1);
	}
	if (c->version != NULL)
		FUZZ_CHECK(strlen(c->version) <= 255);
}

static void
fuzz_ini(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	char err[CFG_ERR_LEN];
	FILE *f;
	int rc;

	FUZZ_SETUP((f = fopen(confpath, "w")) != NULL, strerror(errno));
	FUZZ_SETUP(fwrite(data, 1, size, f) == size && fclose(f) == 0,
	    "cannot write the config file");
	memset(err, 0x5a, sizeof(err));
	rc = conf_load(confpath, &c, err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		/* "file:line: what" or "file: what" */
		FUZZ_CHECK(strncmp(err, confpath, strlen(confpath)) == 0 &&
		    err[strlen(confpath)] == ':');
		return;
	}
	FUZZ_CHECK(c != NULL);
	FUZZ_CHECK(!c->dropin);
	FUZZ_CHECK(c->path != NULL && strcmp(c->path, confpath) == 0);
	FUZZ_CHECK(c->database != NULL);
	check_config(c);
	conf_free(c);
}

static void
fuzz_argv(const uint8_t *data, size_t size)
{
	char *argv[ARGV_MAX + 2];
	struct config *c = NULL;
	char err[CFG_ERR_LEN], *sd;
	static char x[] = "x", *reset_argv[] = { x, NULL };
	FILE *saved;
	size_t i, start, argc = 1;
	int rc;

	FUZZ_SETUP((argv[0] = strdup("rbldnsd")) != NULL, "out of memory");
	/* every argument in an allocation of its own size */
	for (i = 0, start = 0; i <= size && argc <= ARGV_MAX; i++) {
		if (i < size && data[i] != '\0')
			continue;
		FUZZ_SETUP((argv[argc] = malloc(i - start + 1)) != NULL,
		    "out of memory");
		memcpy(argv[argc], data + start, i - start);
		argv[argc][i - start] = '\0';
		argc++;
		start = i + 1;
	}
	argv[argc] = NULL;

	FUZZ_CHECK(compat_detect((int)argc, argv));
	/*
	 * glibc's getopt keeps a pointer into the previous argv (a cluster
	 * like "-dn" left half read), which compat_parse's "optind = 1" does
	 * not reset: a full reset (optind = 0) first, so one input does not
	 * read the freed argv of the one before.
	 */
	optind = 0;
	(void)getopt(1, reset_argv, "");
	saved = stdout;
	stdout = devnull; /* -h prints the help */
	memset(err, 0x5a, sizeof(err));
	rc = compat_parse((int)argc, argv, &c, err, sizeof(err));
	stdout = saved;
	if (rc < 0) {
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(err[0] != '\0');
	} else if (rc == 1) {
		FUZZ_CHECK(c == NULL);
	} else {
		FUZZ_CHECK(rc == 0 && c != NULL);
		FUZZ_CHECK(c->dropin && c->path == NULL);
		FUZZ_CHECK(c->nlisten <= COMPAT_LISTEN_MAX);
		FUZZ_CHECK(c->nspecs >= 1);
		check_config(c);
		sd = compat_statedir(c);
		FUZZ_CHECK(sd != NULL && sd[0] != '\0');
		free(sd);
		conf_free(c);
	}
	for (i = 0; i < argc; i++)
		free(argv[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size > 0 && data[0] == '\0')
		fuzz_argv(data + 1, size - 1);
	else
		fuzz_ini(data, size);
	return 0;
}
