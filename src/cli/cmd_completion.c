/* boxlite completion bash|zsh|fish: a shell completion script on stdout
 * (commands, each command's flags, box names and ids where a command takes
 * a box, image names for run/create). e2e_cli_compat checks that every
 * flag a command's --help lists is here. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Flags shared by run and create (box_opts.h). */
#define BOX_FLAGS                                                                                    \
	"--name --rm -e --env -w --workdir -u --user --entrypoint --cpus --memory --disk-size --network " \
	"-p --publish -v --volume --allow-net --pull --rootfs --cap-add --cap-drop"
#define GLOBAL_FLAGS "--home --config --registry --debug --url --help"

static const struct {
	const char *name;
	const char *flags;
	char operand; /* 'b' boxes, 'i' an image then a command, 'f' files, 0 none */
} table[] = {
	{ "run", BOX_FLAGS " -d --detach -i --interactive -t --tty --timings --security", 'i' },
	{ "create", BOX_FLAGS, 'i' },
	{ "exec", "-e --env -w --workdir -i --interactive -t --tty -d --detach -u --user --timeout", 'b' },
	{ "start", "", 'b' },
	{ "stop", "-t --time", 'b' },
	{ "restart", "-t --time", 'b' },
	{ "rm", "-f --force -a --all", 'b' },
	{ "list", "-a --all -q --quiet --format", 0 },
	{ "ls", "-a --all -q --quiet --format", 0 },
	{ "ps", "-a --all -q --quiet --format", 0 },
	{ "inspect", "-f --format -l --latest", 'b' },
	{ "port", "", 'b' },
	{ "wait", "", 'b' },
	{ "logs", "-f --follow -n --tail --console", 'b' },
	{ "stats", "-s --stream --no-stream --format", 'b' },
	{ "pause", "", 'b' },
	{ "unpause", "", 'b' },
	{ "cp", "-L --follow-symlinks --no-overwrite --include-parent", 'f' },
	{ "info", "--format", 0 },
	{ "pull", "--platform -q --quiet", 0 },
	{ "images", "-a --all -q --quiet --format", 0 },
	{ "rmi", "", 0 },
	{ "load", "-i --input --name", 'f' },
	{ "import", "", 'f' },
	{ "image", "", 0 },
	{ "login", "-u --username --password-stdin", 0 },
	{ "logout", "", 0 },
	{ "snapshot", "create ls restore rm", 'b' },
	{ "clone", "--name -n --count", 'b' },
	{ "export", "-o --output --with-state", 'b' },
	{ "checkpoint", "", 'b' },
	{ "serve", "--host --port --api-key-file --api-key", 0 },
	{ "auth", "login logout status whoami --url --api-key-stdin -y --yes", 0 },
	{ "version", "", 0 },
	{ "completion", "", 0 },
};
#define N_CMDS (sizeof(table) / sizeof(table[0]))

static void bash(void)
{
	printf("# bash completion for boxlite: boxlite completion bash > /etc/bash_completion.d/boxlite\n"
	       "_boxlite_boxes() { boxlite ls -a --format json 2>/dev/null | "
	       "sed -n 's/.*\"ID\": \"\\([^\"]*\\)\".*/\\1/p; s/.*\"Names\": \"\\([^\"]\\+\\)\".*/\\1/p'; }\n"
	       "_boxlite() {\n"
	       "  local cur=${COMP_WORDS[COMP_CWORD]} cmd= i\n"
	       "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
	       "    case ${COMP_WORDS[i]} in --home|--config|--registry) ((i++)) ;; -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac\n"
	       "  done\n"
	       "  if [ -z \"$cmd\" ]; then\n"
	       "    COMPREPLY=($(compgen -W \"");
	for (size_t i = 0; i < N_CMDS; i++)
		printf("%s%s", i ? " " : "", table[i].name);
	printf(" " GLOBAL_FLAGS "\" -- \"$cur\")); return\n"
	       "  fi\n"
	       "  case $cmd in\n");
	for (size_t i = 0; i < N_CMDS; i++) {
		printf("  %s)\n    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"%s " GLOBAL_FLAGS
		       "\" -- \"$cur\"))\n",
		       table[i].name, table[i].flags);
		if (table[i].operand == 'b')
			printf("    else COMPREPLY=($(compgen -W \"$(_boxlite_boxes)\" -- \"$cur\"))\n");
		else if (table[i].operand == 'f')
			printf("    else COMPREPLY=($(compgen -f -- \"$cur\"))\n");
		else if (table[i].operand == 'i')
			printf("    else COMPREPLY=($(compgen -W \"$(boxlite images -q 2>/dev/null)\" -- \"$cur\"))\n");
		else if (!strcmp(table[i].name, "completion"))
			printf("    else COMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\"))\n");
		printf("    fi ;;\n");
	}
	printf("  esac\n"
	       "}\n"
	       "complete -F _boxlite boxlite\n");
}

