/*
 * The web listener's thread and its HTTP library, libmicrohttpd (web.h).
 *
 * One MHD daemon per listen address, all in external-polling mode with epoll, driven by
 * one thread of ours: it polls the daemons' epoll descriptors and an eventfd (to stop),
 * runs MHD, takes the current policy and overrides, drains the workers' record rings and
 * closes connections past their deadline. The thread runs at nice 19: on a core the DNS
 * workers keep busy it gets about 1.5% of the time (CFS weights 15 against 1024), so
 * HTTP load cannot take more than that from DNS; it never makes a worker wait.
 *
 * Limits: web.max_connections in all and a quarter of them (at least 16) per client
 * address (MHD),
 * a 16 KiB memory pool per connection (request line and headers must fit: MHD answers
 * 431 or 414 otherwise), bodies up to WARD_WEB_BODY_MAX (413 when Content-Length says
 * more, the connection closed when a chunked body grows past it), and
 * web.request_timeout_s for each request, headers included: a connection that has not
 * completed a request that long after it opened or after its previous request is shut
 * down (MHD's own timeout only counts idle time, which a slow trickle resets).
 */
#include "resolver/web.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/error.h"
#include "blocklists/log.h"
#include "resolver/web_internal.h"

#define WEB_POOL_BYTES (16 * 1024)
#define WEB_LOOP_MS 100
#define WEB_NICE 19

struct listener {
	struct ward_web *web;
	struct ward_addr addr;
	int fd;
	struct MHD_Daemon *mhd;
	char csp[512];
};

/* A connection MHD holds, for its deadline. */
struct conn {
	bool used;
	int fd;
	uint64_t deadline_ms;
};

struct request {
	char *body;
	size_t len;
	bool too_big;
};

