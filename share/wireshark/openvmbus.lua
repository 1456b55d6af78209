-- SPDX-License-Identifier: MIT
--
-- Wireshark dissector for openvmbus captures (`vmbus host --capture`,
-- docs/capture.md).  Each packet is one capture record (LINKTYPE_USER0):
-- a 48-byte header (include/openvmbus/wire/capture.h), then a VMBus channel
-- message or a ring packet, then the guest memory its ranges name.
--
-- Decoded: channel messages (all 29 types, every field), ring packet
-- descriptors with their transfer-page and GPA-direct headers, and by the
-- device class in the record header: NVSP and RNDIS (with per-packet info,
-- the Ethernet frame handed to "eth_withoutfcs") for the synthetic NIC,
-- VSTOR with the SRB, the SCSI CDB and sense data for storage, and the echo
-- test device.  Every read is bounds-checked; a short or inconsistent
-- record becomes expert info, never a Lua error.
--
-- Use:  wireshark -X lua_script:openvmbus.lua capture.pcapng
--   or copy this file into ~/.local/lib/wireshark/plugins/.

local bit = bit32

---------------------------------------------------------------------------
-- value tables


local msg_names = {
	[0] = "INVALID", "OFFERCHANNEL", "RESCIND_CHANNELOFFER",
	"REQUESTOFFERS", "ALLOFFERS_DELIVERED", "OPENCHANNEL",
	"OPENCHANNEL_RESULT", "CLOSECHANNEL", "GPADL_HEADER", "GPADL_BODY",
	"GPADL_CREATED", "GPADL_TEARDOWN", "GPADL_TORNDOWN", "RELID_RELEASED",
	"INITIATE_CONTACT", "VERSION_RESPONSE", "UNLOAD", "UNLOAD_RESPONSE",
	"OPEN_RESERVED_CHANNEL", "CLOSE_RESERVED_CHANNEL",
	"CLOSE_RESERVED_RESPONSE", "TL_CONNECT_REQUEST", "MODIFYCHANNEL",
	"TL_CONNECT_RESULT", "MODIFYCHANNEL_RESPONSE", "MODIFY_CONNECTION",
	"MODIFY_CONNECTION_RESPONSE", "PAUSE", "PAUSE_RESPONSE", "RESUME",
}

local vmbus_versions = {
	[0x0000000D] = "0.13 (WS2008)", [0x00010001] = "1.1 (Win7)",
	[0x00020004] = "2.4 (Win8)", [0x00030000] = "3.0 (Win8.1)",
	[0x00040000] = "4.0 (Win10)", [0x00040001] = "4.1 (Win10 RS3.0)",
	[0x00050000] = "5.0 (Win10 RS3.1)", [0x00050001] = "5.1 (Win10 RS4)",
	[0x00050002] = "5.2 (Win10 RS5)", [0x00050003] = "5.3 (Iron)",
	[0x00060000] = "6.0 (Copper)",
}

local pkt_types = {
	[0] = "invalid", "synch", "add xfer pageset", "rm xfer pageset",
	"establish gpadl", "teardown gpadl", "data in-band",
	"data using transfer pages", "data using gpadl", "data using GPA direct",
	"cancel request", "completion", "using additional packet",
	"additional data",
}

local dir_names = { [0] = "guest -> host", [1] = "host -> guest" }
local kind_names = { [1] = "channel message", [2] = "ring packet" }

local nvsp_types = {
	[0] = "NONE", [1] = "INIT", [2] = "INIT_COMPLETE",
	[100] = "SEND_NDIS_VERSION", [101] = "SEND_RECEIVE_BUFFER",
	[102] = "SEND_RECEIVE_BUFFER_COMPLETE", [103] = "REVOKE_RECEIVE_BUFFER",
	[104] = "SEND_SEND_BUFFER", [105] = "SEND_SEND_BUFFER_COMPLETE",
	[106] = "REVOKE_SEND_BUFFER", [107] = "SEND_RNDIS_PACKET",
	[108] = "SEND_RNDIS_PACKET_COMPLETE",
	[109] = "SEND_CHIMNEY_DELEGATED_BUFFER",
	[110] = "SEND_CHIMNEY_DELEGATED_BUFFER_COMPLETE",
	[111] = "REVOKE_CHIMNEY_DELEGATED_BUFFER",
	[112] = "RESUME_CHIMNEY_RX_INDICATION", [113] = "TERMINATE_CHIMNEY",
	[114] = "TERMINATE_CHIMNEY_COMPLETE", [115] = "INDICATE_CHIMNEY_EVENT",
	[116] = "SEND_CHIMNEY_PACKET", [117] = "SEND_CHIMNEY_PACKET_COMPLETE",
	[118] = "POST_CHIMNEY_RECV_REQUEST",
	[119] = "POST_CHIMNEY_RECV_REQUEST_COMPLETE", [120] = "ALLOC_RXBUF",
	[121] = "ALLOC_RXBUF_COMPLETE", [122] = "FREE_RXBUF",
	[123] = "SEND_VMQ_RNDIS_PACKET", [124] = "SEND_VMQ_RNDIS_PACKET_COMPLETE",
	[125] = "SEND_NDIS_CONFIG", [126] = "ALLOC_CHIMNEY_HANDLE",
	[127] = "ALLOC_CHIMNEY_HANDLE_COMPLETE", [128] = "SEND_VF_ASSOCIATION",
	[129] = "SWITCH_DATA_PATH", [130] = "UPLINK_CONNECT_STATE_DEPRECATED",
	[131] = "OID_QUERY_EX", [132] = "OID_QUERY_EX_COMPLETE",
	[133] = "SUBCHANNEL", [134] = "SEND_INDIRECTION_TABLE",
	[135] = "PD_API", [136] = "PD_POST_BATCH",
}

local nvsp_status = {
	[0] = "none", "success", "failure", "protocol too new",
	"protocol too old", "invalid RNDIS packet", "busy",
	"protocol unsupported",
}

local nvsp_versions = {
	[0x00000002] = "1 (WS2008)", [0x00030002] = "2 (Win7)",
	[0x00040000] = "4 (Win8)", [0x00050000] = "5 (WS2012 R2)",
	[0x00060000] = "6 (Win10)", [0x00060001] = "6.1 (Win10 1607)",
}

local rndis_types = {
	[0x00000001] = "PACKET", [0x00000002] = "INITIALIZE",
	[0x00000003] = "HALT", [0x00000004] = "QUERY", [0x00000005] = "SET",
	[0x00000006] = "RESET", [0x00000007] = "INDICATE_STATUS",
	[0x00000008] = "KEEPALIVE", [0x00000009] = "SET_EX",
	[0x80000002] = "INITIALIZE_COMPLETE", [0x80000004] = "QUERY_COMPLETE",
	[0x80000005] = "SET_COMPLETE", [0x80000006] = "RESET_COMPLETE",
	[0x80000008] = "KEEPALIVE_COMPLETE", [0x80000009] = "SET_EX_COMPLETE",
}

local rndis_status = {
	[0x00000000] = "SUCCESS", [0x00000103] = "PENDING",
	[0x40010003] = "ONLINE", [0x40010004] = "RESET_START",
	[0x40010005] = "RESET_END", [0x4001000B] = "MEDIA_CONNECT",
	[0x4001000C] = "MEDIA_DISCONNECT",
	[0x40010012] = "MEDIA_SPECIFIC_INDICATION",
	[0x40010013] = "LINK_SPEED_CHANGE", [0x40010018] = "NETWORK_CHANGE",
	[0x40020006] = "TASK_OFFLOAD_CURRENT_CONFIG",
	[0x80000005] = "BUFFER_OVERFLOW", [0xC0000001] = "FAILURE",
	[0xC000009A] = "RESOURCES", [0xC00000BB] = "NOT_SUPPORTED",
	[0xC0010004] = "BAD_VERSION", [0xC0010009] = "MULTICAST_FULL",
	[0xC001000F] = "INVALID_PACKET", [0xC0010011] = "ADAPTER_NOT_READY",
	[0xC0010014] = "INVALID_LENGTH", [0xC0010015] = "INVALID_DATA",
	[0xC0010016] = "BUFFER_TOO_SHORT", [0xC0010017] = "INVALID_OID",
}

