/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The daemon's configuration: one struct built either from an INI file
 * (conf.c, "resolverd -c FILE") or from rbldnsd's command line
 * (compat.c, drop-in mode).  A config is built fresh and complete, then
 * swapped in; it is never modified after that.  (The module is not named
 * "config": that is the generated build header every file includes
 * first, and a resolverd/config.h would shadow it.)
 *
 * INI file:
 *
 *   [server]
 *   listen = 127.0.0.1@53        ; repeatable; addr/port also accepted
 *   threads = 4                  ; default: number of cores
 *   database = /var/lib/resolverd
 *   user = resolverd
 *   control = /run/resolverd/resolverd.sock
 *   ttl = 35m:1m:1d              ; rbldnsd -t syntax: def[:min[:max]]
 *   edns-size = 1232
 *   version = resolverd          ; version.bind; absent: REFUSED
 *   query-log = /var/log/resolverd/query.log   ; "+path": unbuffered
 *   lazy = no                    ; rbldnsd -a
 *   check-interval = 1m          ; default for the zones
 *
 *   cache-size = 32m             ; forwarded answers' cache; k m g
 *
 *   [zone bl.example]
 *   dataset = ip4set:/srv/bl/ip4.txt      ; repeatable, in order
 *   dataset = generic:/srv/bl/apex.txt
 *   check-interval = 30s
 *
 *   [zone zen.spamhaus.org]      ; a zone answered by upstream servers
 *   mode = forward               ; mirror (default) | forward |
 *                                ; mirror+fallback (datasets, and the
 *                                ; upstreams when they are missing or
 *                                ; past their $TIMESTAMP expiry)
 *   upstream = 192.0.2.1@53      ; repeatable, tried in order; numeric
 *   rewrite = KEY.zen.dq.spamhaus.net  ; asked upstream instead of the
 *                                ; zone; a secret: never logged
 *   stale = 1h                   ; serve-stale window (RFC 8767); 0: off
 *   mirror-grace = 0             ; mirror+fallback: how long an expired
 *                                ; mirror is still answered
 *   error-codes = default,127.0.0.1   ; A values meaning "error, not
 *                                ; listed"; default: 127.255.255.0/24,
 *                                ; 127.0.1.255, 127.0.2.255
 *   error-policy = nxdomain      ; or servfail
 *   ttl-min = 0                  ; clamps of forwarded TTLs; default:
 *   ttl-max = 1d                 ; [server] ttl's min and max
 *   negative-ttl = 3h            ; cap of negative TTLs (RFC 2308)
 *
 *   [zone bl.example]            ; a zone whose data zonesync writes
 *   mode = feed                  ; from a signed feed (zones/feed.h):
 *                                ; no datasets; the daemon's imports
 *                                ; keep it; SERVFAIL until first synced
 *   feed = /srv/feed             ; the feed directory (holding
 *                                ; <zone>/manifest), rsync://host/mod/path
 *                                ; or host:path; fetched by zonesync -c
 *   key = keys/bl.pub            ; trusted public key, repeatable (key
 *                                ; rollover: the old and the new one)
 *
 *   [zone zen.spamhaus.org]      ; a mirror of unsigned rbldnsd files:
 *   dataset = ip4set:/var/lib/resolverd/files/sbl.txt
 *   files-from = rsync://rsync.example/zen  ; or host:path or a local
 *                                ; directory: zonesync -c fetches each
 *                                ; dataset file by its basename from
 *                                ; there, then imports them as a diff
 *
 * Relative key files and local feed or files-from directories are taken
 * from the config's directory, like dataset files.
 */
#ifndef RESOLVERD_CONF_H
#define RESOLVERD_CONF_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones.h"

#define CFG_LISTEN_MAX 64
#define CFG_THREADS_MAX 256
#define CFG_ERR_LEN 512
#define CFG_EDNS_MAX 4096 /* largest UDP answer buffer of a worker */
#define CFG_TTL_DEFAULT 2100 /* rbldnsd's 35m */
#define CFG_CHECK_DEFAULT 60 /* rbldnsd's -c 1m */
#define CFG_FZONES_MAX 64 /* zones with upstreams */
#define CFG_UPSTREAM_MAX 8 /* upstreams per zone */
#define CFG_ERRCODES_MAX 32
#define CFG_CACHE_DEFAULT ((size_t)32 << 20)
#define CFG_STALE_DEFAULT 3600
#define CFG_NEGTTL_DEFAULT 10800 /* RFC 2308 5: 1 to 3 hours */

/* One address to listen on (UDP and TCP). */
struct cfg_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64]; /* "addr port", for messages */
};

enum cfg_mode {
	CFG_MIRROR = 0,
	CFG_FORWARD,
	CFG_FALLBACK, /* mirror+fallback */
};

/* An IPv4 network, host byte order. */
struct cfg_net4 {
	uint32_t net, mask;
};

#define CFG_FEED_KEYS_MAX 16 /* key = lines per feed zone */

/*
 * A zone zonesync -c updates: mode = feed (source and keys), or a mirror
 * whose dataset files come from files-from (keys unused).
 */
