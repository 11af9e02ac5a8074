/*
 * mem_dpdk.h - the store's memory backend when EAL is running: zeroed
 * hugepage memory from DPDK's heap on a chosen NUMA socket.
 */
#ifndef WC_CORE_MEM_DPDK_H
#define WC_CORE_MEM_DPDK_H

#include "store/mem.h"

/* Backend for one NUMA socket (SOCKET_ID_ANY for no preference). */
void wc_mem_dpdk_init(struct wc_mem_ops *ops, int *socket_storage, int socket);

#endif