local rndis_oids = {
	[0x00010101] = "OID_GEN_SUPPORTED_LIST",
	[0x00010102] = "OID_GEN_HARDWARE_STATUS",
	[0x00010103] = "OID_GEN_MEDIA_SUPPORTED",
	[0x00010104] = "OID_GEN_MEDIA_IN_USE",
	[0x00010105] = "OID_GEN_MAXIMUM_LOOKAHEAD",
	[0x00010106] = "OID_GEN_MAXIMUM_FRAME_SIZE",
	[0x00010107] = "OID_GEN_LINK_SPEED",
	[0x0001010E] = "OID_GEN_CURRENT_PACKET_FILTER",
	[0x00010110] = "OID_GEN_DRIVER_VERSION",
	[0x00010111] = "OID_GEN_MAXIMUM_TOTAL_SIZE",
	[0x00010114] = "OID_GEN_MEDIA_CONNECT_STATUS",
	[0x00010116] = "OID_GEN_VENDOR_DRIVER_VERSION",
	[0x00010118] = "OID_GEN_NETWORK_LAYER_ADDRESSES",
	[0x00010202] = "OID_GEN_PHYSICAL_MEDIUM",
	[0x00010203] = "OID_GEN_RECEIVE_SCALE_CAPABILITIES",
	[0x00010204] = "OID_GEN_RECEIVE_SCALE_PARAMETERS",
	[0x00010206] = "OID_GEN_MAX_LINK_SPEED",
	[0x00010207] = "OID_GEN_LINK_STATE",
	[0x0001021A] = "OID_GEN_MACHINE_NAME",
	[0x0001021B] = "OID_GEN_RNDIS_CONFIG_PARAMETER",
	[0x0001021C] = "OID_GEN_VLAN_ID",
	[0x00020101] = "OID_GEN_XMIT_OK", [0x00020102] = "OID_GEN_RCV_OK",
	[0x00020106] = "OID_GEN_STATISTICS",
	[0x01010101] = "OID_802_3_PERMANENT_ADDRESS",
	[0x01010102] = "OID_802_3_CURRENT_ADDRESS",
	[0x01010103] = "OID_802_3_MULTICAST_LIST",
	[0x01010104] = "OID_802_3_MAXIMUM_LIST_SIZE",
	[0x0101010A] = "OID_OFFLOAD_ENCAPSULATION",
	[0xFC01020B] = "OID_TCP_OFFLOAD_CURRENT_CONFIG",
	[0xFC01020C] = "OID_TCP_OFFLOAD_PARAMETERS",
	[0xFC01020D] = "OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES",
}

local ppi_types = {
	[0] = "checksum", "IPsec", "LSO", "classification handle", "reserved",
	"SG list", "802.1Q", "original (hash info)", "hash value",
	"original NBL", "cached NBL", "short packet pad",
}

local vstor_ops = {
	"COMPLETE_IO", "REMOVE_DEVICE", "EXECUTE_SRB", "RESET_LUN",
	"RESET_ADAPTER", "RESET_BUS", "BEGIN_INITIALIZATION",
	"END_INITIALIZATION", "QUERY_PROTOCOL_VERSION", "QUERY_PROPERTIES",
	"ENUMERATE_BUS", "FCHBA_DATA", "CREATE_SUB_CHANNELS",
	"EVENT_NOTIFICATION",
}

local vstor_versions = {
	[0x0200] = "2.0 (WS2008)", [0x0402] = "4.2 (Win7)",
	[0x0501] = "5.1 (Win8)", [0x0600] = "6.0 (Win8.1)",
	[0x0602] = "6.2 (Win10)",
}

local ntstatus = {
	[0x00000000] = "SUCCESS", [0x80000005] = "BUFFER_OVERFLOW",
	[0x80000011] = "DEVICE_BUSY", [0xC0000001] = "UNSUCCESSFUL",
	[0xC000000D] = "INVALID_PARAMETER",
	[0xC0000010] = "INVALID_DEVICE_REQUEST",
	[0xC0000059] = "REVISION_MISMATCH",
	[0xC000009D] = "DEVICE_NOT_CONNECTED", [0xC00000B5] = "IO_TIMEOUT",
	[0xC00000C0] = "DEVICE_DOES_NOT_EXIST", [0xC0000120] = "CANCELLED",
	[0xC0000184] = "INVALID_DEVICE_STATE", [0xC0000185] = "IO_DEVICE_ERROR",
}

local srb_status = {
	[0x00] = "PENDING", [0x01] = "SUCCESS", [0x02] = "ABORTED",
	[0x04] = "ERROR", [0x06] = "INVALID_REQUEST", [0x08] = "NO_DEVICE",
	[0x09] = "TIMEOUT", [0x0A] = "SELECTION_TIMEOUT", [0x0E] = "BUS_RESET",
	[0x12] = "DATA_OVERRUN", [0x20] = "INVALID_LUN",
	[0x30] = "INTERNAL_ERROR",
}

local scsi_status = {
	[0x00] = "GOOD", [0x02] = "CHECK CONDITION", [0x04] = "CONDITION MET",
	[0x08] = "BUSY", [0x18] = "RESERVATION CONFLICT", [0x28] = "TASK SET FULL",
	[0x30] = "ACA ACTIVE", [0x40] = "TASK ABORTED",
}

local data_in_names = { [0] = "write (data out)", [1] = "read (data in)",
	[2] = "unknown / none" }

local scsi_ops = {
	[0x00] = "TEST UNIT READY", [0x03] = "REQUEST SENSE",
	[0x04] = "FORMAT UNIT", [0x08] = "READ(6)", [0x0A] = "WRITE(6)",
	[0x12] = "INQUIRY", [0x15] = "MODE SELECT(6)", [0x1A] = "MODE SENSE(6)",
	[0x1B] = "START STOP UNIT", [0x1D] = "SEND DIAGNOSTIC",
	[0x1E] = "PREVENT ALLOW MEDIUM REMOVAL",
	[0x25] = "READ CAPACITY(10)", [0x28] = "READ(10)", [0x2A] = "WRITE(10)",
	[0x2F] = "VERIFY(10)", [0x35] = "SYNCHRONIZE CACHE(10)",
	[0x41] = "WRITE SAME(10)", [0x42] = "UNMAP", [0x4D] = "LOG SENSE",
	[0x55] = "MODE SELECT(10)", [0x5A] = "MODE SENSE(10)",
	[0x88] = "READ(16)", [0x8A] = "WRITE(16)", [0x8F] = "VERIFY(16)",
	[0x91] = "SYNCHRONIZE CACHE(16)", [0x93] = "WRITE SAME(16)",
	[0x9E] = "SERVICE ACTION IN(16)", [0xA0] = "REPORT LUNS",
	[0xA3] = "MAINTENANCE IN", [0xA8] = "READ(12)", [0xAA] = "WRITE(12)",
}

local sense_keys = {
	[0] = "NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR",
	"HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
	"BLANK CHECK", "VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND",
	"reserved", "VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
}

local echo_ops = {
	"PING", "SUM", "FILL", "SET_BUFFER", "XFER", "SUBCHANNELS",
	"DROP_BUFFER", "SINK", "HOTADD", "RESCIND",
}

-- Device classes, as GUID strings (what ProtoField.guid shows).
local CLASS_NIC = "f8615163-df3e-46c5-913f-f2d2f965ed0e"
local CLASS_SCSI = "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f"
local CLASS_IDE = "32412632-86cb-44a2-9b5c-50d1417354f5"
local CLASS_ECHO = "9a2c5e1d-7b3f-4c8e-a1d6-0e5f4b3a2c19"
local class_names = {
	[CLASS_NIC] = "synthetic NIC", [CLASS_SCSI] = "synthetic SCSI",
	[CLASS_IDE] = "IDE accelerator", [CLASS_ECHO] = "openvmbus echo",
	["2f9bcc4a-0069-4af3-b76b-6fd0be528cda"] = "synthetic FC",
	["44c4f61d-4444-4400-9d52-802e27ede19f"] = "vPCI",
	["0e0b6031-5213-4934-818b-38d90ced39db"] = "shutdown",
	["a9a0f4e7-5a45-4d96-b827-8a841e8c03e6"] = "KVP",
	["35fa2e29-ea23-4236-96ae-3a6ebacba440"] = "VSS",
	["9527e630-d0ae-497b-adce-e80ab0175caf"] = "time sync",
	["57164f39-9115-4e78-ab55-382f3bd5422d"] = "heartbeat",
}

---------------------------------------------------------------------------
-- protocols and fields

local p_cap = Proto("ovbcap", "openvmbus capture record")
local p_vmbus = Proto("vmbus", "Hyper-V VMBus")
local p_nvsp = Proto("nvsp", "Hyper-V NVSP (synthetic NIC)")
local p_rndis = Proto("hv_rndis", "Hyper-V RNDIS")
local p_vstor = Proto("vstor", "Hyper-V VSTOR (synthetic storage)")
local p_echo = Proto("vmbus_echo", "openvmbus echo device")

local F = {}
local function fld(proto, list)
	for _, f in ipairs(list) do
		F[f.abbr] = f.pf
		table.insert(proto.fields, f.pf)
	end
end
local function u8(a, n, vs, b) return { abbr = a, pf = ProtoField.uint8(a, n, b or base.DEC, vs) } end
local function u16(a, n, vs, b) return { abbr = a, pf = ProtoField.uint16(a, n, b or base.DEC, vs) } end
local function u32(a, n, vs, b) return { abbr = a, pf = ProtoField.uint32(a, n, b or base.DEC, vs) } end
local function x8(a, n, vs) return u8(a, n, vs, base.HEX) end
local function x16(a, n, vs) return u16(a, n, vs, base.HEX) end
local function x32(a, n, vs) return u32(a, n, vs, base.HEX) end
local function x64(a, n) return { abbr = a, pf = ProtoField.uint64(a, n, base.HEX) } end
local function u64(a, n) return { abbr = a, pf = ProtoField.uint64(a, n, base.DEC) } end
local function guid(a, n) return { abbr = a, pf = ProtoField.guid(a, n) } end
local function bytes(a, n) return { abbr = a, pf = ProtoField.bytes(a, n) } end
local function str(a, n) return { abbr = a, pf = ProtoField.string(a, n) } end
local function fnum(a, n) return { abbr = a, pf = ProtoField.framenum(a, n) } end

