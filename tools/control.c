// SPDX-License-Identifier: MIT
/*
 * The host's control socket (see control.h): a thread accepting one
 * command per connection, and the client call used by `vmbus stat` and
 * friends.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tools/control.h"

#define CONTROL_MAX_CMDS 16

struct control {
	int fd, stop[2];
	char path[108];
	pthread_t thread;
	struct {
		const char *name;
		control_fn *fn;
		void *ctx;
	} cmd[CONTROL_MAX_CMDS];
	unsigned int ncmd;
	pthread_mutex_t lock;
};

void control_path(const char *sock, char *out, size_t len)
{
	snprintf(out, len, "%s.ctl", sock);
}

static void control_serve(struct control *c, int fd)
{
	char line[512], err[256] = "", *payload = NULL;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0, plen = 0;
	FILE *out;
	int rc = -ENOENT;

	/* One line, within a second: a stuck client cannot hold us. */
	while (got < sizeof(line) - 1 && poll(&p, 1, 1000) == 1) {
		ssize_t n = read(fd, line + got, sizeof(line) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = 0;
	line[strcspn(line, "\n")] = 0;
	const char *args = line + strcspn(line, " ");
	size_t nlen = (size_t)(args - line);

	while (*args == ' ')
		args++;
	out = open_memstream(&payload, &plen);
	pthread_mutex_lock(&c->lock);
	snprintf(err, sizeof(err), "unknown command '%.*s'", (int)nlen, line);
	for (unsigned int i = 0; i < c->ncmd; i++)
		if (strlen(c->cmd[i].name) == nlen &&
		    !strncmp(c->cmd[i].name, line, nlen)) {
			err[0] = 0;
			rc = c->cmd[i].fn(args, out, err, sizeof(err),
					  c->cmd[i].ctx);
			break;
		}
	pthread_mutex_unlock(&c->lock);
	fclose(out);
	if (rc)
		dprintf(fd, "error %s\n", err[0] ? err : strerror(-rc));
	else
		dprintf(fd, "ok\n%s", payload ? payload : "");
	free(payload);
}

static void *control_main(void *arg)
{
	struct control *c = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN },
				       { .fd = c->stop[0], .events = POLLIN } };
		int fd;

		/*
		 * A signal (SIGCONT, SIGINT) interrupts poll with no revents
		 * set: look again rather than block in accept, which would
		 * leave control_stop joining a thread that never wakes.  The
		 * socket is non-blocking too, for a client that gave up
		 * between poll and accept.
		 */
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		control_serve(c, fd);
		close(fd);
	}
	return NULL;
}

int control_start(const char *path, struct control **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *c;
	mode_t old;
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	strcpy(sa.sun_path, path);
	snprintf(c->path, sizeof(c->path), "%s", path);
	pthread_mutex_init(&c->lock, NULL);
	unlink(path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0 || pipe2(c->stop, O_CLOEXEC)) {
		rc = -errno;
		free(c);
		return rc;
	}
	old = umask(0177);
	rc = bind(c->fd, (void *)&sa, sizeof(sa));
	umask(old);
	if (rc || listen(c->fd, 16) ||
	    pthread_create(&c->thread, NULL, control_main, c)) {
		rc = -errno;
		close(c->fd);
		close(c->stop[0]);
		close(c->stop[1]);
		free(c);
		return rc ? rc : -EAGAIN;
	}
	*out = c;
	return 0;
}

int control_register(struct control *c, const char *name, control_fn *fn,
		     void *ctx)
{
	if (c->ncmd == CONTROL_MAX_CMDS)
		return -ENOSPC;
	pthread_mutex_lock(&c->lock);
	c->cmd[c->ncmd].name = name;
	c->cmd[c->ncmd].fn = fn;
	c->cmd[c->ncmd].ctx = ctx;
	c->ncmd++;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void control_stop(struct control *c)
{
	if (write(c->stop[1], "x", 1) != 1)
		return;
	pthread_join(c->thread, NULL);
	close(c->fd);
	close(c->stop[0]);
	close(c->stop[1]);
	unlink(c->path);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int control_run(const char *cmd, const char *sock, const char *line)
{
	char path[128], err[256], *payload;

	control_path(sock, path, sizeof(path));
	if (control_call(path, line, &payload, err, sizeof(err))) {
		fprintf(stderr, "vmbus %s: %s\n", cmd, err);
		return 1;
	}
	fputs(payload, stdout);
	free(payload);
	return 0;
}

int control_call(const char *path, const char *line, char **payload,
		 char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, rc = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (void *)&sa, sizeof(sa))) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "cannot reach the host's control socket "
			 "%s: %s", path, strerror(-rc));
		return rc;
	}
	dprintf(fd, "%s\n", line);
	shutdown(fd, SHUT_WR);
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	if (!strncmp(buf, "ok\n", 3)) {
		memmove(buf, buf + 3, len - 2);
		*payload = buf;
		return 0;
	}
	snprintf(err, errlen, "%s",
		 !strncmp(buf, "error ", 6) ? buf + 6 : "malformed answer");
	err[strcspn(err, "\n")] = 0;
	free(buf);
	return -EIO;
}
