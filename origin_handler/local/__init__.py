"""`image-origin serve` only: a CloudFront stand-in, the HTTP server and the demo page."""
