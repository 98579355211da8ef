/*
 * mkconfman: prints the option table of daemon/conf.c as the troff section
 * of aqgridd.conf(5) (conf_write_man), for the Makefile to put between the
 * page's hand-written head and tail: the page lists exactly the keys the
 * parser reads, with their ranges, defaults and descriptions.
 */
#include <stdio.h>
#include <stdlib.h>

#include "daemon/conf.h"

int
main(void)
{
	conf_write_man(stdout);
	return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS
						      : EXIT_FAILURE;
}
