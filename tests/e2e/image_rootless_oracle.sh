#!/usr/bin/env bash
# Rootless image build against an oracle (issue 7): a non-root user imports a
# three-layer OCI image whose layers carry ownership, setuid/setgid/sticky
# bits, a mode-000 file, device nodes, a fifo, hardlinks, symlinks, xattrs,
# file and directory whiteouts and an opaque directory. The ext4 base it
# builds (mke2fs -d + debugfs fix-ups) is read back with debugfs, without
# mounting, and must equal `umoci unpack` of the same image run as root.
# No VM. Needs root for the oracle and the throwaway user (skipped otherwise).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then echo "skipped: needs root to create a throwaway user"; exit 77; fi
for t in umoci debugfs python3; do
	command -v "$t" >/dev/null || { echo "skipped: $t not installed"; exit 77; }
done
USER_NAME="bxo$$"
useradd --no-create-home --home-dir "$T_HOME/u" --shell /bin/sh "$USER_NAME" || { fail "useradd"; t_done; }
trap 'userdel "$USER_NAME" 2>/dev/null; t_cleanup' EXIT
chmod 755 "$T_HOME"
d="$BUILD"; while [ "$d" != / ]; do
	[ -x "$d" ] || chmod o+x "$d"
	d=$(dirname "$d")
done
W="$T_HOME/w"
mkdir -p "$W" "$T_HOME/u" && chown "$USER_NAME" "$T_HOME/u"
export DEBUGFS_PAGER=__none__ PAGER=__none__

# ---- the image (as root) ----
setxattr() { python3 -c 'import os, sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())' "$@"; }
build_image() {
	set -e
	cd "$W"
	local B=bbroot R=bundle/rootfs a
	mkdir -p $B/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var/run}
	cp "$(command -v busybox)" $B/bin/busybox
	for a in $($B/bin/busybox --list-full); do
		[ "$a" = bin/busybox ] || { mkdir -p "$B/$(dirname "$a")"; ln -sf /bin/busybox "$B/$a"; }
	done
	chmod 1777 $B/tmp
	echo 'root:x:0:0:root:/root:/bin/sh' >$B/etc/passwd
	echo 'root:x:0:' >$B/etc/group
	mkdir -p $B/opt/olddir $B/opt/opq/sub $B/opt/gone/deep
	echo a >$B/opt/olddir/a; echo keep >$B/opt/olddir/b
	echo x >$B/opt/opq/x; echo y >$B/opt/opq/sub/y; echo g >$B/opt/gone/deep/g
	mknod $B/opt/opq/olddev c 1 5; mknod $B/opt/gone/deep/dev2 b 7 1
	umoci init --layout oci/img
	umoci new --image oci/img:1
	umoci insert --image oci/img:1 $B /                           # layer 1
	umoci unpack --image oci/img:1 bundle
	rm $R/opt/olddir/a                                             # umoci writes .wh.a
	mkdir $R/testdata
	echo owned >$R/testdata/owned; chown 1000:1001 $R/testdata/owned
	setxattr $R/testdata/owned user.note hello
	cp $B/bin/busybox $R/testdata/suidbin; chmod 4755 $R/testdata/suidbin
	setxattr $R/testdata/suidbin security.test sec
	echo sg >$R/testdata/sgid; chown 0:1001 $R/testdata/sgid; chmod 2755 $R/testdata/sgid   # chmod after chown
	mkdir $R/private; chown 1000:1000 $R/private; chmod 0700 $R/private
	echo secret >$R/private/s; chmod 600 $R/private/s
	echo zero >$R/testdata/nomode; chmod 000 $R/testdata/nomode
	mknod $R/dev/null c 1 3; mknod $R/testdata/blk b 7 0; mkfifo $R/testdata/fifo
	echo hl >$R/testdata/hl1; ln $R/testdata/hl1 $R/testdata/hl2
	ln -s ../bin/busybox $R/testdata/sym
	mkdir $R/testdata/sticky; chmod 1755 $R/testdata/sticky
	mknod $R/testdata/chr2 c 5 1; mknod $R/testdata/wdev c 10 200
	mkdir -p $R/locked/in; echo l >$R/locked/in/f; ln $R/locked/in/f $R/testdata/hl3
	chmod 000 $R/locked/in/f $R/locked/in $R/locked
	mkdir $R/opt/ro; echo r >$R/opt/ro/r1; echo r >$R/opt/ro/r2; chmod 555 $R/opt/ro
	umoci repack --image oci/img:1 bundle                         # layer 2
	rm -rf bundle
	# Layer 3 by hand: umoci writes neither opaque markers nor directory whiteouts.
	python3 - l3.tar <<'EOF'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
