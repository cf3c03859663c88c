/*
 * The query stages of query.c as one table, run in order against a real worker: its own
 * thread and loop, its UDP listener on loopback, a real category database on disk, and an
 * upstream played by this test on a loopback socket so that each row can choose how the
 * upstream behaves (answers, answers with a CNAME into a blocked name, stays silent, answers
 * another question). Each row states who asks, what the upstream must see and what the
 * client must get back: rcode, Extended DNS Error and the first answer record. The rows
 * build on each other through the worker's cache, which is the point: a name one profile
 * may see is cached and must not reach a profile that blocks it.
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "blocklists/dns_codes.h"
#include "blocklists/feed.h"
#include "blocklists/policy.h"
#include "resolver/stats.h"
#include "resolver/worker.h"

/* Who asks: three loopback addresses, so that the worker sees three clients. */
enum asker { ADULT, KID, OUTSIDER, N_ASKERS };
static const char *const asker_addr[N_ASKERS] = {"127.0.0.1", "127.0.0.3", "127.0.0.2"};

/* How the upstream (this test) treats what the worker sends it. */
enum upstream {
	UP_NONE,          /* must see nothing: the answer comes from policy or cache */
	UP_A,             /* answers A 192.0.2.10, TTL 300 */
	UP_A_SHORT,       /* answers A 192.0.2.11, TTL 1 */
	UP_CNAME_BLOCKED, /* answers CNAME -> www.adult.example and its A */
	UP_SILENT,        /* receives and never answers */
	UP_WRONG_QUESTION /* answers, for another name than it was asked */
};

enum { NO_EDE = -1, RAW_NO_QUESTION = 0xffff };

struct row {
	const char *why;
	enum asker asker;
	const char *name;
	uint16_t type;           /* RAW_NO_QUESTION: a header-only packet (QDCOUNT 0) */
	enum upstream upstream;
	const char *upstream_name; /* the name the upstream must be asked, when it is asked */
	unsigned pause_ms;       /* wait before asking (cache entries expire) */
	unsigned rcode;
	int ede;
	const char *first_answer; /* "TYPE data" of the first answer record, or NULL: none */
};