fld(p_cap, {
	x32("ovbcap.magic", "Magic"), u16("ovbcap.hdr_len", "Header length"),
	u8("ovbcap.kind", "Kind", kind_names), u8("ovbcap.dir", "Direction", dir_names),
	u32("ovbcap.partition_id", "Partition id"), u32("ovbcap.relid", "Relid"),
	u16("ovbcap.subidx", "Sub-channel index"), x16("ovbcap.flags", "Flags"),
	u32("ovbcap.pkt_len", "Packet length"), u32("ovbcap.data_len", "Referenced bytes captured"),
	u32("ovbcap.data_orig", "Referenced bytes named"), guid("ovbcap.class", "Device class"),
	str("ovbcap.device", "Device"), bytes("ovbcap.data", "Referenced guest memory"),
})

fld(p_vmbus, {
	u32("vmbus.msgtype", "Message type", msg_names), x32("vmbus.padding", "Padding"),
	u32("vmbus.relid", "Child relid"),
	-- OFFERCHANNEL
	guid("vmbus.offer.if_type", "Interface type (class)"),
	guid("vmbus.offer.if_instance", "Interface instance"),
	str("vmbus.offer.device", "Device"),
	str("vmbus.device", "Device (from the channel's OFFER)"),
	bytes("vmbus.offer.reserved", "Reserved"), x16("vmbus.offer.chn_flags", "Channel flags"),
	u16("vmbus.offer.mmio_megabytes", "MMIO megabytes"),
	bytes("vmbus.offer.user_defined", "User defined"),
	u16("vmbus.offer.sub_channel_index", "Sub-channel index"),
	u16("vmbus.offer.mmio_megabytes_optional", "MMIO megabytes optional"),
	u8("vmbus.offer.monitor_id", "Monitor id"), x8("vmbus.offer.monitor_allocated", "Monitor allocated"),
	x16("vmbus.offer.is_dedicated_interrupt", "Dedicated interrupt"),
	x32("vmbus.offer.connection_id", "Connection id"),
	-- OPENCHANNEL / RESULT
	u32("vmbus.open.openid", "Open id"), x32("vmbus.open.ring_gpadl", "Ring GPADL"),
	u32("vmbus.open.target_vp", "Target VP"),
	u32("vmbus.open.downstream_offset", "Downstream ring page offset"),
	bytes("vmbus.open.user_data", "User data"), x32("vmbus.open.connection_id", "Connection id"),
	u16("vmbus.open.event_flag", "Event flag"), x16("vmbus.open.flags", "Flags"),
	x32("vmbus.status", "Status"),
	-- GPADL
	x32("vmbus.gpadl", "GPADL handle"), u16("vmbus.gpadl.range_buflen", "Range buffer length"),
	u16("vmbus.gpadl.rangecount", "Range count"), u32("vmbus.gpadl.msgnumber", "Message number"),
	u32("vmbus.range.byte_count", "Byte count"), u32("vmbus.range.byte_offset", "Byte offset"),
	x64("vmbus.range.pfn", "PFN"),
	-- INITIATE_CONTACT / VERSION_RESPONSE
	x32("vmbus.version", "Version requested", vmbus_versions),
	u32("vmbus.target_vcpu", "Target vCPU"), x64("vmbus.interrupt_page", "Interrupt page GPA"),
	u8("vmbus.msg_sint", "Message SINT"), u8("vmbus.msg_vtl", "Message VTL"),
	x16("vmbus.reserved16", "Reserved"), x32("vmbus.feature_flags", "Feature flags"),
	x64("vmbus.monitor_page1", "Monitor page 1 (parent -> child) GPA"),
	x64("vmbus.monitor_page2", "Monitor page 2 (child -> parent) GPA"),
	guid("vmbus.client_id", "Client id"),
	u8("vmbus.version_supported", "Version supported"),
	u8("vmbus.connection_state", "Connection state", { [0] = "ok", "low resources", "unknown failure" }),
	x32("vmbus.msg_conn_id", "Message connection id"),
	x32("vmbus.supported_features", "Supported features"),
	x32("vmbus.reserved32", "Reserved"),
	x32("vmbus.negotiated_version", "Negotiated version", vmbus_versions),
	-- reserved channels, TL, modify
	u32("vmbus.target_sint", "Target SINT"),
	guid("vmbus.tl.endpoint", "Endpoint id"), guid("vmbus.tl.service", "Service id"),
	guid("vmbus.tl.silo", "Silo id"),
	-- ring packets
	u16("vmbus.pkt.type", "Packet type", pkt_types), u16("vmbus.pkt.offset8", "Data offset (8-byte units)"),
	u16("vmbus.pkt.len8", "Length (8-byte units)"), x16("vmbus.pkt.flags", "Flags"),
	x64("vmbus.pkt.xid", "Transaction id"),
	x16("vmbus.pkt.xfer.pageset", "Transfer pageset id"), u8("vmbus.pkt.xfer.sender_owns", "Sender owns set"),
	x8("vmbus.pkt.xfer.reserved", "Reserved"), u32("vmbus.pkt.xfer.range_count", "Range count"),
	u32("vmbus.pkt.xfer.byte_count", "Byte count"), u32("vmbus.pkt.xfer.byte_offset", "Byte offset"),
	x32("vmbus.pkt.gpa.reserved", "Reserved"), u32("vmbus.pkt.gpa.range_count", "Range count"),
	bytes("vmbus.pkt.payload", "Payload"),
})

fld(p_nvsp, {
	u32("nvsp.type", "Message type", nvsp_types),
	x32("nvsp.min_version", "Min protocol version", nvsp_versions),
	x32("nvsp.max_version", "Max protocol version", nvsp_versions),
	x32("nvsp.negotiated_version", "Negotiated version (deprecated)", nvsp_versions),
	u32("nvsp.max_mdl_chain_len", "Max MDL chain length"),
	u32("nvsp.status", "Status", nvsp_status),
	u32("nvsp.ndis_major", "NDIS major"), u32("nvsp.ndis_minor", "NDIS minor"),
	x32("nvsp.gpadl", "GPADL handle"), x16("nvsp.buffer_id", "Buffer id"),
	x16("nvsp.reserved16", "Reserved"), u32("nvsp.num_sections", "Sections"),
	u32("nvsp.section.offset", "Offset"), u32("nvsp.section.sub_alloc_size", "Sub-allocation size"),
	u32("nvsp.section.num_sub_allocs", "Sub-allocations"), u32("nvsp.section.end_offset", "End offset"),
	u32("nvsp.section_size", "Send section size"),
	u32("nvsp.channel_type", "Channel type", { [0] = "data", "control" }),
	x32("nvsp.send_section_index", "Send section index"),
	u32("nvsp.send_section_size", "Send section bytes used"),
	u32("nvsp.mtu", "MTU"), x32("nvsp.reserved", "Reserved"), x64("nvsp.capabilities", "Capabilities"),
	u32("nvsp.vf_allocated", "VF allocated"), u32("nvsp.vf_serial", "VF serial"),
	u32("nvsp.datapath", "Active data path", { [0] = "synthetic", "VF" }),
	u32("nvsp.subchannel_op", "Sub-channel operation", { [0] = "none", "allocate" }),
	u32("nvsp.num_subchannels", "Sub-channels"),
	u32("nvsp.table_count", "Table entries"), u32("nvsp.table_offset", "Table offset"),
	u32("nvsp.table_entry", "Queue"),
	bytes("nvsp.body", "Body"),
})

fld(p_rndis, {
	x32("hv_rndis.type", "Message type", rndis_types), u32("hv_rndis.len", "Message length"),
	u32("hv_rndis.request_id", "Request id"), x32("hv_rndis.status", "Status", rndis_status),
	u32("hv_rndis.major", "Major version"), u32("hv_rndis.minor", "Minor version"),
	u32("hv_rndis.max_transfer_size", "Max transfer size"), x32("hv_rndis.device_flags", "Device flags"),
	u32("hv_rndis.medium", "Medium"), u32("hv_rndis.max_packets", "Max packets per message"),
	u32("hv_rndis.packet_alignment", "Packet alignment factor"),
	u32("hv_rndis.af_list_offset", "AF list offset"), u32("hv_rndis.af_list_size", "AF list size"),
	x32("hv_rndis.oid", "OID", rndis_oids), u32("hv_rndis.info_len", "Information buffer length"),
	u32("hv_rndis.info_offset", "Information buffer offset"), x32("hv_rndis.vc_handle", "Device VC handle"),
	bytes("hv_rndis.info", "Information buffer"), x32("hv_rndis.reserved", "Reserved"),
	u32("hv_rndis.addressing_reset", "Addressing reset"),
	u32("hv_rndis.status_len", "Status buffer length"), u32("hv_rndis.status_offset", "Status buffer offset"),
	u32("hv_rndis.data_offset", "Data offset"), u32("hv_rndis.data_len", "Data length"),
	u32("hv_rndis.oob_offset", "OOB offset"), u32("hv_rndis.oob_len", "OOB length"),
	u32("hv_rndis.num_oob", "OOB elements"), u32("hv_rndis.ppi_offset", "PPI offset"),
	u32("hv_rndis.ppi_len", "PPI length"),
	u32("hv_rndis.ppi.size", "PPI size"), u32("hv_rndis.ppi.type", "PPI type", ppi_types),
	u8("hv_rndis.ppi.internal", "Internal"), u32("hv_rndis.ppi.offset", "PPI data offset"),
	x32("hv_rndis.ppi.value", "Value"), u8("hv_rndis.ppi.id_ver", "Pktinfo id version"),
	x8("hv_rndis.ppi.id_flag", "Pktinfo id flags"), u16("hv_rndis.ppi.id_pkt", "Pktinfo packet id"),
	u16("hv_rndis.ppi.vlan", "VLAN id"), u8("hv_rndis.ppi.priority", "Priority"),
	bytes("hv_rndis.ppi.data", "PPI data"),
})

