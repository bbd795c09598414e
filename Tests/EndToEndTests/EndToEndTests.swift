import Testing

/// The real `pooltop` binary driven in tmux against throwaway PostgreSQL servers.
///
/// Serialized: every test starts a program that polls PostgreSQL (the demo tests start two servers and a
/// workload); run side by side on a small, shared machine they would slow each other past the deadlines.
/// Run with `swift build && swift test --filter EndToEnd` (the tests use the built binary, never build it).
@Suite("pooltop end to end", .serialized)
struct EndToEndTests {}