static const struct row table[] = {
	{"an allowed name is forwarded and answered", ADULT, "www.adult.example", LDNS_RR_TYPE_A,
	 UP_A, "www.adult.example", 0, LDNS_RCODE_NOERROR, NO_EDE, "A 192.0.2.10"},
	{"the same name is blocked for a child even though it is cached", KID,
	 "www.adult.example", LDNS_RR_TYPE_A, UP_NONE, NULL, 0, LDNS_RCODE_NXDOMAIN,
	 WARD_EDE_FILTERED, NULL},
	{"the second ask of an allowed name comes from the cache", ADULT, "www.adult.example",
	 LDNS_RR_TYPE_A, UP_NONE, NULL, 0, LDNS_RCODE_NOERROR, NO_EDE, "A 192.0.2.10"},
	{"the cache does not care for the case of the name", ADULT, "WWW.Adult.EXAMPLE",
	 LDNS_RR_TYPE_A, UP_NONE, NULL, 0, LDNS_RCODE_NOERROR, NO_EDE, "A 192.0.2.10"},
	{"a client outside allow_clients is refused, nothing forwarded", OUTSIDER, "plain.example",
	 LDNS_RR_TYPE_A, UP_NONE, NULL, 0, LDNS_RCODE_REFUSED, WARD_EDE_PROHIBITED, NULL},
	{"... and is refused for a malformed query too, never told FORMERR", OUTSIDER, NULL,
	 RAW_NO_QUESTION, UP_NONE, NULL, 0, LDNS_RCODE_REFUSED, NO_EDE, NULL},
	{"a query without a question gets FORMERR", ADULT, NULL, RAW_NO_QUESTION, UP_NONE, NULL, 0,
	 LDNS_RCODE_FORMERR, NO_EDE, NULL},
	{"a CNAME into a blocked name blocks the answer for a child", KID, "link.example",
	 LDNS_RR_TYPE_A, UP_CNAME_BLOCKED, "link.example", 0, LDNS_RCODE_NXDOMAIN,
	 WARD_EDE_FILTERED, NULL},
	{"... and the cached chain still reaches an adult whole", ADULT, "link.example",
	 LDNS_RR_TYPE_A, UP_NONE, NULL, 0, LDNS_RCODE_NOERROR, NO_EDE,
	 "CNAME www.adult.example."},
	{"a name listed under a blocked category never reaches the upstream", KID,
	 "deep.www.adult.example", LDNS_RR_TYPE_AAAA, UP_NONE, NULL, 0, LDNS_RCODE_NXDOMAIN,
	 WARD_EDE_FILTERED, NULL},
	{"safe search asks the upstream for the strict name and answers with a CNAME", KID,
	 "www.bing.com", LDNS_RR_TYPE_A, UP_A, "strict.bing.com", 0, LDNS_RCODE_NOERROR, NO_EDE,
	 "CNAME strict.bing.com."},
	{"the DoH canary is NXDOMAIN for a child", KID, "use-application-dns.net",
	 LDNS_RR_TYPE_A, UP_NONE, NULL, 0, LDNS_RCODE_NXDOMAIN, WARD_EDE_FILTERED, NULL},
	{"... and forwarded for an adult's profile without anti_circumvention", ADULT,
	 "use-application-dns.net", LDNS_RR_TYPE_A, UP_A, "use-application-dns.net", 0,
	 LDNS_RCODE_NOERROR, NO_EDE, "A 192.0.2.10"},
	{"an upstream that never answers gives SERVFAIL with EDE 22", ADULT, "silent.example",
	 LDNS_RR_TYPE_A, UP_SILENT, "silent.example", 0, LDNS_RCODE_SERVFAIL,
	 WARD_EDE_NO_REACHABLE_AUTHORITY, NULL},
	{"an answer for another question is not believed", ADULT, "asked.example",
	 LDNS_RR_TYPE_A, UP_WRONG_QUESTION, "asked.example", 0, LDNS_RCODE_SERVFAIL,
	 WARD_EDE_NO_REACHABLE_AUTHORITY, NULL},
	{"a short-lived answer is cached", ADULT, "short.example", LDNS_RR_TYPE_A, UP_A_SHORT,
	 "short.example", 0, LDNS_RCODE_NOERROR, NO_EDE, "A 192.0.2.11"},
	{"once expired and the upstream silent, it is served stale with EDE 3", ADULT,
	 "short.example", LDNS_RR_TYPE_A, UP_SILENT, "short.example", 2100, LDNS_RCODE_NOERROR,
	 WARD_EDE_STALE_ANSWER, "A 192.0.2.11"},
};

