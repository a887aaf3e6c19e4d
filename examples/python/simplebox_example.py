"""SimpleBox: run a few commands in a fresh box, then throw it away."""
import asyncio

import boxlite


async def main():
    async with boxlite.SimpleBox(image="localhost/busybox:latest") as box:
        r = await box.exec("sh", "-c", "echo hello from $(hostname); exit 3")
        print(r.stdout.strip(), "exit", r.exit_code)


asyncio.run(main())
