#!/usr/bin/env python3
"""A TCP chat server that takes turns with one client.

It waits for a client, then: the client speaks, you answer, and so on. Q (by either side) ends the
chat. Watch it with:  sudo sockscope trace -- python3 tcp_server.py

Usage: python3 tcp_server.py [ADDRESS] [PORT]   (default 127.0.0.1 9000; port 0 lets the system choose)
"""
import socket
import sys


def wants_to_quit(text):
    return text.strip().upper() == "Q"


def main():
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    listener = socket.socket(family, socket.SOCK_STREAM)
    # Restarting the server at once must not fail while the last connection waits in TIME-WAIT.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(1)
    print("listening on", address, "port", listener.getsockname()[1], flush=True)

    connection, peer = listener.accept()
    print("a client connected from", peer[0], "port", peer[1], flush=True)
    while True:
        data = connection.recv(1024)
        if not data:
            print("the client closed the connection", flush=True)
            break
        text = data.decode("utf-8", errors="replace")
        print("client:", text, flush=True)
        if wants_to_quit(text):
            break
        try:
            answer = input("you> ")
        except EOFError:
            answer = "Q"
        connection.sendall(answer.encode("utf-8"))
        if wants_to_quit(answer):
            break
    connection.close()
    listener.close()


if __name__ == "__main__":
    main()
