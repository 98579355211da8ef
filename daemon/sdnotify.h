/*
 * sdnotify: tells the service manager how the daemon is doing, by the
 * systemd notification protocol (sd_notify(3)): one datagram of
 * "NAME=value" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path,
 * or "@name" for the abstract namespace).  Without $NOTIFY_SOCKET it does
 * nothing, so the daemon runs the same outside systemd.  The protocol is
 * systemd's stable interface: no libsystemd is needed.  Thread-safe; never
 * logs.
 */
#ifndef AQ_DAEMON_SDNOTIFY_H
#define AQ_DAEMON_SDNOTIFY_H

/* Sends state (e.g. "READY=1", "RELOADING=1", "STOPPING=1"); 1 sent, 0 no
 * $NOTIFY_SOCKET, -1 failed (errno set). */
int sdnotify(const char *state);

#endif
