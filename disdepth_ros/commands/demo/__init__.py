"""`disdepth demo`: the real depth node on a recorded camera, end to end (command, session)."""
