"""A second loopback listener for `cargo lambda watch`: `cargo lambda invoke` sends to [::1]:9000 by default,
while the stack listens on 127.0.0.1 (BIND_HOST). This relays [::1]:PORT to BIND_HOST:PORT, byte for byte, so
that the plain command works against `make run`. Loopback only; it stops with the stack.

usage: python3 local/relay.py LISTEN_HOST PORT TARGET_HOST TARGET_PORT
"""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main(listen_host, port, target_host, target_port):
    async def serve(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(serve, listen_host, port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    host, port, target_host, target_port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    if not host.startswith("::1") and not host.startswith("127."):
        sys.exit("relay.py: loopback addresses only")
    asyncio.run(main(host, port, target_host, target_port))
