/*
 * zmq_load: the libzmq side of the zmq-forwarder benchmark, compiled at
 * run time by bench/scenario_zmq_forwarder.go (cc zmq_load.c -lzmq).
 *
 *   zmq_load pub BIND                 an XPUB with ZMQ_XPUB_NODROP bound at
 *                                     BIND, sending 64-byte messages until
 *                                     killed: a blocking send waits at its
 *                                     high-water mark instead of dropping, so
 *                                     the publisher offers exactly what the
 *                                     forwarder takes and burns no CPU on
 *                                     messages nobody will get
 *   zmq_load sub CONNECT N WARM MEAS  N SUB sockets subscribed to everything
 *                                     (""), polled by one thread; counts
 *                                     what they all receive in the MEAS ms
 *                                     after WARM ms and prints
 *                                     "RECEIVED <count> <seconds>"
 *   zmq_load proxy CONNECT BIND       zmq_proxy(XSUB connected to CONNECT,
 *                                     XPUB bound at BIND), libzmq defaults,
 *                                     as a user runs it
 */
#include <errno.h>
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
	if (argc == 4 && !strcmp(argv[1], "proxy"))
		return proxy(argv[2], argv[3]);
	fprintf(stderr, "usage: zmq_load pub BIND | sub CONNECT N WARM_MS MEAS_MS | proxy CONNECT BIND\n");
	return 2;
}
