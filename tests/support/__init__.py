"""Test helpers shared by every test folder (processes, servers, audio, paths)."""
