"""The Python side of cleanrooms-emulator's Athena for Apache Spark sessions.

``runner`` is the per-session process the emulator starts: it embeds a Sail Spark Connect
server configured for the emulator's Glue catalog and S3, keeps one Python namespace across the
session's calculations, and speaks JSON lines with the emulator on stdin/stdout.
"""
