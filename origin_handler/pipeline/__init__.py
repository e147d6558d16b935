"""The pure image pipeline: bytes in, bytes out, no I/O; shipped in both Lambda functions."""
