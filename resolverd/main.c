/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * resolverd: command line, wiring, privileges, the main event loop and
 * teardown.  Two front ends build the same struct config:
 *
 *   resolverd -c FILE [-d] [-n]          configuration file mode
 *   resolverd [rbldnsd options] zone:type:file[,file...] ...
 *                                        rbldnsd drop-in mode
 *
 * Startup: bind every socket, connect to systemd's notification socket,
 * daemonize (the parent waits until the child serves), write the pid
 * file, chroot/chdir, open the database, then drop to the server user
 * (no supplementary groups, no capabilities) before any packet is read;
 * open the query log, import the datasets (a restart whose files are
 * unchanged reads none of them) and start the workers.  The main thread
 * then handles signals (HUP reload, USR1/USR2 statistics, TERM/INT
 * exit), the once-a-second tick (file checks, query log flush, stats
 * file) and imports; workers only answer.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "acct.h"
#include "compat.h"
#include "conf.h"
#include "control.h"
#include "http.h"
#include "import.h"
#include "listen.h"
#include "log.h"
#include "qlog.h"
#include "query.h"
#include "stats.h"
#include "upstream.h"
#include "watch.h"
#include "zones.h"

/* Everything the main thread owns. */
struct resolverd {
	struct config *conf;
	struct event_base *base;
	struct event *ev_hup, *ev_term, *ev_int, *ev_usr1, *ev_usr2, *ev_tick;
	struct listen *listen;
	struct zn_db *db;
	struct import *imp;
	struct watch *watch; /* the dataset files, or NULL */
	struct qlog *qlog;
	struct stats *stats;
	char *dbdir;
	uid_t uid;
	gid_t gid;
	bool drop;
	int ready_fd; /* to the waiting parent, or -1 */
	int null_fd; /* /dev/null, opened before a chroot, or -1 */
	int notify_fd; /* systemd's $NOTIFY_SOCKET, or -1 */
	bool daemonized;
	time_t next_stats;
	struct acct *acct; /* accounting, ACLs, rate limits (acct.c) */
	struct control *ctl; /* the control socket, or NULL */
	time_t next_acct_save;
	struct upstream *up; /* forwarding and its cache (upstream.c) */
	struct query_fwd fwd[QUERY_FWD_MAX]; /* the query_cfg's zones */
	struct http *http; /* /metrics and /healthz, or NULL */
	struct rd_status status; /* for them and "resolverctl zones" */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: resolverd -c FILE [-d] [-n] [-v]\n"
	    "       resolverd [rbldnsd options] -b addr[/port] "
	    "zone:type:file[,file...] ...  (resolverd -b x -h for help)\n");
	exit(2);
}

/* The imports keep the zones with mode = feed: zonesync writes them. */
static int
keep_feed_zones(struct import *im, const struct config *c)
{
	const char **names;
	size_t i, n = 0, nff = 0;
	int rc;

	if ((names = calloc(c->nfeeds + 1, sizeof(*names))) == NULL)
		return -ENOMEM;
	/* mode = feed first, then the files-from zones from the end */
	for (i = 0; i < c->nfeeds; i++)
		if (!c->feeds[i].files_from)
			names[n++] = c->feeds[i].name;
		else
			names[c->nfeeds - ++nff] = c->feeds[i].name;
	rc = import_keep(im, names, n, names + n, nff);
	free(names);
	return rc;
}

static struct query_cfg
query_cfg_of(const struct config *c, struct query_fwd *fwd)
{
	struct query_cfg qc;
	size_t i, j;

	memset(&qc, 0, sizeof(qc));
	/* the zones with upstreams (listen_set_cfg copies them) */
	for (i = 0; i < c->nfzones && i < QUERY_FWD_MAX; i++) {
		const char *d;

		memset(&fwd[i], 0, sizeof(fwd[i]));
		snprintf(fwd[i].name, sizeof(fwd[i].name), "%s",
		    c->fzones[i].name);
		fwd[i].nlabels = 1;
		for (d = fwd[i].name; (d = strchr(d, '.')) != NULL; d++)
			fwd[i].nlabels++;
		fwd[i].mode = c->fzones[i].mode == CFG_FORWARD ?
		    QUERY_FWD_FORWARD :
		    QUERY_FWD_FALLBACK;
		fwd[i].grace = c->fzones[i].grace;
	}
	/*
	 * then the zones with mode = feed or files-from: SERVFAIL until
	 * zonesync has written or fetched them (query.c answers from the
	 * mirror once the zone is stored)
	 */
	for (j = 0; j < c->nfeeds && i < QUERY_FWD_MAX; j++) {
		const char *d;

		memset(&fwd[i], 0, sizeof(fwd[i]));
		snprintf(fwd[i].name, sizeof(fwd[i].name), "%s",
		    c->feeds[j].name);
		fwd[i].nlabels = 1;
		for (d = fwd[i].name; (d = strchr(d, '.')) != NULL; d++)
			fwd[i].nlabels++;
		fwd[i].mode = QUERY_FWD_FEED;
		i++;
	}
	qc.fwd = fwd;
	qc.nfwd = i;
	qc.ttl_def = c->ttl_def;
	qc.ttl_min = c->ttl_min;
	qc.ttl_max = c->ttl_max;
	qc.lazy = c->lazy;
	qc.version = c->version;
	qc.edns_size = c->edns_size;
	return qc;
}

