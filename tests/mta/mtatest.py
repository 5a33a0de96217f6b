# SPDX-License-Identifier: BSD-2-Clause
"""Shared by the MTA tests (test_spamassassin.py, test_rspamd.py,
test_postfix.py): their command line, the negative control (--unlisted)
and resolverd serving the two test zones.

Every test scores or rejects mail against ZEN (an ip4set) and DBL (a
dnset) served by resolverd on 127.0.0.1.  Run with --unlisted, the zones
do not list the relay or domain, and the test must fail in exactly the
checks that need the listing (meson runs it with should_fail); anything
else, a harness error included, exits 0, which meson reports as an
unexpected pass."""
import os
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import rdtest  # noqa: E402,F401

ZEN = "zen.rd.test"
DBL = "dbl.rd.test"


def parse_args(doc, argv=None):
    """[--unlisted] RESOLVERD CONTRIB_DIR: (unlisted, resolverd, contrib),
    both paths absolute; None after printing doc (the usage) otherwise."""
    args = list(sys.argv[1:] if argv is None else argv)
    unlisted = bool(args) and args[0] == "--unlisted"
    if unlisted:
        args = args[1:]
    if len(args) != 2:
        print(doc)
        return None
    return (unlisted,) + tuple(os.path.abspath(a) for a in args)


def negative_control(check, want):
    """--unlisted: exit 1 (meson's expected failure) only when exactly the
    checks named in want failed; anything else (another check failing, a
    harness error) exits 0, which meson reports as an unexpected pass,
    i.e. a failure of the suite."""
    got = set(check.failed)
    if got == set(want):
        print("negative control: failed exactly as it must (%d checks)"
              % len(got))
        return 1
    print("negative control: WRONG failures: %s (want %s)"
          % (sorted(got), sorted(want)))
    return 0


def guarded(main, unlisted):
    """main(), but an exception in the negative control is not the
    failure it must show: exit 0 (unexpected pass) then."""
    try:
        return main()
    except Exception:
        if not unlisted:
            raise
        traceback.print_exc()
        print("negative control: harness error, not the expected failure")
        return 0


def serve_zones(resolverd, d, port, zen, dbl, query_log=None,
                user="nobody"):
    """resolverd -d -c on 127.0.0.1@port serving ZEN (ip4set, the lines
    zen) and DBL (dnset, the lines dbl), its files and database in d,
    started as root and running as user (None: no user= line).  With
    query_log, every query is logged there unbuffered (the file is made
    writable for user first).  Returns the rdtest.Server once resolverd
    answers 2.0.0.127.ZEN, the RFC 5782 test point (answered in every
    ip4 zone)."""
    rdtest.write(d, "zen.txt", zen)
    rdtest.write(d, "dbl.txt", dbl)
    server = "listen = 127.0.0.1@%d\nthreads = 1\ndatabase = %s\n" % (
        port, os.path.join(d, "db"))
    if user is not None:
        server += "user = %s\n" % user
    if query_log is not None:
        open(query_log, "w").close()
        os.chmod(query_log, 0o666)
        server += "query-log = +%s\n" % query_log
    conf = rdtest.write(d, "rd.conf", (
        "[server]\n%s\n"
        "[zone %s]\ndataset = ip4set:zen.txt\n\n"
        "[zone %s]\ndataset = dnset:dbl.txt\n") % (server, ZEN, DBL))
    srv = rdtest.Server([resolverd, "-d", "-c", conf], cwd=d,
                        log=os.path.join(d, "resolverd.log"))
    try:
        rdtest.wait_answer(port, "2.0.0.127." + ZEN, srv.proc)
    except Exception:
        srv.stop()
        raise
    return srv
