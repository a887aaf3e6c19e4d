/* The box store: schema, lookups by id / prefix / name, uniqueness,
 * updates, deletes, two connections on one file, integrity, commits that
 * survive other processes closing theirs. Also the
 * shim config's optional "main" object round trip. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "shim_config.h"
#include "store.h"
#include "test.h"

static struct bx_box_record rec(const char *id, const char *name)
{
	struct bx_box_record r = { 0 };

	snprintf(r.id, sizeof(r.id), "%s", id);
	r.name = (char *)name;
	r.image = (char *)"localhost/busybox:latest";
	r.config = (char *)"{\"env\":[\"SECRET=1\"]}";
	r.state = BOXLITE_BOX_CONFIGURED;
	r.exit_code = -1;
	r.created_at = 1;
	return r;
}

static void test_store(const char *home)
{
	struct bx_store *st = NULL, *st2 = NULL;
	struct bx_box_record a = rec("abc000000001", "web"), b = rec("abc000000002", NULL), got = { 0 };
	struct bx_box_record *all = NULL;
	struct bx_error err = { 0 };
	char path[4096];
	struct stat sb;
	size_t n = 0;

	CHECK(bx_store_open(home, &st, &err) == 0);
	CHECK(bx_store_open(home, &st2, &err) == 0); /* a second process, in effect */
	snprintf(path, sizeof(path), "%s/boxlite.db", home);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);

	CHECK(bx_store_insert(st, &a, &err) == 0);
	CHECK(bx_store_insert(st2, &b, &err) == 0);
	struct bx_box_record dup = rec("zzz000000003", "web");
	CHECK(bx_store_insert(st, &dup, &err) == -EEXIST);

	CHECK(bx_store_find(st, "web", &got, &err) == 0 && !strcmp(got.id, "abc000000001"));
	bx_box_record_clear(&got);
	CHECK(bx_store_find(st, "abc000000002", &got, &err) == 0 && !got.name);
	bx_box_record_clear(&got);
	memset(&err, 0, sizeof(err));
	CHECK(bx_store_find(st, "abc", &got, &err) == -EINVAL && strstr(err.msg, "ambiguous"));
	CHECK(bx_store_find(st, "abc0000000011", &got, &err) == -ENOENT);
	CHECK(bx_store_find(st2, "abc000000001", &got, &err) == 0);
	bx_box_record_clear(&got);
	CHECK(bx_store_find(st, "%", &got, &err) == -ENOENT); /* no wildcards */

	a.state = BOXLITE_BOX_STOPPED;
	a.exit_code = 143;
	a.reason = (char *)"stopped";
	CHECK(bx_store_update_state(st, &a, &err) == 0);
	CHECK(bx_store_get(st2, a.id, &got, &err) == 0 && got.state == BOXLITE_BOX_STOPPED &&
	      got.exit_code == 143 && !strcmp(got.reason, "stopped"));
	bx_box_record_clear(&got);

	CHECK(bx_store_list(st2, &all, &n, &err) == 0 && n == 2);
	bx_box_records_free(all, n);
	CHECK(bx_store_delete(st, a.id, &err) == 0);
	CHECK(bx_store_delete(st, a.id, &err) == 0);
	CHECK(bx_store_get(st2, a.id, &got, &err) == -ENOENT);
	CHECK(bx_store_update_state(st, &a, &err) == -ENOENT);
	CHECK(bx_store_check(st, &err) == 0);
	bx_store_close(st);
	bx_store_close(st2);

	/* Reopening keeps the schema (migrations are applied once). */
	CHECK(bx_store_open(home, &st, &err) == 0);
	CHECK(bx_store_list(st, &all, &n, &err) == 0 && n == 1);
	bx_box_records_free(all, n);
	bx_store_close(st);
	CHECK(bx_state_parse("paused") == BOXLITE_BOX_PAUSED && bx_state_parse("x") == -1);
}

/* Runs this test binary again as "ROLE HOME": a process of its own (a
 * forked child would share the parent's SQLite lock bookkeeping). Its exit
 * status. */