/* Who we serve as: resolved before chroot, applied after. */
static void
pick_user(struct resolverd *rd)
{
	const struct config *c = rd->conf;
	const char *name = c->user;
	struct passwd *pw;
	struct group *gr;
	char *end;

	if (geteuid() != 0) {
		if (name != NULL &&
		    ((pw = getpwnam(name)) == NULL || pw->pw_uid != geteuid()))
			log_warnx("not started as root: staying uid %u "
			          "(user %s ignored)",
			    (unsigned)geteuid(), name);
		return;
	}
	if (name == NULL) {
		const char *def = c->dropin ? "rbldns" : RD_USER;

		name = getpwnam(def) != NULL ? def : "nobody";
	}
	if ((pw = getpwnam(name)) != NULL) {
		rd->uid = pw->pw_uid;
		rd->gid = pw->pw_gid;
	} else {
		unsigned long n;

		errno = 0;
		n = strtoul(name, &end, 10);
		if (errno != 0 || *end != '\0' || end == name)
			fatalx("user %s: no such user", name);
		rd->uid = (uid_t)n;
		pw = getpwuid(rd->uid);
		rd->gid = pw != NULL ? pw->pw_gid : (gid_t)n;
	}
	if (c->group != NULL) {
		if ((gr = getgrnam(c->group)) != NULL)
			rd->gid = gr->gr_gid;
		else {
			unsigned long n;

			errno = 0;
			n = strtoul(c->group, &end, 10);
			if (errno != 0 || *end != '\0' || end == c->group)
				fatalx("group %s: no such group", c->group);
			rd->gid = (gid_t)n;
		}
	}
	if (rd->uid == 0)
		fatalx("user %s: refusing to serve queries as root", name);
	rd->drop = true;
}

/* Clear every capability set of the process; 0 or -1 (errno). */
static int
clear_caps(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
		0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return -1;
	return (int)syscall(SYS_capset, &hdr, data);
}

/* True if the process holds any effective or permitted capability. */
static bool
has_caps(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3,
		0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) == -1)
		return true;
	return (data[0].effective | data[1].effective | data[0].permitted |
	           data[1].permitted) != 0;
}

/*
 * Become the server user: no supplementary groups, real, effective and
 * saved ids all the user's, no capabilities (nor any to regain through
 * exec).  Started as another user, keep it but shed the capabilities it
 * was given (say, to bind port 53).
 */
static void
drop_privileges(struct resolverd *rd)
{
	int cap;

	if (rd->drop) {
		/* the bounding set too, while we may (CAP_SETPCAP) */
		for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1) {
				/* no CAP_SETPCAP (a container): what matters
				 * is checked below */
				log_debug("capability bounding set: %s",
				    strerror(errno));
				break;
			}
		if (setgroups(0, NULL) == -1)
			fatal("setgroups");
		if (setresgid(rd->gid, rd->gid, rd->gid) == -1)
			fatal("setresgid %u", (unsigned)rd->gid);
		if (setresuid(rd->uid, rd->uid, rd->uid) == -1)
			fatal("setresuid %u", (unsigned)rd->uid);
		if (geteuid() == 0 || getuid() == 0 || setuid(0) != -1)
			fatalx("still root after dropping privileges");
	}
	if (has_caps() && clear_caps() == -1)
		fatal("cannot clear the capabilities");
	if (has_caps())
		fatalx("still holding capabilities after dropping them");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_NO_NEW_PRIVS)");
}

/*
 * -n: the daemon reads the dataset files after it became its user, so
 * check them as that user (in a child process), not as root.
 */
