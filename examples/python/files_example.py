"""Files in memory: write a script into the box, run it, read its output."""
import asyncio

import boxlite


async def main():
    async with boxlite.SimpleBox(image="localhost/python:3.11") as box:
        await box.files.write("/tmp/job.py", "open('/tmp/out.txt', 'w').write(str(sum(range(101))))\n")
        await box.exec("python3", "/tmp/job.py")
        print("sum:", await box.files.read("/tmp/out.txt"))


asyncio.run(main())
