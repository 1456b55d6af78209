// SPDX-License-Identifier: MIT
/*
 * Two processes over the socket link: the host runs in this process (a
 * link thread), guests are `vmbus guest` processes.  A full session at
 * each of the 11 versions and on the slow path, version fallback and
 * refusal, a guest killed with SIGKILL mid-traffic, and a hostile peer
 * speaking raw datagrams; after each, the host keeps serving.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/client.h"
#include "openvmbus/echo.h"
#include "openvmbus/link.h"
#include "openvmbus/link_socket.h"
#include "openvmbus/server.h"
#include "openvmbus/wire/link.h"
#include "tests/lib/pair.h"

static struct {
	struct ovb_server *srv;
	struct ovb_link_host *h;
	struct ovb_echo_vsp_cfg echo;
	pthread_t thread;
	char path[108];
} host;

static void *host_main(void *arg)
{
	ovb_link_host_run(host.h);
	return NULL;
}

static void host_start(uint32_t max, uint32_t min)
{
	static int seq;

	snprintf(host.path, sizeof(host.path), "/tmp/ovb-test-%d-%d.sock",
		 (int)getpid(), seq++);
	host.echo.instances = 1;
	assert_int_equal(ovb_server_create(&host.srv), 0);
	ovb_server_set_max_version(host.srv, max);
	ovb_server_set_min_version(host.srv, min);
	ovb_server_register_vsp(host.srv, &ovb_echo_vsp_ops, &host.echo);
	/* Caller-driven: the link thread takes the turns (one host thread). */
	if (dfx_wanted(false))
		assert_int_equal(ovb_server_set_threading(host.srv,
							  OVB_SERVER_CALLER), 0);
	assert_int_equal(ovb_link_host_create(host.srv, host.path, &host.h), 0);
	pthread_create(&host.thread, NULL, host_main, NULL);
}

static void host_stop(void)
{
	ovb_link_host_stop(host.h);
	pthread_join(host.thread, NULL);
	ovb_link_host_destroy(host.h);
	ovb_server_destroy(host.srv);
	assert_int_equal(access(host.path, F_OK), -1);
}

static const char *vmbus_bin(void)
{
	const char *p = getenv("OVB_VMBUS");

	return p ? p : "build/vmbus";
}

