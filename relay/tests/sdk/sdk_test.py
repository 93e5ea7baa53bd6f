"""The official OpenAI Python SDK, unchanged, pointed at the relay: b64 generations, streamed
generations and multipart edits must work as they do against api.openai.com.

Run by `cargo xtask test` (step "SDKs") with EASEL_RELAY_URL (…/v1) and EASEL_RELAY_TOKEN set.
"""

import base64
import os
import struct
import zlib

import openai
from openai import OpenAI

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png(width, height, pixel):
    """An RGBA PNG filled by pixel(x, y) -> (r, g, b, a), without any imaging library."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height)
    )

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def main():
    client = OpenAI(
        base_url=os.environ["EASEL_RELAY_URL"],
        api_key=os.environ["EASEL_RELAY_TOKEN"],
        max_retries=0,
    )

    result = client.images.generate(
        model="gpt-image-2", prompt="a red fox in snow", size="1024x1024", quality="low"
    )
    image = base64.b64decode(result.data[0].b64_json)
    assert image.startswith(PNG_MAGIC), "a PNG comes back"
    assert result.usage.total_tokens > 0, result.usage
    assert result.size == "1024x1024", result.size
    print(f"python: b64 generation ok ({len(image)} bytes)")

    stream = client.images.generate(
        model="gpt-image-2",
        prompt="a lighthouse",
        size="1024x1024",
        quality="low",
        stream=True,
        partial_images=2,
    )
    events = list(stream)
    kinds = [event.type for event in events]
    assert kinds == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ], kinds
    assert [e.partial_image_index for e in events[:2]] == [0, 1]
    assert base64.b64decode(events[-1].b64_json).startswith(PNG_MAGIC)
    print("python: streamed generation ok (2 partial images, then completed)")

    photo = png(64, 64, lambda x, y: (200, 40, 40, 255) if x < 32 else (40, 40, 200, 255))
    mask = png(64, 64, lambda x, y: (0, 0, 0, 0 if 16 <= x < 48 and 16 <= y < 48 else 255))
    edited = client.images.edit(
        model="gpt-image-2",
        image=[("photo.png", photo, "image/png")],
        mask=("mask.png", mask, "image/png"),
        prompt="a green hat",
    )
    image = base64.b64decode(edited.data[0].b64_json)
    assert image.startswith(PNG_MAGIC)
    assert edited.size == "64x64", edited.size
    print("python: multipart edit ok")

    stranger = OpenAI(base_url=os.environ["EASEL_RELAY_URL"], api_key="wrong", max_retries=0)
    try:
        stranger.images.generate(model="gpt-image-2", prompt="x")
    except openai.AuthenticationError as error:
        assert error.code == "invalid_relay_token", error.code
        print("python: a wrong relay token is an AuthenticationError")
    else:
        raise AssertionError("a wrong token was accepted")


if __name__ == "__main__":
    main()
