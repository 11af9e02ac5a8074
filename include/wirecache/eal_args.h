/*
 * eal_args.h - what wirecache's DPDK programs add to the EAL options they
 * are given: --huge-unlink, so the hugepage files behind their memory are
 * removed as soon as they are mapped and the pages go back to the system
 * when the process exits, cleanly or not. Nothing here attaches a DPDK
 * secondary process (the control plane uses its own shared memory), so
 * nothing needs the files. Options that already settle it (--huge-unlink,
 * --no-huge, --in-memory) are left as given.
 */
#ifndef WIRECACHE_EAL_ARGS_H
#define WIRECACHE_EAL_ARGS_H

#include <stdlib.h>
#include <string.h>

/* argv with the added option (argv itself when nothing is added); *nargc its count */
static inline char **wc_eal_args(int argc, char **argv, int *nargc)
{
	static char unlink_opt[] = "--huge-unlink";
	char **out;

	*nargc = argc;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], "--huge-unlink", 13) == 0 || strcmp(argv[i], "--no-huge") == 0 ||
		    strcmp(argv[i], "--in-memory") == 0)
			return argv;
	out = malloc(sizeof(*out) * ((size_t)argc + 2));
	if (!out)
		return argv;
	out[0] = argv[0];
	out[1] = unlink_opt;
	memcpy(out + 2, argv + 1, sizeof(*out) * (size_t)argc);	/* argv[argc] is NULL */
	*nargc = argc + 1;
	return out;
}

#endif