/* Run `vmbus guest ARGS...`; returns the exit status, output in @out. */
static int run_guest(char *out, size_t cap, ...)
{
	const char *argv[16] = { vmbus_bin(), "guest", "--socket", host.path };
	int argc = 4, pfd[2], status;
	size_t got = 0;
	va_list ap;
	pid_t pid;
	ssize_t n;

	va_start(ap, cap);
	while (argc < 15 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got + 1 < cap && (n = read(pfd[0], out + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = 0;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void wait_partitions(unsigned int n)
{
	PAIR_WAIT(ovb_link_host_partitions(host.h) == n);
	assert_int_equal(ovb_link_host_partitions(host.h), n);
}

static void test_session_every_version(void **state)
{
	static const char *const vers[] = { "0.13", "1.1", "2.4", "3.0", "4.0",
					    "4.1", "5.0", "5.1", "5.2", "5.3",
					    "6.0" };
	char out[8192], want[64];

	host_start(0, 0);
	for (size_t i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
		assert_int_equal(run_guest(out, sizeof(out), "--max-version",
					   vers[i], NULL), 0);
		snprintf(want, sizeof(want), "VMBus %s negotiated", vers[i]);
		assert_non_null(strstr(out, want));
		assert_non_null(strstr(out, "hot-added relid"));
		assert_non_null(strstr(out, "unloaded cleanly"));
	}
	/* The slow path: SIGNAL_EVENT and EVENT datagrams only. */
	assert_int_equal(run_guest(out, sizeof(out), "--no-eventfd", NULL), 0);
	assert_non_null(strstr(out, "sub-channels offered"));
	wait_partitions(0);
	host_stop();
}

static void test_fallback_and_refusal(void **state)
{
	char out[8192];

	host_start(VMBUS_VERSION_WIN10, 0);
	assert_int_equal(run_guest(out, sizeof(out), NULL), 0);
	assert_non_null(strstr(out, "VMBus 4.0 negotiated"));
	host_stop();

	host_start(0, VMBUS_VERSION_WIN10_V5);
	assert_int_equal(run_guest(out, sizeof(out), "--max-version", "4.1",
				   NULL), 1);
	assert_non_null(strstr(out, "refused every VMBus version"));
	host_stop();
}

static void test_bad_command_lines(void **state)
{
	char out[4096];

	strcpy(host.path, "/nonexistent/ovb.sock");
	assert_int_equal(run_guest(out, sizeof(out), NULL), 1);
	assert_non_null(strstr(out, "cannot connect to /nonexistent/ovb.sock"));
	assert_int_equal(run_guest(out, sizeof(out), "--bogus", NULL), 2);
	assert_int_equal(run_guest(out, sizeof(out), "--max-version", "7.1",
				   NULL), 2);
	assert_non_null(strstr(out, "unknown VMBus version '7.1'"));
	assert_int_equal(run_guest(out, sizeof(out), "--mem", "12x", NULL), 2);
}

struct chan_sum {
	uint64_t pkts;
};

static void sum_pkts(const struct ovb_chan_report *r, void *ctx)
{
	((struct chan_sum *)ctx)->pkts += r->st.pkts_in;
}

static void test_sigkill_mid_traffic(void **state)
{
	const char *argv[] = { vmbus_bin(), "guest", "--socket", NULL,
			       "--soak", "60", NULL };
	struct chan_sum sum = { 0 };
	char out[8192];
	int fds, status;
	pid_t pid;

	host_start(0, 0);
	fds = open_fds();
	argv[3] = host.path;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", 1);

		dup2(null, 1);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	/* Wait until the guest is deep in traffic. */
	for (int i = 0; i < 10000 && sum.pkts < 3000; i++) {
		sum.pkts = 0;
		ovb_server_report(host.srv, sum_pkts, &sum);
		usleep(1000);
	}
	assert_true(sum.pkts >= 3000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	wait_partitions(0);
	/* Everything it held is gone: memfd, eventfds, socket. */
	assert_int_equal(open_fds(), fds);
	assert_int_equal(run_guest(out, sizeof(out), NULL), 0);
	assert_non_null(strstr(out, "unloaded cleanly"));
	host_stop();
}

/* ---- a hostile peer speaking raw datagrams ---- */

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	strcpy(sa.sun_path, host.path);
	assert_int_equal(connect(fd, (void *)&sa, sizeof(sa)), 0);
	return fd;
}

static void raw_send(int fd, uint32_t type, const void *body, size_t len,
		     int passfd)
{
	uint8_t buf[2048];
	struct ovb_link_hdr h = { type, (uint32_t)len };
	struct iovec iov = { buf, sizeof(h) + len };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} cb;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), body, len);
	if (passfd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = cb.b;
		mh.msg_controllen = sizeof(cb.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	sendmsg(fd, &mh, MSG_NOSIGNAL);
}

/* Expect an ERROR whose text contains @needle, then the close. */
static void raw_expect_error(int fd, const char *needle)
{
	uint8_t buf[600];
	ssize_t n;

	do
		n = recv(fd, buf, sizeof(buf) - 1, 0);
	while (n > 0 && ((struct ovb_link_hdr *)buf)->type != OVB_LINK_ERROR);
	assert_true(n > 12);
	buf[n] = 0;
	if (!strstr((char *)buf + 12, needle))
		fail_msg("ERROR text '%s' lacks '%s'", buf + 12, needle);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 0);
	close(fd);
}

static void raw_hello(int fd)
{
	struct ovb_link_hello hello = { .link_version = 1, .vp_count = 1,
					.name = "hostile" };

	raw_send(fd, OVB_LINK_HELLO, &hello, sizeof(hello), -1);
}

static void test_hostile_link(void **state)
{
	struct ovb_link_mem_region mr = { .gpa = 1 << 30, .size = 4 << 20 };
	struct ovb_link_message pm = { .id = 1, .message_type = 1 };
	struct ovb_link_hello hello = { .link_version = 2, .vp_count = 1 };
	uint8_t junk[1000] = { 0 };
	char out[8192];
	int fd, mfd = memfd_create("t", 0);

	assert_int_equal(ftruncate(mfd, 8 << 20), 0);
	host_start(0, 0);

	fd = raw_connect();
	raw_send(fd, OVB_LINK_POST_MESSAGE, &pm, sizeof(pm), -1);
	raw_expect_error(fd, "first datagram must be HELLO");

	fd = raw_connect();
	raw_send(fd, OVB_LINK_HELLO, &hello, sizeof(hello), -1);
	raw_expect_error(fd, "link version");

	fd = raw_connect();
	raw_send(fd, OVB_LINK_HELLO, &hello, sizeof(hello) - 1, -1);
	raw_expect_error(fd, "wrong body size");

	fd = raw_connect();
	raw_send(fd, 42, &hello, 4, -1);
	raw_expect_error(fd, "unknown datagram type");

	fd = raw_connect();
	raw_send(fd, OVB_LINK_HELLO, junk, sizeof(junk), -1);
	raw_expect_error(fd, "too large");

	fd = raw_connect();
	raw_hello(fd);
	raw_send(fd, OVB_LINK_MEM_REGION, &mr, sizeof(mr), -1);
	raw_expect_error(fd, "wrong number of fds");

	fd = raw_connect();
	raw_hello(fd);
	raw_send(fd, OVB_LINK_MEM_REGION, &mr, sizeof(mr), mfd);
	mr.gpa += 2 << 20;
	raw_send(fd, OVB_LINK_MEM_REGION, &mr, sizeof(mr), mfd);
	raw_expect_error(fd, "overlaps another region");

	fd = raw_connect();
	raw_hello(fd);
	mr.gpa = (1 << 30) + 100;
	raw_send(fd, OVB_LINK_MEM_REGION, &mr, sizeof(mr), mfd);
	raw_expect_error(fd, "not page aligned");

	fd = raw_connect();
	raw_hello(fd);
	raw_send(fd, OVB_LINK_POST_MESSAGE, &pm, sizeof(pm), -1);
	mr.gpa = 1 << 30;
	raw_send(fd, OVB_LINK_MEM_REGION, &mr, sizeof(mr), mfd);
	raw_expect_error(fd, "after the first POST_MESSAGE");

	fd = raw_connect();
	raw_hello(fd);
	pm.payload_size = 241;
	raw_send(fd, OVB_LINK_POST_MESSAGE, &pm, sizeof(pm), -1);
	raw_expect_error(fd, "payload_size > 240");

	fd = raw_connect();
	raw_hello(fd);
	raw_send(fd, OVB_LINK_WELCOME, junk, 8, -1);
	raw_expect_error(fd, "host-to-guest");

	close(mfd);
	wait_partitions(0);
	assert_int_equal(run_guest(out, sizeof(out), NULL), 0);
	assert_non_null(strstr(out, "unloaded cleanly"));
	host_stop();
}

/* A guest library user over the socket: unload, reconnect older, rescind. */
static void test_unload_reconnect(void **state)
{
	struct ovb_link_guest_params lp = { .name = "reconnect",
					    .mem_gpa = 1ull << 32,
					    .mem_size = 32 << 20 };
	struct ovb_echo_driver_ctx echo = { 0 };
	struct ovb_link_guest *g;
	struct ovb_client *cl;
	struct ovb_echo *e;

	host_start(0, 0);
	lp.path = host.path;
	assert_int_equal(ovb_link_guest_connect(&lp, &g), 0);
	cl = ovb_link_guest_client(g);
	ovb_client_register_driver(cl, &ovb_echo_driver, &echo);
	for (int round = 0; round < 3; round++) {
		uint32_t want = round == 1 ? VMBUS_VERSION_WIN8_1 : 0;

		echo.ndev = 0;
		assert_int_equal(ovb_client_connect(cl, want, 5000), 0);
		assert_int_equal(ovb_client_version(cl),
				 want ? want : VMBUS_VERSION_WIN10_V6_0);
		assert_int_equal(echo.ndev, 1);
		assert_int_equal(ovb_echo_open(echo.dev[0], 16384, NULL, &e), 0);
		for (int i = 0; i < 100; i++)
			pair_ping(e, (uint32_t)i * 41 % 4096);
		assert_int_equal(ovb_client_unload(cl, 5000), 0);
	}
	ovb_link_guest_destroy(g);
	wait_partitions(0);
	host_stop();
}

/* The host goes away under a guest: calls fail promptly, no hang. */
static void test_host_dies(void **state)
{
	struct ovb_link_guest_params lp = { .name = "orphan",
					    .mem_gpa = 1ull << 32,
					    .mem_size = 32 << 20 };
	struct ovb_echo_driver_ctx echo = { 0 };
	struct echo_msg req = { .op = ECHO_OP_PING }, rep;
	struct ovb_link_guest *g;
	struct ovb_echo *e;

	host_start(0, 0);
	lp.path = host.path;
	assert_int_equal(ovb_link_guest_connect(&lp, &g), 0);
	ovb_client_register_driver(ovb_link_guest_client(g), &ovb_echo_driver,
				   &echo);
	assert_int_equal(ovb_client_connect(ovb_link_guest_client(g), 0, 5000),
			 0);
	assert_int_equal(ovb_echo_open(echo.dev[0], 16384, NULL, &e), 0);
	pair_ping(e, 10);
	host_stop();
	assert_int_equal(ovb_echo_call(e, &req, NULL, NULL, 0, &rep, NULL, 0,
				       5000), -ECONNRESET);
	ovb_link_guest_destroy(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_every_version),
		cmocka_unit_test(test_fallback_and_refusal),
		cmocka_unit_test(test_bad_command_lines),
		cmocka_unit_test(test_sigkill_mid_traffic),
		cmocka_unit_test(test_hostile_link),
		cmocka_unit_test(test_unload_reconnect),
		cmocka_unit_test(test_host_dies),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
