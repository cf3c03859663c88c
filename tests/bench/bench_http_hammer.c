/*
 * An HTTP client that hammers wardd's web listener for `make bench` (section "web"):
 * CONNS keep-alive connections, each sending the next request as soon as the previous
 * answer is in, for SECONDS; it prints how many answers came back.
 *
 *   bench_http_hammer ADDR PORT SECONDS [CONNS] [HOST]
 *
 * Requests alternate between the block page for HOST (a sinkholed name: the policy
 * decides and a page is built) and /api/v1/why on ward's own name (the device's recent
 * blocks). Answers are read up to their Content-Length; a closed connection is opened
 * again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64

struct conn {
	int fd;
	char buf[65536];
	size_t have;
	unsigned sent;
};

static struct sockaddr_in server;
static char requests[2][512];
static size_t request_len[2];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_conn(int ep, struct conn *c)
{
	int one = 1;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&server, sizeof(server)) != 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	c->have = 0;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static int send_next(struct conn *c)
{
	unsigned k = c->sent++ & 1;
	return write(c->fd, requests[k], request_len[k]) == (ssize_t)request_len[k] ? 0 : -1;
}

/* @return 1 when a whole answer is in (and drops it from the buffer), 0 for more. */
static int whole_answer(struct conn *c)
{
	c->buf[c->have < sizeof(c->buf) ? c->have : sizeof(c->buf) - 1] = '\0';
	char *end = strstr(c->buf, "\r\n\r\n");
	if (!end)
		return 0;
	const char *cl = strcasestr(c->buf, "\r\nContent-Length:");
	size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
	size_t total = (size_t)(end + 4 - c->buf) + body;
	if (c->have < total)
		return 0;
	memmove(c->buf, c->buf + total, c->have - total);
	c->have -= total;
	return 1;
}

static void reopen(int ep, struct conn *c)
{
	close(c->fd);
	if (open_conn(ep, c) == 0)
		send_next(c);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s ADDR PORT SECONDS [CONNS] [HOST]\n", argv[0]);
		return 2;
	}
	double seconds = atof(argv[3]);
	int n = argc > 4 ? atoi(argv[4]) : 8;
	const char *host = argc > 5 ? argv[5] : "blocked.example";
	n = n < 1 ? 1 : n > MAX_CONNS ? MAX_CONNS : n;
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &server.sin_addr);
	request_len[0] = (size_t)snprintf(requests[0], sizeof(requests[0]),
					  "GET /page HTTP/1.1\r\nHost: %s\r\n\r\n", host);
	request_len[1] = (size_t)snprintf(requests[1], sizeof(requests[1]),
					  "GET /api/v1/why HTTP/1.1\r\nHost: ward.home.arpa\r\n\r\n");
	static struct conn conns[MAX_CONNS];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < n; i++)
		if (open_conn(ep, &conns[i]) != 0 || send_next(&conns[i]) != 0) {
			perror("connect");
			return 1;
		}
	unsigned long answers = 0;
	double t0 = now();
	struct epoll_event evs[MAX_CONNS];
	while (now() - t0 < seconds) {
		int k = epoll_wait(ep, evs, MAX_CONNS, 100);
		for (int i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;
			ssize_t r = read(c->fd, c->buf + c->have, sizeof(c->buf) - 1 - c->have);
			if (r <= 0) {
				reopen(ep, c);
				continue;
			}
			c->have += (size_t)r;
			while (whole_answer(c)) {
				answers++;
				if (send_next(c) != 0)
					reopen(ep, c);
			}
		}
	}
	double took = now() - t0;
	printf("{\"answers\": %lu, \"seconds\": %.3f, \"per_second\": %.0f}\n", answers, took,
	       answers / took);
	return 0;
}
