// SPDX-License-Identifier: MIT
/*
 * vmbus lab helpers: progress lines with a spinner on a terminal, shell
 * commands with captured output, background processes with logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/lab.h"

static struct {
	pthread_t thread;
	bool running;
	char title[128];
	pthread_mutex_t lock;
	double start;
} spin = { .lock = PTHREAD_MUTEX_INITIALIZER };

double lab_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *spin_main(void *arg)
{
	static const char *const frames[] = { "|", "/", "-", "\\" };

	for (unsigned int i = 0;; i++) {
		pthread_mutex_lock(&spin.lock);
		if (!spin.running) {
			pthread_mutex_unlock(&spin.lock);
			return NULL;
		}
		printf("\r  %s %s (%.0f s)", frames[i % 4], spin.title,
		       lab_now() - spin.start);
		fflush(stdout);
		pthread_mutex_unlock(&spin.lock);
		usleep(120 * 1000);
	}
}

void lab_step_begin(struct lab *l, const char *title)
{
	snprintf(spin.title, sizeof(spin.title), "%s", title);
	spin.start = lab_now();
	if (!l->tty)
		return; /* plain lines: one per step, when it ends */
	spin.running = true;
	pthread_create(&spin.thread, NULL, spin_main, NULL);
}

int lab_step_end(struct lab *l, int rc, const char *fmt, ...)
{
	char detail[256] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	if (l->tty) {
		pthread_mutex_lock(&spin.lock);
		spin.running = false;
		pthread_mutex_unlock(&spin.lock);
		pthread_join(spin.thread, NULL);
		printf("\r\033[K");
	}
	printf("  %s %-34s %s\n", rc ? (l->tty ? "\033[31mx\033[0m" : "FAIL")
				     : (l->tty ? "\033[32mok\033[0m" : "ok"),
	       spin.title, detail);
	fflush(stdout);
	return rc;
}

int lab_sh(char *out, size_t cap, const char *fmt, ...)
{
	char line[2000], cmd[2048];
	size_t got = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Every command of the line, not just the last, reports here. */
	snprintf(cmd, sizeof(cmd), "{ %s\n} 2>&1", line);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (out && cap) {
		got = fread(out, 1, cap - 1, p);
		out[got] = 0;
	}
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t lab_spawn(const char *log, char *const argv[])
{
	/*
	 * A fresh log per run, truncated here before the fork: a wait for a
	 * line must never match one the previous run left.
	 */
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pid_t pid;

	if (fd < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		/* Own process group: a Ctrl-C reaches the lab, which stops
		 * everything in order. */
		setpgid(0, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd);
	return pid;
}

int lab_wait_path(const char *path, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (!access(path, F_OK))
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

bool lab_log_line(const char *log, const char *needle, char *out, size_t cap)
{
	char line[512];
	FILE *f = fopen(log, "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (strstr(line, needle)) {
			line[strcspn(line, "\n")] = 0;
			if (out)
				snprintf(out, cap, "%s", line);
			found = true;
		}
	fclose(f);
	return found;
}

int lab_wait_log(const char *log, const char *needle, int ms)
{
	for (int i = 0; i < ms / 20; i++) {
		if (lab_log_line(log, needle, NULL, 0))
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

void lab_stop_pid(pid_t pid, int sig, int ms)
{
	if (pid <= 0)
		return;
	kill(pid, sig);
	for (int i = 0; i < ms / 10; i++) {
		/* Our child is reaped; another's (lab --down) just vanishes. */
		if (waitpid(pid, NULL, WNOHANG) == pid ||
		    (kill(pid, 0) && errno == ESRCH))
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