def add(name, type=tarfile.REGTYPE, data=b'', mode=0o644, uid=0, gid=0, xattrs=None, link=''):
    i = tarfile.TarInfo(name)
    i.linkname = link
    i.type, i.mode, i.uid, i.gid, i.mtime = type, mode, uid, gid, 1700000000
    i.devmajor, i.devminor = 4, 64
    if xattrs:
        i.pax_headers = {'SCHILY.xattr.' + k: v for k, v in xattrs.items()}
    i.size = len(data) if type == tarfile.REGTYPE else 0
    t.addfile(i, io.BytesIO(data) if type == tarfile.REGTYPE else None)
add('opt/', tarfile.DIRTYPE, mode=0o755)
add('opt/opq/', tarfile.DIRTYPE, mode=0o750, uid=1000, gid=1000)
add('opt/opq/.wh..wh..opq')
add('opt/opq/new', data=b'new in layer 3\n', mode=0o640, uid=1000, gid=1001)
add('opt/.wh.gone')
add('opt/l3dir/', tarfile.DIRTYPE, mode=0o2775, uid=1002, gid=1003)
add('opt/l3dir/exe', data=b'#!/bin/sh\necho hi\n', mode=0o6711, xattrs={'user.l3': 'v3'})
add('opt/l3dir/dev', tarfile.CHRTYPE, mode=0o620, gid=5)
add('testdata/chr2', data=b'was a device\n', mode=0o600, uid=1000)
add('testdata/.wh.wdev')
add('opt/l3dir/suidlink', tarfile.LNKTYPE, mode=0o4755, link='testdata/suidbin')
add('opt/ro/.wh.r1')
add('opt/ro/l3', data=b'in a 0555 dir\n', mode=0o444)
add('locked/in/f2', data=b'in a 000 dir\n', mode=0o400, uid=1000, gid=1000)
t.close()
EOF
	umoci raw add-layer --image oci/img:1 l3.tar                  # layer 3
	umoci config --image oci/img:1 --config.cmd /bin/sh
	umoci gc --layout oci/img
}
if ! (build_image) >"$T_HOME/build.log" 2>&1; then
	cat "$T_HOME/build.log" >&2
	fail "building the test image with umoci"
	t_done
fi
chmod -R a+rX "$W/oci"; chmod 755 "$W"
pass "3-layer test image built"

# ---- the oracle: umoci unpack as root ----
(cd "$W" && umoci unpack --image oci/img:1 oracle) >"$T_HOME/oracle.log" 2>&1 ||
	{ cat "$T_HOME/oracle.log" >&2; fail "umoci unpack"; t_done; }

