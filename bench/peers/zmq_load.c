/*
 * zmq_load: the libzmq side of the zmq-forwarder benchmark, compiled at
 * run time by bench/scenario_zmq_forwarder.go (cc zmq_load.c -lzmq).
 *
 *   zmq_load pub BIND                 an XPUB with ZMQ_XPUB_NODROP bound at
 *                                     BIND, sending 64-byte messages until
 *                                     killed: a blocking send waits at its
 *                                     high-water mark instead of dropping, so
 *                                     the publisher offers what the
 *                                     forwarder reads and burns no CPU on
 *                                     messages it would drop unread
 *   zmq_load sub CONNECT N WARM MEAS  N SUB sockets subscribed to everything
 *                                     (""), polled by one thread; counts
 *                                     what they all receive in the MEAS ms
 *                                     after WARM ms and prints
 *                                     "RECEIVED <count> <seconds>"
 *   zmq_load rawsub IP:PORT N WARM MEAS
 *                                     as sub, but N plain TCP connections
 *                                     that speak ZMTP 3.0 as a SUB (NULL
 *                                     greeting, READY, a \x01 subscription
 *                                     to everything) and count the messages
 *                                     by walking frame headers, without
 *                                     libzmq: a subscriber that costs little
 *                                     per message, to see what the
 *                                     forwarders do when libzmq's SUB
 *                                     sockets are not what limits them
 *   zmq_load proxy CONNECT BIND       zmq_proxy(XSUB connected to CONNECT,
 *                                     XPUB bound at BIND), libzmq defaults,
 *                                     as a user runs it
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define PAYLOAD 64
#define MAXSUBS 10000

static void die(const char *what)
{
	fprintf(stderr, "zmq_load: %s: %s\n", what, zmq_strerror(zmq_errno()));
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int pub(const char *bind)
{
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_XPUB);
	int one = 1, hwm = 100000;
	if (zmq_setsockopt(s, ZMQ_XPUB_NODROP, &one, sizeof one) ||
	    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
	    zmq_bind(s, bind))
		die("pub");
	char msg[PAYLOAD];
	memset(msg, 'x', sizeof msg);
	for (;;) {
		/* Subscriptions arrive as messages on an XPUB: read them so
		   they never pile up (there are only a few). */
		char sub[256];
		while (zmq_recv(s, sub, sizeof sub, ZMQ_DONTWAIT) >= 0)
			;
		for (int i = 0; i < 1024; i++)
			if (zmq_send(s, msg, sizeof msg, 0) < 0 && zmq_errno() != EAGAIN)
				die("pub send");
	}
	return 0;
}

static int sub(const char *connect, int n, int warm, int meas)
{
	if (n < 1 || n > MAXSUBS)
		die("sub: N out of range");
	void *ctx = zmq_ctx_new();
	static zmq_pollitem_t items[MAXSUBS];
	for (int i = 0; i < n; i++) {
		void *s = zmq_socket(ctx, ZMQ_SUB);
		if (zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) || zmq_connect(s, connect))
			die("sub");
		items[i] = (zmq_pollitem_t){.socket = s, .events = ZMQ_POLLIN};
	}
	double start = now(), t0 = start + warm / 1e3, t1 = t0 + meas / 1e3;
	long long got = 0, got0 = -1;
	double at0 = 0;
	zmq_msg_t m;
	zmq_msg_init(&m);
	for (;;) {
		double t = now();
		if (got0 < 0 && t >= t0) {
			got0 = got;
			at0 = t;
		}
		if (t >= t1)
			break;
		if (zmq_poll(items, n, 100) < 0)
			die("sub poll");
		for (int i = 0; i < n; i++) {
			if (!(items[i].revents & ZMQ_POLLIN))
				continue;
			/* A bounded batch per socket keeps the others served. */
			for (int k = 0; k < 256 && zmq_msg_recv(&m, items[i].socket, ZMQ_DONTWAIT) >= 0; k++)
				got++;
		}
	}
	if (got0 < 0)
		got0 = got, at0 = now();
	printf("RECEIVED %lld %.6f\n", got - got0, now() - at0);
	fflush(stdout);
	_exit(0); /* no linger, no orderly close of n sockets: the count is out */
}

/* rawconn is one raw ZMTP subscriber connection being parsed. */
struct rawconn {
	int fd;
	int hdr, hdrlen;        /* header bytes held, and how many it needs */
	unsigned char h[9];     /* flags, then a 1- or 8-byte size */
	uint64_t body;          /* bytes of the current frame still to skip */
};

