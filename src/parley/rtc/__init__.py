"""The media plane: Janus as SFU, driven by media-service."""
