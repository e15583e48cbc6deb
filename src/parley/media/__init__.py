"""media-service: uploads (tus and multipart), downloads, thumbnails, recordings, ICE servers."""