static int
check_files_as_server(struct config *c, char *err, size_t errlen)
{
	struct resolverd rd;
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	int p[2], st;

	if (geteuid() != 0)
		return conf_check_files(c, err, errlen);
	memset(&rd, 0, sizeof(rd));
	rd.conf = c;
	pick_user(&rd); /* exits on an unknown user, as the daemon would */
	if (pipe(p) == -1 || (pid = fork()) == -1) {
		snprintf(err, errlen, "cannot check the files: %s",
		    strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		if (rd.drop &&
		    (setgroups(0, NULL) == -1 ||
		        setresgid(rd.gid, rd.gid, rd.gid) == -1 ||
		        setresuid(rd.uid, rd.uid, rd.uid) == -1))
			snprintf(err, errlen, "cannot become uid %u: %s",
			    (unsigned)rd.uid, strerror(errno));
		else if (conf_check_files(c, err, errlen) == 0)
			_exit(0);
		if (write(p[1], err, strlen(err)) == -1)
			_exit(2);
		_exit(1);
	}
	close(p[1]);
	err[0] = '\0';
	while (len + 1 < errlen &&
	    ((n = read(p[0], err + len, errlen - len - 1)) > 0 ||
	        (n == -1 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	err[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (len > 0 && rd.drop && strstr(err, strerror(EACCES)) != NULL) {
		char who[64];

		snprintf(who, sizeof(who), " (as uid %u)", (unsigned)rd.uid);
		if (len + strlen(who) < errlen)
			strcat(err, who);
	} else if (len == 0)
		snprintf(err, errlen, "checking the files failed");
	return -1;
}

/*
 * mkdir -p.  Made by root, they stay root's: the database in them is
 * opened before the privileges go, and nothing is created there after.
 */
static void
make_dir(const char *path)
{
	char *p, *s;

	if ((p = strdup(path)) == NULL)
		fatal("strdup");
	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char save = *s;

		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			fatal("%s: mkdir", p);
		*s = save;
		if (save == '\0')
			break;
	}
	free(p);
}

/*
 * Fork into the background.  The parent stays until the child says it
 * serves (exit 0) or fails (exit 1), so "resolverd ... && next" works.
 */
static int
daemonize(void)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe2(fds, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) == 1 && c == 'k')
			_exit(0);
		_exit(1);
	}
	close(fds[0]);
	if (setsid() == -1)
		fatal("setsid");
	return fds[1];
}

/*
 * systemd's notification socket: a datagram AF_UNIX socket at the path in
 * $NOTIFY_SOCKET ('@' for the abstract namespace), connected now so that
 * notifications still reach it from a chroot and as the server user.
 */
static int
notify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return -1;
	len = strlen(path);
	if (len < 2 || len >= sizeof(sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET: not a usable socket name");
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("NOTIFY_SOCKET: socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun,
	        offsetof(struct sockaddr_un, sun_path) + len) == -1) {
		log_warn("NOTIFY_SOCKET %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Tell systemd something ("READY=1", ...), if it listens. */
static void notify(struct resolverd *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
notify(struct resolverd *rd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (rd->notify_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	/* nobody listening (any more) is not our problem */
	if (send(rd->notify_fd, buf, (size_t)n, MSG_NOSIGNAL) == -1)
		log_debug("NOTIFY_SOCKET: send: %s", strerror(errno));
}

/* READY=1: at start (with our pid if we forked) and after a reload. */
static void
notify_ready(struct resolverd *rd)
{
	if (rd->daemonized)
		notify(rd, "READY=1\nMAINPID=%ld\nSTATUS=serving %zu datasets",
		    (long)getpid(), rd->conf->nspecs);
	else
		notify(rd, "READY=1\nSTATUS=serving %zu datasets",
		    rd->conf->nspecs);
}

static unsigned long long
monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Tell the waiting parent we serve.  Until now startup errors went to
 * stderr, where whoever started us sees them; from now on to syslog.
 */
static void
ready(struct resolverd *rd)
{
	notify_ready(rd);
	if (rd->ready_fd < 0)
		return;
	if (rd->null_fd != -1) {
		dup2(rd->null_fd, STDIN_FILENO);
		dup2(rd->null_fd, STDOUT_FILENO);
		dup2(rd->null_fd, STDERR_FILENO);
		if (rd->null_fd > STDERR_FILENO)
			close(rd->null_fd);
		rd->null_fd = -1;
	}
	log_init("resolverd", 0, 0, rd->conf->facility);
	if (write(rd->ready_fd, "k", 1) != 1)
		log_warn("cannot tell the parent process we are ready");
	close(rd->ready_fd);
	rd->ready_fd = -1;
}

static void
write_pidfile(const char *path)
{
	FILE *f;

	if ((f = fopen(path, "we")) == NULL)
		fatal("%s", path);
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0)
		fatal("%s", path);
}

static void
write_stats(struct resolverd *rd, time_t now, bool bare)
{
	const struct config *c = rd->conf;
	FILE *f;

	if (c->stats_file == NULL)
		return;
	if ((f = fopen(c->stats_file, "ae")) == NULL) {
		log_warn("%s", c->stats_file);
		return;
	}
	if (stats_write(rd->stats, f, now, c->stats_delta, bare) != 0)
		log_warnx("%s: write error", c->stats_file);
	if (fclose(f) != 0)
		log_warn("%s", c->stats_file);
}

/* True if the database holds every zone of the specs (a restart). */
static bool
zones_present(struct zn_db *db, const struct config *c)
{
	const struct zn_zone *z;
	struct zn_view *v;
	struct zn_err err;
	size_t n, i, j;
	bool all = true;

	if (zn_view_open(db, &v, &err) != 0) {
		log_warnx("database: %s", err.msg);
		return false;
	}
	z = zn_view_zones(v, &n);
	for (i = 0; i < c->nspecs && all; i++) {
		if (c->specs[i].zone[0] == '\0')
			continue;
		for (j = 0; j < n; j++)
			if (strcasecmp(z[j].name, c->specs[i].zone) == 0)
				break;
		all = j < n;
	}
	zn_view_close(v);
	return all;
}

/*
 * Open the database before the privileges go: the server user then works
 * through the descriptors LMDB holds and need not own the files (LMDB
 * opens no file after this).
 */
static struct zn_db *
open_db(const char *dir)
{
	struct zn_db *db;
	struct zn_err err;

	if (zn_db_open(dir, 0, 0, &db, &err) != 0)
		fatalx("database %s: %s", dir, err.msg);
	return db;
}

/* "resolverctl zones" */
static void
write_zone_states(void *arg, FILE *f, bool json)
{
	struct resolverd *rd = arg;

	zstates_write(rd->db, rd->acct, &rd->status, f, json);
}

/* import_run, noting the outcome for /healthz and "zones". */
static int
rd_import(struct resolverd *rd, bool force, time_t now)
{
	int rc = import_run(rd->imp, force, now);

	/* a check that wrote nothing tells nothing (maybe none was due),
	 * unless every dataset was checked */
	if (rc < 0)
		rd->status.import_fail = (int64_t)now;
	else if (rc > 0 || force)
		rd->status.import_ok = (int64_t)now;
	return rc;
}

/* A watched dataset file changed: check the datasets now. */
static void
on_files_changed(void *arg)
{
	struct resolverd *rd = arg;

	import_due(rd->imp);
	rd_import(rd, false, time(NULL));
}

/* Watch the files of the datasets that are checked (-c, interval). */
static void
watch_files(struct resolverd *rd, const struct config *c)
{
	const char **paths = NULL;
	size_t i, j, n = 0, len = 0;

	if (rd->watch == NULL)
		return;
	for (i = 0; i < c->nspecs; i++)
		len += c->specs[i].nfiles;
	if (len > 0 && (paths = calloc(len, sizeof(*paths))) == NULL) {
		log_warnx("cannot watch the dataset files: out of memory");
		len = 0;
	}
	for (i = 0; i < c->nspecs && len > 0; i++)
		for (j = 0; j < c->specs[i].nfiles; j++)
			if (c->intervals[i] != 0)
				paths[n++] = c->specs[i].filev[j];
	log_debug("watching %zu of %zu dataset files for changes",
	    watch_set(rd->watch, paths, n), n);
	free(paths);
}

static void
initial_import(struct resolverd *rd)
{
	int rc = rd_import(rd, true, time(NULL));

	if (rc < 0 && !rd->conf->quick)
		fatalx("zone load failed, exiting (use -q to start anyway)");
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct resolverd *rd = arg;

	(void)what;
	log_info("signal %d: exiting", (int)sig);
	notify(rd, "STOPPING=1");
	event_base_loopexit(rd->base, NULL);
}

/*
 * Read the accounting, ACL and rate-limit keys of path (drop-in mode,
 * path NULL: allow everybody) and publish them.  0, or -1 with err.
 */
static int
acct_reload(struct resolverd *rd, const char *path, char *err, size_t errlen)
{
	struct acct_params *p;

	if (path == NULL)
		p = acct_params_new(true);
	else if (acct_params_load(path, &p, err, errlen) != 0)
		return -1;
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (rd->acct == NULL) {
		rd->acct = acct_new(p, rd->db, err, errlen);
		acct_params_unref(p);
		return rd->acct == NULL ? -1 : 0;
	}
	acct_set_params(rd->acct, p);
	acct_params_unref(p);
	return 0;
}

/* Store the counters; at most one message a minute on failure. */
static void
acct_store(struct resolverd *rd)
{
	static time_t last_err;
	char err[CFG_ERR_LEN];

	if (acct_save(rd->acct, err, sizeof(err)) != 0 &&
	    time(NULL) - last_err >= 60) {
		last_err = time(NULL);
		log_warnx("%s", err);
	}
}

/* Apply a new, valid config; the restart-only fields stay as they are. */
static void
apply_config(struct resolverd *rd, struct config *nc)
{
	struct config *oc = rd->conf;
	struct query_cfg qc;
	int rc;

	if (nc->nlisten != oc->nlisten ||
	    memcmp(nc->listen, oc->listen, sizeof(nc->listen)) != 0) {
		log_warnx("reload: listen: changes need a restart");
		memcpy(nc->listen, oc->listen, sizeof(nc->listen));
		nc->nlisten = oc->nlisten;
	}
	if (nc->threads != oc->threads) {
		log_warnx("reload: threads: changes need a restart");
		nc->threads = oc->threads;
	}
#define KEEP(field)                                                        \
	do {                                                               \
		if ((nc->field == NULL) != (oc->field == NULL) ||          \
		    (nc->field != NULL && strcmp(nc->field, oc->field)))   \
			log_warnx(                                         \
			    "reload: " #field ": changes need a restart"); \
		free(nc->field);                                           \
		nc->field = oc->field;                                     \
		oc->field = NULL;                                          \
	} while (0)
	KEEP(database);
	KEEP(user);
	KEEP(control);
#undef KEEP
	if (nc->cache_size != oc->cache_size) {
		log_warnx("reload: cache-size: changes need a restart");
		nc->cache_size = oc->cache_size;
	}
	rd->http = http_reload(rd->http, nc, oc, rd->base, rd->db, rd->acct,
	    rd->up, &rd->status);
	upstream_configure(rd->up, nc);
	qc = query_cfg_of(nc, rd->fwd);
	listen_set_cfg(rd->listen, &qc);
	if ((rc = qlog_open(rd->qlog, nc->query_log, nc->qlog_unbuffered)) !=
	    0) {
		errno = -rc;
		log_warn("reload: query-log %s (the old log stays open)",
		    nc->query_log);
	}
	if (import_set(rd->imp, nc->specs, nc->intervals, nc->nspecs) != 0 ||
	    keep_feed_zones(rd->imp, nc) != 0)
		log_warnx("reload: out of memory; the datasets stay as they "
		          "were");
	else
		watch_files(rd, nc);
	rd->conf = nc;
	rd->status.conf = nc;
	conf_free(oc);
	rd_import(rd, true, time(NULL));
	log_info("configuration reloaded");
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct resolverd *rd = arg;
	struct config *nc;
	char err[CFG_ERR_LEN];
	int rc;

	(void)sig;
	(void)what;
	notify(rd, "RELOADING=1\nMONOTONIC_USEC=%llu", monotonic_usec());
	if (rd->conf->dropin) {
		/* rbldnsd: re-check the files, reopen the query log */
		if (rd->conf->query_log != NULL &&
		    (rc = qlog_open(rd->qlog, rd->conf->query_log,
		         rd->conf->qlog_unbuffered)) != 0) {
			errno = -rc;
			log_warn("%s", rd->conf->query_log);
		}
		rd_import(rd, true, time(NULL));
	} else if (conf_load(rd->conf->path, &nc, err, sizeof(err)) != 0)
		log_warnx("reload: %s; keeping the old configuration", err);
	else if (acct_reload(rd, nc->path, err, sizeof(err)) != 0) {
		log_warnx("reload: %s; keeping the old configuration", err);
		conf_free(nc);
	} else
		apply_config(rd, nc);
	notify_ready(rd);
}

/* The control socket's "reload": as SIGHUP, but the caller hears why a
 * configuration was refused. */
static int
control_reload(void *arg, char *msg, size_t msglen)
{
	struct resolverd *rd = arg;
	struct config *nc;

	if (!rd->conf->dropin) {
		struct acct_params *ap;

		if (conf_load(rd->conf->path, &nc, msg, msglen) != 0)
			return -1;
		conf_free(nc);
		if (acct_params_load(rd->conf->path, &ap, msg, msglen) != 0)
			return -1;
		acct_params_unref(ap);
	}
	on_hup(SIGHUP, 0, rd);
	return 0;
}

/* Log the counters in rbldnsd's words; reset them after (SIGUSR2). */
static void
log_stats(struct resolverd *rd, bool reset)
{
	const struct config *c = rd->conf;
	const char **zones;
	char *buf = NULL, *line, *next;
	size_t len = 0, n = 0, i, j;
	FILE *f;

	if ((zones = calloc(c->nspecs + 1, sizeof(*zones))) == NULL)
		return;
	for (i = 0; i < c->nspecs; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(zones[j], c->specs[i].zone) == 0)
				break;
		if (j == n && c->specs[i].zone[0] != '\0')
			zones[n++] = c->specs[i].zone;
	}
	if ((f = open_memstream(&buf, &len)) != NULL) {
		stats_log(rd->stats, f, time(NULL), zones, n, reset);
		if (rd->up != NULL)
			upstream_stats_write(rd->up, f);
		fclose(f);
	}
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		log_info("%s", line);
	}
	free(buf);
	free(zones);
}

static void
on_usr1(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	log_stats(arg, false);
}

static void
on_usr2(evutil_socket_t sig, short what, void *arg)
{
	struct resolverd *rd = arg;
	time_t now = time(NULL);

	(void)sig;
	(void)what;
	log_stats(rd, true);
	write_stats(rd, now, true); /* the stats file starts over */
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct resolverd *rd = arg;
	const struct config *c = rd->conf;
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	qlog_flush(rd->qlog);
	if (rd->imp != NULL)
		rd_import(rd, false, now);
	if (c->stats_file != NULL && c->check_interval > 0 &&
	    now >= rd->next_stats) {
		write_stats(rd, now, false);
		rd->next_stats = now + c->check_interval;
	}
	if (now >= rd->next_acct_save) {
		struct acct_params *p = acct_params_get(rd->acct);

		acct_store(rd);
		rd->next_acct_save = now + p->save_interval;
		acct_params_unref(p);
	}
}

static void
add_signal(struct resolverd *rd, struct event **ev, int sig,
    event_callback_fn cb)
{
	if ((*ev = evsignal_new(rd->base, sig, cb, rd)) == NULL ||
	    evsignal_add(*ev, NULL) != 0)
		fatalx("cannot handle signal %d", sig);
}

static int
serve(struct resolverd *rd)
{
	struct config *c = rd->conf;
	struct timeval sec = { 1, 0 };
	struct query_cfg qc;
	char err[CFG_ERR_LEN];
	sigset_t later, old;
	bool fast;
	size_t i;
	int rc;

	/* a reload or statistics signal during startup waits until we can
	 * handle it, rather than kill us (their default action) */
	sigemptyset(&later);
	sigaddset(&later, SIGHUP);
	sigaddset(&later, SIGUSR1);
	sigaddset(&later, SIGUSR2);
	sigprocmask(SIG_BLOCK, &later, &old);
	rd->status.start = (int64_t)time(NULL); /* for /metrics */
	if ((rc = listen_open(c->listen, c->nlisten, c->threads, &rd->listen,
	         err, sizeof(err))) != 0)
		fatalx("%s", err);
	for (i = 0; i < c->nlisten; i++)
		log_info("listening on %s (udp, tcp)", c->listen[i].text);
	pick_user(rd);
	rd->notify_fd = notify_open();
	rd->ready_fd = rd->null_fd = -1;
	if (!c->foreground) {
		/* what a chroot would hide: /dev/null and syslog */
		if ((rd->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
			fatal("/dev/null");
		log_syslog_connect("resolverd", c->facility);
		rd->ready_fd = daemonize();
		rd->daemonized = true;
	}
	if (c->pidfile != NULL)
		write_pidfile(c->pidfile);
	if (c->chroot_dir != NULL &&
	    (chroot(c->chroot_dir) == -1 || chdir("/") == -1))
		fatal("chroot %s", c->chroot_dir);
	if (c->work_dir != NULL && chdir(c->work_dir) == -1)
		fatal("chdir %s", c->work_dir);
	if (c->dropin) {
		if ((rd->dbdir = compat_statedir(c)) == NULL)
			fatal("state directory");
	} else if ((rd->dbdir = strdup(c->database)) == NULL)
		fatal("strdup");
	make_dir(rd->dbdir);
	rd->db = open_db(rd->dbdir);
	if (acct_reload(rd, c->dropin ? NULL : c->path, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (c->control != NULL &&
	    (rd->ctl = control_open(c->control, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (c->has_http &&
	    (rd->http = http_open(&c->http, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	/* everything is open: from here on, no privileges */
	drop_privileges(rd);

	/* the query log is reopened on SIGHUP: the user's to begin with */
	if ((rd->qlog = qlog_new()) == NULL ||
	    (rd->stats = stats_new()) == NULL)
		fatal("out of memory");
	if (c->query_log != NULL &&
	    (rc = qlog_open(rd->qlog, c->query_log, c->qlog_unbuffered)) != 0) {
		errno = -rc;
		fatal("query log %s", c->query_log);
	}

	if ((rd->base = event_base_new()) == NULL)
		fatalx("cannot create the event base");
	if (upstream_new(c, &rd->up, err, sizeof(err)) != 0)
		fatalx("%s", err);
	qc = query_cfg_of(c, rd->fwd);
	listen_set_cfg(rd->listen, &qc);
	if ((rd->imp = import_new(rd->db, c->host_bits_ok, c->no_gunzip)) ==
	        NULL ||
	    import_set(rd->imp, c->specs, c->intervals, c->nspecs) != 0 ||
	    keep_feed_zones(rd->imp, c) != 0)
		fatal("out of memory");
	/* watched before anything answers: a change made as soon as the
	 * first answer arrives is not missed */
	if ((rd->watch = watch_new(rd->base, on_files_changed, rd)) == NULL)
		log_warn("inotify: dataset files are checked every -c "
		         "interval only");
	watch_files(rd, c);

	/*
	 * With every zone already in the database (a restart), answer at
	 * once and bring the data up to date meanwhile (files that kept
	 * their identity are not read again); else load first, as rbldnsd
	 * does, unless -q.
	 */
	fast = zones_present(rd->db, c) || c->quick;
	if (!fast)
		initial_import(rd);
	listen_set_acct(rd->listen, rd->acct);
	listen_set_upstream(rd->listen, rd->up);
	if (upstream_start(rd->up) != 0)
		fatalx("cannot start the upstream thread");
	if ((rc = listen_start(rd->listen, rd->db, rd->qlog, rd->stats)) != 0)
		fatalx("cannot start the workers");
	if (fast)
		initial_import(rd);

	add_signal(rd, &rd->ev_hup, SIGHUP, on_hup);
	add_signal(rd, &rd->ev_term, SIGTERM, on_term);
	add_signal(rd, &rd->ev_int, SIGINT, on_term);
	add_signal(rd, &rd->ev_usr1, SIGUSR1, on_usr1);
	add_signal(rd, &rd->ev_usr2, SIGUSR2, on_usr2);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if ((rd->ev_tick = event_new(rd->base, -1, EV_PERSIST, on_tick, rd)) ==
	        NULL ||
	    event_add(rd->ev_tick, &sec) != 0)
		fatalx("cannot add the timer");
	if (rd->ctl != NULL) {
		struct control_ops ops = { rd, control_reload };

		if (control_start(rd->ctl, rd->base, rd->acct, rd->db, &ops) !=
		    0)
			fatalx("cannot serve the control socket");
		control_set_zones(rd->ctl, write_zone_states, rd);
	}
	rd->status.threads = c->threads;
	rd->status.conf = rd->conf;
	if (rd->http != NULL &&
	    http_start(rd->http, rd->base, rd->db, rd->acct, rd->up,
	        &rd->status) != 0)
		fatalx("cannot serve http");
	write_stats(rd, time(NULL), true);
	rd->next_stats = time(NULL) + c->check_interval;
	log_info("serving %zu datasets with %u threads", c->nspecs, c->threads);
	ready(rd);

	if (event_base_dispatch(rd->base) == -1)
		log_warnx("event loop failed");
	/* stopping already: a second TERM changes nothing */
	event_free(rd->ev_term);
	event_free(rd->ev_int);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);

	upstream_stop(rd->up); /* before the sockets it answers through */
	listen_close(rd->listen);
	http_close(rd->http);
	control_close(rd->ctl);
	acct_store(rd);
	acct_free(rd->acct);
	log_stats(rd, false);
	upstream_free(rd->up);
	rd->up = NULL;
	write_stats(rd, time(NULL), true);
	qlog_flush(rd->qlog);
	if (rd->conf->pidfile != NULL && c->chroot_dir == NULL)
		(void)unlink(rd->conf->pidfile);
	watch_free(rd->watch);
	event_free(rd->ev_tick);
	event_free(rd->ev_hup);
	event_free(rd->ev_usr1);
	event_free(rd->ev_usr2);
	event_base_free(rd->base);
	import_free(rd->imp);
	zn_db_close(rd->db);
	qlog_free(rd->qlog);
	stats_free(rd->stats);
	free(rd->dbdir);
	if (rd->notify_fd != -1)
		close(rd->notify_fd);
	conf_free(rd->conf);
	return 0;
}

/*
 * rbldnsd -d: read the zone files into a private database, print every
 * zone in BIND format to stdout and exit; nothing is bound, no state
 * directory touched.  The database lives in a temporary directory that
 * is gone as soon as it is open (LMDB keeps its descriptors), so the
 * files may be read from a chroot, as rbldnsd does.
 */
static int
dump_zones(struct config *c)
{
	const char *tmp = getenv("TMPDIR");
	struct zn_db *db;
	struct zn_err err;
	struct import *im;
	char dir[4096], path[4200];
	time_t now;
	int rc;

	snprintf(dir, sizeof(dir), "%s/resolverd-dump.XXXXXX",
	    tmp != NULL && *tmp == '/' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		fatal("%s", dir);
	rc = zn_db_open(dir, 0, 0, &db, &err);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	(void)unlink(path);
	(void)rmdir(dir);
	if (rc != 0)
		fatalx("%s", err.msg);
	if (c->chroot_dir != NULL &&
	    (chroot(c->chroot_dir) == -1 || chdir("/") == -1))
		fatal("chroot %s", c->chroot_dir);
	if (c->work_dir != NULL && chdir(c->work_dir) == -1)
		fatal("chdir %s", c->work_dir);
	if ((im = import_new(db, c->host_bits_ok, c->no_gunzip)) == NULL ||
	    import_set(im, c->specs, c->intervals, c->nspecs) != 0)
		fatal("out of memory");
	now = time(NULL);
	if (import_run(im, true, now) < 0)
		fatalx("zone loading errors, aborting");
	printf("; zone dump made %s", ctime(&now));
	printf("; resolverd %s\n", RD_VERSION);
	if (zn_db_dump_bind(db, c->ttl_def, stdout, &err) != 0)
		fatalx("%s", err.msg);
	import_free(im);
	zn_db_close(db);
	conf_free(c);
	if (fflush(stdout) != 0 || ferror(stdout))
		fatal("stdout");
	return 0;
}

int
main(int argc, char **argv)
{
	struct resolverd rd;
	struct config *c = NULL;
	char err[CFG_ERR_LEN];
	const char *path = NULL;
	bool check = false, fg = false;
	int ch, verbose = 0, rc;

	memset(&rd, 0, sizeof(rd));
	signal(SIGPIPE, SIG_IGN);
	if (compat_detect(argc, argv)) {
		rc = compat_parse(argc, argv, &c, err, sizeof(err));
		if (rc == 1)
			return 0;
		if (rc < 0) {
			fprintf(stderr, "resolverd: %s\n", err);
			return 2;
		}
		log_init("resolverd", 1, 0, 0);
		if (c->dump)
			return dump_zones(c);
	} else {
		while ((ch = getopt(argc, argv, "c:dnhv")) != -1) {
			switch (ch) {
			case 'c':
				path = optarg;
				break;
			case 'd':
				fg = true;
				break;
			case 'n':
				check = true;
				break;
			case 'v':
				verbose++;
				break;
			case 'h':
				compat_usage(stdout);
				return 0;
			default:
				usage();
			}
		}
		if (path == NULL || optind != argc)
			usage();
		if (conf_load(path, &c, err, sizeof(err)) != 0) {
			fprintf(stderr, "resolverd: %s\n", err);
			return 1;
		}
		if (check) {
			struct acct_params *ap;

			if (acct_params_load(path, &ap, err, sizeof(err)) !=
			    0) {
				fprintf(stderr, "resolverd: %s\n", err);
				conf_free(c);
				return 1;
			}
			acct_params_unref(ap);
			if (check_files_as_server(c, err, sizeof(err)) != 0 ||
			    conf_check_feeds(c, err, sizeof(err)) != 0) {
				fprintf(stderr, "resolverd: %s\n", err);
				conf_free(c);
				return 1;
			}
			fprintf(stderr, "resolverd: %s: configuration OK\n",
			    path);
			conf_free(c);
			return 0;
		}
		c->foreground = fg;
		log_init("resolverd", 1, verbose, 0);
	}
	rd.conf = c;
	return serve(&rd);
}
