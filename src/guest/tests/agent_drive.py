#!/usr/bin/env python3
"""Drive boxlite-guest in a real QEMU microvm (TCG) over its virtio-serial port.

A developer tool for the agent (not part of ctest): builds a busybox ext4 root
disk, boots the kernel with the initramfs, speaks the wire protocol
(src/protocol/protocol.h) as the shim would, and checks the agent's behaviour.

  agent_drive.py --kernel VMLINUX --initrd INITRAMFS [--quick] [--keep] [--append CMDLINE]

--quick runs only HELLO, SETUP, one EXEC and SHUTDOWN (the timing cycle).
"""
import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

# ---- protocol (mirrors src/protocol/protocol.h) ----
HELLO, SETUP, SETUP_DONE, ERROR, EXEC, EXEC_STARTED, DATA, EOF, WINDOW, EXIT, SIGNAL, \
    RESIZE, CLOSE, SHUTDOWN, PING, PONG = range(1, 17)
NAMES = {v: k for k, v in dict(HELLO=1, SETUP=2, SETUP_DONE=3, ERROR=4, EXEC=5, EXEC_STARTED=6,
                                DATA=7, EOF=8, WINDOW=9, EXIT=10, SIGNAL=11, RESIZE=12, CLOSE=13,
                                SHUTDOWN=14, PING=15, PONG=16).items()}
T = dict(VERSION=1, MESSAGE=2, ERRNO=3, ARG=4, ENV=5, CWD=6, USER=7, TTY=8, ROWS=9, COLS=10,
         WINDOW=11, PID=12, EXIT_CODE=13, SIGNAL=14, CREDIT=15, ROOT_DEV=16, ROOT_FSTYPE=17,
         HOSTNAME=18, CLOCK_NS=19, RNG_SEED=20, T_AGENT_START=21, T_READY=22, T_EVENT=23,
         TIMEOUT_MS=24, T_SETUP_DONE=29)
HDR = struct.Struct('<IIHBB')


def tlv(tag, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack('<HI', tag, len(value)) + value


def u32(tag, v):
    return tlv(tag, struct.pack('<I', v))


def u64(tag, v):
    return tlv(tag, struct.pack('<Q', v))


def parse_tlv(payload):
    out, pos = {}, 0
    while pos < len(payload):
        tag, n = struct.unpack_from('<HI', payload, pos)
        val = payload[pos + 6:pos + 6 + n]
        pos += 6 + n
        out.setdefault(tag, []).append(val)
    return out


def get_u(fields, tag):
    v = fields.get(tag)
    if not v:
        return None
    return struct.unpack('<I' if len(v[0]) == 4 else '<Q', v[0])[0]


class Agent:
    def __init__(self, path, timeout=60):
        self.sock = None
        deadline = time.time() + timeout
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                self.sock = s
                break
            except OSError:
                s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.01)
        self.sock.settimeout(timeout)
        self.buf = b''

    def send(self, chan, typ, payload=b'', stream=0):
        self.sock.sendall(HDR.pack(len(payload), chan, typ, stream, 0) + payload)

    def recv(self):
        while True:
            if len(self.buf) >= HDR.size:
                n, chan, typ, stream, flags = HDR.unpack_from(self.buf)
                if len(self.buf) >= HDR.size + n:
                    payload = self.buf[HDR.size:HDR.size + n]
                    self.buf = self.buf[HDR.size + n:]
                    return chan, typ, stream, payload
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError('agent connection closed')
            self.buf += data

    def expect_any(self, chan, typ):
        """Like expect, but returns ERROR frames too (as parsed TLVs)."""
        while True:
            c, t, s, p = self.recv()
            if c == chan and t == typ:
                return parse_tlv(p)
            print('  (skipping %s on chan %d)' % (NAMES.get(t, t), c))

    def expect(self, chan, typ):
        while True:
            c, t, s, p = self.recv()
            if c == chan and t == typ:
                return parse_tlv(p)
            if t == ERROR:
                f = parse_tlv(p)
                raise RuntimeError('ERROR on chan %d: errno %s %s' % (
                    c, get_u(f, T['ERRNO']), f.get(T['MESSAGE'], [b''])[0].decode()))
            print('  (skipping %s on chan %d)' % (NAMES.get(t, t), c))


