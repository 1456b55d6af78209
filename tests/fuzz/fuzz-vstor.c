// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the VSTOR packet validator at every protocol version.  Any
 * input must parse or be refused without touching memory outside it;
 * whatever parses must re-encode, and an SRB must survive the round trip.
 * Invariant violations trap so libFuzzer reports them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "storage/vstor.h"
#include "tests/fuzz/fuzz.h"

/* Re-encode a parsed EXECUTE_SRB and parse it again: same SRB. */
static void roundtrip_srb(const struct ovb_vstor_msg *m, uint16_t v)
{
	struct ovb_vstor_msg back;
	uint8_t buf[64];
	ssize_t n = ovb_vstor_encode_srb(buf, sizeof(buf), v, &m->srb);

	FUZZ_CHECK(n == (ssize_t)ovb_vstor_packet_size(v));
	FUZZ_CHECK(ovb_vstor_parse(buf, (size_t)n, v, &back) == 0);
	FUZZ_CHECK(back.srb.cdb_length == m->srb.cdb_length);
	FUZZ_CHECK(!memcmp(back.srb.cdb, m->srb.cdb, sizeof(back.srb.cdb)));
	FUZZ_CHECK(back.srb.data_transfer_length ==
		   m->srb.data_transfer_length);
	FUZZ_CHECK(back.srb.lun == m->srb.lun);
	FUZZ_CHECK(back.srb.srb_flags == m->srb.srb_flags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n;
	const uint16_t *versions = ovb_vstor_version_list(&n);

	for (size_t i = 0; i < n; i++) {
		uint16_t v = versions[i];
		struct ovb_vstor_msg m;
		int rc = ovb_vstor_parse(data, size, v, &m);

		if (size < ovb_vstor_packet_size(v)) {
			FUZZ_CHECK(rc == -EBADMSG);
			continue;
		}
		if (rc) {
			FUZZ_CHECK(rc == -EBADMSG);
			continue;
		}
		FUZZ_CHECK(m.operation >= 1 &&
			   m.operation <= VSTOR_OPERATION_MAX);
		FUZZ_CHECK(m.len == ovb_vstor_packet_size(v));
		if (m.operation == VSTOR_OPERATION_EXECUTE_SRB) {
			FUZZ_CHECK(m.srb.cdb_length >= 1 &&
				   m.srb.cdb_length <= 16);
			FUZZ_CHECK(m.srb.data_in <= 2);
			roundtrip_srb(&m, v);
		}
		if (m.operation == VSTOR_OPERATION_COMPLETE_IO &&
		    ovb_vstor_srb_validate(&m.srb, v, true) == 0) {
			uint8_t buf[64];
			ssize_t n = ovb_vstor_encode_srb_complete(
				buf, sizeof(buf), v, m.status, &m.srb);

			FUZZ_CHECK(n == (ssize_t)m.len);
		}
	}
	return 0;
}
