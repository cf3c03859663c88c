/*
 * The policy without a daemon: who is asking (allow_clients, the MAC option and
 * trusted_forwarders) and the name steps that need no database (deny, allow, safe search,
 * canaries), all on wire names. The config is written out here; expected verdicts are
 * written by hand. The category database side is tested end to end in
 * tests/integration/test_filter_*.py.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/conf.h"
#include "blocklists/error.h"
#include "blocklists/name.h"
#include "blocklists/policy.h"

static const char config[] =
	"{\"upstreams\": [\"192.0.2.53\"],"
	" \"allow_clients\": [\"192.168.0.0/16\", \"2001:db8::/32\"],"
	" \"trusted_forwarders\": [\"192.168.1.1\", \"2001:db8::1\"],"
	" \"profiles\": {"
	"   \"kids\": {\"preset\": \"child\", \"deny\": [\"denied.example\"],"
	"              \"allow\": [\"fair.example\", \"google.com\", \"youtube.com\","
	"                          \"use-application-dns.net\"]},"
	"   \"parents\": {\"preset\": \"adult\"}},"
	" \"clients\": [{\"match\": \"aa:bb:cc:00:00:07\", \"profile\": \"parents\"},"
	"               {\"match\": \"192.168.1.0/24\", \"profile\": \"kids\"}],"
	" \"default_profile\": \"kids\"}";

static const uint8_t parent_mac[6] = {0xaa, 0xbb, 0xcc, 0x00, 0x00, 0x07};

struct fixture {
	struct ward_conf *conf;
	struct ward_policy *policy;
	size_t kids, parents;
	struct ward_policy_time now;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[WARD_CONF_ERR_MAX];
	assert_non_null(f);
	if (ward_conf_parse("policy.json", config, strlen(config), &f->conf, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(0, ward_policy_new(f->conf, &f->policy));
	for (size_t i = 0; i < f->conf->n_profiles; i++) {
		if (strcmp(f->conf->profiles[i].name, "kids") == 0)
			f->kids = i;
		else
			f->parents = i;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ward_policy_free(f->policy);
	ward_conf_free(f->conf);
	free(f);
	return 0;
}

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
	} else {
		assert_int_equal(1, inet_pton(AF_INET6, text, &v6->sin6_addr));
		v6->sin6_family = AF_INET6;
	}
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static void test_admit(void **state)
{
	struct fixture *f = *state;
	struct ward_policy_verdict v;
	struct sockaddr_storage in = addr("192.168.7.7"), in6 = addr("2001:db8::77");
	struct sockaddr_storage out = addr("10.0.0.1"), out6 = addr("2001:db9::1");
	assert_true(ward_policy_admit(f->policy, SA(in), &v));
	assert_true(ward_policy_admit(f->policy, SA(in6), &v));
	assert_false(ward_policy_admit(f->policy, SA(out), &v));
	assert_int_equal(v.action, WARD_POLICY_REFUSED);
	assert_int_equal(v.reason, WARD_REASON_ACL);
	assert_int_equal(v.ede_code, 18);
	assert_false(ward_policy_admit(f->policy, SA(out6), &v));
	assert_string_equal(ward_policy_action_name(v.action), "refused");
}

static void test_mac_only_from_trusted_forwarders(void **state)
{
	struct fixture *f = *state;
	bool ignored;
	struct sockaddr_storage router = addr("192.168.1.1"), child = addr("192.168.1.20");
	struct sockaddr_storage router6 = addr("2001:db8::1"), other6 = addr("2001:db8::2");
	assert_int_equal(f->parents, ward_policy_profile_for(f->policy, SA(router), parent_mac,
							     &ignored));
	assert_false(ignored);
	assert_int_equal(f->parents, ward_policy_profile_for(f->policy, SA(router6), parent_mac,
							     &ignored));
	assert_false(ignored);
	/* The child's own claim: ignored, reported, and the address decides. */
	assert_int_equal(f->kids, ward_policy_profile_for(f->policy, SA(child), parent_mac,
							  &ignored));
	assert_true(ignored);
	assert_int_equal(f->kids, ward_policy_profile_for(f->policy, SA(other6), parent_mac,
							  &ignored));
	assert_true(ignored);
	/* No option, nothing ignored; NULL out-parameter allowed. */
	assert_int_equal(f->kids, ward_policy_profile_for(f->policy, SA(child), NULL, &ignored));
	assert_false(ignored);
	assert_int_equal(f->kids, ward_policy_profile_for(f->policy, SA(child), parent_mac, NULL));
}

