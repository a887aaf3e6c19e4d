"""The blocking API: no asyncio in sight."""
from boxlite.sync_api import SyncSimpleBox

with SyncSimpleBox(image="localhost/busybox:latest") as box:
    r = box.exec("uname", "-m")
    print("guest machine:", r.stdout.strip())