struct fixture {
	char dir[64];
	struct ward_catdb *db;
	struct ward_conf *conf;
	struct ward_policy_state ps;
	struct ward_shared shared;
	struct ward_stats_slots slots; /* what wardd's main thread names profiles' counters by */
	struct ward_worker worker;
	bool started;
	int upstream_fd;
	int client_fd[N_ASKERS];
	struct sockaddr_in listen;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int udp_socket_on(const char *ip, uint16_t port, struct sockaddr_in *bound)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(1, inet_pton(AF_INET, ip, &sin.sin_addr));
	assert_int_equal(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	assert_int_equal(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	if (bound)
		*bound = sin;
	return fd;
}

/* A port that was free a moment ago for the worker's listener (it binds UDP and TCP). */
static uint16_t free_port(void)
{
	struct sockaddr_in sin;
	int fd = udp_socket_on("127.0.0.1", 0, &sin);
	close(fd);
	return ntohs(sin.sin_port);
}

static void build_db(struct fixture *f)
{
	static const char *const adult[] = {"adult.example"};
	struct ward_catdb_build *b;
	strcpy(f->dir, "/tmp/ward-test-query-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_WRITE, &f->db));
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b));
	assert_int_equal(0, ward_catdb_build_add(b, adult[0], strlen(adult[0]),
						 WARD_CAT(WARD_CAT_ADULT), 1,
						 WARD_ENTRY_SUBDOMAINS));
	assert_int_equal(0, ward_catdb_build_commit(b));
}

static void parse_config(struct fixture *f, uint16_t port, uint16_t upstream_port)
{
	char text[2048], err[WARD_CONF_ERR_MAX];
	snprintf(text, sizeof(text),
		 "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 1,"
		 " \"upstreams\": [\"127.0.0.1:%u\"], \"upstream_timeout_ms\": 200,"
		 " \"allow_clients\": [\"127.0.0.1/32\", \"127.0.0.3/32\"],"
		 " \"user\": \"\", \"database\": \"%s\", \"block\": {\"mode\": \"nxdomain\"},"
		 " \"profiles\": {\"kids\": {\"block\": [\"adult\"], \"safe_search\": [\"bing\"],"
		 "                          \"anti_circumvention\": true},"
		 "              \"adults\": {\"anti_circumvention\": false}},"
		 " \"clients\": [{\"match\": \"127.0.0.3\", \"profile\": \"kids\"}],"
		 " \"default_profile\": \"adults\"}",
		 port, upstream_port, f->dir);
	if (ward_conf_parse("query.json", text, strlen(text), &f->conf, err, sizeof(err)))
		fail_msg("%s", err);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_in up;
	assert_non_null(f);
	build_db(f);
	f->upstream_fd = udp_socket_on("127.0.0.1", 0, &up);
	for (int i = 0; i < N_ASKERS; i++)
		f->client_fd[i] = udp_socket_on(asker_addr[i], 0, NULL);
	ward_stats_slots_init(&f->slots);
	f->shared.slots = &f->slots;
	/* The port may be taken between free_port() and the bind: try another. */
	int rc = -1;
	for (int attempt = 0; attempt < 5 && rc != 0; attempt++) {
		uint16_t port = free_port();
		ward_conf_free(f->conf);
		parse_config(f, port, ntohs(up.sin_port));
		f->listen = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port),
						 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		rc = ward_worker_init(&f->worker, 0, f->conf, &f->shared);
	}
	assert_int_equal(0, rc);
	f->ps.conf = f->conf;
	f->ps.stat_slots = ward_stats_slots_map(&f->slots, f->conf);
	assert_non_null(f->ps.stat_slots);
	assert_int_equal(0, ward_policy_new(f->conf, &f->ps.policy));
	f->ps.generation = 1;
	atomic_store(&f->shared.policy, &f->ps);
	atomic_store(&f->shared.db, f->db);
	assert_int_equal(0, ward_worker_start(&f->worker));
	f->started = true;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->started) {
		ward_worker_request_stop(&f->worker);
		ward_worker_join(&f->worker);
	}
	ward_worker_destroy(&f->worker);
	ward_policy_free(f->ps.policy);
	free(f->ps.stat_slots);
	ward_conf_free(f->conf);
	ward_catdb_close(f->db);
	close(f->upstream_fd);
	for (int i = 0; i < N_ASKERS; i++)
		close(f->client_fd[i]);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- the client's side ------------------------------------------------------------------ */

static size_t make_query(const struct row *r, uint16_t id, uint8_t *buf, size_t cap)
{
	if (r->type == RAW_NO_QUESTION) {
		memset(buf, 0, 12);
		buf[0] = (uint8_t)(id >> 8);
		buf[1] = (uint8_t)id;
		buf[2] = 0x01; /* RD */
		return 12;
	}
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	assert_int_equal(LDNS_STATUS_OK, ldns_pkt_query_new_frm_str(&q, r->name, r->type,
								   LDNS_RR_CLASS_IN, LDNS_RD));
	ldns_pkt_set_id(q, id);
	ldns_pkt_set_edns_udp_size(q, 1232); /* EDNS, so that answers can carry an EDE */
	assert_int_equal(LDNS_STATUS_OK, ldns_pkt2wire(&wire, q, &len));
	assert_true(len <= cap);
	memcpy(buf, wire, len);
	free(wire);
	ldns_pkt_free(q);
	return len;
}