fld(p_vstor, {
	u32("vstor.op", "Operation", vstor_ops), x32("vstor.flags", "Flags"),
	x32("vstor.status", "NTSTATUS", ntstatus),
	x16("vstor.version", "Protocol version", vstor_versions), u16("vstor.revision", "Revision"),
	u16("vstor.max_channels", "Max channel count"), x32("vstor.prop_flags", "Property flags"),
	u32("vstor.max_transfer", "Max transfer bytes"), u16("vstor.subchannels", "Sub-channel count"),
	u16("vstor.srb.length", "SRB length"), x8("vstor.srb.srb_status", "SRB status"),
	str("vstor.srb.srb_status_name", "SRB status name"),
	x8("vstor.srb.scsi_status", "SCSI status", scsi_status), u8("vstor.srb.port", "Port"),
	u8("vstor.srb.path", "Path id"), u8("vstor.srb.target", "Target id"), u8("vstor.srb.lun", "LUN"),
	u8("vstor.srb.cdb_length", "CDB length"), u8("vstor.srb.sense_length", "Sense info length"),
	u8("vstor.srb.data_in", "Data direction", data_in_names), x8("vstor.srb.reserved", "Reserved"),
	u32("vstor.srb.transfer_length", "Data transfer length"),
	x16("vstor.srb.reserve", "Reserve"), u8("vstor.srb.queue_tag", "Queue tag"),
	u8("vstor.srb.queue_action", "Queue action"), x32("vstor.srb.srb_flags", "SRB flags"),
	u32("vstor.srb.timeout", "Timeout (s)"), u32("vstor.srb.sort_key", "Queue sort key"),
	x8("vstor.cdb.opcode", "Opcode", scsi_ops), u64("vstor.cdb.lba", "LBA"),
	u32("vstor.cdb.length", "Transfer length (blocks)"), bytes("vstor.cdb", "CDB"),
	x8("vstor.sense.response", "Response code"), u8("vstor.sense.key", "Sense key", sense_keys),
	x8("vstor.sense.asc", "ASC"), x8("vstor.sense.ascq", "ASCQ"), bytes("vstor.sense", "Sense data"),
	fnum("vstor.request_in", "Request in"), fnum("vstor.response_in", "Response in"),
	u8("vstor.event.lun", "LUN"), u8("vstor.event.target", "Target"), u8("vstor.event.path", "Path"),
	x8("vstor.event.flags", "Flags"), bytes("vstor.body", "Body"),
})

fld(p_echo, {
	u32("vmbus_echo.op", "Operation", echo_ops), u32("vmbus_echo.status", "Status"),
	x64("vmbus_echo.arg", "Argument"), u32("vmbus_echo.len", "Length"),
	x32("vmbus_echo.reserved", "Reserved"), bytes("vmbus_echo.data", "Data"),
})

local ef_malformed = ProtoExpert.new("ovbcap.malformed", "Malformed record",
	expert.group.MALFORMED, expert.severity.ERROR)
local ef_short = ProtoExpert.new("ovbcap.short", "Field beyond the captured bytes",
	expert.group.MALFORMED, expert.severity.WARN)
local ef_cut = ProtoExpert.new("ovbcap.cut", "Referenced data cut at the snap length",
	expert.group.UNDECODED, expert.severity.NOTE)
local ef_failed = ProtoExpert.new("vstor.failed", "SCSI command failed",
	expert.group.RESPONSE_CODE, expert.severity.WARN)
local ef_refused = ProtoExpert.new("vmbus.refused", "Refused or failed",
	expert.group.RESPONSE_CODE, expert.severity.WARN)
p_cap.experts = { ef_malformed, ef_short, ef_cut, ef_failed, ef_refused }

local eth = Dissector.get("eth_withoutfcs")

---------------------------------------------------------------------------
-- bounds-checked reading

-- A cursor over a tvb: add fields in order, stop (with expert info)
-- at the first one that does not fit.
local Cur = {}
Cur.__index = Cur

local function cursor(tvb, tree, off, limit)
	local c = setmetatable({ tvb = tvb, tree = tree, off = off or 0, ok = true }, Cur)
	c.limit = math.min(limit or tvb:len(), tvb:len())
	return c
end

function Cur:have(n) return self.ok and self.off + n <= self.limit end

function Cur:fail()
	if self.ok then
		self.tree:add_proto_expert_info(ef_short,
			string.format("record ends at byte %d of this structure", self.off))
	end
	self.ok = false
end

-- Add field @name of @n bytes (little-endian); returns its value or nil.
function Cur:f(name, n, tree)
	if not self:have(n) then self:fail(); return nil end
	local r = self.tvb(self.off, n)
	local t = tree or self.tree
	local v
	if n == 8 then v = r:le_uint64() elseif n == 16 or n > 8 then v = nil else v = r:le_uint() end
	t:add_le(F[name], r)
	self.off = self.off + n
	return v
end

-- Bytes field of @n (or what is left) bytes.
function Cur:b(name, n)
	n = n or (self.limit - self.off)
	if n <= 0 then return end
	if not self:have(n) then self:fail(); return end
	self.tree:add(F[name], self.tvb(self.off, n))
	self.off = self.off + n
end

function Cur:skip(n) self.off = self.off + n end

local function le32(tvb, off)
	if off < 0 or off + 4 > tvb:len() then return nil end
	return tvb(off, 4):le_uint()
end

local function le16(tvb, off)
	if off < 0 or off + 2 > tvb:len() then return nil end
	return tvb(off, 2):le_uint()
end

local function vname(t, v, dflt)
	return (v and t[v]) or dflt or string.format("0x%x", v or 0)
end

local function guid_str(tvb, off)
	if off + 16 > tvb:len() then return nil end
	local b = {}
	for i = 0, 15 do b[i] = tvb(off + i, 1):uint() end
	return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9],
		b[10], b[11], b[12], b[13], b[14], b[15])
end

---------------------------------------------------------------------------
-- per-capture state (filled on the first pass, read on every pass)

local st = {}
local function state_reset()
	st = {
		contact = {},     -- partition id -> last INITIATE_CONTACT version
		negotiated = {},  -- frame number -> negotiated version
		vstor_req = {},   -- "pid:relid:xid" -> { frame, vop, op, s, reply }
		offers = {},      -- "pid:relid" -> class GUID string, as offered
		msgdev = {},      -- frame number -> device name (first pass)
	}
end
state_reset()
function p_cap.init() state_reset() end

---------------------------------------------------------------------------
-- VMBus channel messages

local function gpa_ranges(c, count, tree)
	for i = 1, count do
		if not c:have(8) then c:fail(); return end
		local bc = le32(c.tvb, c.off)
		local bo = le32(c.tvb, c.off + 4)
		local npfn = math.floor((bo % 4096 + bc + 4095) / 4096)
		local rt = tree:add(p_vmbus, c.tvb(c.off, math.min(8 + npfn * 8, c.limit - c.off)),
			string.format("GPA range %d: %u bytes at offset %u, %d pages", i, bc, bo, npfn))
		c:f("vmbus.range.byte_count", 4, rt)
		c:f("vmbus.range.byte_offset", 4, rt)
		for _ = 1, npfn do
			if not c.ok then return end
			c:f("vmbus.range.pfn", 8, rt)
		end
	end
end

local msg = {}

msg[1] = function(c, t, pinfo, pid)   -- OFFERCHANNEL
	local cls = guid_str(c.tvb, c.off)
	c:f("vmbus.offer.if_type", 16)
	if cls then
		t:add(F["vmbus.offer.device"], class_names[cls] or "unknown"):set_generated()
	end
	c:f("vmbus.offer.if_instance", 16)
	c:b("vmbus.offer.reserved", 16)
	c:f("vmbus.offer.chn_flags", 2)
	c:f("vmbus.offer.mmio_megabytes", 2)
	c:b("vmbus.offer.user_defined", 120)
	c:f("vmbus.offer.sub_channel_index", 2)
	c:f("vmbus.offer.mmio_megabytes_optional", 2)
	local relid = c:f("vmbus.relid", 4)
	c:f("vmbus.offer.monitor_id", 1)
	c:f("vmbus.offer.monitor_allocated", 1)
	c:f("vmbus.offer.is_dedicated_interrupt", 2)
	c:f("vmbus.offer.connection_id", 4)
	if relid and cls and not pinfo.visited then
		st.offers[pid .. ":" .. relid] = cls
	end
	return string.format("relid %s %s", tostring(relid), cls and (class_names[cls] or cls) or "")
end

local function relid_only(c) return "relid " .. tostring(c:f("vmbus.relid", 4)) end
msg[2] = relid_only
msg[7] = relid_only
msg[13] = relid_only
msg[20] = relid_only

