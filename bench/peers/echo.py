"""Echo servers for the benchmark: asyncio or uvloop, Protocol or
BufferedProtocol, as in the 2016-2017 high-bandwidth asyncio discussion.

    python3 echo.py PORT asyncio|uvloop protocol|buffered
"""
import asyncio
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class BufferedEcho(asyncio.BufferedProtocol):
    def __init__(self):
        self.buf = bytearray(256 * 1024)
        self.view = memoryview(self.buf)

    def connection_made(self, transport):
        self.transport = transport

    def get_buffer(self, sizehint):
        return self.view

    def buffer_updated(self, nbytes):
        self.transport.write(self.view[:nbytes].tobytes())


async def main(port, proto):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo if proto == "protocol" else BufferedEcho, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    port, flavour, proto = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if flavour == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main(port, proto))
