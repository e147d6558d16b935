"""image-origin: on-demand image transformation origin for Amazon CloudFront."""

__version__ = "0.1.0"
