import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a child the tests spawn with posix_spawn must not inherit: every descriptor past
/// stdin, stdout and stderr. posix_spawn passes on all that are not close-on-exec, and a test
/// process holds many (the pipes of other tests' children among them): a long-lived child —
/// `chroma run` — holding the write end of another test's pipe keeps that test waiting for an
/// end of file that never comes (seen: a language-server test hung behind the chroma server).
public enum SpawnHygiene {
    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+), looked up at run time since
    /// Swift's Glibc module does not declare it; else a close for each descriptor open now.
    public static func closeInherited(_ actions: inout posix_spawn_file_actions_t, from first: Int32 = 3) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
            if closeFrom(&actions, first) == 0 { return }
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        for fd in open where fd >= first { posix_spawn_file_actions_addclose(&actions, fd) }
    }
}