class Session:
    def __init__(self, chan, window, grant):
        self.chan, self.window, self.grant = chan, window, grant
        self.out = {1: bytearray(), 2: bytearray()}
        self.eof = set()
        self.result = None   # ('exit', code) / ('signal', n) / ('error', errno, msg)
        self.pid = None
        self.stdin_window = None
        self.t_exit = None
        self.stdin = None      # bytes still to send, then EOF (None: nothing, no EOF)
        self.credit = 0

    def pump_stdin(self, agent):
        while self.stdin is not None and self.credit > 0 and self.result is None:
            if not self.stdin:
                agent.send(self.chan, EOF, stream=0)
                self.stdin = None
                return
            n = min(len(self.stdin), self.credit, 65536)
            agent.send(self.chan, DATA, self.stdin[:n], stream=0)
            self.stdin = self.stdin[n:]
            self.credit -= n


def exec_payload(args, env=None, cwd=None, user=None, tty=None, window=None, timeout_ms=None,
                 rows=None, cols=None):
    p = b''.join(tlv(T['ARG'], a) for a in args)
    for e in env if env is not None else ['PATH=/usr/sbin:/usr/bin:/sbin:/bin']:
        p += tlv(T['ENV'], e)
    if cwd is not None:
        p += tlv(T['CWD'], cwd)
    if user is not None:
        p += tlv(T['USER'], user)
    if tty is not None:
        p += u32(T['TTY'], tty)
    if rows is not None:
        p += u32(T['ROWS'], rows) + u32(T['COLS'], cols)
    if window is not None:
        p += u32(T['WINDOW'], window)
    if timeout_ms is not None:
        p += u32(T['TIMEOUT_MS'], timeout_ms)
    return p


def run_sessions(agent, sessions, on_started=None):
    """Serve frames until every session has its EXIT or ERROR."""
    live = {s.chan: s for s in sessions}
    while any(s.result is None for s in live.values()):
        c, t, st, p = agent.recv()
        s = live.get(c)
        if s is None:
            print('  (frame %s on unknown chan %d)' % (NAMES.get(t, t), c))
            continue
        if t == EXEC_STARTED:
            f = parse_tlv(p)
            s.pid, s.stdin_window = get_u(f, T['PID']), get_u(f, T['WINDOW'])
            s.credit = s.stdin_window
            if on_started:
                on_started(s)
            s.pump_stdin(agent)
        elif t == DATA:
            s.out[st] += p
            if s.grant:
                agent.send(c, WINDOW, u32(T['CREDIT'], len(p)), stream=st)
        elif t == EOF:
            s.eof.add(st)
        elif t == EXIT:
            f = parse_tlv(p)
            if T['EXIT_CODE'] in f:
                s.result = ('exit', get_u(f, T['EXIT_CODE']))
            else:
                s.result = ('signal', get_u(f, T['SIGNAL']))
            s.t_exit = get_u(f, T['T_EVENT'])
        elif t == ERROR:
            f = parse_tlv(p)
            s.result = ('error', get_u(f, T['ERRNO']), f.get(T['MESSAGE'], [b''])[0].decode())
        elif t == WINDOW and st == 0:
            s.credit += get_u(parse_tlv(p), T['CREDIT'])
            s.pump_stdin(agent)
        else:
            print('  (unexpected %s on chan %d)' % (NAMES.get(t, t), c))
    return sessions


def run(agent, chan, args, stdin=None, grant=True, **kw):
    window = kw.get('window')
    s = Session(chan, window, grant)
    agent.send(chan, EXEC, exec_payload(args, **kw))

    s.stdin = stdin
    run_sessions(agent, [s])
    return s