struct cfg_feed {
	char name[ZN_NAME_MAX + 1]; /* lower-case, no trailing dot */
	bool files_from; /* else mode = feed */
	char *source; /* feed = or files-from = */
	char *keys[CFG_FEED_KEYS_MAX];
	unsigned key_lines[CFG_FEED_KEYS_MAX];
	size_t nkeys;
	unsigned line; /* of the source, for messages */
};

/* A zone answered by upstream servers: mode forward or mirror+fallback. */
struct cfg_fzone {
	char name[ZN_NAME_MAX + 1]; /* lower-case, no trailing dot */
	enum cfg_mode mode;
	struct cfg_addr upstream[CFG_UPSTREAM_MAX];
	size_t nupstream;
	char *rewrite; /* suffix asked upstream, lower-case; NULL: the zone */
	uint32_t stale; /* serve-stale window, seconds */
	uint32_t grace; /* mirror+fallback: expired mirror still answered */
	struct cfg_net4 errcodes[CFG_ERRCODES_MAX];
	size_t nerrcodes;
	bool errpolicy_servfail; /* else NXDOMAIN */
	uint32_t ttl_min, ttl_max, neg_ttl; /* 0: none */
};

struct config {
	char *path; /* the INI file; NULL in drop-in mode */
	bool dropin;

	struct cfg_addr listen[CFG_LISTEN_MAX];
	size_t nlisten;
	unsigned threads;
	char *database; /* LMDB directory */
	char *user; /* NULL: none configured */
	char *group; /* drop-in "-u user:group" */
	char *control; /* control socket path (later issues) */
	struct cfg_addr http; /* http = addr@port: /metrics, /healthz */
	bool has_http;
	uint32_t ttl_def, ttl_min, ttl_max;
	uint16_t edns_size;
	char *version; /* NULL: version.bind REFUSED */
	char *query_log; /* NULL: off; "-": stdout */
	bool qlog_unbuffered;
	bool lazy;
	unsigned check_interval; /* seconds; 0: only on SIGHUP */

	/* datasets to import, in order; intervals[i] for specs[i] */
	struct zn_spec *specs;
	unsigned *intervals;
	size_t nspecs;
	unsigned *spec_lines; /* INI line of each spec; NULL in drop-in mode */

	/* zones with upstream servers, and their answers' cache */
	struct cfg_fzone *fzones;
	size_t nfzones;
	/* zones zonesync -c updates: mode = feed, and files-from mirrors */
	struct cfg_feed *feeds;
	size_t nfeeds;
	size_t cache_size; /* bytes */

	/* drop-in mode only */
	bool dump; /* -d: print the zones in BIND format and exit */
	bool foreground;
	bool host_bits_ok; /* -e */
	bool no_gunzip; /* -C */
	bool quick; /* -q */
	char *chroot_dir; /* -r */
	char *work_dir; /* -w */
	char *pidfile; /* -p */
	char *stats_file; /* -s */
	bool stats_delta; /* -s +file */
	int family; /* -4 / -6: AF_INET, AF_INET6, or AF_UNSPEC */
	int facility; /* syslog facility, 0: daemon */
};

/* A config with the defaults; NULL and errno set on failure. */
struct config *conf_new(void);
/* conf_free(NULL) is a no-op. */
void conf_free(struct config *c);

/*
 * Parse the INI file path into a new config.  On failure returns a
 * negative errno and writes "file:line: field: why" to err.
 */
int conf_load(const char *path, struct config **out, char *err, size_t errlen);

/* A duration with rbldnsd's units ("90", "35m", "1h30m"; s m h d w). */
int conf_parse_time(const char *s, uint32_t *out);
/* rbldnsd -t "def[:min[:max]]"; parts may be empty; 0 or -EINVAL. */
int conf_parse_ttl(const char *s, uint32_t *def, uint32_t *min, uint32_t *max);

/*
 * Resolve "host", "host@port" or "host/port" (host may be a name, an
 * IPv4 or IPv6 literal, or empty for every address; port a number or a
 * service name; default 53) restricted to family (AF_UNSPEC: both) and
 * append the addresses to c->listen, skipping duplicates, at most max in
 * all.  0, or a negative errno with err filled.
 */
int conf_add_listen(struct config *c, const char *spec, int family, size_t max,
    char *err, size_t errlen);

/* Append a zone spec "zone:type:file[,file...]"; 0 or -errno + err. */
int conf_add_spec(struct config *c, const char *spec, unsigned interval,
    char *err, size_t errlen);

/* Free what a cfg_feed holds (not f itself). */
void conf_feed_cleanup(struct cfg_feed *f);

/* CPUs in our affinity mask, at least 1 and at most CFG_THREADS_MAX. */
unsigned conf_ncpu(void);

/*
 * resolverd -n: every dataset file exists and can be read.  0, or a
 * negative errno with "file:line: dataset: FILE: why" in err (the first
 * failure).
 */
int conf_check_files(const struct config *c, char *err, size_t errlen);

/*
 * resolverd -n for the zones zonesync -c updates: every key file loads,
 * a local feed directory holds the zone's directory, a local files-from
 * directory exists.  0, or a negative errno with "file:line: key: why"
 * in err (the first failure).  A feed not synced yet is no error.
 */
int conf_check_feeds(const struct config *c, char *err, size_t errlen);

#endif /* RESOLVERD_CONF_H */
