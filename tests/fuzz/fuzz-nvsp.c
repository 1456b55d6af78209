// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the NVSP validator.  The first input byte picks the
 * direction and the negotiated version; the rest is the message.  Whatever
 * parses must re-encode and parse again to the same decoded message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/nvsp.h"
#include "tests/fuzz/fuzz.h"

static const uint32_t fuzz_versions[] = {
	0, NVSP_PROTOCOL_VERSION_1, NVSP_PROTOCOL_VERSION_2,
	NVSP_PROTOCOL_VERSION_4, NVSP_PROTOCOL_VERSION_5,
	NVSP_PROTOCOL_VERSION_6, NVSP_PROTOCOL_VERSION_61,
	OVB_NVSP_VERSION_ANY,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovb_nvsp_msg m, again;
	enum ovb_nvsp_dir dir;
	uint32_t version;
	uint8_t *copy, out[4096];
	ssize_t n;

	if (size < 1)
		return 0;
	dir = data[0] & 1 ? OVB_NVSP_TO_GUEST : OVB_NVSP_TO_HOST;
	version = fuzz_versions[(data[0] >> 1) & 7];
	/* An exact-size heap copy lets ASan catch any over-read. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (ovb_nvsp_parse(copy, size - 1, dir, version, &m) == 0) {
		n = ovb_nvsp_encode(out, sizeof(out), dir, &m);
		if (n < 0)
			abort();
		if (ovb_nvsp_parse(out, (size_t)n, dir, OVB_NVSP_VERSION_ANY,
				   &again) != 0 || again.type != m.type)
			abort();
		if (m.type != NVSP_MSG1_TYPE_SEND_RECV_BUF_COMPLETE) {
			again.short_request = m.short_request;
			if (memcmp(&again, &m, sizeof(m)) != 0)
				abort();
		}
	}
	free(copy);
	return 0;
}