msg[5] = function(c, t)   -- OPENCHANNEL
	local relid = c:f("vmbus.relid", 4)
	c:f("vmbus.open.openid", 4)
	c:f("vmbus.open.ring_gpadl", 4)
	c:f("vmbus.open.target_vp", 4)
	c:f("vmbus.open.downstream_offset", 4)
	c:b("vmbus.open.user_data", 120)
	if c.limit - c.off >= 8 then   -- OpenChannel2
		c:f("vmbus.open.connection_id", 4)
		c:f("vmbus.open.event_flag", 2)
		c:f("vmbus.open.flags", 2)
	end
	return "relid " .. tostring(relid)
end

msg[6] = function(c, t)   -- OPENCHANNEL_RESULT
	local relid = c:f("vmbus.relid", 4)
	c:f("vmbus.open.openid", 4)
	local s = c:f("vmbus.status", 4)
	if s and s ~= 0 then t:add_proto_expert_info(ef_refused, "open refused") end
	return string.format("relid %s status %s", tostring(relid), tostring(s))
end

msg[8] = function(c, t)   -- GPADL_HEADER
	local relid = c:f("vmbus.relid", 4)
	local g = c:f("vmbus.gpadl", 4)
	c:f("vmbus.gpadl.range_buflen", 2)
	local n = c:f("vmbus.gpadl.rangecount", 2)
	if n then gpa_ranges(c, n, t) end
	return string.format("relid %s gpadl 0x%x", tostring(relid), g or 0)
end

msg[9] = function(c, t)   -- GPADL_BODY
	c:f("vmbus.gpadl.msgnumber", 4)
	local g = c:f("vmbus.gpadl", 4)
	while c.ok and c.off + 8 <= c.limit do c:f("vmbus.range.pfn", 8) end
	return string.format("gpadl 0x%x", g or 0)
end

msg[10] = function(c, t)   -- GPADL_CREATED
	local relid = c:f("vmbus.relid", 4)
	local g = c:f("vmbus.gpadl", 4)
	local s = c:f("vmbus.status", 4)
	if s and s ~= 0 then t:add_proto_expert_info(ef_refused, "GPADL refused") end
	return string.format("relid %s gpadl 0x%x status %s", tostring(relid), g or 0, tostring(s))
end

msg[11] = function(c)   -- GPADL_TEARDOWN
	local relid = c:f("vmbus.relid", 4)
	local g = c:f("vmbus.gpadl", 4)
	return string.format("relid %s gpadl 0x%x", tostring(relid), g or 0)
end

msg[12] = function(c)   -- GPADL_TORNDOWN
	return string.format("gpadl 0x%x", c:f("vmbus.gpadl", 4) or 0)
end

msg[14] = function(c, t, pinfo, pid)   -- INITIATE_CONTACT
	local v = c:f("vmbus.version", 4)
	c:f("vmbus.target_vcpu", 4)
	if v and v >= 0x00050000 then
		c:f("vmbus.msg_sint", 1)
		c:f("vmbus.msg_vtl", 1)
		c:f("vmbus.reserved16", 2)
		c:f("vmbus.feature_flags", 4)
	else
		c:f("vmbus.interrupt_page", 8)
	end
	c:f("vmbus.monitor_page1", 8)
	c:f("vmbus.monitor_page2", 8)
	if c.limit - c.off >= 16 then c:f("vmbus.client_id", 16) end
	if v and not pinfo.visited then st.contact[pid] = v end
	return "version " .. vname(vmbus_versions, v)
end

msg[15] = function(c, t, pinfo, pid)   -- VERSION_RESPONSE
	local ok = c:f("vmbus.version_supported", 1)
	c:f("vmbus.connection_state", 1)
	c:f("vmbus.reserved16", 2)
	c:f("vmbus.msg_conn_id", 4)
	if c.limit - c.off >= 4 then c:f("vmbus.supported_features", 4) end
	if c.limit - c.off >= 20 then
		c:f("vmbus.reserved32", 4)
		c:f("vmbus.monitor_page1", 8)
		c:f("vmbus.monitor_page2", 8)
	end
	if not pinfo.visited and ok == 1 and st.contact[pid] then
		st.negotiated[pinfo.number] = st.contact[pid]
	end
	local nv = st.negotiated[pinfo.number]
	if nv then
		t:add(F["vmbus.negotiated_version"], nv):set_generated()
		return "accepted, version " .. vname(vmbus_versions, nv)
	end
	if ok == 0 then t:add_proto_expert_info(ef_refused, "version refused") end
	return ok == 1 and "accepted" or "refused"
end

msg[18] = function(c)   -- OPEN_RESERVED_CHANNEL
	local relid = c:f("vmbus.relid", 4)
	c:f("vmbus.open.target_vp", 4)
	c:f("vmbus.target_sint", 4)
	c:f("vmbus.open.ring_gpadl", 4)
	c:f("vmbus.open.downstream_offset", 4)
	return "relid " .. tostring(relid)
end

msg[19] = function(c)   -- CLOSE_RESERVED_CHANNEL
	local relid = c:f("vmbus.relid", 4)
	c:f("vmbus.open.target_vp", 4)
	c:f("vmbus.target_sint", 4)
	return "relid " .. tostring(relid)
end

msg[21] = function(c)   -- TL_CONNECT_REQUEST
	c:f("vmbus.tl.endpoint", 16)
	c:f("vmbus.tl.service", 16)
	if c.limit - c.off >= 16 then c:f("vmbus.tl.silo", 16) end
end

msg[22] = function(c)   -- MODIFYCHANNEL
	local relid = c:f("vmbus.relid", 4)
	c:f("vmbus.open.target_vp", 4)
	return "relid " .. tostring(relid)
end

msg[23] = function(c)   -- TL_CONNECT_RESULT
	c:f("vmbus.tl.endpoint", 16)
	c:f("vmbus.tl.service", 16)
	c:f("vmbus.status", 4)
end

msg[24] = function(c)   -- MODIFYCHANNEL_RESPONSE
	local relid = c:f("vmbus.relid", 4)
	c:f("vmbus.status", 4)
	return "relid " .. tostring(relid)
end

msg[25] = function(c)   -- MODIFY_CONNECTION
	c:f("vmbus.monitor_page1", 8)
	c:f("vmbus.monitor_page2", 8)
end

msg[26] = function(c)   -- MODIFY_CONNECTION_RESPONSE
	c:f("vmbus.connection_state", 1)
end

-- Message types whose relid follows the header.
local relid_at8 = { [2] = true, [5] = true, [6] = true, [7] = true,
	[8] = true, [10] = true, [11] = true, [13] = true, [18] = true,
	[19] = true, [20] = true, [22] = true, [24] = true }

local function dissect_message(tvb, pinfo, tree, pid)
	local t = tree:add(p_vmbus, tvb(), "VMBus channel message")
	local c = cursor(tvb, t, 0)
	local mt = c:f("vmbus.msgtype", 4)
	c:f("vmbus.padding", 4)
	if not mt then return end
	local name = msg_names[mt] or string.format("unknown type %u", mt)
	t:append_text(": " .. name)
	local info = name
	local fn = msg[mt]
	if fn then
		local extra = fn(c, t, pinfo, pid)
		if extra then info = info .. " " .. extra end
	elseif mt > 29 then
		t:add_proto_expert_info(ef_malformed, "unknown message type")
	end
	if c.ok and c.off < c.limit then
		t:add(F["vmbus.pkt.payload"], tvb(c.off)):append_text(" (trailing bytes)")
	end
	-- Which device a message is about, from the OFFER of its relid.
	if relid_at8[mt] and not pinfo.visited then
		local cls = st.offers[pid .. ":" .. tostring(le32(tvb, 8))]
		st.msgdev[pinfo.number] = cls and (class_names[cls] or cls)
	end
	local dev = st.msgdev[pinfo.number]
	if dev then
		t:add(F["vmbus.device"], dev):set_generated()
		info = info .. " (" .. dev .. ")"
	end
	pinfo.cols.protocol = "VMBus"
	pinfo.cols.info:set(info)
end

---------------------------------------------------------------------------
-- RNDIS

-- Returns the flags of a pktinfo id PPI (RSC fragments), or nil.
local function dissect_ppi(tvb, pinfo, tree, off, len)
	local stop = off + len
	local n = 0
	local idflag = nil
	while off + 12 <= stop and off + 12 <= tvb:len() and n < 64 do
		local size = le32(tvb, off)
		local tword = le32(tvb, off + 4)
		local poff = le32(tvb, off + 8)
		local typ = bit.band(tword, 0x7fffffff)
		local internal = bit.rshift(tword, 31)
		if size < 12 or off + size > stop then
			tree:add_proto_expert_info(ef_malformed, "PPI record size out of bounds")
			return
		end
		local pt = tree:add(p_rndis, tvb(off, math.min(size, tvb:len() - off)),
			"Per-packet info: " .. (internal == 1 and typ == 1 and "pktinfo id"
				or vname(ppi_types, typ, "type " .. typ)))
		pt:add_le(F["hv_rndis.ppi.size"], tvb(off, 4))
		pt:add(F["hv_rndis.ppi.type"], typ)
		pt:add(F["hv_rndis.ppi.internal"], internal)
		pt:add_le(F["hv_rndis.ppi.offset"], tvb(off + 8, 4))
		local d = off + poff
		local dlen = size - poff
		if poff < 12 or dlen < 0 or d + dlen > tvb:len() then
			pt:add_proto_expert_info(ef_short, "PPI data outside the record")
		elseif internal == 1 and typ == 1 and dlen >= 4 then
			pt:add(F["hv_rndis.ppi.id_ver"], tvb(d, 1))
			pt:add(F["hv_rndis.ppi.id_flag"], tvb(d + 1, 1))
			pt:add_le(F["hv_rndis.ppi.id_pkt"], tvb(d + 2, 2))
			idflag = tvb(d + 1, 1):uint()
		elseif typ == 6 and dlen >= 4 then
			local v = tvb(d, 4):le_uint()
			pt:add(F["hv_rndis.ppi.priority"], bit.band(v, 7))
			pt:add(F["hv_rndis.ppi.vlan"], bit.band(bit.rshift(v, 4), 0xfff))
		elseif dlen >= 4 then
			pt:add_le(F["hv_rndis.ppi.value"], tvb(d, 4))
		elseif dlen > 0 then
			pt:add(F["hv_rndis.ppi.data"], tvb(d, dlen))
		end
		off = off + size
		n = n + 1
	end
	return idflag
