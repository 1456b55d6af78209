// SPDX-License-Identifier: MIT
/* A real nbdkit for the NBD backend's unit tests: nbdkit-fx.h. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "openvmbus/blk.h"
#include "openvmbus/blk_file.h"
#include "tests/lib/blk-fx.h"
#include "tests/lib/nbd-fake.h"
#include "tests/lib/nbdkit-fx.h"

struct nbdkit_srv nbdkit = { .pid = -1 };

/* True once the server accepts on its socket. */
static bool nbdkit_answers(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", nbdkit.sock);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

void nbdkit_start(void)
{
	const char *s = nbdkit.sock;
	char logarg[160];

	unlink(nbdkit.sock);
	snprintf(logarg, sizeof(logarg), "logfile=%s", nbdkit.logpath);
	nbdkit.pid = fork();
	assert_true(nbdkit.pid >= 0);
	if (nbdkit.pid == 0) {
		/* -v: the option negotiation shows in errpath. */
		int err = open(nbdkit.errpath, O_WRONLY | O_CREAT | O_APPEND,
			       0600);

		dup2(err, 2);
		if (nbdkit.delay_write)
			execlp("nbdkit", "nbdkit", "-f", "-v", "-U", s,
			       "--filter=log", "--filter=delay", "memory",
			       "64M", logarg, nbdkit.delay_write, (char *)NULL);
		else
			execlp("nbdkit", "nbdkit", "-f", "-v", "-U", s,
			       "--filter=log", "memory", "64M", logarg,
			       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !nbdkit_answers(); i++)
		usleep(25000);
	assert_true(nbdkit_answers());
}

/* SIGKILL: the server dies with whatever it held, sockets hung up. */
void nbdkit_kill(void)
{
	if (nbdkit.pid <= 0)
		return;
	kill(nbdkit.pid, SIGKILL);
	waitpid(nbdkit.pid, NULL, 0);
	nbdkit.pid = -1;
}

int nbdkit_setup(void **state)
{
	snprintf(nbdkit.dir, sizeof(nbdkit.dir), "/tmp/ovb-nbd-unit.XXXXXX");
	if (!mkdtemp(nbdkit.dir))
		return -1;
	snprintf(nbdkit.sock, sizeof(nbdkit.sock), "%s/nbd.sock", nbdkit.dir);
	snprintf(nbdkit.logpath, sizeof(nbdkit.logpath), "%s/nbd.log",
		 nbdkit.dir);
	snprintf(nbdkit.errpath, sizeof(nbdkit.errpath), "%s/nbdkit.err",
		 nbdkit.dir);
	nbdkit_start();
	return 0;
}

int nbdkit_teardown(void **state)
{
	char cmd[96];

	nbdkit_kill();
	nbdkit.delay_write = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", nbdkit.dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct ovb_blk *nbdkit_disk_open_t(const char *extra, unsigned timeout_s)
{
	return nbd_fake_open_at(nbdkit.sock, timeout_s, extra);
}

struct ovb_blk *nbdkit_disk_open(const char *extra)
{
	return nbdkit_disk_open_t(extra, 5);
}

int nbdkit_io1(struct ovb_blk_queue *q, enum ovb_blk_op op, uint64_t off,
	       void *buf, size_t len)
{
	struct iovec iov = { buf, len };

	return blkfx_rw(q, op, off, &iov, op == OVB_BLK_FLUSH ? 0 : 1, false);
}

/* Connection numbers of the log filter's lines naming @what ("Write"). */
int nbdkit_log_conns(const char *what, int *conns, int max)
{
	FILE *f = fopen(nbdkit.logpath, "r");
	char line[512], key[32];
	int n = 0;

	assert_non_null(f);
	snprintf(key, sizeof(key), " %s id=", what);
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "connection=");
		int c;

		if (!p || !strstr(line, key) || strstr(line, "return="))
			continue;
		c = atoi(p + strlen("connection="));
		for (int i = 0; i < n; i++)
			if (conns[i] == c)
				goto next;
		if (n < max)
			conns[n++] = c;
next:;
	}
	fclose(f);
	return n;
}

void nbdkit_stats(struct ovb_blk *blk, struct ovb_blk_stats *st)
{
	assert_int_equal(ovb_blk_get_stats(blk, st), 0);
}