struct ward_web {
	const struct ward_conf *conf;
	struct ward_web_app app;
	bool app_ready;
	struct listener *listeners;
	size_t n_listeners;
	struct conn *conns;
	size_t n_conns;
	int wake_fd;
	_Atomic bool stop;
	pthread_t thread;
	bool running;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- sockets ------------------------------------------------------------------------------ */

static int bind_one(struct listener *l)
{
	char text[64];
	int one = 1;
	l->fd = socket(l->addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (l->addr.sa.sa_family == AF_INET6 &&
	     setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(l->fd, &l->addr.sa, l->addr.len) != 0 || listen(l->fd, 128) != 0) {
		int err = ward_errno(errno);
		ward_log_error("cannot listen for HTTP on %s: %s",
			       ward_addr_format(&l->addr, text, sizeof(text)), ward_strerror(err));
		return err;
	}
	return 0;
}

int ward_web_new(const struct ward_conf *conf, struct ward_shared *shared,
		 struct ward_web **out)
{
	*out = NULL;
	struct ward_web *web = calloc(1, sizeof(*web));
	if (!web)
		return WARD_ENOMEM;
	web->conf = conf;
	web->wake_fd = -1;
	web->n_conns = conf->web.max_connections;
	web->conns = calloc(web->n_conns, sizeof(*web->conns));
	web->listeners = calloc(conf->web.n_listen, sizeof(*web->listeners));
	int rc = web->conns && web->listeners ? 0 : WARD_ENOMEM;
	if (!rc)
		rc = ward_web_app_init(&web->app, conf, shared);
	web->app_ready = rc == 0;
	for (size_t i = 0; rc == 0 && i < conf->web.n_listen; i++, web->n_listeners++) {
		struct listener *l = &web->listeners[i];
		l->web = web;
		l->addr = conf->web.listen[i];
		rc = bind_one(l);
	}
	if (rc) {
		ward_web_free(web);
		return rc;
	}
	*out = web;
	return 0;
}

/* ---- the admin token ------------------------------------------------------------------------ */

static int read_token(struct ward_web *web, int fd, const char *path)
{
	struct stat st;
	char buf[WARD_WEB_TOKEN_MAX + 2];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		ward_log_warn("%s: the admin token is readable by other users (chmod 600 it)", path);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	bool ok = n >= 16 && n <= WARD_WEB_TOKEN_MAX;
	for (ssize_t i = 0; ok && i < n; i++)
		ok = buf[i] > ' ' && buf[i] < 0x7f;
	if (!ok) {
		ward_log_error("%s: not an admin token (16-%d printable characters); remove it and "
			       "wardd creates a new one", path, WARD_WEB_TOKEN_MAX);
		return WARD_EFORMAT;
	}
	memcpy(web->app.token, buf, (size_t)n);
	web->app.token[n] = '\0';
	web->app.token_len = (size_t)n;
	return 0;
}

static int create_token(struct ward_web *web, const char *path)
{
	uint8_t raw[32];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return ward_errno(errno);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(web->app.token + 2 * i, 3, "%02x", raw[i]);
	web->app.token_len = 2 * sizeof(raw);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ward_errno(errno);
	char line[2 * sizeof(raw) + 2];
	int len = snprintf(line, sizeof(line), "%s\n", web->app.token);
	int rc = write(fd, line, (size_t)len) == len && fsync(fd) == 0 ? 0 : ward_errno(errno);
	close(fd);
	if (rc)
		unlink(path);
	else
		ward_log_info("created the admin token in %s (mode 0600)", path);
	return rc;
}

static int load_token(struct ward_web *web)
{
	const char *path = web->conf->web.admin_token_file;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc;
	if (fd >= 0) {
		rc = read_token(web, fd, path);
		close(fd);
		return rc;
	}
	rc = errno == ENOENT ? create_token(web, path) : ward_errno(errno);
	if (rc)
		ward_log_error("web.admin_token_file %s: %s", path, ward_strerror(rc));
	return rc;
}

/* ---- MHD callbacks ---------------------------------------------------------------------------- */

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct listener *l = cls;
	struct ward_policy_verdict v;
	struct ward_policy_state *ps = l->web->app.ps;
	return ps && ward_policy_admit(ps->policy, addr, &v) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct ward_web *web = cls;
	struct conn *slot = *socket_context;
	if (code != MHD_CONNECTION_NOTIFY_STARTED) {
		if (slot)
			slot->used = false;
		return;
	}
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	for (size_t i = 0; info && i < web->n_conns; i++) {
		if (web->conns[i].used)
			continue;
		web->conns[i] = (struct conn){true, info->connect_fd,
					      now_ms() + web->conf->web.request_timeout_s * 1000u};
		*socket_context = &web->conns[i];
		return;
	}
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct ward_web *web = cls;
	struct request *r = *con_cls;
	if (r) {
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *slot = info ? info->socket_context : NULL;
	if (slot && slot->used) /* the next request gets a deadline of its own */
		slot->deadline_ms = now_ms() + web->conf->web.request_timeout_s * 1000u;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	ward_log_debug("web: %s", msg);
}

static const char *arg_lookup(void *ctx, const char *key)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result send_response(struct listener *l, struct MHD_Connection *c,
				     struct ward_web_response *resp)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		resp->body.len, resp->body.data ? resp->body.data : (void *)"", resp->body.data
		? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		web_buf_free(&resp->body);
		return MHD_NO;
	}
	resp->body.data = NULL; /* MHD frees it */
	MHD_add_response_header(r, "Content-Type", resp->content_type ? resp->content_type
								      : "text/plain; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", resp->cache ? resp->cache : "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy", l->csp);
	if (resp->allow)
		MHD_add_response_header(r, "Allow", resp->allow);
	if (resp->www_authenticate)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"ward\"");
	enum MHD_Result ok = MHD_queue_response(c, resp->status, r);
	MHD_destroy_response(r);
	return ok;
}

/* 413 before the body is read, when Content-Length already says it is too large. */
static bool declared_too_big(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	return cl && strtoull(cl, NULL, 10) > WARD_WEB_BODY_MAX;
}

