/* Output formats shared by the commands that print records (ls, images,
 * inspect, stats, info): table, json, yaml, and for inspect a Go-template
 * subset, as the reference CLI has them (docs/cli.md, "Output formats"). */
#ifndef BOXLITE_CLI_FORMAT_H
#define BOXLITE_CLI_FORMAT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

enum cli_format { CLI_FORMAT_TABLE, CLI_FORMAT_JSON, CLI_FORMAT_YAML };

/* "table", "json" or "yaml", any case. 0, or -1 when s is none of them. */
int cli_format_parse(const char *s, enum cli_format *out);

/* v as pretty JSON (2-space indent, keys in insertion order) and a newline. */
void cli_print_json(FILE *f, const json_t *v);
/* v as a YAML document (block style; strings quoted where YAML would read
 * them as something else). */
void cli_print_yaml(FILE *f, const json_t *v);

/* Does s look like a Go template ("{{" ... "}}")? */
int cli_is_template(const char *s);
/* Renders a Go-template subset over ctx into *out (malloc'd): literal text,
 * and actions {{.}}, {{.A.B}} (fields of objects; .ID reads Id and .ImageID
 * Image, as the reference does) and {{json .A.B}}; {{- and -}} trim the
 * white space next to them. A missing field prints "<no value>"; an object
 * prints {Key:value ...}, an array [a b], null nothing. 0, or -1 with a
 * message in err (the template's own fault). */
int cli_template_render(const char *tmpl, const json_t *ctx, char **out, char *err, size_t err_cap);

#endif