static int in_child(const char *role, const char *home)
{
	pid_t pid = fork();
	int status = -1;

	if (pid == 0) {
		execl("/proc/self/exe", "test_store", role, home, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int open_and_close(const char *home)
{
	struct bx_store *st = NULL;
	struct bx_error err = { 0 };

	if (bx_store_open(home, &st, &err) < 0)
		return 1;
	bx_store_close(st);
	return 0;
}

static int count_boxes(const char *home)
{
	struct bx_store *st = NULL;
	struct bx_box_record *all = NULL;
	struct bx_error err = { 0 };
	size_t n = 0;

	if (bx_store_open(home, &st, &err) < 0 || bx_store_list(st, &all, &n, &err) < 0)
		return 255;
	bx_box_records_free(all, n);
	bx_store_close(st);
	return (int)n;
}

/* A process opening a second connection must not drop the locks of its
 * first (a plain close() of the database file does): another process closing
 * its last connection would then delete the WAL under the first, and what
 * it commits next would be lost. */
static void test_commits_survive_other_processes(const char *home)
{
	struct bx_store *st = NULL, *st2 = NULL;
	struct bx_box_record a = rec("def000000001", NULL), b = rec("def000000002", NULL);
	struct bx_error err = { 0 };
	int before;

	CHECK(bx_store_open(home, &st, &err) == 0);
	before = count_boxes(home);
	CHECK(bx_store_insert(st, &a, &err) == 0);
	CHECK(bx_store_open(home, &st2, &err) == 0);
	CHECK(in_child("open-and-close", home) == 0);
	CHECK(bx_store_insert(st, &b, &err) == 0);
	CHECK(in_child("count-boxes", home) == before + 2);
	CHECK(bx_store_delete(st, a.id, &err) == 0 && bx_store_delete(st, b.id, &err) == 0);
	bx_store_close(st2);
	bx_store_close(st);
}

static void test_main_config(void)
{
	struct bx_shim_config c = { 0 }, back = { 0 };
	struct bx_error err = { 0 };
	char *argv[] = { (char *)"sleep", (char *)"10", NULL };
	char *env[] = { (char *)"A=1", NULL };
	char *json = NULL;

	c.version = BX_SHIM_CONFIG_VERSION;
	c.box_id = c.hostname = (char *)"abc000000001";
	c.box_dir = c.qemu = c.kernel = c.initramfs = (char *)"/x";
	c.root_disk = (char *)"disk.qcow2";
	c.cpus = 1;
	c.memory_mib = 64;
	c.env = env;
	c.n_env = 1;
	c.ready_timeout_ms = 1000;
	c.main_argv = argv;
	c.main_cwd = (char *)"/tmp";
	c.main_hold = 1;
	CHECK(bx_shim_config_to_json(&c, &json, &err) == 0);
	CHECK(json && bx_shim_config_parse(json, strlen(json), &back, &err) == 0);
	CHECK(back.main_argv && !strcmp(back.main_argv[1], "10") && !back.main_argv[2]);
	CHECK(back.main_cwd && !strcmp(back.main_cwd, "/tmp") && back.main_hold && !back.main_user &&
	      !back.main_close_stdin);
	bx_shim_config_free(&back);
	free(json);
	const char *bad = "{\"version\":1,\"main\":{\"argv\":[],\"x\":1}}";
	CHECK(bx_shim_config_parse(bad, strlen(bad), &back, &err) < 0);
}

int main(int argc, char **argv)
{
	char home[] = "/tmp/boxlite-test-store.XXXXXX";

	if (argc == 3)
		return !strcmp(argv[1], "open-and-close") ? open_and_close(argv[2]) : count_boxes(argv[2]);

	if (!mkdtemp(home))
		return 1;
	test_store(home);
	test_commits_survive_other_processes(home);
	test_main_config();
	bx_rm_rf_at(-100, home, NULL);
	TEST_MAIN_END();
}