end

local function call_eth(tvb, pinfo, tree)
	local ok, err = pcall(function() eth:call(tvb, pinfo, tree) end)
	if not ok then
		tree:add_proto_expert_info(ef_malformed, "Ethernet: " .. tostring(err))
	end
end

-- One RNDIS message at @off of @tvb; returns its length or nil.
local function dissect_rndis(tvb, pinfo, tree, off)
	local avail = tvb:len() - off
	if avail < 8 then
		tree:add_proto_expert_info(ef_short, "RNDIS header not captured")
		return nil
	end
	local mtype = le32(tvb, off)
	local mlen = le32(tvb, off + 4)
	local t = tree:add(p_rndis, tvb(off, math.min(math.max(mlen, 8), avail)),
		"RNDIS " .. vname(rndis_types, mtype))
	local c = cursor(tvb, t, off, off + math.max(mlen, 8))
	c:f("hv_rndis.type", 4)
	c:f("hv_rndis.len", 4)
	if mlen < 8 then
		t:add_proto_expert_info(ef_malformed, "message length below the header")
		return nil
	end
	if mlen > avail then
		t:add_proto_expert_info(ef_cut, string.format("%d of %d bytes captured", avail, mlen))
	end
	local body = off + 8
	if mtype == 1 then   -- PACKET
		local doff = c:f("hv_rndis.data_offset", 4)
		local dlen = c:f("hv_rndis.data_len", 4)
		c:f("hv_rndis.oob_offset", 4)
		c:f("hv_rndis.oob_len", 4)
		c:f("hv_rndis.num_oob", 4)
		local poff = c:f("hv_rndis.ppi_offset", 4)
		local plen = c:f("hv_rndis.ppi_len", 4)
		c:f("hv_rndis.vc_handle", 4)
		c:f("hv_rndis.reserved", 4)
		local idflag = nil
		if poff and plen and plen > 0 then
			if poff + plen > mlen - 8 then
				t:add_proto_expert_info(ef_malformed, "PPI beyond the message")
			else
				idflag = dissect_ppi(tvb, pinfo, t, body + poff, plen)
			end
		end
		-- A coalesced frame in one range (first and last fragment at once)
		-- is a whole frame: decoded as any other below.
		if idflag and bit.band(idflag, 6) == 6 then idflag = nil end
		if doff and dlen and idflag and bit.band(idflag, 1) == 1 then
			-- A fragment of a coalesced frame (RSC): its bytes are part
			-- of a frame that only the joined fragments make whole.
			local what = bit.band(idflag, 2) == 2 and "first"
				or (bit.band(idflag, 4) == 4 and "last" or "middle")
			t:add(p_rndis, tvb(body, math.min(mlen - 8, tvb:len() - body)),
				string.format("Coalesced-frame fragment (%s), %d bytes", what, dlen))
		elseif doff and dlen then
			if doff + dlen > mlen - 8 then
				t:add_proto_expert_info(ef_malformed, "frame beyond the message")
			elseif body + doff < tvb:len() then
				local have = math.min(dlen, tvb:len() - body - doff)
				if have == dlen then
					call_eth(tvb(body + doff, have):tvb(), pinfo, tree)
				elseif have > 0 then
					-- Cut by the snap length: a Lua sub-tvb cannot report
					-- the frame's real length, so the IP dissector would
					-- call the cut a malformed frame.  Say what is missing
					-- instead; a larger --snaplen decodes it.
					t:add(p_rndis, tvb(body + doff, have),
						string.format("Ethernet frame, %d of %d bytes captured (not decoded: cut by the snap length)",
							have, dlen))
				end
			end
		end
		return mlen
	elseif mtype == 2 then   -- INITIALIZE
		c:f("hv_rndis.request_id", 4); c:f("hv_rndis.major", 4)
		c:f("hv_rndis.minor", 4); c:f("hv_rndis.max_transfer_size", 4)
	elseif mtype == 0x80000002 then
		c:f("hv_rndis.request_id", 4); c:f("hv_rndis.status", 4)
		c:f("hv_rndis.major", 4); c:f("hv_rndis.minor", 4)
		c:f("hv_rndis.device_flags", 4); c:f("hv_rndis.medium", 4)
		c:f("hv_rndis.max_packets", 4); c:f("hv_rndis.max_transfer_size", 4)
		c:f("hv_rndis.packet_alignment", 4); c:f("hv_rndis.af_list_offset", 4)
		c:f("hv_rndis.af_list_size", 4)
	elseif mtype == 3 or mtype == 8 then   -- HALT, KEEPALIVE
		c:f("hv_rndis.request_id", 4)
	elseif mtype == 4 or mtype == 5 or mtype == 9 then   -- QUERY, SET, SET_EX
		c:f("hv_rndis.request_id", 4)
		local oid = c:f("hv_rndis.oid", 4)
		local ilen = c:f("hv_rndis.info_len", 4)
		local ioff = c:f("hv_rndis.info_offset", 4)
		c:f("hv_rndis.vc_handle", 4)
		if oid then pinfo.cols.info:append(" " .. vname(rndis_oids, oid)) end
		if ilen and ioff and ilen > 0 then
			local ic = cursor(tvb, t, body + ioff, off + mlen)
			ic:b("hv_rndis.info", ilen)
		end
	elseif mtype == 0x80000004 then   -- QUERY_C
		c:f("hv_rndis.request_id", 4); c:f("hv_rndis.status", 4)
		local ilen = c:f("hv_rndis.info_len", 4)
		local ioff = c:f("hv_rndis.info_offset", 4)
		if ilen and ioff and ilen > 0 then
			local ic = cursor(tvb, t, body + ioff, off + mlen)
			ic:b("hv_rndis.info", ilen)
		end
	elseif mtype == 0x80000005 or mtype == 0x80000008 or mtype == 0x80000009 then
		c:f("hv_rndis.request_id", 4); c:f("hv_rndis.status", 4)
	elseif mtype == 6 then
		c:f("hv_rndis.reserved", 4)
	elseif mtype == 0x80000006 then
		c:f("hv_rndis.status", 4); c:f("hv_rndis.addressing_reset", 4)
	elseif mtype == 7 then   -- INDICATE_STATUS
		local s = c:f("hv_rndis.status", 4)
		local slen = c:f("hv_rndis.status_len", 4)
		local soff = c:f("hv_rndis.status_offset", 4)
		if s then pinfo.cols.info:append(" " .. vname(rndis_status, s)) end
		if slen and soff and slen > 0 then
			local ic = cursor(tvb, t, body + soff, off + mlen)
			ic:b("hv_rndis.info", slen)
		end
	else
		t:add_proto_expert_info(ef_malformed, "unknown RNDIS message type")
	end
	pinfo.cols.info:append(" RNDIS " .. vname(rndis_types, mtype))
	return mlen
end

---------------------------------------------------------------------------
-- NVSP

