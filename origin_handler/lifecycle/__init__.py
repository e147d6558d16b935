"""The events Lambda and the engines behind purge, invalidate and warm (no CLI code)."""
