// SPDX-License-Identifier: MIT
/*
 * An opt-in workaround for a DPDK 22.11 bug, not part of the guest
 * kernel's role: the netvsc PMD never marks its queues started
 * (hn_dev_start leaves dev->data->rx/tx_queue_state at STOPPED and it has
 * no queue_start op), and Debian 12's testpmd (22.11.11) disables every
 * forwarding stream whose queue reports STOPPED.  So testpmd probes a
 * netvsc port but forwards nothing, on Hyper-V as on our host ("show rxq
 * info" says "Rx queue state: stopped").  With OVMB_NETVSC_QUEUE_STATE=1
 * the queue-info calls report a netvsc queue as STARTED, which is what the
 * ethdev contract says a started port's queues are.  Compiled only where
 * DPDK's headers are installed (pkg-config libdpdk).
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>

int rte_eth_rx_queue_info_get(uint16_t port_id, uint16_t queue_id,
			      struct rte_eth_rxq_info *qinfo);
int rte_eth_tx_queue_info_get(uint16_t port_id, uint16_t queue_id,
			      struct rte_eth_txq_info *qinfo);

static int fix_on(uint16_t port_id)
{
	static int on = -1;
	struct rte_eth_dev_info info;

	if (on < 0) {
		const char *v = getenv("OVMB_NETVSC_QUEUE_STATE");

		on = v && *v == '1';
	}
	return on && rte_eth_dev_info_get(port_id, &info) == 0 &&
	       info.driver_name && !strcmp(info.driver_name, "net_netvsc");
}

int rte_eth_rx_queue_info_get(uint16_t port_id, uint16_t queue_id,
			      struct rte_eth_rxq_info *qinfo)
{
	static __typeof__(rte_eth_rx_queue_info_get) *real;
	int rc;

	if (!real)
		real = (__typeof__(real))dlsym(RTLD_NEXT,
					       "rte_eth_rx_queue_info_get");
	if (!real)
		return -ENOTSUP;
	rc = real(port_id, queue_id, qinfo);
	if (!rc && fix_on(port_id))
		qinfo->queue_state = RTE_ETH_QUEUE_STATE_STARTED;
	return rc;
}

int rte_eth_tx_queue_info_get(uint16_t port_id, uint16_t queue_id,
			      struct rte_eth_txq_info *qinfo)
{
	static __typeof__(rte_eth_tx_queue_info_get) *real;
	int rc;

	if (!real)
		real = (__typeof__(real))dlsym(RTLD_NEXT,
					       "rte_eth_tx_queue_info_get");
	if (!real)
		return -ENOTSUP;
	rc = real(port_id, queue_id, qinfo);
	if (!rc && fix_on(port_id))
		qinfo->queue_state = RTE_ETH_QUEUE_STATE_STARTED;
	return rc;
}
