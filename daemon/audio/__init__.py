"""Audio in: sources (mic, file, url, stdin), their rings at device rate, and file decoding."""
