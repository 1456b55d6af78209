/* SPDX-License-Identifier: MIT */
/*
 * Frames the net tests build by hand, one builder each, shared by every
 * fixture and test program that needs the frame (net-guest-fx.c, the
 * netvsc RSC tests, ...).  No assertions, no state.
 */
#ifndef OPENVMBUS_TESTS_NET_FRAME_FX_H
#define OPENVMBUS_TESTS_NET_FRAME_FX_H

#include <stddef.h>
#include <stdint.h>

/**
 * A TCP/IPv4 frame of 14 + 20 + 20 + @payload bytes into @f: broadcast
 * destination MAC, source 02:00:00:00:00:01, 10.0.0.1:80 -> 10.0.0.2:81,
 * TTL 64, ACK, checksums left 0; byte i of the frame (i >= 54) is
 * (uint8_t)(i * 5 + @seed).  Returns the frame's length.
 */
size_t nff_tcp4(uint8_t *f, size_t payload, uint8_t seed);

#endif
