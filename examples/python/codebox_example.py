"""CodeBox: run Python code you do not trust in a box of its own."""
import asyncio

import boxlite


async def main():
    async with boxlite.CodeBox() as cb:  # the built-in localhost/python:3.11
        print(await cb.run("import math; print(math.factorial(20))"), end="")


asyncio.run(main())