static void zsh(void)
{
	printf("#compdef boxlite\n"
	       "# zsh completion for boxlite: boxlite completion zsh > \"${fpath[1]}/_boxlite\"\n"
	       "_boxlite_boxes() { local -a b; b=(${(f)\"$(boxlite ls -aq 2>/dev/null)\"}); "
	       "compadd -a b; }\n"
	       "_boxlite() {\n"
	       "  local -a cmds\n"
	       "  cmds=(");
	for (size_t i = 0; i < N_CMDS; i++)
		printf("%s%s", i ? " " : "", table[i].name);
	printf(")\n"
	       "  if (( CURRENT == 2 )); then compadd -a cmds; compadd -- " GLOBAL_FLAGS "; return; fi\n"
	       "  case ${words[2]} in\n");
	for (size_t i = 0; i < N_CMDS; i++) {
		printf("  %s) if [[ ${words[CURRENT]} == -* ]]; then compadd -- %s " GLOBAL_FLAGS, table[i].name,
		       table[i].flags);
		if (table[i].operand == 'b')
			printf("; else _boxlite_boxes");
		else if (table[i].operand == 'f')
			printf("; else _files");
		else if (!strcmp(table[i].name, "completion"))
			printf("; else compadd bash zsh fish");
		printf("; fi ;;\n");
	}
	printf("  esac\n"
	       "}\n"
	       "compdef _boxlite boxlite 2>/dev/null || true\n");
}

static void fish(void)
{
	printf("# fish completion for boxlite: boxlite completion fish > ~/.config/fish/completions/boxlite.fish\n"
	       "complete -c boxlite -f\n");
	for (size_t i = 0; i < N_CMDS; i++)
		printf("complete -c boxlite -n __fish_use_subcommand -a %s\n", table[i].name);
	for (size_t i = 0; i < N_CMDS; i++) {
		char flags[512], *save = NULL;

		snprintf(flags, sizeof(flags), "%s", table[i].flags);
		for (char *f = strtok_r(flags, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
			if (f[1] == '-')
				printf("complete -c boxlite -n '__fish_seen_subcommand_from %s' -l %s\n", table[i].name,
				       f + 2);
			else
				printf("complete -c boxlite -n '__fish_seen_subcommand_from %s' -s %s\n", table[i].name,
				       f + 1);
		}
		if (table[i].operand == 'b')
			printf("complete -c boxlite -n '__fish_seen_subcommand_from %s' -a '(boxlite ls -aq 2>/dev/null)'\n",
			       table[i].name);
		else if (table[i].operand == 'f')
			printf("complete -c boxlite -n '__fish_seen_subcommand_from %s' -F\n", table[i].name);
	}
	printf("complete -c boxlite -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n");
	printf("complete -c boxlite -l home -r\ncomplete -c boxlite -l config -r -F\ncomplete -c boxlite -l registry -r\n"
	       "complete -c boxlite -l debug\n");
}

int cmd_completion(const struct cli_globals *g, int argc, char **argv)
{
	int i = cli_simple_args("completion", argc, argv,
				"Usage: boxlite completion bash|zsh|fish\n\n"
				"Print a shell completion script:\n"
				"  boxlite completion bash > /etc/bash_completion.d/boxlite\n"
				"  boxlite completion zsh  > \"${fpath[1]}/_boxlite\"\n"
				"  boxlite completion fish > ~/.config/fish/completions/boxlite.fish\n");

	(void)g;
	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	if (argc - i != 1)
		return cli_usage_error("completion", "needs one shell: bash, zsh or fish");
	if (!strcmp(argv[i], "bash"))
		bash();
	else if (!strcmp(argv[i], "zsh"))
		zsh();
	else if (!strcmp(argv[i], "fish"))
		fish();
	else
		return cli_usage_error("completion", "knows bash, zsh and fish, not '%s'", argv[i]);
	return 0;
}