/* The info code of the answer's Extended DNS Error, or NO_EDE. */
static int ede_of(const ldns_pkt *p)
{
	ldns_rdf *opts = ldns_pkt_edns_data(p);
	if (!opts)
		return NO_EDE;
	const uint8_t *d = ldns_rdf_data(opts);
	size_t n = ldns_rdf_size(opts);
	for (size_t at = 0; at + 4 <= n;) {
		unsigned code = (unsigned)d[at] << 8 | d[at + 1];
		unsigned len = (unsigned)d[at + 2] << 8 | d[at + 3];
		if (code == 15 && len >= 2 && at + 6 <= n)
			return d[at + 4] << 8 | d[at + 5];
		at += 4 + len;
	}
	return NO_EDE;
}

/* ---- the upstream's side ------------------------------------------------------------------ */

static void add_rr(ldns_pkt *p, const char *text)
{
	ldns_rr *rr = NULL;
	assert_int_equal(LDNS_STATUS_OK, ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL));
	ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
}

static ldns_pkt *upstream_reply(const ldns_pkt *q, enum upstream how)
{
	const ldns_rr *question = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	char *qname = ldns_rdf2str(ldns_rr_owner(question));
	char text[600];
	ldns_pkt *p = ldns_pkt_new();
	ldns_pkt_set_id(p, ldns_pkt_id(q));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, ldns_pkt_rd(q));
	ldns_pkt_set_ra(p, true);
	if (how == UP_WRONG_QUESTION) {
		ldns_rr *other = NULL;
		assert_int_equal(LDNS_STATUS_OK,
				 ldns_rr_new_question_frm_str(&other, "other.example. IN A", NULL,
							      NULL));
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, other);
		add_rr(p, "other.example. 300 IN A 192.0.2.66");
	} else {
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
	}
	if (how == UP_A || how == UP_A_SHORT) {
		snprintf(text, sizeof(text), "%s %u IN A %s", qname, how == UP_A ? 300 : 1,
			 how == UP_A ? "192.0.2.10" : "192.0.2.11");
		add_rr(p, text);
	} else if (how == UP_CNAME_BLOCKED) {
		snprintf(text, sizeof(text), "%s 300 IN CNAME www.adult.example.", qname);
		add_rr(p, text);
		add_rr(p, "www.adult.example. 300 IN A 192.0.2.10");
	}
	free(qname);
	return p;
}

