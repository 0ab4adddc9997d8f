"""Framed echo servers for the benchmark: asyncio or uvloop, Protocol or
BufferedProtocol, as in the 2017 high-bandwidth asyncio discussion. A frame
is an 8-byte little-endian length and that many bytes; each whole frame is
written back.

    python3 echo.py PORT asyncio|uvloop protocol|buffered

protocol: data_received collects the chunks and joins them once the frame
is whole (the copies the discussion measured). buffered: the frame is
allocated once its length is known and the loop reads into it (recv_into,
the remedy the discussion proposed).
"""
import asyncio
import struct
import sys

HEADER = struct.Struct("<Q")
MAX_FRAME = 128 << 20


class FramedEcho(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.chunks = []
        self.have = 0
        self.want = None

    def data_received(self, data):
        self.chunks.append(data)
        self.have += len(data)
        while True:
            if self.want is None:
                if self.have < HEADER.size:
                    return
                head = b"".join(self.chunks)
                self.chunks = [head]
                (n,) = HEADER.unpack_from(head)
                if n > MAX_FRAME:
                    self.transport.close()
                    return
                self.want = HEADER.size + n
            if self.have < self.want:
                return
            data = b"".join(self.chunks)
            frame, rest = data[: self.want], data[self.want:]
            self.transport.write(frame)
            self.chunks = [rest] if rest else []
            self.have = len(rest)
            self.want = None


class BufferedFramedEcho(asyncio.BufferedProtocol):
    def connection_made(self, transport):
        self.transport = transport
        self.header = bytearray(HEADER.size)
        self.frame = None  # the payload, once its length is known
        self.filled = 0

    def get_buffer(self, sizehint):
        if self.frame is None:
            return memoryview(self.header)[self.filled:]
        return memoryview(self.frame)[self.filled:]

    def buffer_updated(self, nbytes):
        self.filled += nbytes
        if self.frame is None:
            if self.filled < HEADER.size:
                return
            (n,) = HEADER.unpack(self.header)
            if n > MAX_FRAME:
                self.transport.close()
                return
            self.frame, self.filled = bytearray(n), 0
            if n > 0:
                return
        if self.filled < len(self.frame):
            return
        self.transport.writelines([bytes(self.header), self.frame])
        self.frame, self.filled = None, 0


async def main(port, proto):
    loop = asyncio.get_running_loop()
    factory = FramedEcho if proto == "protocol" else BufferedFramedEcho
    server = await loop.create_server(factory, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    port, flavour, proto = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if flavour == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main(port, proto))