def make_disk(work):
    root = os.path.join(work, 'root')
    for d in ('bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'home/app', 'tmp', 'var', 'proc',
              'sys', 'dev', 'run'):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, 'tmp'), 0o1777)
    shutil.copy('/bin/busybox', os.path.join(root, 'bin/busybox'))
    applets = subprocess.run(['/bin/busybox', '--list-full'], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        dst = os.path.join(root, a)
        if a == 'bin/busybox' or os.path.lexists(dst):
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.symlink('/bin/busybox', dst)
    with open(os.path.join(root, 'etc/passwd'), 'w') as f:
        f.write('root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n'
                'nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n')
    with open(os.path.join(root, 'etc/group'), 'w') as f:
        f.write('root:x:0:\nwheel:x:10:root,app\naudio:x:29:app\napp:x:1000:\nnogroup:x:65534:\n')
    with open(os.path.join(root, 'noexec.sh'), 'w') as f:
        f.write('#!/bin/sh\necho never\n')
    os.chmod(os.path.join(root, 'noexec.sh'), 0o644)
    with open(os.path.join(root, 'badinterp.sh'), 'w') as f:
        f.write('#!/no/such/interpreter\n')
    os.chmod(os.path.join(root, 'badinterp.sh'), 0o755)
    base = os.path.join(work, 'base.ext4')
    subprocess.run(['mke2fs', '-q', '-F', '-t', 'ext4', '-b', '4096', '-d', root, base, '16M'],
                   check=True)
    disk = os.path.join(work, 'box.qcow2')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', disk, '256M'],
                   check=True)
    return disk


def qemu_cmd(work, kernel, initrd, disk, append):
    os.makedirs(os.path.join(work, 'share'), exist_ok=True)
    return [
        'qemu-system-x86_64', '-M', 'microvm,x-option-roms=off,isa-serial=on,rtc=off,acpi=off',
        '-accel', 'tcg', '-cpu', 'max', '-m', '256', '-smp', '1', '-nodefaults', '-no-user-config',
        '-nographic', '-no-reboot', '-serial', 'file:' + os.path.join(work, 'console.log'),
        '-kernel', kernel, '-initrd', initrd, '-append', append,
        '-chardev', 'socket,id=agent,path=' + os.path.join(work, 'agent.sock') + ',server=on,wait=off',
        '-device', 'virtio-serial-device,max_ports=2', '-device', 'virtserialport,chardev=agent,name=boxlite.agent',
        '-drive', 'id=root,file=' + disk + ',format=qcow2,if=none',
        '-device', 'virtio-blk-device,drive=root',
        '-fsdev', 'local,id=fs0,path=' + os.path.join(work, 'share') + ',security_model=none',
        '-device', 'virtio-9p-device,fsdev=fs0,mount_tag=hostshare',
        '-netdev', 'user,id=n0', '-device', 'virtio-net-device,netdev=n0',
    ]


failures = []


def check(cond, what):
    print('  %s %s' % ('ok  ' if cond else 'FAIL', what))
    if not cond:
        failures.append(what)


def handshake(agent):
    f = agent.expect(0, HELLO)
    hello = dict(version=get_u(f, T['VERSION']), start=get_u(f, T['T_AGENT_START']),
                 ready=get_u(f, T['T_READY']))
    agent.send(0, HELLO, u32(T['VERSION'], 1))
    setup = (tlv(T['ROOT_DEV'], '/dev/vda') + tlv(T['ROOT_FSTYPE'], 'ext4') +
             tlv(T['HOSTNAME'], 'box-test') + u64(T['CLOCK_NS'], time.time_ns()) +
             tlv(T['RNG_SEED'], os.urandom(64)))
    agent.send(0, SETUP, setup)
    f = agent.expect(0, SETUP_DONE)
    hello['setup_done'] = get_u(f, T['T_SETUP_DONE'])
    return hello


