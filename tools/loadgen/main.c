/*
 * main.c - wirecache-loadgen: socket mode when --socket is given (no EAL,
 * no hugepages), else the DPDK modes (EAL options first, then "--" and the
 * generator's own). See lg.h for the pieces and --help for the options.
 */
#include <stdio.h>
#include <string.h>

#include "lg.h"

int main(int argc, char **argv)
{
	static struct lg_run run;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			lg_usage();
			return 0;
		}
		if (strcmp(argv[i], "--socket") == 0 || strncmp(argv[i], "--socket=", 9) == 0) {
			if (lg_options(argc, argv, &run.cfg) != 0)
				return 2;
			return lg_sock_main(&run);
		}
	}
	return lg_dpdk_main(argc, argv, &run);
}
