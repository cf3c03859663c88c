/*
 * The dnsmasq leases file (blocklists/leases.h): what dnsmasq writes, IPv4 and IPv6 (after
 * the duid line), hostnames a device chose reduced to host-name characters, lines that
 * are not leases skipped, the cap kept, and the file read from disk.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "blocklists/error.h"
#include "blocklists/leases.h"

static void assert_addr(const struct ward_lease *l, const char *text)
{
	char buf[INET6_ADDRSTRLEN];
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(l->addr, mapped, 12) == 0)
		inet_ntop(AF_INET, l->addr + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, l->addr, buf, sizeof(buf));
	assert_string_equal(buf, text);
}

static void test_dnsmasq_file(void **state)
{
	static const char text[] =
		"1733150000 aa:bb:cc:dd:ee:ff 192.168.1.20 emmas-ipad 01:aa:bb:cc:dd:ee:ff\n"
		"0 11:22:33:44:55:66 192.168.1.21 * *\n"
		"duid 00:01:00:01:2c:4b:6a:01:52:54:00:12:34:56\n"
		"1733150100 12345678 fd00::20 Emmas-iPad 00:01:00:01:2c:4b\n";
	struct ward_lease l[8];
	size_t n;
	assert_int_equal(ward_leases_parse(text, sizeof(text) - 1, l, 8, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(l[0].expires, 1733150000);
	assert_true(l[0].has_mac);
	assert_memory_equal(l[0].mac, "\xaa\xbb\xcc\xdd\xee\xff", 6);
	assert_addr(&l[0], "192.168.1.20");
	assert_string_equal(l[0].name, "emmas-ipad");
	assert_int_equal(l[1].expires, 0);
	assert_string_equal(l[1].name, ""); /* "*": the device sent none */
	assert_memory_equal(l[1].mac, "\x11\x22\x33\x44\x55\x66", 6);
	assert_false(l[2].has_mac); /* DHCPv6: the second field is an IAID */
	assert_addr(&l[2], "fd00::20");
	assert_string_equal(l[2].name, "Emmas-iPad");
}

static void test_hostile_lines(void **state)
{
	static const char text[] =
		"1733150000 aa:bb:cc:dd:ee:ff 192.168.1.20 <script>alert(1)</script> *\r\n"
		"1733150000 aa:bb:cc:dd:ee 192.168.1.22 short-mac *\n"
		"1733150000 aa:bb:cc:dd:ee:fg 192.168.1.22 bad-hex *\n"
		"1733150000 aa:bb:cc:dd:ee:ff 300.1.1.1 bad-ip *\n"
		"-5 aa:bb:cc:dd:ee:ff 192.168.1.23 negative *\n"
		"1733150000 aa:bb:cc:dd:ee:ff 192.168.1.24\n"
		"not a lease at all\n"
		"\n"
		"1733150000 aa:bb:cc:dd:ee:ff 192.168.1.25 last-without-newline *";
	struct ward_lease l[8];
	size_t n;
	assert_int_equal(ward_leases_parse(text, sizeof(text) - 1, l, 8, &n), 6);
	assert_int_equal(n, 2);
	assert_string_equal(l[0].name, "scriptalert1script");
	assert_addr(&l[1], "192.168.1.25");
	assert_string_equal(l[1].name, "last-without-newline");
}

static void test_cap_and_long_names(void **state)
{
	char text[4096];
	size_t o = 0;
	for (int i = 0; i < 10; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "1 aa:bb:cc:dd:ee:%02x 10.0.0.%d %s *\n", i, i + 1,
				      "a-very-long-host-name-that-goes-on-and-on-past-sixty-three-"
				      "characters-for-sure");
	struct ward_lease l[4];
	size_t n;
	ward_leases_parse(text, o, l, 4, &n);
	assert_int_equal(n, 4);
	assert_int_equal(strlen(l[3].name), WARD_LEASE_NAME_MAX);
	assert_memory_equal(l[3].mac, "\xaa\xbb\xcc\xdd\xee\x03", 6);
}

static void test_load(void **state)
{
	char path[] = "/tmp/ward-leases-XXXXXX";
	struct ward_lease *l;
	size_t n;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const char text[] = "99 aa:bb:cc:dd:ee:ff 192.168.1.20 tablet *\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	assert_int_equal(ward_leases_load(path, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].name, "tablet");
	free(l);
	unlink(path);
	assert_int_equal(ward_leases_load(path, &l, &n), WARD_ENOTFOUND);
	assert_null(l);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dnsmasq_file),
		cmocka_unit_test(test_hostile_lines),
		cmocka_unit_test(test_cap_and_long_names),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