local function dissect_nvsp(tvb, pinfo, tree, r)
	local t = tree:add(p_nvsp, tvb)
	local c = cursor(tvb, t, 0)
	local mt = c:f("nvsp.type", 4)
	if not mt then return end
	local name = vname(nvsp_types, mt, "type " .. mt)
	t:append_text(": " .. name)
	pinfo.cols.protocol = "NVSP"
	pinfo.cols.info:set("NVSP " .. name)
	if mt == 1 then
		c:f("nvsp.min_version", 4); c:f("nvsp.max_version", 4)
	elseif mt == 2 then
		c:f("nvsp.negotiated_version", 4); c:f("nvsp.max_mdl_chain_len", 4)
		c:f("nvsp.status", 4)
	elseif mt == 100 then
		c:f("nvsp.ndis_major", 4); c:f("nvsp.ndis_minor", 4)
	elseif mt == 101 or mt == 104 then
		c:f("nvsp.gpadl", 4); c:f("nvsp.buffer_id", 2)
		if c.limit - c.off >= 2 then c:f("nvsp.reserved16", 2) end
	elseif mt == 102 then
		c:f("nvsp.status", 4)
		local n = c:f("nvsp.num_sections", 4) or 0
		for i = 1, math.min(n, 64) do
			if not c:have(16) then c:fail(); break end
			local st_ = t:add(p_nvsp, tvb(c.off, 16), "Receive buffer section " .. i)
			c:f("nvsp.section.offset", 4, st_); c:f("nvsp.section.sub_alloc_size", 4, st_)
			c:f("nvsp.section.num_sub_allocs", 4, st_); c:f("nvsp.section.end_offset", 4, st_)
		end
	elseif mt == 103 or mt == 106 then
		c:f("nvsp.buffer_id", 2)
	elseif mt == 105 then
		c:f("nvsp.status", 4); c:f("nvsp.section_size", 4)
	elseif mt == 107 then
		c:f("nvsp.channel_type", 4); c:f("nvsp.send_section_index", 4)
		c:f("nvsp.send_section_size", 4)
	elseif mt == 108 then
		c:f("nvsp.status", 4)
	elseif mt == 125 then
		c:f("nvsp.mtu", 4); c:f("nvsp.reserved", 4); c:f("nvsp.capabilities", 8)
	elseif mt == 128 then
		c:f("nvsp.vf_allocated", 4); c:f("nvsp.vf_serial", 4)
	elseif mt == 129 then
		c:f("nvsp.datapath", 4)
	elseif mt == 133 then
		if r.dir == 0 then
			c:f("nvsp.subchannel_op", 4)
		else
			c:f("nvsp.status", 4)
		end
		c:f("nvsp.num_subchannels", 4)
	elseif mt == 134 then
		local n = c:f("nvsp.table_count", 4)
		local o = c:f("nvsp.table_offset", 4)
		if n and o then
			local tc = cursor(tvb, t, o)
			for _ = 1, math.min(n, 128) do
				if not tc.ok then break end
				tc:f("nvsp.table_entry", 4)
			end
		end
		return
	elseif nvsp_types[mt] == nil then
		t:add_proto_expert_info(ef_malformed, "unknown NVSP message type")
	end
	if c.ok and c.off < c.limit then c:b("nvsp.body") end
	return mt
end

---------------------------------------------------------------------------
-- VSTOR and SCSI

local function be(tvb, off, n)
	if off + n > tvb:len() then return nil end
	if n == 8 then return tvb(off, 8):uint64() end
	return tvb(off, n):uint()
end

local function dissect_cdb(tvb, off, len, tree)
	if len < 1 or off + len > tvb:len() then return nil end
	local ct = tree:add(F["vstor.cdb"], tvb(off, len))
	local op = tvb(off, 1):uint()
	ct:add(F["vstor.cdb.opcode"], tvb(off, 1))
	local lba, blocks
	if (op == 0x08 or op == 0x0A) and len >= 6 then
		lba = bit.band(be(tvb, off + 1, 3), 0x1fffff)
		blocks = tvb(off + 4, 1):uint()
		if blocks == 0 then blocks = 256 end
		ct:add(F["vstor.cdb.lba"], tvb(off + 1, 3), UInt64(lba))
		ct:add(F["vstor.cdb.length"], tvb(off + 4, 1), blocks)
	elseif (op == 0x28 or op == 0x2A or op == 0x2F or op == 0x35 or op == 0x41) and len >= 10 then
		lba = be(tvb, off + 2, 4)
		blocks = be(tvb, off + 7, 2)
		ct:add(F["vstor.cdb.lba"], tvb(off + 2, 4), UInt64(lba))
		ct:add(F["vstor.cdb.length"], tvb(off + 7, 2), blocks)
	elseif (op == 0xA8 or op == 0xAA) and len >= 12 then
		lba = be(tvb, off + 2, 4)
		blocks = be(tvb, off + 6, 4)
		ct:add(F["vstor.cdb.lba"], tvb(off + 2, 4), UInt64(lba))
		ct:add(F["vstor.cdb.length"], tvb(off + 6, 4), blocks)
	elseif (op == 0x88 or op == 0x8A or op == 0x8F or op == 0x91 or op == 0x93) and len >= 16 then
		lba = be(tvb, off + 2, 8)
		blocks = be(tvb, off + 10, 4)
		ct:add(F["vstor.cdb.lba"], tvb(off + 2, 8), lba)
		ct:add(F["vstor.cdb.length"], tvb(off + 10, 4), blocks)
	end
	local s = vname(scsi_ops, op, string.format("opcode 0x%02x", op))
	if lba then s = s .. " LBA " .. tostring(lba) .. " len " .. tostring(blocks) end
	ct:append_text(" (" .. s .. ")")
	return op, s
end

local function dissect_sense(tvb, off, len, tree)
	if len < 1 or off + len > tvb:len() then return end
	local t = tree:add(F["vstor.sense"], tvb(off, len))
	local rc = bit.band(tvb(off, 1):uint(), 0x7f)
	t:add(F["vstor.sense.response"], tvb(off, 1))
	local key, asc, ascq
	if (rc == 0x70 or rc == 0x71) and len >= 14 then
		t:add(F["vstor.sense.key"], tvb(off + 2, 1), bit.band(tvb(off + 2, 1):uint(), 0xf))
		t:add(F["vstor.sense.asc"], tvb(off + 12, 1))
		t:add(F["vstor.sense.ascq"], tvb(off + 13, 1))
		key, asc, ascq = bit.band(tvb(off + 2, 1):uint(), 0xf), tvb(off + 12, 1):uint(), tvb(off + 13, 1):uint()
	elseif (rc == 0x72 or rc == 0x73) and len >= 4 then
		t:add(F["vstor.sense.key"], tvb(off + 1, 1), bit.band(tvb(off + 1, 1):uint(), 0xf))
		t:add(F["vstor.sense.asc"], tvb(off + 2, 1))
		t:add(F["vstor.sense.ascq"], tvb(off + 3, 1))
		key, asc, ascq = bit.band(tvb(off + 1, 1):uint(), 0xf), tvb(off + 2, 1):uint(), tvb(off + 3, 1):uint()
	end
	if key then
		t:append_text(string.format(" (%s, ASC 0x%02x ASCQ 0x%02x)", vname(sense_keys, key), asc, ascq))
	end
end

local function dissect_srb(c, t, pinfo, r, is_reply, reqkey, xid)
	local tvb = c.tvb
	local base_ = c.off
	local srb_len = c:f("vstor.srb.length", 2)
	local srbst = c:f("vstor.srb.srb_status", 1)
	if srbst then
		t:add(F["vstor.srb.srb_status_name"], vname(srb_status, bit.band(srbst, 0x3f))
			.. (bit.band(srbst, 0x80) ~= 0 and " | AUTOSENSE_VALID" or "")
			.. (bit.band(srbst, 0x40) ~= 0 and " | QUEUE_FROZEN" or "")):set_generated()
	end
	local scsist = c:f("vstor.srb.scsi_status", 1)
	c:f("vstor.srb.port", 1); c:f("vstor.srb.path", 1); c:f("vstor.srb.target", 1)
	c:f("vstor.srb.lun", 1)
	local cdblen = c:f("vstor.srb.cdb_length", 1)
	local senselen = c:f("vstor.srb.sense_length", 1)
	c:f("vstor.srb.data_in", 1); c:f("vstor.srb.reserved", 1)
	c:f("vstor.srb.transfer_length", 4)
	if not c:have(20) then c:fail(); return end
	local u = c.off
	c:skip(20)
	if srb_len and srb_len >= 52 and c.limit - c.off >= 16 then
		c:f("vstor.srb.reserve", 2); c:f("vstor.srb.queue_tag", 1)
		c:f("vstor.srb.queue_action", 1); c:f("vstor.srb.srb_flags", 4)
		c:f("vstor.srb.timeout", 4); c:f("vstor.srb.sort_key", 4)
	end
	local info
	if not is_reply then
		if cdblen and cdblen > 16 then
			t:add_proto_expert_info(ef_malformed, "CDB length above 16")
			cdblen = 16
		end
		local op, s = dissect_cdb(tvb, u, cdblen or 0, t)
		info = s
		local q = reqkey and st.vstor_req[reqkey]
		if op and q and q.frame == pinfo.number then
			q.op, q.s = op, s
		end
	else
		local q = reqkey and st.vstor_req[reqkey]
		if q and q.op then
			t:add(F["vstor.cdb.opcode"], q.op):set_generated()
			info = q.s .. " reply"
		end
		local failed = (srbst and bit.band(srbst, 0x3f) ~= 1) or (scsist and scsist ~= 0)
		if failed then
			t:add_proto_expert_info(ef_failed, string.format("SRB status 0x%02x, SCSI status 0x%02x",
				srbst or 0, scsist or 0))
			if (srbst and bit.band(srbst, 0x80) ~= 0) or scsist == 2 then
				dissect_sense(tvb, u, math.min(senselen or 0, 20), t)
			end
			info = (info or "SRB") .. " FAILED"
		end
	end
	return info
end

