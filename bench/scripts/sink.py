#!/usr/bin/env python3
"""sink.py PORTFILE: accepts any number of connections on a free port of 127.0.0.1 and discards what they send; writes the
port into PORTFILE (whole, by a rename) once it listens. The stand-in for a destination that costs nothing, for the bench
scripts (lib.sh's sink_start) and goals18.py; it runs until it is killed."""
import os
import socket
import sys
import threading

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])


def drain(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    while c.recv(1 << 20):
        pass
    c.close()


while True:
    c, _ = s.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