static const unsigned char rawhello[] = {
	/* greeting: signature, version 3.0, NULL, as-server 0, filler */
	0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0, 'N', 'U', 'L', 'L',
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* mechanism's padding */
	0,                                              /* as-server */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* filler */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* READY Socket-Type=SUB, a short command */
	0x04, 25, 5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e', 't',
	'-', 'T', 'y', 'p', 'e', 0, 0, 0, 3, 'S', 'U', 'B',
};

_Static_assert(sizeof rawhello == 64 + 27, "greeting and READY");

/* A 3.0 subscription to everything, the message "\x01": sent once the
   peer's READY is in (libzmq refuses a message before its handshake is
   over, "unexpected command"). */
static const unsigned char rawsubscribe[] = {0x00, 1, 1};

/* readfull reads exactly n bytes of a blocking socket. */
static void readfull(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r <= 0) {
			fprintf(stderr, "zmq_load rawsub: the handshake failed\n");
			exit(1);
		}
		p += r, n -= r;
	}
}

/* rawcount parses n bytes of c's stream and returns the whole messages
   (commands left out) that ended in them. */
static long long rawcount(struct rawconn *c, const unsigned char *p, size_t n)
{
	long long got = 0;
	while (n > 0) {
		if (c->body > 0) {
			size_t k = n < c->body ? n : c->body;
			c->body -= k, p += k, n -= k;
			continue;
		}
		c->h[c->hdr++] = *p++, n--;
		if (c->hdr == 1) {
			c->hdrlen = (c->h[0] & 0x02) ? 9 : 2;
			continue;
		}
		if (c->hdr < c->hdrlen)
			continue;
		uint64_t size = 0;
		for (int i = 1; i < c->hdrlen; i++)
			size = size << 8 | c->h[i];
		if (!(c->h[0] & 0x05)) /* neither MORE nor COMMAND: a message ends */
			got++;
		c->body = size;
		c->hdr = 0;
	}
	return got;
}

static int rawsub(const char *addr, int n, int warm, int meas)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (n < 1 || n > MAXSUBS || !colon || colon - addr >= (int)sizeof host)
		die("rawsub: bad arguments");
	memcpy(host, addr, colon - addr);
	host[colon - addr] = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(colon + 1))};
	inet_pton(AF_INET, host, &sa.sin_addr);
	int ep = epoll_create1(0);
	static struct rawconn conns[MAXSUBS];
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    write(fd, rawhello, sizeof rawhello) != sizeof rawhello) {
			perror("zmq_load rawsub: connect");
			exit(1);
		}
		/* The peer's greeting, then its READY (a short command). */
		unsigned char hs[64 + 2 + 255];
		readfull(fd, hs, 64 + 2);
		readfull(fd, hs + 66, hs[65]);
		if (write(fd, rawsubscribe, sizeof rawsubscribe) != sizeof rawsubscribe) {
			perror("zmq_load rawsub: subscribe");
			exit(1);
		}
		conns[i] = (struct rawconn){.fd = fd};
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	static unsigned char buf[256 << 10];
	struct epoll_event evs[256];
	double t0 = now() + warm / 1e3, t1 = t0 + meas / 1e3, at0 = 0;
	long long got = 0, got0 = -1;
	for (;;) {
		double t = now();
		if (got0 < 0 && t >= t0)
			got0 = got, at0 = t;
		if (t >= t1)
			break;
		int k = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < k; i++) {
			struct rawconn *c = evs[i].data.ptr;
			ssize_t r = read(c->fd, buf, sizeof buf);
			if (r <= 0) {
				fprintf(stderr, "zmq_load rawsub: a connection ended\n");
				exit(1);
			}
			got += rawcount(c, buf, r);
		}
	}
	if (got0 < 0)
		got0 = got, at0 = now();
	printf("RECEIVED %lld %.6f\n", got - got0, now() - at0);
	fflush(stdout);
	_exit(0);
}

static int proxy(const char *connect, const char *bind)
{
	void *ctx = zmq_ctx_new();
	void *xsub = zmq_socket(ctx, ZMQ_XSUB);
	void *xpub = zmq_socket(ctx, ZMQ_XPUB);
	if (zmq_connect(xsub, connect) || zmq_bind(xpub, bind))
		die("proxy");
	zmq_proxy(xsub, xpub, NULL);
	die("zmq_proxy");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "pub"))
		return pub(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "sub"))
		return sub(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (argc == 6 && !strcmp(argv[1], "rawsub"))
		return rawsub(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "proxy"))
		return proxy(argv[2], argv[3]);
	fprintf(stderr, "usage: zmq_load pub BIND | sub CONNECT N WARM_MS MEAS_MS | rawsub IP:PORT N WARM_MS MEAS_MS | proxy CONNECT BIND\n");
	return 2;
}
