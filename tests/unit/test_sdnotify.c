// SPDX-License-Identifier: BSD-2-Clause
/* Check suite for sdnotify.c: the datagram reaches a socket named by
 * $NOTIFY_SOCKET, by path and by abstract name; no variable, no error. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dime/sdnotify.h"

static int listen_at(const char *name, bool abstract)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	socklen_t len;

	ck_assert_int_ge(fd, 0);
	strcpy(sun.sun_path + (abstract ? 1 : 0), name);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (abstract ? 1 : 0) + strlen(name));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
	return fd;
}

static void expect(int fd, const char *want)
{
	char buf[64] = { 0 };
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	ck_assert_int_eq(n, (ssize_t)strlen(want));
	ck_assert_str_eq(buf, want);
}

START_TEST(path_socket)
{
	char path[] = "/tmp/dime-sdnotify-XXXXXX";
	char sock[64];
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/notify", path);
	fd = listen_at(sock, false);
	setenv("NOTIFY_SOCKET", sock, 1);
	ck_assert_int_eq(sd_notify_state("READY=1"), 0);
	expect(fd, "READY=1");
	close(fd);
	unlink(sock);
	rmdir(path);
}
END_TEST

START_TEST(abstract_socket)
{
	char name[64], env[66];
	int fd;

	snprintf(name, sizeof(name), "dime-sdnotify-test-%d", (int)getpid());
	fd = listen_at(name, true);
	snprintf(env, sizeof(env), "@%s", name);
	setenv("NOTIFY_SOCKET", env, 1);
	ck_assert_int_eq(sd_notify_state("STOPPING=1"), 0);
	expect(fd, "STOPPING=1");
	close(fd);
}
END_TEST

START_TEST(no_systemd_is_no_error)
{
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(sd_notify_state("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ck_assert_int_eq(sd_notify_state("READY=1"), -EINVAL);
	setenv("NOTIFY_SOCKET", "/nonexistent/dime/notify", 1);
	ck_assert_int_lt(sd_notify_state("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sdnotify");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, path_socket);
	tcase_add_test(tc, abstract_socket);
	tcase_add_test(tc, no_systemd_is_no_error);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
