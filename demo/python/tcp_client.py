#!/usr/bin/env python3
"""A TCP chat client that takes turns with tcp_server.py.

You speak first, then wait for the server's answer. Q ends the chat.
Watch it with:  sudo sockscope trace -- python3 tcp_client.py

Usage: python3 tcp_client.py [ADDRESS] [PORT]   (default 127.0.0.1 9000)
"""
import socket
import sys


def wants_to_quit(text):
    return text.strip().upper() == "Q"


def main():
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    connection = socket.socket(family, socket.SOCK_STREAM)
    connection.connect((address, port))
    print("connected to", address, "port", port, flush=True)
    while True:
        try:
            line = input("you> ")
        except EOFError:
            line = "Q"
        connection.sendall(line.encode("utf-8"))
        if wants_to_quit(line):
            break
        data = connection.recv(1024)
        if not data:
            print("the server closed the connection", flush=True)
            break
        text = data.decode("utf-8", errors="replace")
        print("server:", text, flush=True)
        if wants_to_quit(text):
            break
    connection.close()


if __name__ == "__main__":
    main()