def full_tests(agent, sock_path):
    chan = iter(range(1, 1 << 30))

    print('exec basics')
    s = run(agent, next(chan), ['sh', '-c', 'echo hi; echo err >&2; exit 3'], stdin=b'')
    check(s.result == ('exit', 3), 'exit code 3 (%r)' % (s.result,))
    check(s.t_exit is not None, 'EXIT carries T_EVENT')
    check(bytes(s.out[1]) == b'hi\n' and bytes(s.out[2]) == b'err\n', 'stdout/stderr split')
    check(s.eof == {1, 2}, 'EOF on both outputs')
    check(s.stdin_window and s.stdin_window > 0, 'stdin window %s' % s.stdin_window)

    s = run(agent, next(chan), ['nosuchcmd'])
    check(s.result[:2] == ('error', 2) and 'command not found' in s.result[2], 'ENOENT: %r' % (s.result,))
    s = run(agent, next(chan), ['/noexec.sh'])
    check(s.result[:2] == ('error', 13), 'not executable -> EACCES: %r' % (s.result,))
    s = run(agent, next(chan), ['/badinterp.sh'])
    check(s.result[0] == 'error' and s.result[1] == 2, 'bad interpreter: %r' % (s.result,))
    s = run(agent, next(chan), ['pwd'], cwd='/nonexistent')
    check(s.result[:2] == ('error', 2) and '/nonexistent' in s.result[2], 'bad cwd: %r' % (s.result,))
    s = run(agent, next(chan), ['pwd'], cwd='/tmp')
    check(bytes(s.out[1]) == b'/tmp\n', 'cwd /tmp')
    s = run(agent, next(chan), ['sh', '-c', 'kill -9 $$'])
    check(s.result == ('signal', 9), 'killed by signal: %r' % (s.result,))

    print('environment, user, identity')
    s = run(agent, next(chan), ['sh', '-c', 'echo $FOO $HOME; hostname; id'],
            env=['PATH=/bin:/usr/bin', 'FOO=bar'])
    out = bytes(s.out[1]).decode()
    check(out.startswith('bar /root\nbox-test\nuid=0(root) gid=0(root) groups=0(root),10(wheel)\n'),
          'root env/hostname/groups: %r' % out)
    s = run(agent, next(chan), ['id'], user='app')
    out = bytes(s.out[1]).decode()
    check(out.strip() == 'uid=1000(app) gid=1000(app) groups=10(wheel),29(audio),1000(app)',
          'user app (kernel sorts groups): %r' % out)
    s = run(agent, next(chan), ['sh', '-c', 'id; echo $HOME'], user='1000:29')
    out = bytes(s.out[1]).decode()
    check(out == 'uid=1000(app) gid=29(audio) groups=29(audio)\n/home/app\n', 'user 1000:29: %r' % out)
    s = run(agent, next(chan), ['id'], user='4242')
    check(bytes(s.out[1]) == b'uid=4242 gid=0(root) groups=0(root)\n', 'unknown uid: %r' % bytes(s.out[1]))
    s = run(agent, next(chan), ['id'], user='ghost')
    check(s.result[:2] == ('error', 22), 'unknown user: %r' % (s.result,))
    s = run(agent, next(chan), ['date', '+%Y'])
    check(bytes(s.out[1]).strip() == time.strftime('%Y').encode(), 'clock set: %r' % bytes(s.out[1]))
    s = run(agent, next(chan), ['sh', '-c', 'df -m / | tail -1; ls /dev/pts /dev/shm >/dev/null; '
                                           'cat /proc/1/cmdline; test -e /etc/hosts && echo hosts'])
    out = bytes(s.out[1]).decode()
    check('hosts' in out, 'mounts and /etc/hosts: %r' % out)
    try:
        size_mb = int(out.split('\n')[0].split()[1])
    except (IndexError, ValueError):
        size_mb = 0
    check(size_mb > 200, 'root grown online to the 256M disk (%d MiB)' % size_mb)

    print('stdin, flow control')
    data = os.urandom(300000)
    s = run(agent, next(chan), ['cat'], stdin=data)
    check(bytes(s.out[1]) == data, 'cat echoes 300000 bytes of stdin')
    s = run(agent, next(chan), ['sh', '-c', 'head -c 3000000 /dev/zero; echo done >&2'], window=65536)
    check(len(s.out[1]) == 3000000 and bytes(s.out[2]) == b'done\n', 'window 64K + grants: 3 MB')

    # No grants: the agent must stop after exactly the window, then resume.
    c = next(chan)
    agent.send(c, EXEC, exec_payload(['head', '-c', '200000', '/dev/zero'], window=50000))
    got = 0
    agent.sock.settimeout(1.5)
    try:
        while True:
            cc, t, st, p = agent.recv()
            if cc == c and t == DATA:
                got += len(p)
    except socket.timeout:
        pass
    agent.sock.settimeout(60)
    check(got == 50000, 'output stops at the window (%d bytes)' % got)
    s = Session(c, 50000, True)
    s.out[1] += b'\0' * got
    agent.send(c, WINDOW, u32(T['CREDIT'], 150000), stream=1)
    run_sessions(agent, [s])
    check(len(s.out[1]) == 200000 and s.result == ('exit', 0), 'resumes after WINDOW')

    # Unbounded credit and a host that stops reading: the agent's output
    # queue fills, the port blocks, the pipes are left unread (children
    # block) and nothing is lost once the host reads again.
    sessions = []
    for i in range(4):
        c = next(chan)
        sessions.append(Session(c, None, False))
        agent.send(c, EXEC, exec_payload(['head', '-c', '8000000', '/dev/urandom'], window=0xFFFFFFF0))
    time.sleep(2)
    t0 = time.time()
    run_sessions(agent, sessions)
    dt = time.time() - t0
    check(all(len(x.out[1]) == 8000000 and x.result == ('exit', 0) for x in sessions),
          'host stalls 2 s, 4 x 8 MB arrive intact (%.1f MB/s after)' % (32 / dt))

    print('signals, timeouts, close')
    c = next(chan)
    s = Session(c, None, True)
    agent.send(c, EXEC, exec_payload(['sleep', '30']))
    run_sessions(agent, [s], lambda ss: agent.send(c, SIGNAL, u32(T['SIGNAL'], 15)))
    check(s.result == ('signal', 15), 'SIGNAL 15: %r' % (s.result,))
    t0 = time.time()
    s = run(agent, next(chan), ['sleep', '30'], timeout_ms=500)
    check(s.result == ('signal', 15) and time.time() - t0 < 5, 'timeout -> SIGTERM: %r' % (s.result,))
    t0 = time.time()
    s = run(agent, next(chan), ['sh', '-c', 'trap "" TERM; sleep 30 & wait; sleep 30'], timeout_ms=300)
    check(s.result == ('signal', 9) and time.time() - t0 < 8, 'ignored TERM -> SIGKILL after grace: %r'
          % (s.result,))
    c = next(chan)
    agent.send(c, EXEC, exec_payload(['sleep', '30']))
    agent.expect(c, EXEC_STARTED)
    agent.send(c, CLOSE)
    agent.send(0, PING)
    f = agent.expect(0, PONG)
    check(get_u(f, T['T_EVENT']) is not None, 'CLOSE, then PING -> PONG')

    print('tty')
    s = run(agent, next(chan), ['sh', '-c', 'tty; stty size; echo err >&2'], tty=1, rows=33, cols=101)
    out = bytes(s.out[1]).decode()
    check('/dev/pts/' in out and '33 101' in out and 'err' in out and s.eof == {1, 2},
          'tty: %r' % out)
    c = next(chan)
    s = Session(c, None, True)
    agent.send(c, EXEC, exec_payload(['sh', '-c', 'read x; stty size; echo got $x'], tty=1, rows=10,
                                     cols=20))

    def resize_then_type(ss):
        agent.send(c, RESIZE, u32(T['ROWS'], 50) + u32(T['COLS'], 132))
        time.sleep(0.2)
        agent.send(c, DATA, b'hello\n', stream=0)
    run_sessions(agent, [s], resize_then_type)
    out = bytes(s.out[1]).decode()
    check('50 132' in out and 'got hello' in out, 'tty resize + input: %r' % out)

    s = run(agent, next(chan), ['cat'], tty=1, stdin=b'abc\n')
    check(s.result == ('exit', 0) and bytes(s.out[1]).count(b'abc') == 2,
          'tty stdin EOF -> ^D ends cat: %r %r' % (s.result, bytes(s.out[1])))

    print('concurrency')
    sessions = []
    for i in range(64):
        c = next(chan)
        sessions.append(Session(c, None, True))
        agent.send(c, EXEC, exec_payload(['sh', '-c', 'echo %d; sleep 1' % i]))
    t0 = time.time()
    run_sessions(agent, sessions)
    ok = all(bytes(s.out[1]) == b'%d\n' % i and s.result == ('exit', 0) for i, s in enumerate(sessions))
    check(ok, '64 concurrent sessions (%.1f s)' % (time.time() - t0))

    print('zombies')
    s = run(agent, next(chan), ['sh', '-c', '(sleep 0.2 &) ; sleep 0.5; ps -o stat,comm | grep -c Z || true'])
    check(bytes(s.out[1]).strip() == b'0', 'orphans reaped by PID 1: %r' % bytes(s.out[1]))

    print('protocol errors and reconnect')
    agent.send(0, 99)  # unknown type: a framing error
    f = agent.expect_any(0, ERROR)
    check(get_u(f, T['ERRNO']) == 71, 'malformed frame -> ERROR EPROTO')
    agent.sock.close()
    # Immediate reconnect: the agent may not see the hang-up; the host's
    # eager HELLO makes it start over. Version 2 is refused, then v1 works.
    agent = Agent(sock_path)
    agent.send(0, HELLO, u32(T['VERSION'], 2))
    f = agent.expect(0, HELLO)
    check(get_u(f, T['VERSION']) == 1, 'fresh agent HELLO after an instant reconnect')
    f = agent.expect_any(0, ERROR)
    check(get_u(f, T['ERRNO']) == 93, 'version mismatch -> ERROR EPROTONOSUPPORT')
    agent.send(0, HELLO, u32(T['VERSION'], 1))
    agent.send(0, SETUP, tlv(T['ROOT_DEV'], '/dev/vda') + tlv(T['HOSTNAME'], 'again'))
    agent.expect(0, SETUP_DONE)
    s = run(agent, 7, ['hostname'])
    check(bytes(s.out[1]) == b'again\n', 'second SETUP re-applies identity: %r' % bytes(s.out[1]))
    agent.send(8, EXEC, exec_payload(['sleep', '1000']))
    agent.expect(8, EXEC_STARTED)

    # Instant reconnect without a protocol error (a crashed shim).
    agent.sock.close()
    agent = Agent(sock_path)
    agent.send(0, HELLO, u32(T['VERSION'], 1))  # eager: HELLO, SETUP, PING at once
    agent.send(0, SETUP, tlv(T['ROOT_DEV'], '/dev/vda') + tlv(T['HOSTNAME'], 'third'))
    agent.send(0, PING)
    agent.expect(0, HELLO)
    got = [agent.recv()[:2] for _ in range(2)]
    check(got == [(0, SETUP_DONE), (0, PONG)], 'exactly one agent HELLO, then SETUP_DONE, PONG (%s)'
          % [NAMES.get(t, t) for c, t in got])

    # Slow reconnect: the agent notices the hang-up and greets first.
    agent.sock.close()
    time.sleep(0.5)
    agent = Agent(sock_path)
    agent.expect(0, HELLO)
    agent.send(0, HELLO, u32(T['VERSION'], 1))
    s = run(agent, 1, ['sh', '-c', 'ps -o comm | grep -c sleep || true'])
    check(bytes(s.out[1]) == b'0\n', 'sessions of closed connections are killed: %r' % bytes(s.out[1]))
    return agent