/* Answer (or not) one question the worker sent; check it asked what the row expects. */
static void serve_upstream(struct fixture *f, const struct row *r, unsigned *asked)
{
	uint8_t buf[4096];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(f->upstream_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	assert_true(n > 0);
	if (r->upstream == UP_NONE)
		fail_msg("%s: the upstream was asked, and should not have been", r->why);
	ldns_pkt *q = NULL;
	assert_int_equal(LDNS_STATUS_OK, ldns_wire2pkt(&q, buf, (size_t)n));
	char *qname = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
	char want[300];
	snprintf(want, sizeof(want), "%s.", r->upstream_name);
	if (strcasecmp(qname, want) != 0)
		fail_msg("%s: the upstream was asked %s, want %s", r->why, qname, want);
	free(qname);
	(*asked)++;
	/* Only the first try of a wrong-question answer: later tries meet silence. */
	if (r->upstream != UP_SILENT && !(r->upstream == UP_WRONG_QUESTION && *asked > 1)) {
		ldns_pkt *a = upstream_reply(q, r->upstream);
		uint8_t *wire = NULL;
		size_t len = 0;
		assert_int_equal(LDNS_STATUS_OK, ldns_pkt2wire(&wire, a, &len));
		assert_int_equal((ssize_t)len, sendto(f->upstream_fd, wire, len, 0,
						      (struct sockaddr *)&from, flen));
		free(wire);
		ldns_pkt_free(a);
	}
	ldns_pkt_free(q);
}

/* Play the upstream until the client's answer arrives; a row that expects the upstream to
 * stay out of it also waits a little after the answer, to see that nothing was sent. */
static ldns_pkt *exchange(struct fixture *f, const struct row *r, uint16_t id, unsigned *asked)
{
	uint8_t buf[4096];
	size_t len = make_query(r, id, buf, sizeof(buf));
	int cfd = f->client_fd[r->asker];
	assert_int_equal((ssize_t)len, sendto(cfd, buf, len, 0, (struct sockaddr *)&f->listen,
					      sizeof(f->listen)));
	struct pollfd pf[2] = {{.fd = cfd, .events = POLLIN},
			       {.fd = f->upstream_fd, .events = POLLIN}};
	for (;;) {
		int ready = poll(pf, 2, 10000);
		if (ready <= 0)
			fail_msg("%s: no answer within 10 s", r->why);
		if (pf[1].revents & POLLIN)
			serve_upstream(f, r, asked);
		if (pf[0].revents & POLLIN)
			break;
	}
	ssize_t n = recv(cfd, buf, sizeof(buf), 0);
	assert_true(n >= 12);
	pf[1].revents = 0;
	if (r->upstream == UP_NONE && poll(&pf[1], 1, 50) > 0)
		fail_msg("%s: the upstream was asked, and should not have been", r->why);
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, buf, (size_t)n) != LDNS_STATUS_OK)
		fail_msg("%s: the answer does not parse", r->why);
	return p;
}

static void check_first_answer(const struct row *r, const ldns_pkt *p)
{
	const ldns_rr_list *an = ldns_pkt_answer(p);
	if (!r->first_answer) {
		if (ldns_rr_list_rr_count(an) != 0)
			fail_msg("%s: %zu answer records, want none", r->why,
				 ldns_rr_list_rr_count(an));
		return;
	}
	if (ldns_rr_list_rr_count(an) == 0)
		fail_msg("%s: no answer record, want %s", r->why, r->first_answer);
	const ldns_rr *rr = ldns_rr_list_rr(an, 0);
	char *type = ldns_rr_type2str(ldns_rr_get_type(rr));
	char *data = ldns_rdf2str(ldns_rr_rdf(rr, 0));
	char got[300];
	snprintf(got, sizeof(got), "%s %s", type, data);
	free(type);
	free(data);
	if (strcasecmp(got, r->first_answer) != 0)
		fail_msg("%s: first answer %s, want %s", r->why, got, r->first_answer);
}

static void check_row(struct fixture *f, const struct row *r, uint16_t id)
{
	unsigned asked = 0;
	if (r->pause_ms)
		usleep(r->pause_ms * 1000);
	ldns_pkt *p = exchange(f, r, id, &asked);
	if (ldns_pkt_id(p) != id || !ldns_pkt_qr(p))
		fail_msg("%s: answer id %u qr %d, want id %u qr 1", r->why, ldns_pkt_id(p),
			 ldns_pkt_qr(p), id);
	if (ldns_pkt_get_rcode(p) != r->rcode || ede_of(p) != r->ede)
		fail_msg("%s: rcode %u EDE %d, want rcode %u EDE %d", r->why,
			 ldns_pkt_get_rcode(p), ede_of(p), r->rcode, r->ede);
	if (r->upstream != UP_NONE && asked == 0)
		fail_msg("%s: answered without asking the upstream", r->why);
	check_first_answer(r, p);
	ldns_pkt_free(p);
}

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		check_row(*state, &table[i], (uint16_t)(0x1000 + i));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_table, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