# ---- rootless import ----
as_user() { runuser -u "$USER_NAME" -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="$T_HOME/u" BOXLITE_HOME="$T_HOME/u/home" "$@"; }
out=$(as_user "$BOXLITE" import "$W/oci/img:1" localhost/oracle:1 2>&1); rc=$?
expect_eq "non-root import exits 0 ($out)" "$rc" "0"
bases=("$T_HOME"/u/home/images/bases/*.ext4)
[ -f "${bases[0]}" ] || { fail "no base disk under $T_HOME/u/home/images/bases"; t_done; }
expect_eq "one base disk" "${#bases[@]}" "1"
expect_eq "base disk owned by the user" "$(stat -c %U "${bases[0]}")" "$USER_NAME"

# ---- listings: the oracle tree (lstat) and the ext4 image (debugfs) ----
LISTER=$(cat <<'EOF'
import hashlib, os, re, stat, subprocess, sys

def fmt(path, mode, uid, gid, size, target, dev, link_group, xattrs, digest):
    f = [path, stat.filemode(mode), '%o' % stat.S_IMODE(mode), '%d:%d' % (uid, gid)]
    if stat.S_ISREG(mode):
        f += ['size=%d' % size, 'sha256=' + digest]
        if link_group:
            f.append('hardlink=' + link_group)
    if stat.S_ISLNK(mode):
        f.append('-> ' + target)
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        f.append('dev=%d:%d' % dev)
    if xattrs:
        f.append('xattrs=' + ','.join('%s=%s' % kv for kv in sorted(xattrs.items())))
    return ' '.join(f)

def sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        h.update(f.read())
    return h.hexdigest()[:16]

def groups(inodes):
    first = {}
    for p, ino in sorted(inodes.items()):
        first.setdefault(ino, p)
    count = {}
    for ino in inodes.values():
        count[ino] = count.get(ino, 0) + 1
    return {p: first[ino] for p, ino in inodes.items() if count[ino] > 1}

def tree(root):
    ents, inodes = [], {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            full = os.path.join(dirpath, n)
            st = os.lstat(full)
            rel = '/' + os.path.relpath(full, root)
            if stat.S_ISREG(st.st_mode):
                inodes[rel] = st.st_ino
            ents.append((rel, full, st))
    g = groups(inodes)
    out = []
    for rel, full, st in ents:
        xa = {}
        if not stat.S_ISLNK(st.st_mode):
            for k in os.listxattr(full, follow_symlinks=False):
                xa[k] = os.getxattr(full, k, follow_symlinks=False).decode(errors='replace')
        out.append(fmt(rel, st.st_mode, st.st_uid, st.st_gid, st.st_size,
                       os.readlink(full) if stat.S_ISLNK(st.st_mode) else '',
                       (os.major(st.st_rdev), os.minor(st.st_rdev)),
                       g.get(rel), xa, sha(full) if stat.S_ISREG(st.st_mode) else ''))
    return out

def dbg(img, cmds):
    r = subprocess.run(['debugfs', '-f', '-', img], input='\n'.join(cmds) + '\n',
                       capture_output=True, text=True)
    return r.stdout

def sections(text):
    """debugfs -f echoes each command as 'debugfs: CMD'."""
    out, cur = [], None
    for line in text.splitlines():
        if line.startswith('debugfs: '):
            cur = [line[9:], []]
            out.append(cur)
        elif cur:
            cur[1].append(line)
    return out

def image(img, dump):
    ents, todo = {}, ['/']
    while todo:                       # breadth first: one debugfs run per level
        level, todo = todo, []
        for cmd, lines in sections(dbg(img, ['ls -l -p "%s"' % d for d in level])):
            d = cmd[len('ls -l -p "'):-1]
            for line in lines:
                m = re.match(r'^/(\d+)/(\d+)/(\d+)/(\d+)/(.*)/(\d*)/$', line)
                if not m or m.group(5) in ('.', '..'):
                    continue
                p = (d.rstrip('/') + '/' + m.group(5))
                if p == '/lost+found':
                    continue
                mode = int(m.group(2), 8)
                ents[p] = [int(m.group(1)), mode, int(m.group(3)), int(m.group(4)),
                           int(m.group(6) or 0), (0, 0), {}]
                if stat.S_ISDIR(mode):
                    todo.append(p)
    # devices (major:minor) and xattrs, one debugfs run
    cmds = []
    for p, e in sorted(ents.items()):
        if stat.S_ISCHR(e[1]) or stat.S_ISBLK(e[1]):
            cmds.append('stat "%s"' % p)
        if not stat.S_ISLNK(e[1]):
            cmds.append('ea_list "%s"' % p)
    for cmd, lines in sections(dbg(img, cmds)):
        verb, p = cmd.split(' ', 1)
        e = ents[p[1:-1]]
        body = '\n'.join(lines)
        if verb == 'stat':
            m = re.search(r'Device major/minor number: (\d+):(\d+)', body)
            if m:
                e[5] = (int(m.group(1)), int(m.group(2)))
        else:
            for m in re.finditer(r'^\s*([\w.]+) \((\d+)\)(?: = "(.*)")?\s*$', body, re.M):
                e[6][m.group(1)] = m.group(3) or ''
    inodes = {p: e[0] for p, e in ents.items() if stat.S_ISREG(e[1])}
    g = groups(inodes)
    out = []
    for p, e in ents.items():
        full = dump + p
        out.append(fmt(p, e[1], e[2], e[3], e[4],
                       os.readlink(full) if stat.S_ISLNK(e[1]) else '', e[5], g.get(p), e[6],
                       sha(full) if stat.S_ISREG(e[1]) else ''))
    return out

if sys.argv[1] == 'tree':
    lines = tree(sys.argv[2])
else:
    lines = image(sys.argv[2], sys.argv[3])
print('\n'.join(sorted(lines)))
EOF
)
python3 -c "$LISTER" tree "$W/oracle/rootfs" >"$T_HOME/oracle.list" || fail "listing the oracle"
mkdir "$T_HOME/dump"
debugfs -R "rdump / $T_HOME/dump" "${bases[0]}" >/dev/null 2>&1 || fail "debugfs rdump"
python3 -c "$LISTER" image "${bases[0]}" "$T_HOME/dump" >"$T_HOME/image.list" || fail "listing the base"

# The oracle's listing must hold what the layers put there (guards the test itself).
for want in \
	'/dev/null crw-r--r-- 644 0:0 dev=1:3' \
	'/testdata/blk brw-r--r-- 644 0:0 dev=7:0' \
	'/opt/l3dir/dev crw--w---- 620 0:5 dev=4:64' \
	'/testdata/fifo prw-r--r-- 644 0:0' \
	'/testdata/suidbin -rwsr-xr-x 4755 0:0 ' \
	'/testdata/sgid -rwxr-sr-x 2755 0:1001 ' \
	'/opt/l3dir/exe -rws--s--x 6711 0:0 ' \
	'/opt/l3dir drwxrwsr-x 2775 1002:1003' \
	'/testdata/nomode ---------- 0 0:0 ' \
	'/private drwx------ 700 1000:1000' \
	'/testdata/sticky drwxr-xr-t 1755 0:0' \
	'/tmp drwxrwxrwt 1777 0:0' \
	'/testdata/owned -rw-r--r-- 644 1000:1001 ' \
	'/testdata/sym lrwxrwxrwx 777 0:0 -> ../bin/busybox' \
	'/opt/opq drwxr-x--- 750 1000:1000' \
	'/testdata/chr2 -rw------- 600 1000:0 ' \
	'/locked d--------- 0 0:0' \
	'/locked/in/f2 -r-------- 400 1000:1000 ' \
	'/opt/ro dr-xr-xr-x 555 0:0' \
	'/opt/ro/l3 -r--r--r-- 444 0:0 ' \
	'/opt/opq/new -rw-r----- 640 1000:1001 '; do
	grep -qF -- "$want" "$T_HOME/oracle.list" || fail "oracle lacks '$want'"
done
grep -q 'hardlink=/testdata/hl1' "$T_HOME/oracle.list" || fail "oracle lacks the hardlink"
grep -q '^/testdata/suidbin .*hardlink=/opt/l3dir/suidlink' "$T_HOME/oracle.list" || fail "oracle lacks the layer-3 hardlink"
grep -q '^/testdata/hl3 .*hardlink=/locked/in/f' "$T_HOME/oracle.list" || fail "oracle lacks the hardlink into /locked"
grep -q 'security.test=sec' "$T_HOME/oracle.list" || fail "oracle lacks the security.* xattr"
for gone in /opt/olddir/a /opt/gone /opt/opq/x /opt/opq/sub /opt/opq/olddev /testdata/wdev /opt/ro/r1; do
	grep -q "^$gone " "$T_HOME/oracle.list" && fail "oracle still has whited-out $gone"
done
n=$(wc -l <"$T_HOME/oracle.list")
[ "$n" -gt 300 ] && pass "oracle listing: $n entries" || fail "oracle listing has only $n entries"

if diff -u "$T_HOME/oracle.list" "$T_HOME/image.list" >"$T_HOME/diff"; then
	pass "rootless base equals the umoci oracle ($n entries: type, mode, owner, size, sha256, link, device, hardlinks, xattrs)"
else
	grep '^[-+]/' "$T_HOME/diff" | sed 's/^-/oracle: /; s/^+/base:   /' >&2
	fail "rootless base differs from the umoci oracle"
fi
# The root directory itself (not in the listings).
expect_eq "root directory mode and owner" "$(debugfs -R 'stat /' "${bases[0]}" 2>/dev/null |
	sed -n 's/.*Mode: *\([0-7]*\).*/\1/p; s/^User: *\([0-9]*\) *Group: *\([0-9]*\).*/\1:\2/p' | tr '\n' ' ')" \
	"$(stat -c '%04a %u:%g ' "$W/oracle/rootfs")"
t_done
