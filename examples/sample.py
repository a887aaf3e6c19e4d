# The sample program `make run` runs inside a box.
import os
import platform
import sys

print(f"Hello from a boxlite micro-VM: Python {sys.version.split()[0]} on {platform.system()} {platform.release()}")
print(f"hostname={platform.node()} pid={os.getpid()} uid={os.getuid()} cpus={os.cpu_count()}")
print("sum of squares below 1000:", sum(i * i for i in range(1000)))
