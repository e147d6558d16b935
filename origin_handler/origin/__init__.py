"""The origin Lambda (function URL): URL parsing, storage, the request path, responses."""
