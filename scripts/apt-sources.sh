# Sourced by scripts that build a Debian root with mmdebstrap: they use the
# package sources apt on this machine already reaches, never a host name of
# our own (a mirror, a proxy or an offline repository all keep working).
#
# debian_mirrors sets APT_MAIN and APT_SECURITY to the URIs of the host's
# Debian archive and security archive (either may stay empty), read from the
# host's apt sources in either format.
debian_mirrors() {
	local main="" sec="" f
	# one-line format: deb [opts] URI SUITE COMPONENTS...
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		while read -r type rest; do
			[ "$type" = deb ] || continue
			rest=$(sed -E 's/^\[[^]]*\] *//' <<<"$rest")
			read -r uri suite _ <<<"$rest"
			case "$suite" in
			*-security*) [ -n "$sec" ] || sec=$uri ;;
			*-updates|*-backports|*-proposed-updates) ;;
			*) if grep -q 'debian' <<<"$uri"; then [ -n "$main" ] || main=$uri; fi ;;
			esac
		done < "$f"
	done
	# deb822 format: stanzas with Types/URIs/Suites
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		eval "$(awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && uris != "" && enabled != "no") {
					split(uris, u, " "); n = split(suites, s, " ")
					for (i = 1; i <= n; i++) {
						if (s[i] ~ /-security/) print "[ -n \"$sec\" ] || sec=\"" u[1] "\""
						else if (s[i] !~ /-(updates|backports|proposed-updates)$/ && u[1] ~ /debian/)
							print "[ -n \"$main\" ] || main=\"" u[1] "\""
					}
				}
				types = ""; uris = ""; suites = ""; enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "types:" { $1 = ""; types = $0 }
			tolower($1) == "uris:" { $1 = ""; sub(/^ +/, ""); uris = $0 }
			tolower($1) == "suites:" { $1 = ""; sub(/^ +/, ""); suites = $0 }
			tolower($1) == "enabled:" { enabled = tolower($2) }
			END { flush() }' "$f" | grep -E '^\[ -n "\$(main|sec)" \] \|\| (main|sec)="[^"$`\\]*"$')"
	done
	APT_MAIN=$main
	APT_SECURITY=$sec
}

# bookworm_sources prints one-line apt sources for bookworm (main, -updates
# and -security when the host has it); it fails with a message when the
# host has no Debian source.
bookworm_sources() {
	debian_mirrors
	if [ -z "$APT_MAIN" ]; then
		echo "no Debian source in /etc/apt/sources.list{,.d}: add the bookworm mirror this machine reaches" >&2
		return 1
	fi
	echo "deb $APT_MAIN bookworm main"
	echo "deb $APT_MAIN bookworm-updates main"
	[ -z "$APT_SECURITY" ] || echo "deb $APT_SECURITY bookworm-security main"
}

