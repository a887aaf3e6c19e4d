"""InteractiveBox: a shell on a pseudo-terminal, driven in code (tty=False)
and wired to a real terminal (a pty this test holds the other side of)."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import textwrap

import boxlite


async def test_interactive_without_forwarding(runtime, image):
    async with boxlite.InteractiveBox(image=image, tty=False, runtime=runtime) as ib:
        stdin = ib.execution.stdin()
        await stdin.send_input(b"echo in-$((6*7))-box; exit 3\n")
        stdout, out = ib.execution.stdout(), b""
        while True:
            chunk = await stdout.read_some()
            if not chunk:
                break
            out += chunk
        r = await ib.wait()
        assert r.exit_code == 3
        assert b"in-42-box" in out
        box_id = ib.id
    assert await runtime.get(box_id) is None  # stopped and removed


def test_interactive_on_a_terminal(home, image):
    script = textwrap.dedent(f"""
        import asyncio, sys, boxlite
        async def main():
            rt = boxlite.Boxlite(boxlite.Options(home_dir={home!r}))
            async with boxlite.InteractiveBox(image={image!r}, runtime=rt) as ib:
                r = await ib.wait()
            sys.exit(r.exit_code)
        asyncio.run(main())
    """)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([sys.executable, "-c", script], stdin=slave, stdout=slave, stderr=slave,
                         env={k: v for k, v in os.environ.items() if k not in ("LINES", "COLUMNS")},
                         start_new_session=True)
    os.write(master, b"stty size; echo $((6*7))x; exit 7\n")
    out = b""
    while p.poll() is None or select.select([master], [], [], 0)[0]:
        if select.select([master], [], [], 1)[0]:
            try:
                out += os.read(master, 4096)
            except OSError:
                break
    p.wait(timeout=60)
    after = termios.tcgetattr(slave)
    os.close(master)
    os.close(slave)
    assert p.returncode == 7, out
    assert b"42x" in out and b"30 100" in out, out  # the terminal's size too
    assert after == before  # raw mode undone


def test_interactive_with_commands_from_a_file(home, image, tmp_path):
    """tty=True with stdin a regular file and stdout a pipe: the shell
    reads the file and its output is forwarded (no terminal to set raw)."""
    script = textwrap.dedent(f"""
        import asyncio, sys, boxlite
        async def main():
            rt = boxlite.Boxlite(boxlite.Options(home_dir={home!r}))
            async with boxlite.InteractiveBox(image={image!r}, runtime=rt, tty=True) as ib:
                r = await ib.wait()
            sys.exit(r.exit_code)
        asyncio.run(main())
    """)
    cmds = tmp_path / "cmds"
    cmds.write_text("echo from-$((40+2))-file\nexit 4\n")
    with open(cmds) as f:
        p = subprocess.run([sys.executable, "-c", script], stdin=f, capture_output=True, timeout=120)
    assert p.returncode == 4, p
    assert b"from-42-file" in p.stdout, p