static enum MHD_Result too_big(struct listener *l, struct MHD_Connection *c)
{
	struct ward_web_response resp = {0};
	web_buf_init(&resp.body, 256);
	web_json_error(&resp, 413, "the body is larger than %d bytes", WARD_WEB_BODY_MAX);
	return send_response(l, c, &resp);
}

/* Collect the body; false when it grew past the limit. */
static bool take_upload(struct request *r, const char *data, size_t *size)
{
	if (r->len + *size > WARD_WEB_BODY_MAX) {
		r->too_big = true;
	} else {
		char *body = realloc(r->body, r->len + *size + 1);
		if (!body)
			return false;
		memcpy(body + r->len, data, *size);
		r->body = body;
		r->len += *size;
		r->body[r->len] = '\0';
	}
	*size = 0;
	return !r->too_big;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct listener *l = cls;
	struct request *r = *con_cls;
	if (!r) {
		if (declared_too_big(c))
			return too_big(l, c);
		*con_cls = r = calloc(1, sizeof(*r));
		return r ? MHD_YES : MHD_NO;
	}
	if (*upload_size)
		return take_upload(r, upload, upload_size) ? MHD_YES : MHD_NO;
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct ward_web_request req = {
		.method = method, .path = url,
		.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"),
		.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
		.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
		.arg = arg_lookup, .arg_ctx = c, .body = r->body, .body_len = r->len,
		.port = ntohs(l->addr.sa.sa_family == AF_INET ? l->addr.v4.sin_port
							      : l->addr.v6.sin6_port),
	};
	if (!info || !info->client_addr)
		return MHD_NO;
	req.client.len = info->client_addr->sa_family == AF_INET ? sizeof(req.client.v4)
								 : sizeof(req.client.v6);
	memcpy(&req.client.ss, info->client_addr, req.client.len);
	struct ward_web_response resp;
	ward_web_handle(&l->web->app, &req, &resp);
	return send_response(l, c, &resp);
}

/* ---- the thread ------------------------------------------------------------------------------- */

/* The pages post their forms to ward's own name, so that name (with the port) is the one
 * other place a form may go; scripts only from ward itself. */
static void build_csp(struct listener *l)
{
	char base[300];
	uint16_t port = ntohs(l->addr.sa.sa_family == AF_INET ? l->addr.v4.sin_port
							      : l->addr.v6.sin6_port);
	web_base_url(&l->web->app, port, base, sizeof(base));
	snprintf(l->csp, sizeof(l->csp),
		 "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; "
		 "connect-src 'self'; img-src 'self' data:; form-action 'self' %s; "
		 "frame-ancestors 'none'; base-uri 'none'", base);
}

static int start_daemon(struct ward_web *web, struct listener *l)
{
	unsigned limit = web->conf->web.max_connections;
	/* A browser opens six connections per site and keeps them; one device with a few
	 * blocked tabs needs a dozen or more. */
	unsigned per_ip = limit / 4 > 16 ? limit / 4 : (limit < 16 ? limit : 16);
	build_csp(l);
	l->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, accept_policy, l, on_request, l,
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd, web, /* first: MHD logs from here on */
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)l->fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)(limit / web->n_listeners ? limit /
							 web->n_listeners : 1),
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)web->conf->web.request_timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_POOL_BYTES,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, web,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, web,
		MHD_OPTION_END);
	if (!l->mhd) {
		char text[64];
		ward_log_error("cannot start the web listener on %s",
			       ward_addr_format(&l->addr, text, sizeof(text)));
		return WARD_EIO;
	}
	return 0;
}

static void enforce_deadlines(struct ward_web *web)
{
	uint64_t now = now_ms();
	for (size_t i = 0; i < web->n_conns; i++) {
		struct conn *c = &web->conns[i];
		if (c->used && c->fd >= 0 && now > c->deadline_ms) {
			shutdown(c->fd, SHUT_RDWR); /* MHD sees it closed and cleans up */
			c->fd = -1;
		}
	}
}

