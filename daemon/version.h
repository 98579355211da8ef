/* version: the release of aqgrid's programs. */
#ifndef AQ_DAEMON_VERSION_H
#define AQ_DAEMON_VERSION_H

#define AQ_VERSION "0.1.0"

#endif