local function dissect_vstor(tvb, pinfo, tree, r, desc)
	local t = tree:add(p_vstor, tvb)
	local c = cursor(tvb, t, 0)
	local op = c:f("vstor.op", 4)
	c:f("vstor.flags", 4)
	local status = c:f("vstor.status", 4)
	if not op then return end
	local name = vname(vstor_ops, op, "operation " .. op)
	t:append_text(": " .. name)
	pinfo.cols.protocol = "VSTOR"
	local info = "VSTOR " .. name
	local key = desc.xid and string.format("%d:%d:%s", r.pid, r.relid, tostring(desc.xid))
	local reply = desc.type == 11
	-- A reply is COMPLETE_IO whatever it answers: what follows the status
	-- depends on the request, found by transaction id on the same channel.
	local q = key and st.vstor_req[key]
	if not pinfo.visited and key then
		if not reply and r.dir == 0 then
			st.vstor_req[key] = { frame = pinfo.number, vop = op }
		elseif reply and q and not q.reply then
			q.reply = pinfo.number
		end
	end
	q = key and st.vstor_req[key]
	local asks = op
	if reply and q and q.frame < pinfo.number then
		t:add(F["vstor.request_in"], q.frame):set_generated()
		asks = q.vop
	elseif not reply and q and q.reply and q.frame == pinfo.number then
		t:add(F["vstor.response_in"], q.reply):set_generated()
	elseif reply then
		-- request not captured: an SRB reply says its SRB length
		local l = le16(tvb, 12)
		asks = (tvb:len() >= 48 and (l == 36 or l == 52)) and 3 or 0
	end
	if asks == 3 then
		local s = dissect_srb(c, t, pinfo, r, reply, key, desc.xid)
		if s then info = info .. " " .. s end
	elseif op == 9 then
		c:f("vstor.version", 2); c:f("vstor.revision", 2)
	elseif asks == 10 and reply then
		c:skip(4); c:f("vstor.max_channels", 2); c:skip(2)
		c:f("vstor.prop_flags", 4); c:f("vstor.max_transfer", 4)
	elseif op == 13 then
		c:f("vstor.subchannels", 2)
	elseif op == 14 then
		c:f("vstor.event.lun", 1); c:f("vstor.event.target", 1)
		c:f("vstor.event.path", 1); c:f("vstor.event.flags", 1)
	elseif op < 1 or op > 14 then
		t:add_proto_expert_info(ef_malformed, "unknown VSTOR operation")
	end
	if status and status ~= 0 and op ~= 9 then
		t:add_proto_expert_info(ef_failed, "NTSTATUS " .. vname(ntstatus, status))
	end
	pinfo.cols.info:set(info)
end

---------------------------------------------------------------------------
-- echo device

local function dissect_echo(tvb, pinfo, tree)
	local t = tree:add(p_echo, tvb)
	local c = cursor(tvb, t, 0)
	local op = c:f("vmbus_echo.op", 4)
	c:f("vmbus_echo.status", 4); c:f("vmbus_echo.arg", 8)
	local len = c:f("vmbus_echo.len", 4)
	c:f("vmbus_echo.reserved", 4)
	if c.ok and c.off < c.limit then c:b("vmbus_echo.data") end
	if op then
		pinfo.cols.protocol = "ECHO"
		pinfo.cols.info:set("echo " .. vname(echo_ops, op, "op " .. op))
	end
end

---------------------------------------------------------------------------
-- ring packets

local function dissect_packet(tvb, pinfo, tree, r, data)
	local t = tree:add(p_vmbus, tvb(), "VMBus ring packet")
	local c = cursor(tvb, t, 0)
	local typ = c:f("vmbus.pkt.type", 2)
	local off8 = c:f("vmbus.pkt.offset8", 2)
	local len8 = c:f("vmbus.pkt.len8", 2)
	local flags = c:f("vmbus.pkt.flags", 2)
	local xid = c:f("vmbus.pkt.xid", 8)
	if not xid then return end
	t:append_text(": " .. vname(pkt_types, typ))
	pinfo.cols.protocol = "VMBus"
	pinfo.cols.info:set(string.format("%s relid %d xid %s", vname(pkt_types, typ), r.relid, tostring(xid)))
	local hlen = off8 * 8
	if hlen < 16 or hlen > tvb:len() then
		t:add_proto_expert_info(ef_malformed, "data offset outside the packet")
		return
	end
	if len8 * 8 < hlen then
		t:add_proto_expert_info(ef_malformed, "length below the data offset")
	end
	local ranges = {}
	if typ == 7 then
		c:f("vmbus.pkt.xfer.pageset", 2); c:f("vmbus.pkt.xfer.sender_owns", 1)
		c:f("vmbus.pkt.xfer.reserved", 1)
		local n = c:f("vmbus.pkt.xfer.range_count", 4) or 0
		c.limit = hlen
		for i = 1, math.min(n, 1024) do
			if not c:have(8) then c:fail(); break end
			local rt = t:add(p_vmbus, tvb(c.off, 8), "Transfer range " .. i)
			local bc = c:f("vmbus.pkt.xfer.byte_count", 4, rt)
			c:f("vmbus.pkt.xfer.byte_offset", 4, rt)
			ranges[#ranges + 1] = bc
		end
	elseif typ == 9 then
		c:f("vmbus.pkt.gpa.reserved", 4)
		local n = c:f("vmbus.pkt.gpa.range_count", 4) or 0
		c.limit = hlen
		gpa_ranges(c, math.min(n, 1024), t)
	end
	local payload = tvb(hlen):tvb()
	if hlen < tvb:len() then t:add(F["vmbus.pkt.payload"], tvb(hlen)) end
	local ok, err = pcall(function()
		local desc = { type = typ, xid = xid, flags = flags }
		if r.class == CLASS_NIC and payload:len() >= 4 then
			local mt = dissect_nvsp(payload, pinfo, tree, r)
			if mt == 107 and data then
				if typ == 7 and #ranges > 0 then
					-- one RNDIS message per transfer range
					local o = 0
					for _, bc in ipairs(ranges) do
						if o >= data:len() then break end
						dissect_rndis(data, pinfo, tree, o)
						o = o + bc
					end
				else
					dissect_rndis(data, pinfo, tree, 0)
				end
			end
		elseif (r.class == CLASS_SCSI or r.class == CLASS_IDE) and payload:len() >= 12 then
			dissect_vstor(payload, pinfo, tree, r, desc)
		elseif r.class == CLASS_ECHO and payload:len() >= 4 then
			dissect_echo(payload, pinfo, tree)
		end
	end)
	if not ok then
		tree:add_proto_expert_info(ef_malformed, "payload: " .. tostring(err))
	end
end

---------------------------------------------------------------------------
-- the record

function p_cap.dissector(tvb, pinfo, tree)
	local len = tvb:len()
	local t = tree:add(p_cap, tvb(0, math.min(48, len)))
	pinfo.cols.protocol = "OVBCAP"
	if len < 48 then
		t:add_proto_expert_info(ef_malformed, "record shorter than its 48-byte header")
		return
	end
	local c = cursor(tvb, t, 0)
	local magic = c:f("ovbcap.magic", 4)
	if magic ~= 0x3143424f then
		t:add_proto_expert_info(ef_malformed, "bad magic")
		return
	end
	local hlen = c:f("ovbcap.hdr_len", 2)
	local kind = c:f("ovbcap.kind", 1)
	local dir = c:f("ovbcap.dir", 1)
	local pid = c:f("ovbcap.partition_id", 4)
	local relid = c:f("ovbcap.relid", 4)
	local subidx = c:f("ovbcap.subidx", 2)
	local flags = c:f("ovbcap.flags", 2)
	local plen = c:f("ovbcap.pkt_len", 4)
	local dlen = c:f("ovbcap.data_len", 4)
	local dorig = c:f("ovbcap.data_orig", 4)
	local cls = guid_str(tvb, 32)
	c:f("ovbcap.class", 16)
	if cls and cls ~= "00000000-0000-0000-0000-000000000000" then
		t:add(F["ovbcap.device"], class_names[cls] or "unknown"):set_generated()
	end
	if hlen < 48 or hlen > len then
		t:add_proto_expert_info(ef_malformed, "header length out of bounds")
		return
	end
	t:append_text(string.format(", partition %d, relid %d/%d, %s", pid, relid, subidx,
		dir_names[dir] or "?"))
	local avail = len - hlen
	if plen > avail then
		t:add_proto_expert_info(ef_malformed, "packet length beyond the record")
		plen = avail
	end
	local dhave = math.min(dlen, avail - plen)
	if dhave < dlen then
		t:add_proto_expert_info(ef_malformed, "referenced data beyond the record")
	end
	if bit.band(flags, 1) ~= 0 or dorig > dlen then
		t:add_proto_expert_info(ef_cut, string.format("%d of %d referenced bytes kept", dlen, dorig))
	end
	if bit.band(flags, 2) ~= 0 then
		t:add_proto_expert_info(ef_cut, "transfer-page buffer unknown to the capture")
	end
	local data
	if dhave > 0 then
		t:add(F["ovbcap.data"], tvb(hlen + plen, dhave))
		data = tvb(hlen + plen, dhave):tvb()
	end
	local r = { pid = pid, relid = relid, subidx = subidx, dir = dir, class = cls }
	if plen <= 0 then return end
	local ptvb = tvb(hlen, plen):tvb()
	local ok, err = pcall(function()
		if kind == 1 then
			dissect_message(ptvb, pinfo, tree, pid)
		elseif kind == 2 then
			dissect_packet(ptvb, pinfo, tree, r, data)
		else
			t:add_proto_expert_info(ef_malformed, "unknown record kind")
		end
	end)
	if not ok then
		t:add_proto_expert_info(ef_malformed, "decode stopped: " .. tostring(err))
	end
	pinfo.cols.info:prepend(string.format("[%s] ", dir == 0 and "G>H" or "H>G"))
end

DissectorTable.get("wtap_encap"):add(wtap_encaps.USER0, p_cap)
