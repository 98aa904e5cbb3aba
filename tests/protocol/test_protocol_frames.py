"""Server-built text frames against wsproto's own encoding (RFC 6455 §5.2).

Rules of this module:
- wsproto is the reference: a frame from ``text_frame`` must be byte-for-byte what a wsproto
  server writes for the same text, and must parse back with a wsproto client.
- Sizes sit on every length-encoding boundary (7-bit, 16-bit and 64-bit lengths).
- No I/O and no clock: plain sync tests.
"""

from __future__ import annotations

import pytest
from wsproto.frame_protocol import FrameProtocol, Opcode

from momentum.protocol import text_frame

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70000]


def text_of(size: int) -> str:
    return ("abcdefghij" * (size // 10 + 1))[:size]


@pytest.mark.parametrize("size", SIZES)
def test_matches_wsproto_server_encoding(size: int) -> None:
    text = text_of(size)
    reference = FrameProtocol(client=False, extensions=[]).send_data(text, fin=True)
    assert text_frame(text.encode()) == bytes(reference)


@pytest.mark.parametrize("size", SIZES)
def test_parses_back_as_one_final_text_frame(size: int) -> None:
    text = text_of(size)
    client = FrameProtocol(client=True, extensions=[])
    client.receive_bytes(text_frame(text.encode()))
    frames = list(client.received_frames())
    assert len(frames) == 1
    frame = frames[0]
    assert frame.opcode is Opcode.TEXT
    assert frame.message_finished
    assert frame.frame_finished
    assert frame.payload == text


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (0, b"\x81\x00"),
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e\x00\x7e"),
        (65535, b"\x81\x7e\xff\xff"),
        (65536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_header_bytes(size: int, header: bytes) -> None:
    frame = text_frame(b"x" * size)
    assert frame[: len(header)] == header
    assert len(frame) == len(header) + size


def test_multibyte_utf8_length_is_in_bytes() -> None:
    payload = ("é" * 100).encode()  # 100 characters, 200 bytes
    frame = text_frame(payload)
    assert frame[:4] == b"\x81\x7e\x00\xc8"
    client = FrameProtocol(client=True, extensions=[])
    client.receive_bytes(frame)
    (parsed,) = client.received_frames()
    assert parsed.payload == "é" * 100