def chaos(agent, n=3000):
    """Random well-framed frames with random payloads: the agent must answer
    what it can and stay alive."""
    import random
    rnd = random.Random(1234)
    types = [HELLO, SETUP, EXEC, DATA, EOF, WINDOW, SIGNAL, RESIZE, CLOSE, PING, ERROR, PONG, EXIT]
    for i in range(n):
        typ = rnd.choice(types)
        chan = rnd.choice([0, 0, 1, 2, 3, 1000])
        stream = rnd.choice([0, 1, 2]) if typ in (DATA, EOF, WINDOW) else 0
        if rnd.random() < 0.5:
            payload = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 64)))
        else:
            payload = b''
            for _ in range(rnd.randrange(0, 6)):
                tag = rnd.randrange(0, 32)
                val = rnd.choice([b'', b'\0' * 4, b'\xff' * 4, b'\1\0\0\0', b'\0' * 8, b'/dev/vda',
                                  b'x' * rnd.randrange(0, 300), b'sh', b'-c', b'exit 0', b'a\0b'])
                if tag == T['VERSION']:
                    val = struct.pack('<I', 1)
                payload += tlv(tag, val)
        agent.send(chan, typ, payload, stream=stream)
        if i % 200 == 0:  # drain what the agent answered
            agent.sock.settimeout(0.05)
            try:
                while True:
                    agent.recv()
            except (socket.timeout, TimeoutError):
                pass
            agent.sock.settimeout(60)
    agent.sock.settimeout(1)
    try:
        while True:
            agent.recv()
    except (socket.timeout, TimeoutError):
        pass
    agent.sock.settimeout(60)


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--kernel', required=True)
    ap.add_argument('--initrd', required=True)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('--append', default='console=ttyS0 quiet panic=-1 reboot=t',
                    help='kernel command line')
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix='agent-drive.')
    disk = make_disk(work)
    sock_path = os.path.join(work, 'agent.sock')
    t0 = time.time()
    qemu = subprocess.Popen(qemu_cmd(work, args.kernel, args.initrd, disk, args.append), stdin=subprocess.DEVNULL)
    try:
        agent = Agent(sock_path)
        t_conn = time.time()
        hello = handshake(agent)
        t_ready = time.time()
        print('guest uptime: agent start %.3f s, HELLO sent %.3f s, setup done %.3f s' % (
            hello['start'] / 1e9, hello['ready'] / 1e9, hello['setup_done'] / 1e9))
        print('host: connected %.3f s, ready %.3f s after QEMU spawn' % (t_conn - t0, t_ready - t0))
        if args.quick:
            s = run(agent, 1, ['sh', '-c', 'echo hi; echo err >&2; exit 3'])
            check(s.result == ('exit', 3) and bytes(s.out[1]) == b'hi\n', 'exec')
            t_exec = time.time()
        else:
            agent = full_tests(agent, sock_path)
            print('chaos')
            chaos(agent)
            agent.send(0, HELLO, u32(T['VERSION'], 1))
            agent.send(0, PING)
            agent.expect(0, PONG)
            s = run(agent, 4242, ['echo', 'alive'])
            check(bytes(s.out[1]) == b'alive\n', 'agent alive after 3000 random frames')
            # A process that ignores SIGTERM must not hold up SHUTDOWN for long.
            agent.send(4243, EXEC, exec_payload(['sh', '-c', 'trap "" TERM; sleep 100']))
            agent.expect(4243, EXEC_STARTED)
            t_exec = time.time()
        agent.send(0, SHUTDOWN)
        rc = qemu.wait(timeout=30)
        t_end = time.time()
        check(rc == 0, 'QEMU exited after SHUTDOWN (rc %d)' % rc)
        print('wall: exec done %.3f s, QEMU exit %.3f s after spawn (shutdown %.3f s)' % (
            t_exec - t0, t_end - t0, t_end - t_exec))
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
        with open(os.path.join(work, 'console.log'), errors='replace') as f:
            console = f.read()
        print('--- console ---\n' + console.strip() + '\n---------------')
        if args.keep:
            print('kept', work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print('%d FAILURE(S): %s' % (len(failures), failures))
        return 1
    print('all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
