/*
 * DNS constants that the database, the policy, the log and the resolver all speak: name
 * limits, Extended DNS Error codes (RFC 8914) and the ways a block is answered. One
 * definition each, so that a module needing one constant includes no subsystem for it.
 */
#ifndef WARD_DNS_CODES_H
#define WARD_DNS_CODES_H

#define WARD_NAME_MAX 253      /* presentation form without trailing dot */
#define WARD_WIRE_NAME_MAX 255 /* wire form, including the root label */

/* Extended DNS Error codes (RFC 8914) that ward sends. */
enum ward_ede {
	WARD_EDE_NONE = -1,
	WARD_EDE_OTHER = 0,
	WARD_EDE_STALE_ANSWER = 3,
	WARD_EDE_BLOCKED = 15,
	WARD_EDE_CENSORED = 16,
	WARD_EDE_FILTERED = 17,
	WARD_EDE_PROHIBITED = 18,
	WARD_EDE_NO_REACHABLE_AUTHORITY = 22,
	WARD_EDE_NETWORK_ERROR = 23,
};

/* How a blocked name is answered (config "block.mode"). */
enum ward_block_mode {
	WARD_BLOCK_SINKHOLE,
	WARD_BLOCK_NXDOMAIN,
	WARD_BLOCK_NODATA,
	WARD_BLOCK_REFUSED,
};

#endif