static int poll_timeout(struct ward_web *web)
{
	int timeout = WEB_LOOP_MS;
	for (size_t i = 0; i < web->n_listeners; i++) {
		MHD_UNSIGNED_LONG_LONG t;
		if (web->listeners[i].mhd && MHD_get_timeout(web->listeners[i].mhd, &t) == MHD_YES &&
		    t < (MHD_UNSIGNED_LONG_LONG)timeout)
			timeout = (int)t;
	}
	return timeout;
}

static void *web_main(void *arg)
{
	struct ward_web *web = arg;
	struct pollfd fds[1 + 16];
	/* Linux nice values are per thread: only this one yields to the workers. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WEB_NICE);
	while (!atomic_load(&web->stop)) {
		ward_web_app_refresh(&web->app);
		fds[0] = (struct pollfd){.fd = web->wake_fd, .events = POLLIN};
		for (size_t i = 0; i < web->n_listeners; i++) {
			const union MHD_DaemonInfo *info = MHD_get_daemon_info(
				web->listeners[i].mhd, MHD_DAEMON_INFO_EPOLL_FD);
			fds[1 + i] = (struct pollfd){.fd = info ? info->epoll_fd : -1,
						     .events = POLLIN};
		}
		poll(fds, 1 + web->n_listeners, poll_timeout(web));
		for (size_t i = 0; i < web->n_listeners; i++)
			MHD_run(web->listeners[i].mhd);
		enforce_deadlines(web);
		/* Between requests the reader holds no snapshot (ward update reuses pages). */
		ward_catdb_reader_release(web->app.reader);
	}
	return NULL;
}

int ward_web_start(struct ward_web *web, struct ward_worker *workers, unsigned n_workers)
{
	web->app.workers = workers;
	web->app.n_workers = n_workers;
	int rc = load_token(web);
	if (rc)
		return rc;
	web->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (web->wake_fd < 0)
		return ward_errno(errno);
	ward_web_app_refresh(&web->app);
	for (size_t i = 0; i < web->n_listeners; i++)
		if ((rc = start_daemon(web, &web->listeners[i])) != 0)
			return rc;
	if (pthread_create(&web->thread, NULL, web_main, web) != 0)
		return WARD_ENOMEM;
	web->running = true;
	for (size_t i = 0; i < web->n_listeners; i++) {
		char text[64];
		ward_log_info("web listener on http://%s/ (%s)",
			      ward_addr_format(&web->listeners[i].addr, text, sizeof(text)),
			      web->conf->web.hostname);
	}
	return 0;
}

void ward_web_stop(struct ward_web *web)
{
	if (!web || !web->running)
		return;
	atomic_store(&web->stop, true);
	uint64_t one = 1;
	if (write(web->wake_fd, &one, sizeof(one)) < 0)
		ward_log_debug("web: wake-up failed: %s", strerror(errno));
	pthread_join(web->thread, NULL);
	web->running = false;
}

void ward_web_free(struct ward_web *web)
{
	if (!web)
		return;
	ward_web_stop(web);
	for (size_t i = 0; i < web->n_listeners; i++) {
		struct listener *l = &web->listeners[i];
		if (l->mhd)
			MHD_stop_daemon(l->mhd); /* closes the listening socket too */
		else if (l->fd >= 0)
			close(l->fd);
	}
	if (web->wake_fd >= 0)
		close(web->wake_fd);
	if (web->app_ready)
		ward_web_app_free(&web->app);
	free(web->listeners);
	free(web->conns);
	free(web);
}

uint64_t ward_web_seen_generation(const struct ward_web *web)
{
	return web ? atomic_load(&web->app.seen_generation) : UINT64_MAX;
}

uint64_t ward_web_seen_overrides(const struct ward_web *web)
{
	return web ? atomic_load(&web->app.seen_overrides) : UINT64_MAX;
}
