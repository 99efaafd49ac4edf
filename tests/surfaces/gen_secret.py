#!/usr/bin/env python3
"""Print a synthetic GitHub classic token (ghp_ + 30 random base62 + CRC32 in base62), made at
test time: never a real credential, and never committed."""
import secrets
import string
import zlib

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def base62(n, width):
    out = ""
    while n:
        out = B62[n % 62] + out
        n //= 62
    return out.rjust(width, "0")


body = "".join(secrets.choice(B62) for _ in range(30))
print("ghp_" + body + base62(zlib.crc32(body.encode()), 6))
