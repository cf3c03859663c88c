/*
 * A dnsmasq DHCP leases file (config key `dhcp_leases`; OpenWrt keeps it in
 * /tmp/dhcp.leases), read to name the devices in the admin pages' device list.
 *
 * One lease per line, fields separated by single spaces, as dnsmasq writes them:
 *
 *   1733150000 aa:bb:cc:dd:ee:ff 192.168.1.20 emmas-ipad 01:aa:bb:cc:dd:ee:ff
 *   EXPIRY     MAC               ADDRESS      HOSTNAME   CLIENT-ID
 *
 * EXPIRY is unix seconds (0: never); HOSTNAME is "*" when the device sent none. After a
 * "duid ..." line come the DHCPv6 leases, whose second field is the IAID, not a MAC.
 * The file is written by another program and the hostnames by the devices themselves:
 * every line is checked, a line that is not a lease is skipped, a hostname keeps only
 * the characters a host name may have, and the file and the number of leases are capped.
 */
#ifndef WARD_LEASES_H
#define WARD_LEASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WARD_LEASES_FILE_MAX (1024 * 1024)
#define WARD_LEASES_MAX 4096
#define WARD_LEASE_NAME_MAX 63

struct ward_lease {
	int64_t expires;            /* unix seconds; 0 never */
	bool has_mac;               /* a DHCPv4 lease */
	uint8_t mac[6];
	uint8_t addr[16];           /* IPv6, or IPv4 mapped (::ffff:a.b.c.d) */
	char name[WARD_LEASE_NAME_MAX + 1]; /* "" when the device sent none */
};

/*
 * Parse leases from text (len bytes, need not be NUL-terminated).
 * @param out  room for cap leases; *n receives how many were filled (at most cap)
 * @return the number of lines skipped as not being leases
 */
size_t ward_leases_parse(const char *text, size_t len, struct ward_lease *out, size_t cap,
			 size_t *n);

/*
 * Read and parse a leases file.
 * @param out  receives a malloc'ed array (free it; NULL when *n is 0)
 * @return 0, WARD_ENOTFOUND (no file: dnsmasq has not written one yet), WARD_ETOOBIG
 *         (larger than WARD_LEASES_FILE_MAX), WARD_EACCES, WARD_EIO, WARD_ENOMEM
 */
int ward_leases_load(const char *path, struct ward_lease **out, size_t *n);

#endif
