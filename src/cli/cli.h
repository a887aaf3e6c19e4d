/* The boxlite CLI: thin; one file per command, all real work in libboxlite. */
#ifndef BOXLITE_CLI_H
#define BOXLITE_CLI_H

#include "boxlite.h"
#include "credentials.h"

/* docker's exit codes for failures of the runtime itself */
#define CLI_EXIT_RUNTIME 125
#define CLI_EXIT_CANNOT_INVOKE 126
#define CLI_EXIT_NOT_FOUND 127

/* The global options, before or after the command (docs/cli.md). */
#define CLI_MAX_REGISTRIES 32
struct cli_globals {
	const char *home;   /* --home DIR (else $BOXLITE_HOME, --config's home_dir, ~/.boxlite) */
	const char *config; /* --config FILE: JSON {home_dir, image_registries} */
	const char *registries[CLI_MAX_REGISTRIES]; /* --registry HOST, in order */
	size_t n_registries;
	int debug;          /* --debug */
	const char *url;    /* --url URL: a remote `boxlite serve` (else $BOXLITE_REST_URL, a login) */
};

int cmd_run(const struct cli_globals *g, int argc, char **argv);
int cmd_info(const struct cli_globals *g, int argc, char **argv);
int cmd_version(const struct cli_globals *g, int argc, char **argv);
int cmd_pull(const struct cli_globals *g, int argc, char **argv);
int cmd_images(const struct cli_globals *g, int argc, char **argv);
int cmd_rmi(const struct cli_globals *g, int argc, char **argv);
int cmd_login(const struct cli_globals *g, int argc, char **argv);
int cmd_logout(const struct cli_globals *g, int argc, char **argv);
int cmd_load(const struct cli_globals *g, int argc, char **argv);
int cmd_import(const struct cli_globals *g, int argc, char **argv);
int cmd_image(const struct cli_globals *g, int argc, char **argv);

int cmd_create(const struct cli_globals *g, int argc, char **argv);
int cmd_start(const struct cli_globals *g, int argc, char **argv);
int cmd_stop(const struct cli_globals *g, int argc, char **argv);
int cmd_restart(const struct cli_globals *g, int argc, char **argv);
int cmd_rm(const struct cli_globals *g, int argc, char **argv);
int cmd_ls(const struct cli_globals *g, int argc, char **argv);
int cmd_inspect(const struct cli_globals *g, int argc, char **argv);
int cmd_port(const struct cli_globals *g, int argc, char **argv);
int cmd_wait(const struct cli_globals *g, int argc, char **argv);
int cmd_logs(const struct cli_globals *g, int argc, char **argv);
int cmd_stats(const struct cli_globals *g, int argc, char **argv);
int cmd_pause(const struct cli_globals *g, int argc, char **argv);
int cmd_unpause(const struct cli_globals *g, int argc, char **argv);
int cmd_exec(const struct cli_globals *g, int argc, char **argv);
int cmd_completion(const struct cli_globals *g, int argc, char **argv);
int cmd_serve(const struct cli_globals *g, int argc, char **argv);
int cmd_auth(const struct cli_globals *g, int argc, char **argv);
int cmd_snapshot(const struct cli_globals *g, int argc, char **argv);
int cmd_clone(const struct cli_globals *g, int argc, char **argv);
int cmd_export(const struct cli_globals *g, int argc, char **argv);
int cmd_checkpoint(const struct cli_globals *g, int argc, char **argv);
int cmd_image_import(const struct cli_globals *g, int argc, char **argv);

/* cli_box.c: finds a box by id, id prefix or name, or reports why not. */
int cli_get_box(boxlite_runtime *rt, const char *key, boxlite_box **box);
/* Opens the runtime and calls fn for each named box; 0 or CLI_EXIT_RUNTIME
 * when any failed (fn reports its own errors and returns <0). */
int cli_each_box(const char *cmd, const struct cli_globals *g, int argc, char **argv,
		 int (*fn)(boxlite_box *box, void *ud), void *ud);
/* For commands with no options but --help: the index of the first operand,
 * -2 after printing usage, -1 on an unknown option (reported). */
int cli_simple_args(const char *cmd, int argc, char **argv, const char *usage);

/* cli_args.c: global options. main binds its globals; cli_getopt and
 * cli_simple_args then take global options after the command too. */
void cli_globals_bind(struct cli_globals *g);
/* If argv[*i] is a global option (--home, --config, --registry, with their
 * value as the next argument or after '='; --debug), stores it, advances *i
 * past it and returns 1; 0 when it is not one; -1 after a usage error. */
int cli_global_option(const char *cmd, int argc, char **argv, int *i);

/* cli_args.c: usage errors are one line naming what was wrong and pointing
 * to `boxlite CMD --help`; the CLI then exits 125 (docker's code for its
 * own errors) having created nothing. */
struct option;
/* Prints "boxlite CMD: <message> (see 'boxlite CMD --help')"; returns 125. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* getopt_long (optstring may start with '+'), except that an unknown option
 * or a missing value is reported by cli_usage_error and returned as '?'. */
int cli_getopt(const char *cmd, int argc, char **argv, const char *optstring, const struct option *longopts);
/* -t without -d, as the reference CLI: stdin must be a terminal (else
 * "the input device is not a TTY." and 125), and then -t implies -i. */
int cli_tty_check(int tty, int detach, int *interactive);
/* The index after a `--` at argv[i] (the end of the options: what follows
 * is a command, even one starting with '-'), else i. */
int cli_skip_separator(int argc, char **argv, int i);

/* cmd_cp.c */
int cmd_cp(const struct cli_globals *g, int argc, char **argv);

/* exec_io.c: runs one command attached to this terminal and returns the
 * CLI exit code (the command's; 128+N for signal N; 125/126/127). */
struct cli_exec_flags {
	int interactive; /* -i: stream stdin (EOF included) */
	int detach;      /* -d: return 0 once the command runs, print nothing */
};
/* o->tty (-t): a pty sized like this terminal, raw mode while attached
 * (restored on every exit path), SIGWINCH forwarded as a resize. Without a
 * tty, SIGINT/SIGTERM/SIGHUP are forwarded to the command. */
int cli_exec_attached(boxlite_box *box, boxlite_exec_options *o, const struct cli_exec_flags *f);
/* The same for the box's main command (boxlite run): attaches (starting the
 * box), with its stdin when f->interactive; tty: the box was created with
 * a tty. f->detach is ignored. */
int cli_attach_main(boxlite_box *box, const struct cli_exec_flags *f, int tty);
/* This terminal's size (of stdout); -1 when it is not a terminal. */
int cli_term_size(uint16_t *rows, uint16_t *cols);
/* 127 (not found), 126 (cannot invoke) or 125 (boxlite failed). */
int cli_exit_code_for_error(boxlite_error *err);

/* Prints "boxlite: <message>" for err to stderr and frees it. */
void cli_report(boxlite_error *err);
/* Opens the runtime or reports why not. */
int cli_open_runtime(const struct cli_globals *g, boxlite_runtime **rt);

/* Where a remote runtime would be (docs/remote.md): 1 with r filled when the
 * CLI talks to a server (--url, $BOXLITE_REST_URL, $BOXLITE_API_KEY or a
 * stored login), 0 for the local runtime, -1 after reporting a broken
 * credentials file. Free r->profile with cred_profile_free. */
#define CLI_DEFAULT_REST_URL "http://localhost:8100"
struct cli_remote {
	const char *url, *key, *path_prefix;
	int key_from_env;
	struct cred_profile profile; /* the stored login, if any */
};
int cli_remote_target(const struct cli_globals *g, struct cli_remote *r);

#endif