static void decide(struct fixture *f, const char *text, struct ward_policy_verdict *v)
{
	uint8_t wire[WARD_WIRE_NAME_MAX];
	assert_true(ward_name_from_text(text, wire, sizeof(wire)) > 0);
	ward_name_lower(wire);
	assert_int_equal(0, ward_policy_decide(f->policy, NULL, NULL, f->kids, wire, &f->now, v));
}

static void test_lists_match_labels_not_text(void **state)
{
	struct fixture *f = *state;
	struct ward_policy_verdict v;
	decide(f, "x.denied.example", &v);
	assert_int_equal(v.reason, WARD_REASON_DENY);
	assert_string_equal(v.rule, "denied.example");
	decide(f, "\\255\\255\\000.DENIED.example", &v);
	assert_int_equal(v.reason, WARD_REASON_DENY);
	/* One label "x.denied" under example: not under denied.example. */
	decide(f, "x\\.denied.example", &v);
	assert_int_equal(v.action, WARD_POLICY_FORWARD);
	assert_int_equal(v.reason, WARD_REASON_NONE);
	decide(f, "www.fair.example", &v);
	assert_int_equal(v.reason, WARD_REASON_ALLOW);
	assert_string_equal(v.rule, "fair.example");
	decide(f, "www\\.fair.example", &v);
	assert_int_equal(v.reason, WARD_REASON_NONE);
	assert_null(v.rule);
}

static void test_allow_keeps_rewrites(void **state)
{
	struct fixture *f = *state;
	struct ward_policy_verdict v;
	decide(f, "www.google.com", &v);
	assert_int_equal(v.action, WARD_POLICY_CNAME);
	assert_string_equal(v.rewrite_target, "forcesafesearch.google.com");
	assert_string_equal(v.rule, "google.com");
	decide(f, "WWW.YouTube.com", &v);
	assert_int_equal(v.action, WARD_POLICY_CNAME);
	assert_string_equal(v.rewrite_target, "restrict.youtube.com");
	decide(f, "use-application-dns.net", &v);
	assert_int_equal(v.action, WARD_POLICY_NXDOMAIN);
	assert_int_equal(v.reason, WARD_REASON_CANARY);
	/* A name that merely ends like one in the table is not rewritten. */
	decide(f, "www\\.google.com", &v);
	assert_int_equal(v.action, WARD_POLICY_FORWARD);
}

static void test_bad_wire_name_fails_closed(void **state)
{
	struct fixture *f = *state;
	struct ward_policy_verdict v;
	uint8_t pointer[] = {3, 'w', 'w', 'w', 0xC0, 0x0C};
	assert_int_equal(WARD_EINVAL, ward_policy_decide(f->policy, NULL, NULL, f->kids, pointer, &f->now,
							 &v));
	assert_int_equal(v.action, WARD_POLICY_SERVFAIL);
	assert_int_equal(v.ede_code, 0);
	assert_int_equal(WARD_EINVAL, ward_policy_blocks_target(f->policy, NULL, NULL, f->kids, pointer,
								&f->now, &v));
	assert_int_equal(v.action, WARD_POLICY_SERVFAIL);
	ward_policy_explain(f->policy, NULL, &v);
	assert_string_equal(v.text, "ward: policy check failed (invalid argument)");
}

static void test_wire_names(void **state)
{
	(void)state;
	uint8_t wire[300];
	memset(wire, 0, sizeof(wire));
	/* 255 bytes with the root: 3 labels of 63 and one of 61. */
	size_t off = 0;
	for (int i = 0; i < 4; i++) {
		unsigned len = i < 3 ? 63 : 61;
		wire[off] = (uint8_t)len;
		memset(wire + off + 1, 'A', len);
		off += len + 1;
	}
	wire[off] = 0;
	assert_int_equal(ward_name_wire_len(wire), 255);
	ward_name_lower(wire);
	assert_int_equal(wire[1], 'a');
	wire[off - 62] = 62; /* one more byte: 256 */
	wire[off] = 'a';
	wire[off + 1] = 0;
	assert_int_equal(ward_name_wire_len(wire), 0);
	uint8_t long_label[] = {64, 0};
	assert_int_equal(ward_name_wire_len(long_label), 0);
	uint8_t root[] = {0};
	assert_int_equal(ward_name_wire_len(root), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac_only_from_trusted_forwarders, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lists_match_labels_not_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_keeps_rewrites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_wire_name_fails_closed, setup, teardown),
		cmocka_unit_test(test_wire_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
