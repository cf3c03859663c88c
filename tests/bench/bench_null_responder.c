/*
 * bench_null_responder ADDR PORT: the do-nothing DNS server that `make bench` uses as "the
 * limit". It turns every query into its own answer by setting QR and sends it back, in
 * batches of recvmmsg/sendmmsg, so its throughput is what the machine, the kernel's UDP
 * path and the load generator allow. A real server that reaches it has no overhead left
 * to remove. It exits cleanly on SIGTERM/SIGINT so that valgrind can write its counts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define PKT_MAX 4096
#define DNS_HEADER 12

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* No SA_RESTART: the signal must interrupt the blocking recvmmsg. */
static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static int open_socket(const char *addr, const char *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char *end;
	long p = strtol(port, &end, 10);
	if (*end || p < 1 || p > 65535 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "bench_null_responder: bad address %s port %s\n", addr, port);
		return -1;
	}
	sin.sin_port = htons((uint16_t)p);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		perror("bench_null_responder: bind");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Keep the queries that have a DNS header, answer them in place, and compact the batch
 * so that sendmmsg sees only answers. @return how many answers there are. */
static int flip(struct mmsghdr *msgs, int n)
{
	int out = 0;
	for (int i = 0; i < n; i++) {
		uint8_t *pkt = msgs[i].msg_hdr.msg_iov->iov_base;
		if (msgs[i].msg_len < DNS_HEADER || (pkt[2] & 0x80))
			continue;
		pkt[2] |= 0x80;
		msgs[i].msg_hdr.msg_iov->iov_len = msgs[i].msg_len;
		if (out != i) {
			struct mmsghdr tmp = msgs[out];
			msgs[out] = msgs[i];
			msgs[i] = tmp;
		}
		out++;
	}
	return out;
}

static void serve(int fd)
{
	static uint8_t bufs[BATCH][PKT_MAX];
	static struct iovec iov[BATCH];
	static struct sockaddr_storage peers[BATCH];
	static struct mmsghdr msgs[BATCH];

	while (!stop) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = PKT_MAX };
			msgs[i].msg_hdr = (struct msghdr){ .msg_name = &peers[i],
							   .msg_namelen = sizeof(peers[i]),
							   .msg_iov = &iov[i],
							   .msg_iovlen = 1 };
		}
		int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("bench_null_responder: recvmmsg");
			return;
		}
		int answers = flip(msgs, n);
		/* A full send buffer drops the rest of the batch, as a busy server would. */
		if (answers > 0 && sendmmsg(fd, msgs, (unsigned)answers, 0) < 0 && errno != EINTR &&
		    errno != EAGAIN)
			perror("bench_null_responder: sendmmsg");
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bench_null_responder ADDR PORT\n");
		return 2;
	}
	install_signals();
	int fd = open_socket(argv[1], argv[2]);
	if (fd < 0)
		return 1;
	serve(fd);
	close(fd);
	return 0;
}
