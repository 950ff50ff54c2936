//! A scripted, misbehaving tile server on 127.0.0.1 for tests (in progress).
