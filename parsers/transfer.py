"""Undo Content-Transfer-Encoding (RFC 2045 section 6) with bounded memory.

Base64 is decoded the way mail clients do it: characters outside the
alphabet are skipped, the first ``=`` ends the data (RFC 2045 section 6.8),
missing padding is tolerated and a lone trailing character is dropped. This
matches ``mailparser.utils.decode_base64_payload`` (the tests hold the two
together) but streams: a 25 MB attachment is decoded in 1 MB slices into one
output buffer instead of through several full-size copies.
"""

from __future__ import annotations

import binascii
import io
from collections.abc import Iterable

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_ALPHABET_OR_PAD = bytes(sorted(set(range(256)) - set(_ALPHABET + b"=")))
_SLICE = 1 << 20


class Base64Stream:
    """Incremental lenient base64 decoder; feed bytes-like chunks, then finish()."""

    def __init__(self) -> None:
        self._out = io.BytesIO()
        self._carry = b""
        self._done = False

    def feed(self, chunk: bytes | memoryview) -> None:
        view = memoryview(chunk)
        for start in range(0, len(view), _SLICE):
            if self._done:
                return
            data = bytes(view[start : start + _SLICE]).translate(None, _NOT_ALPHABET_OR_PAD)
            pad = data.find(b"=")
            if pad >= 0:
                data = data[:pad]
                self._done = True
            if self._carry:
                data = self._carry + data
            cut = len(data) - len(data) % 4
            if cut:
                self._out.write(binascii.a2b_base64(data[:cut]))
            self._carry = data[cut:]

    def finish(self) -> bytes:
        carry = self._carry
        if len(carry) >= 2:  # one leftover character carries no complete byte
            self._out.write(binascii.a2b_base64(carry + b"=" * (-len(carry) % 4)))
        self._carry = b""
        # getvalue() hands over the buffer without a copy when nothing else
        # holds a view of it.
        return self._out.getvalue()


def decode_base64(data: bytes) -> bytes:
    """Lenient one-shot base64 decode (see the module docstring)."""
    stream = Base64Stream()
    stream.feed(data)
    return stream.finish()


def decode_base64_pieces(pieces: Iterable[bytes | memoryview]) -> bytes:
    """Decode base64 text that arrives as several consecutive pieces."""
    stream = Base64Stream()
    for piece in pieces:
        stream.feed(piece)
    return stream.finish()


def decode_quoted_printable(data: bytes) -> bytes:
    """RFC 2045 section 6.7; soft line breaks in LF or CRLF form both vanish."""
    return binascii.a2b_qp(data)


def decode_q_word(text: bytes) -> bytes:
    """RFC 2047 section 4.2 "Q" encoding: like quoted-printable, "_" is a space."""
    return binascii.a2b_qp(text, header=True)
